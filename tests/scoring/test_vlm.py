"""The VLM judge against the fake VLM on 127.0.0.1: the requests it sends, the verdicts it
derives, failures that must end as unknown, money on the ledger, and calibration."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from uniprobe.cases.checks import (
    Absent,
    Ask,
    Check,
    Color,
    Count,
    Position,
    Present,
    Relation,
    SameAs,
    Style,
    Unchanged,
)
from uniprobe.cases.schema import Case
from uniprobe.config import Config, ProviderConfig
from uniprobe.errors import ConfigError
from uniprobe.scenes.render import render_scene, to_png
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scoring.engine import score_sample
from uniprobe.scoring.judge import Canvas, JudgeContext, JudgeResult, Ledger, make_judge
from uniprobe.scoring.judges.pixels import PixelsJudge
from uniprobe.scoring.judges.reference import ReferenceJudge
from uniprobe.scoring.judges.vlm import VlmJudge
from uniprobe.scoring.judges.vlm_api import VlmReply
from uniprobe.scoring.policy import Judging
from uniprobe.scoring.questions import (
    COMPARE_PROMPT,
    IMAGE_PROMPT,
    PROMPT_VERSION,
    ReplyError,
    answer_schema,
    color_question,
    count_question,
    difference_question,
    presence_question,
    read_reply,
    render_prompt,
    style_question,
)
from uniprobe.store.records import (
    Manifest,
    ModelInfo,
    ReplyRecord,
    SampleRecord,
    SuiteInfo,
    TurnRecord,
)
from uniprobe.store.rundir import RunDir
from uniprobe.testing import FakeServer
from uniprobe.testing.vlm import FakeVlm

pytest.importorskip("openai")
pytest.importorskip("google.genai")

KEY = "sk-vlm-5ecret-never-logged"
CASE = Case.model_validate(
    {"id": "v", "family": "editing", "subtype": "s", "turns": [{"user": "u"}]}
)
SCENE = SceneSpec(
    bands=(Band(kind="sky", bottom=0.45), Band(kind="water", top=0.45)),
    objects=(
        SceneObject(id="left", kind="dolphin", x=110, y=330, size=100),
        SceneObject(kind="dolphin", x=260, y=330, size=100),
        SceneObject(id="cat", kind="cat", x=390, y=120, size=150, color="red"),
    ),
)
RENDERED = render_scene(SCENE)
IMAGE = RENDERED.image
PARTS = {o.id: o.box for o in RENDERED.objects if o.id}


@pytest.fixture
def vlm() -> FakeVlm:
    return FakeVlm()


@pytest.fixture
def fake(vlm: FakeVlm) -> Iterator[FakeServer]:
    with FakeServer(chat_handler=vlm, json_handler=vlm) as server:
        yield server


def _judge(fake: FakeServer, provider: str = "openai", **options: Any) -> VlmJudge:
    base = fake.url if provider == "google" else fake.url + "/v1"
    key = None if provider.startswith("compat/") else SecretStr(KEY)
    config = Config(providers={provider: ProviderConfig(api_key=key, base_url=base)})
    opts = {"provider": provider, "retry_base_delay": 0.01, "max_attempts": 3, **options}
    return VlmJudge(opts, config=config)


def _ctx(
    image: Image.Image | None = IMAGE,
    *,
    before: Image.Image | None = None,
    ledger: Ledger | None = None,
    parts: dict[str, Any] | None = None,
) -> JudgeContext:
    refs = {"turn:1": Canvas(1, before, None, drawn=True)} if before is not None else {}
    return JudgeContext(
        CASE,
        2,
        Canvas(2, image, None, drawn=True),
        refs,
        PARTS if parts is None else parts,
        IMAGE.size,
        ledger or Ledger(),
    )


def _run(
    judge: VlmJudge, queries: Sequence[tuple[Any, JudgeContext]], *, prepare: bool = True
) -> list[JudgeResult]:
    async def go() -> list[JudgeResult]:
        try:
            if prepare:
                await judge.prepare(queries)
            return [await judge.judge(c, ctx) for c, ctx in queries]
        finally:
            await judge.aclose()

    return asyncio.run(go())


def _decoded(url: str) -> Image.Image:
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def _recolored(color: str) -> Image.Image:
    cat = SCENE.objects[2].model_copy(update={"color": color})
    return render_scene(SCENE.model_copy(update={"objects": (*SCENE.objects[:2], cat)})).image


# --- what goes over the wire -----------------------------------------------------------


def test_one_chat_call_answers_every_question_about_a_canvas(fake: FakeServer) -> None:
    five = Count(object="dolphin", equals=5, literal=2)
    checks = [
        five,
        five.literal_variant(),
        Present(object="water"),
        Absent(object="cat"),
        Color(object="cat", equals="red"),
    ]
    ledger = Ledger()
    ctx = _ctx(ledger=ledger)
    results = _run(_judge(fake), [(c, ctx) for c in checks])
    assert [(r.status, r.reason) for r in results] == [
        ("fail", "the VLM counted 2 dolphin"),
        ("pass", "the VLM counted 2 dolphin"),
        ("pass", "the VLM sees water"),
        ("fail", "the VLM sees cat"),
        ("pass", "the VLM says cat is red"),
    ]
    [request] = fake.requests  # one call: the count question is asked once
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = request.json
    # the default is a reasoning model: no temperature (it would be rejected), no effort
    assert body["model"] == "gpt-5.5-2026-04-23"
    assert "temperature" not in body and "reasoning_effort" not in body
    [message] = body["messages"]
    image, text = message["content"]
    assert image["type"] == "image_url" and image["image_url"]["detail"] == "high"
    assert _decoded(image["image_url"]["url"]).tobytes() == IMAGE.tobytes()
    questions = [
        count_question("dolphin"),
        presence_question("water"),
        presence_question("cat"),
        color_question("cat"),
    ]
    assert text == {"type": "text", "text": render_prompt(IMAGE_PROMPT, questions)}
    schema = answer_schema(questions)
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answers", "strict": True, "schema": schema},
    }
    assert schema["required"] == ["q1", "q2", "q3", "q4"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"q1", "q2", "q3", "q4"}
    evidence = results[0].evidence
    assert evidence["question"] == 'How many instances of "dolphin" are there?'
    assert evidence["answer"] == 2 and evidence["qid"] == "q1"
    assert evidence["model"] == evidence["model_served"] == "gpt-5.5-2026-04-23"
    assert (evidence["temperature"], evidence["reasoning_effort"]) == (None, None)
    assert (evidence["api"], evidence["provider"]) == ("chat", "openai")
    assert evidence["prompt_version"] == PROMPT_VERSION
    assert evidence["images_sent"] == [[512, 512]]
    assert json.loads(evidence["reply"]) == {"q1": 2, "q2": "yes", "q3": "yes", "q4": "red"}
    assert ledger.usage["vlm"].calls == 1


def test_comparisons_send_both_images_and_ask_only_about_differences(fake: FakeServer) -> None:
    after = _recolored("blue")
    ctx = _ctx(after, before=IMAGE)
    checks = [
        Unchanged(against=1, outside=("cat",)),
        Unchanged(against=1, outside_objects=("dolphin",)),
        SameAs(against=1),
        Color(object="cat", equals="blue"),
    ]
    results = _run(_judge(fake), [(c, ctx) for c in checks])
    assert [(r.status, r.reason) for r in results] == [
        ("pass", "the VLM sees no difference outside cat from 1"),
        ("fail", "the VLM sees a difference outside dolphin from 1"),
        ("fail", "the VLM sees a difference from 1"),
        ("pass", "the VLM says cat is blue"),
    ]
    compare, single = sorted(fake.requests, key=lambda r: -len(r.json["messages"][0]["content"]))
    parts = compare.json["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url", "text"]
    assert parts[0]["text"] == "Image 1 (the original):"
    assert _decoded(parts[1]["image_url"]["url"]).tobytes() == IMAGE.tobytes()
    assert _decoded(parts[3]["image_url"]["url"]).tobytes() == after.tobytes()
    prompt = parts[4]["text"]
    assert prompt.startswith(COMPARE_PROMPT.split("{")[0])
    assert 'q1: Apart from the region "cat" (x ' in prompt
    assert 'q2: Apart from any "dolphin", is there any difference' in prompt
    assert f"q3: {difference_question().text}" in prompt
    assert len(single.json["messages"][0]["content"]) == 2


def test_gemini_native_asks_for_json_with_the_schema(fake: FakeServer) -> None:
    checks = [Count(object="dolphin", equals=2), Style(equals="grayscale")]
    ctx = _ctx()
    results = _run(_judge(fake, "google"), [(c, ctx) for c in checks])
    assert [(r.status, r.reason) for r in results] == [
        ("pass", "the VLM counted 2 dolphin"),
        ("fail", "the VLM says the image is color"),
    ]
    [request] = fake.requests
    assert request.path == "/v1beta/models/gemini-3.5-flash:generateContent"
    assert request.headers["x-goog-api-key"] == KEY
    questions = [count_question("dolphin"), style_question()]
    assert request.json["generationConfig"] == {  # Gemini 3+ ignores temperature: not sent
        "responseMimeType": "application/json",
        "responseJsonSchema": answer_schema(questions),
    }
    [content] = request.json["contents"]
    image, text = content["parts"]
    assert image["inlineData"]["data"] and text == {"text": render_prompt(IMAGE_PROMPT, questions)}
    evidence = results[0].evidence
    assert (evidence["api"], evidence["model_served"]) == ("gemini", "gemini-3.5-flash")
    assert evidence["temperature"] is None


def test_large_images_are_scaled_down_before_sending(fake: FakeServer) -> None:
    big = IMAGE.resize((1024, 768))
    [result] = _run(_judge(fake, max_side=256), [(Style(equals="color"), _ctx(big))])
    url = fake.requests[0].json["messages"][0]["content"][0]["image_url"]["url"]
    assert _decoded(url).size == (256, 192)
    assert result.evidence["images_sent"] == [[256, 192]]
    assert "max_side (256 px)" in result.evidence["resize"]


# --- failures end as unknown, with the reason ---------------------------------------------


@pytest.mark.parametrize(
    ("mode", "reasons"),
    [
        pytest.param(
            "malformed",
            ["no answer from the VLM: the reply is not valid JSON"] * 2,
            id="malformed",
        ),
        pytest.param(
            "refusal",
            ["no answer from the VLM: the VLM refused: I'm sorry, but I can't help"] * 2,
            id="refusal",
        ),
        pytest.param(
            "missing",
            ["the VLM counted 2 dolphin", "no answer from the VLM: the reply has no answer to q2"],
            id="missing-answer",
        ),
    ],
)
def test_bad_replies_are_unknown(
    fake: FakeServer, vlm: FakeVlm, mode: Any, reasons: list[str]
) -> None:
    vlm.mode = mode
    checks = [Count(object="dolphin", equals=2), Present(object="water")]
    ctx = _ctx()
    results = _run(_judge(fake), [(c, ctx) for c in checks])
    for result, reason in zip(results, reasons, strict=True):
        assert result.reason.startswith(reason)
        assert result.status == ("pass" if reason.startswith("the VLM counted") else "unknown")
    assert results[1].evidence["reply"] is not None  # the raw reply is kept
    assert fake.count("/v1/chat/completions") == 1  # a bad reply is not retried


def test_gemini_safety_blocks_are_unknown(fake: FakeServer, vlm: FakeVlm) -> None:
    vlm.mode = "refusal"
    [candidate] = _run(_judge(fake, "google"), [(Present(object="cat"), _ctx())])
    assert (candidate.status, candidate.reason) == (
        "unknown",
        "no answer from the VLM: the VLM refused: blocked (SAFETY)",
    )
    fake.inject("prompt_blocked")
    [prompt] = _run(_judge(fake, "google"), [(Present(object="dog"), _ctx())])
    assert (prompt.status, prompt.reason) == (
        "unknown",
        "no answer from the VLM: the VLM refused: prompt blocked: PROHIBITED_CONTENT",
    )


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        pytest.param("openai", "/v1/chat/", id="chat"),
        pytest.param("google", "/v1beta/models/", id="gemini"),
    ],
)
def test_server_errors_after_retries_are_unknown(
    fake: FakeServer, provider: str, path: str
) -> None:
    fake.inject("server_error", times=3)
    ledger = Ledger()
    checks = [Count(object="dolphin", equals=2), Present(object="water")]
    ctx = _ctx(ledger=ledger)
    results = _run(_judge(fake, provider), [(c, ctx) for c in checks])
    for r in results:
        assert r.status == "unknown"
        assert r.reason.startswith(
            "no answer from the VLM: the VLM call failed after 3 attempts: vlm judge: HTTP 500"
        )
    assert fake.count(path, status=500) == 3 and len(fake.requests) == 3
    assert ledger.usage == {}  # nothing was answered, so nothing is booked
    assert KEY not in json.dumps([(r.reason, r.evidence) for r in results])


def test_long_replies_are_truncated_in_evidence_and_say_so() -> None:
    padded = '{"q1": 2' + " " * 5000 + "}"
    with FakeServer(chat_handler=lambda body: padded) as fake:
        judge = _judge(fake, max_reply_chars=100)
        [result] = _run(judge, [(Count(object="dolphin", equals=2), _ctx())])
    assert result.status == "pass"
    assert result.evidence["reply"] == padded[:100]
    assert result.evidence["reply_truncated"] == "first 100 of 5009 chars"


def test_reading_a_reply_checks_every_answer_against_its_question() -> None:
    questions = [count_question("dog"), presence_question("cat"), color_question("car")]
    fenced = '```json\n{"q1": "3", "q2": "Yes", "q3": "grey", "extra": 1}\n```'
    assert read_reply(fenced, questions) == ([3, "yes", "gray"], {})
    answers, problems = read_reply('{"q1": true, "q2": "maybe"}', questions)
    assert answers == [None, None, None]
    assert problems == {
        0: "the answer to q1 is not a count: True",
        1: "the answer to q2 is not yes, no or unsure: 'maybe'",
        2: "the reply has no answer to q3",
    }
    with pytest.raises(ReplyError, match="not an object"):
        read_reply("[1, 2]", questions)


# --- self-consistency ----------------------------------------------------------------------


def _scripted(answers: list[str]) -> Any:
    lock = threading.Lock()

    def answer(body: dict[str, Any]) -> str:
        with lock:
            return answers.pop(0)

    return answer


@pytest.mark.parametrize(
    ("replies", "status", "reason", "agreement"),
    [
        pytest.param(["3", "3", "4", "3", "5"], "pass", "the VLM counted 3 dolphin", 0.6, id="3/5"),
        pytest.param(
            ["3", "4"],
            "unknown",
            "no answer from the VLM: the VLM's 2 samples tie between",
            0.5,
            id="tie",
        ),
        pytest.param(["4", "oops", "4"], "fail", "the VLM counted 4 dolphin", 0.6667, id="2/3"),
    ],
)
def test_self_consistency_takes_the_majority(
    replies: list[str], status: str, reason: str, agreement: float
) -> None:
    texts = [r if r == "oops" else json.dumps({"q1": int(r)}) for r in replies]
    ledger = Ledger()
    with FakeServer(chat_handler=_scripted(texts)) as fake:
        judge = _judge(
            fake, model="gpt-4.1-2025-04-14", samples=len(replies), sample_temperature=0.8
        )
        [result] = _run(judge, [(Count(object="dolphin", equals=3), _ctx(ledger=ledger))])
    assert result.status == status and result.reason.startswith(reason)
    assert result.evidence["agreement"] == agreement
    assert result.evidence["samples"] == len(replies)
    expected = sorted(str(int(r)) if r != "oops" else "None" for r in replies)
    assert sorted(str(v) for v in result.evidence["votes"]) == expected
    assert {r.json["temperature"] for r in fake.requests} == {0.8}
    assert ledger.usage["vlm"].calls == len(replies)


# --- money ---------------------------------------------------------------------------------


def _tokens(results: Sequence[JudgeResult]) -> tuple[int, int]:
    calls = {r.evidence["reply"]: r.evidence["usage"] for r in results}
    assert len(calls) == 2  # one canvas call, one comparison call
    return (
        sum(u["input_tokens"] for u in calls.values()),
        sum(u["output_tokens"] for u in calls.values()),
    )


@pytest.mark.parametrize(
    ("options", "per_mtok"),
    [
        pytest.param(
            {"price_input_per_mtok": 1.0, "price_output_per_mtok": 3.0}, (1, 3), id="opts"
        ),
        pytest.param({}, (5.0, 30.0), id="pricing-table"),
    ],
)
def test_every_call_is_booked_once_with_tokens_and_cost(
    fake: FakeServer, options: dict[str, Any], per_mtok: tuple[float, float]
) -> None:
    ledger = Ledger()
    ctx = _ctx(_recolored("blue"), before=IMAGE, ledger=ledger)
    checks: list[Check] = [
        Count(object="dolphin", equals=2),
        Present(object="cat"),
        SameAs(against=1),
    ]
    judge = _judge(fake, **options)

    async def go() -> tuple[list[JudgeResult], list[JudgeResult]]:
        await judge.prepare([(c, ctx) for c in checks])
        first = [await judge.judge(c, ctx) for c in checks]
        again = [await judge.judge(c, ctx) for c in checks]  # remembered: no new calls
        await judge.aclose()
        return first, again

    first, again = asyncio.run(go())
    assert [r.status for r in first] == ["pass", "pass", "fail"] and again == first
    tokens_in, tokens_out = _tokens(first)
    usage = ledger.usage["vlm"]
    assert (usage.calls, usage.input_tokens, usage.output_tokens) == (2, tokens_in, tokens_out)
    cost = (tokens_in * per_mtok[0] + tokens_out * per_mtok[1]) / 1e6
    assert usage.cost_usd == pytest.approx(cost)
    assert len(fake.requests) == 2


def test_unknown_prices_give_an_unknown_cost(fake: FakeServer) -> None:
    ledger = Ledger()
    judge = _judge(fake, "compat/local", model="llava-1.6")
    [result] = _run(judge, [(Present(object="cat"), _ctx(ledger=ledger))])
    assert result.status == "pass" and result.evidence["cost_usd"] is None
    assert ledger.usage["vlm"].calls == 1 and ledger.usage["vlm"].cost_usd is None
    assert fake.requests[0].headers["authorization"] == "Bearer unused"
    assert fake.requests[0].json["model"] == "llava-1.6"


def test_the_key_never_reaches_evidence_or_options(fake: FakeServer, vlm: FakeVlm) -> None:
    judge = _judge(fake)
    ctx = _ctx(_recolored("green"), before=IMAGE)
    checks = [
        Count(object="cat", equals=1),
        SameAs(against=1),
        Ask(question="Is it day?", expect="yes"),
    ]
    results = _run(judge, [(c, ctx) for c in checks])
    vlm.mode = "malformed"
    results += _run(_judge(fake), [(Present(object="dog"), ctx)])
    fake.inject("server_error", times=3)
    results += _run(_judge(fake), [(Present(object="fish"), ctx)])
    assert [r.status for r in results] == ["pass", "fail", "unknown", "unknown", "unknown"]
    dumped = json.dumps([(r.reason, r.evidence) for r in results]) + json.dumps(
        judge.options.public()
    )
    assert KEY not in dumped and "5ecret" not in dumped


# --- sampling knobs per model ------------------------------------------------------------


def test_the_fake_rejects_temperature_for_reasoning_models_as_openai_does(
    fake: FakeServer,
) -> None:
    import openai

    client = openai.OpenAI(base_url=fake.url + "/v1", api_key=KEY, max_retries=0)
    messages: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="gpt-5.5", messages=messages, temperature=0.0)
    assert (info.value.status_code, info.value.code, info.value.param) == (
        400,
        "unsupported_value",
        "temperature",
    )
    assert "Only the default (1) value is supported" in info.value.message
    ok = client.chat.completions.create(model="gpt-5.5", messages=messages, temperature=1)
    assert ok.model == "gpt-5.5"  # the default value is accepted
    client.close()


@pytest.mark.parametrize(
    ("model", "options", "sent", "served", "per_mtok"),
    [
        pytest.param("gpt-5.5", {}, {}, "gpt-5.5", (5.0, 30.0), id="reasoning"),
        pytest.param(
            "gpt-5.5",
            {"samples": 3, "reasoning_effort": "low"},
            {"reasoning_effort": "low"},
            "gpt-5.5",
            (5.0, 30.0),
            id="reasoning-self-consistency",
        ),
        pytest.param(
            "gpt-4.1",
            {"reasoning_effort": "low"},
            {"temperature": 0.0},
            "gpt-4.1",
            (2.0, 8.0),
            id="sampling-model",
        ),
    ],
)
def test_knobs_a_model_rejects_are_left_out_and_recorded(
    fake: FakeServer,
    model: str,
    options: dict[str, Any],
    sent: dict[str, Any],
    served: str,
    per_mtok: tuple[float, float],
) -> None:
    ledger = Ledger()
    judge = _judge(fake, model=model, **options)
    [result] = _run(judge, [(Present(object="water"), _ctx(ledger=ledger))])
    assert (result.status, result.reason) == ("pass", "the VLM sees water")
    knobs = {"temperature", "reasoning_effort"}
    assert [{k: v for k, v in r.json.items() if k in knobs} for r in fake.requests] == [
        sent
    ] * options.get("samples", 1)
    evidence = result.evidence
    assert (evidence["temperature"], evidence["reasoning_effort"]) == (
        sent.get("temperature"),
        sent.get("reasoning_effort"),
    )
    calls = evidence.get("calls", [evidence])
    assert {c["model_served"] for c in calls} == {served}
    usage = ledger.usage["vlm"]
    assert usage.input_tokens is not None and usage.output_tokens is not None
    cost = (usage.input_tokens * per_mtok[0] + usage.output_tokens * per_mtok[1]) / 1e6
    assert usage.cost_usd == pytest.approx(cost)


def test_judge_cost_is_priced_by_the_model_that_served_the_call(fake: FakeServer) -> None:
    judge = _judge(fake, "compat/local", model="router-default")
    served = VlmReply("{}", None, "gemini-3.5-flash", 1000, 100, cached_input_tokens=400)
    assert judge._cost(served) == pytest.approx((600 * 1.50 + 400 * 0.15 + 100 * 9.0) / 1e6)
    unnamed = VlmReply("{}", None, None, 1000, 100)
    assert judge._cost(unnamed) is None  # neither name has a price: unknown, not 0
    asyncio.run(judge.aclose())


# --- options -------------------------------------------------------------------------------


def test_options_resolve_the_api_and_a_pinned_model() -> None:
    config = Config(providers={"google": ProviderConfig(api_key=SecretStr(KEY))})
    judge = make_judge("vlm", {"provider": "google"}, config)
    assert isinstance(judge, VlmJudge)
    assert (judge.options.api, judge.options.model) == ("gemini", "gemini-3.5-flash")
    with pytest.raises(ConfigError, match="needs the model"):
        make_judge("vlm", {"provider": "compat/local"}, config)
    with pytest.raises(ConfigError, match="price_output_per_mtok"):
        make_judge("vlm", {"provider": "google", "price_input_per_mtok": 1}, config)
    with pytest.raises(ConfigError, match="no API key"):
        VlmJudge(
            {"provider": "openai"},
            config=Config(providers={"openai": ProviderConfig(api_key_env="UNIPROBE_NO_SUCH_KEY")}),
        )


# --- more check kinds and verify() ------------------------------------------------------


def test_parts_matches_and_missing_images(fake: FakeServer) -> None:
    later = render_scene(SCENE.model_copy(update={"objects": SCENE.objects[:1]})).image
    ctx = _ctx(later, before=IMAGE)
    counted = Count(
        object="dolphin",
        matches={"object": "dolphin", "turn": 1, "plus": -1},
    )
    queries = [
        (Count(object="dolphin", equals=1, within="left"), ctx),
        (Color(part="cat", equals="white"), ctx),
        (counted, ctx),
        (Count(object="dolphin", equals=0, within="nowhere"), ctx),
        (Present(object="cat"), _ctx(None)),
        (Absent(object="cat"), _ctx(None)),
        (Ask(question="Is it day?", expect="yes"), _ctx(None)),
    ]
    results = _run(_judge(fake), queries)
    assert [(r.status, r.reason) for r in results] == [
        ("pass", "the VLM counted 1 dolphin in left"),
        ("pass", "the VLM says cat is white"),
        ("pass", "the VLM counted 1 dolphin (turn 1 shows 2 dolphin)"),
        ("unknown", "no part 'nowhere' in the reference scene"),
        ("fail", "no image"),
        ("pass", "no image, so no cat"),
        ("unknown", "no image to ask about"),
    ]
    assert results[2].evidence["reference"]["answer"] == 2
    assert len(fake.requests) == 2  # the later canvas, and turn 1's canvas for `matches`


def test_verify_asks_about_every_crop_in_one_call(fake: FakeServer) -> None:
    cat = IMAGE.crop(PARTS["cat"])
    sky = IMAGE.crop((0, 0, 140, 140))
    ledger = Ledger()
    judge = _judge(fake)

    async def go() -> tuple[list[bool | None], list[bool | None]]:
        found = await judge.verify([(cat, "cat"), (sky, "cat"), (cat, "unicorn")], ledger)
        none = await judge.verify([], ledger)
        await judge.aclose()
        return found, none

    assert asyncio.run(go()) == ([True, False, None], [])
    [request] = fake.requests
    parts = request.json["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url"] * 3 + ["text"]
    assert 'q3: Does image 3 show a "unicorn"?' in parts[-1]["text"]
    assert ledger.usage["vlm"].calls == 1


# --- calibration on rendered scenes ------------------------------------------------------

KINDS = ("dog", "cat", "bird", "car", "tree", "horse", "fish", "apple")
TINTS = ("red", "blue", "green", "yellow", "purple", "orange")
CELLS = [(x, y) for y in (90, 256, 422) for x in (90, 256, 422)]


def _scenes(n: int) -> list[tuple[SceneSpec, tuple[str, str, str], tuple[str, str]]]:
    """Scenes of three kinds (two, two and one of them) on a 3x3 grid, one tint per kind."""
    rng = random.Random(11)
    out = []
    for i in range(n):
        first, second, third = rng.sample(KINDS, 3)
        kinds = (first, second, third)
        tints = rng.sample(TINTS, 3)
        spots = rng.sample(CELLS, 5)
        objects = tuple(
            SceneObject(
                id=f"p{j}", kind=kinds[k], x=x, y=y, size=rng.randint(80, 110), color=tints[k]
            )
            for j, ((x, y), k) in enumerate(zip(spots, (0, 0, 1, 1, 2), strict=True))
        )
        bands = (Band(kind="sky", bottom=0.5), Band(kind="grass", top=0.5)) if i % 2 else ()
        absent = next(k for k in KINDS if k not in kinds)
        out.append((SceneSpec(bands=bands, objects=objects), kinds, (tints[0], absent)))
    return out


def _flip_checks(kinds: tuple[str, str, str], tint: str, absent: str) -> list[Any]:
    """Checks of which every wrong answer flips the verdict (one question each)."""
    a, b, c = kinds
    return [
        Count(object=a, equals=2),
        Count(object=b, equals=2),
        Count(object=c, equals=1),
        Present(object=a),
        Absent(object=absent),
        Relation(subject=a, relation="left_of", object=c),
        Relation(subject=b, relation="above", object=c),
        Position(object=c, place="left"),
        Position(object=a, place="top"),
        Color(object=a, equals=tint),
        Style(equals="color"),
    ]


def _more_checks(kinds: tuple[str, str, str], tint: str) -> list[Any]:
    a, b, c = kinds
    return [
        Count(object=a, equals=3),
        Count(object=b, at_least=1, at_most=1),
        Count(object=a, equals=1, within="p0"),
        Present(object="grass"),
        Absent(object=b),
        Color(object=b, equals=tint),
        Color(object=a, select="leftmost", equals=tint),
        Color(part="p4", equals=tint),
        Position(object=c, place="center"),
        Style(equals="grayscale"),
    ]


def _truth(check: Any, ctx: JudgeContext) -> str:
    judge = PixelsJudge() if isinstance(check, Style) else ReferenceJudge()
    return judge.decide(check, ctx).status


def _queries(flips_only: bool) -> list[tuple[Any, JudgeContext]]:
    queries = []
    for spec, kinds, (tint, absent) in _scenes(12):
        rendered = render_scene(spec)
        parts = {o.id: o.box for o in rendered.objects if o.id}
        ctx = _ctx(rendered.image, parts=parts)
        checks = _flip_checks(kinds, tint, absent)
        if not flips_only:
            checks += _more_checks(kinds, tint)
        queries += [(c, ctx) for c in checks]
    return queries


def test_a_perfect_vlm_agrees_with_the_reference_judge() -> None:
    queries = _queries(flips_only=False)
    with FakeServer(chat_handler=FakeVlm()) as fake:
        results = _run(_judge(fake), queries)
        assert len(fake.requests) == 12  # one call per canvas
    truth = [_truth(c, ctx) for c, ctx in queries]
    assert [r.status for r in results] == truth
    assert {"pass", "fail"} <= set(truth)


def test_a_noisy_vlm_flips_about_its_error_rate() -> None:
    queries = _queries(flips_only=True)
    vlm = FakeVlm(error_rate=0.3, seed=2)
    with FakeServer(chat_handler=vlm) as fake:
        results = _run(_judge(fake), queries)
    truth = [_truth(c, ctx) for c, ctx in queries]
    flipped = [r.status != t for r, t in zip(results, truth, strict=True)]
    assert all(r.status in ("pass", "fail") for r in results)
    share = sum(flipped) / len(flipped)
    assert len(flipped) == 132 and 0.2 <= share <= 0.4, share
    # one question per check, and a verdict flips exactly when its answer was wrong
    assert len(vlm.asked) == 132
    assert sum(flipped) == sum(a.flipped for a in vlm.asked)


# --- through the engine ------------------------------------------------------------------

RULE = Case.model_validate(
    {
        "id": "rule",
        "family": "global_instruction",
        "subtype": "numeric",
        "turns": [
            {"user": "From now on, if I mention a number, add 3 before using it."},
            {
                "user": "Generate an image of 2 dolphins on the water.",
                "expect": [
                    {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
                    {"present": {"object": "water"}},
                ],
            },
        ],
    }
)


def test_the_vlm_policy_scores_a_sample_through_the_engine(
    fake: FakeServer, tmp_path: Path
) -> None:
    run = RunDir.create(
        tmp_path / "run",
        Manifest(
            run_id="run",
            uniprobe_version="test",
            suite=SuiteInfo(name="t", hash="h", cases=1),
            model=ModelInfo(name="test/scripted", protocol="test"),
            epochs=1,
            policy="vlm",
            created="now",
        ),
    )
    turns = [
        TurnRecord(index=1, user="rule", reply=ReplyRecord(text="Understood.")),
        TurnRecord(index=2, user="draw", reply=ReplyRecord(images=[run.put_image(to_png(IMAGE))])),
    ]
    sample = SampleRecord(
        case_id="rule",
        epoch=0,
        seed=1,
        model="test/scripted",
        protocol="test",
        turns=turns,
        status="complete",
        started="s",
        finished="f",
    )
    config = Config(
        providers={"openai": ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url + "/v1")}
    )
    judging = Judging.of("vlm", options={"vlm": {"max_attempts": 1}}, config=config)

    async def go() -> Any:
        try:
            return await score_sample(RULE, sample, run, judging)
        finally:
            await judging.aclose()

    score = asyncio.run(go())
    count, water = score.verdicts
    assert (count.status, count.tags, count.judge) == ("fail", ["literal"], "vlm@1")
    assert count.reason == "the VLM counted 2 dolphin"
    assert water.status == "pass"
    assert score.judge_usage["vlm"].calls == 1 and len(fake.requests) == 1
    assert score.judge_options["vlm"]["model"] == "gpt-5.5-2026-04-23"


@pytest.mark.parametrize("provider", ["openai", "google"])
def test_a_rejected_plain_key_echoed_by_the_provider_is_redacted(
    vlm: FakeVlm, provider: str
) -> None:
    plain = "plain-judge-key-0042"  # not shaped like a provider key: only the config knows it
    with FakeServer(chat_handler=vlm, json_handler=vlm, api_keys=["another"]) as server:
        base = server.url if provider == "google" else server.url + "/v1"
        config = Config(
            providers={provider: ProviderConfig(api_key=SecretStr(plain), base_url=base)}
        )
        opts = {"provider": provider, "retry_base_delay": 0.01, "max_attempts": 1}
        judge = VlmJudge(opts, config=config)

        async def go() -> JudgeResult:
            try:
                return await judge.judge(Count(object="dolphin", equals=2), _ctx())
            finally:
                await judge.aclose()

        result = asyncio.run(go())
        echoed = [r for r in server.requests if r.status in (400, 401)]
    assert echoed, "the fake refused the key"
    assert result.status == "unknown"
    assert plain not in result.reason and plain not in json.dumps(result.evidence, default=str)
    assert "[redacted]" in result.reason
