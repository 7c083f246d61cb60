"""The fake VLM: it reads the judge's questions, answers from pixels, and errs on purpose."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from fake_http import Http
from PIL import Image

from uniprobe.scenes.render import render_scene, to_png
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scoring.questions import (
    IMAGE_PROMPT,
    Question,
    Region,
    ask_question,
    color_question,
    count_question,
    difference_question,
    part_color_question,
    position_question,
    presence_question,
    relation_question,
    render_prompt,
    style_question,
    verify_question,
)
from uniprobe.testing import FakeServer, Refusal
from uniprobe.testing.vlm import FakeVlm

SCENE = SceneSpec(
    bands=(Band(kind="sky", bottom=0.45), Band(kind="water", top=0.45)),
    objects=(
        SceneObject(id="left", kind="dolphin", x=110, y=330, size=100),
        SceneObject(kind="dolphin", x=260, y=330, size=100, color="pink"),
        SceneObject(kind="cat", x=400, y=110, size=100, color="red"),
    ),
)
IMAGE = render_scene(SCENE).image
LEFT_HALF = Region("left", (0.0, 0.0, 0.4, 1.0))


def _url(image: Image.Image) -> str:
    return "data:image/png;base64," + base64.b64encode(to_png(image)).decode()


def _chat(questions: list[Question], *images: Image.Image) -> dict[str, Any]:
    content: list[dict[str, Any]] = [
        {"type": "image_url", "image_url": {"url": _url(im)}} for im in images
    ]
    content.append({"type": "text", "text": render_prompt(IMAGE_PROMPT, questions)})
    return {"model": "m", "messages": [{"role": "user", "content": content}]}


QUESTIONS: list[tuple[Question, object]] = [
    (count_question("dolphin"), 2),
    (count_question("dolphins", LEFT_HALF), 1),
    (count_question("zebra"), 0),
    (presence_question("water"), "yes"),
    (presence_question("road"), "no"),
    (presence_question("cat", LEFT_HALF), "no"),
    (relation_question("cat", "above", "dolphin"), "yes"),
    (relation_question("cat", "left_of", "dolphin"), "no"),
    (position_question("cat", "top_right"), "yes"),
    (position_question("dolphin", "left"), "no"),
    (color_question("cat"), "red"),
    (color_question("dolphin"), "mixed"),
    (color_question("dolphin", "rightmost"), "pink"),
    (color_question("zebra"), "none"),
    (part_color_question(Region("sky", (0.0, 0.0, 1.0, 0.1))), "white"),
    (style_question(), "no"),
    (ask_question("Is it   a rainy\nnight?"), "unsure"),
    (count_question("unicorn"), "unsure"),
]


def test_answers_every_template_from_the_pixels() -> None:
    vlm = FakeVlm()
    answer = json.loads(str(vlm(_chat([q for q, _ in QUESTIONS], IMAGE))))
    expected = {f"q{i + 1}": truth for i, (_, truth) in enumerate(QUESTIONS)}
    assert answer == expected
    assert [a.question for a in vlm.asked] == [q.text for q, _ in QUESTIONS]
    assert not any(a.flipped for a in vlm.asked)


def test_comparisons_diff_the_two_images_outside_what_is_excluded() -> None:
    cat_blue = SCENE.model_copy(
        update={
            "objects": (*SCENE.objects[:2], SCENE.objects[2].model_copy(update={"color": "blue"}))
        }
    )
    after = render_scene(cat_blue).image
    cat_box = Region("cat", (0.65, 0.0, 0.95, 0.4))
    questions = [
        difference_question(),
        difference_question([cat_box]),
        difference_question(objects=["cat"]),
        difference_question([LEFT_HALF]),
    ]
    answer = json.loads(str(FakeVlm()(_chat(questions, IMAGE, after))))
    assert answer == {"q1": "yes", "q2": "no", "q3": "no", "q4": "yes"}
    same = json.loads(str(FakeVlm()(_chat(questions[:1], IMAGE, IMAGE.resize((700, 700))))))
    assert same == {"q1": "no"}


def test_verifies_crops() -> None:
    cat = IMAGE.crop((330, 40, 470, 180))
    sky = IMAGE.crop((0, 0, 140, 140))
    questions = [verify_question(1, "cat"), verify_question(2, "cat"), verify_question(1, "dog")]
    answer = json.loads(str(FakeVlm()(_chat(questions, cat, sky))))
    assert answer == {"q1": "yes", "q2": "no", "q3": "no"}


def test_every_answer_is_wrong_at_error_rate_one() -> None:
    vlm = FakeVlm(error_rate=1.0, seed=3)
    questions = [q for q, truth in QUESTIONS if truth != "unsure"]
    answer = json.loads(str(vlm(_chat(questions, IMAGE))))
    for asked in vlm.asked:
        assert asked.flipped and answer[asked.qid] == asked.given
        if isinstance(asked.truth, int):
            assert asked.given in (asked.truth - 1, asked.truth + 1) and asked.given >= 0
            if asked.truth == 0:
                assert asked.given == 1
        elif asked.truth in ("yes", "no"):
            assert {asked.truth, asked.given} == {"yes", "no"}
        else:
            assert asked.given in {"red", "orange", "yellow", "green", "blue", "purple", "pink",
                                   "brown", "black", "white", "gray"}  # fmt: skip


def test_errors_are_seeded_by_the_request_not_by_the_order() -> None:
    body = _chat([q for q, _ in QUESTIONS[:12]], IMAGE)
    first, again = FakeVlm(error_rate=0.5, seed=7), FakeVlm(error_rate=0.5, seed=7)
    a1, a2 = first(body), first(body)  # a repeated request is a new sample
    assert again(body) == a1
    assert a2 != a1
    assert FakeVlm(error_rate=0.5, seed=8)(body) != a1


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        pytest.param("refusal", lambda r: isinstance(r, Refusal), id="refusal"),
        pytest.param("missing", lambda r: json.loads(r) == {"q1": 2}, id="missing"),
        pytest.param("malformed", lambda r: r == '{"q1": 2, "', id="malformed"),
    ],
)
def test_misbehaving_modes(mode: Any, check: Any) -> None:
    body = _chat([count_question("dolphin"), presence_question("water")], IMAGE)
    assert check(FakeVlm(mode=mode)(body))


def test_a_request_without_questions_gets_an_empty_object() -> None:
    assert FakeVlm()({"model": "m", "messages": [{"role": "user", "content": "hi"}]}) == "{}"
    with pytest.raises(ValueError, match="error_rate"):
        FakeVlm(error_rate=1.5)


# --- on the wire ---------------------------------------------------------------------


def test_chat_refusals_travel_as_message_refusal() -> None:
    vlm = FakeVlm(mode="refusal")
    with FakeServer(chat_handler=vlm) as fake:
        body = Http(fake.url).post("/v1/chat/completions", _chat([style_question()], IMAGE)).json()
    message = body["choices"][0]["message"]
    assert message["content"] is None
    assert message["refusal"].startswith("I'm sorry")


def _gemini(prompt: str, mime: str | None) -> dict[str, Any]:
    buf = io.BytesIO()
    IMAGE.save(buf, format="PNG")
    data = base64.urlsafe_b64encode(buf.getvalue()).decode()  # as google-genai sends it
    config = {"responseMimeType": mime} if mime else {"responseModalities": ["TEXT", "IMAGE"]}
    parts = [{"inlineData": {"mimeType": "image/png", "data": data}}, {"text": prompt}]
    return {"contents": [{"role": "user", "parts": parts}], "generationConfig": config}


def test_gemini_json_requests_are_answered_by_the_json_handler() -> None:
    prompt = render_prompt(IMAGE_PROMPT, [count_question("dolphin"), color_question("cat")])
    path = "/v1beta/models/gemini-2.5-flash:generateContent"
    vlm = FakeVlm()
    with FakeServer(json_handler=vlm) as fake:
        client = Http(fake.url)
        answered = client.post(path, _gemini(prompt, "application/json")).json()
        vlm.mode = "refusal"
        refused = client.post(path, _gemini(prompt, "application/json")).json()
        drawn = client.post(path, _gemini("draw a dog", None)).json()
    [candidate] = answered["candidates"]
    assert candidate["finishReason"] == "STOP"
    assert json.loads(candidate["content"]["parts"][0]["text"]) == {"q1": 2, "q2": "red"}
    assert answered["modelVersion"] == "gemini-2.5-flash"
    assert answered["usageMetadata"]["promptTokensDetails"][1] == {
        "modality": "IMAGE",
        "tokenCount": 258,
    }
    assert refused["candidates"] == [{"finishReason": "SAFETY", "index": 0}]
    assert any("inlineData" in p for p in drawn["candidates"][0]["content"]["parts"])
    assert fake.images_served == 1


def test_gemini_json_without_a_handler_is_an_empty_object() -> None:
    with FakeServer() as fake:
        body = Http(fake.url).post(
            "/v1/models/gemini-2.5-flash:generateContent", _gemini("hi", "application/json")
        )
    assert body.json()["candidates"][0]["content"]["parts"] == [{"text": "{}"}]
