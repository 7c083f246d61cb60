"""Every provider backend, end to end against the fake server speaking its real protocol.

One 3-turn case for all: a rule, a generation, and a conditional edit of an attached
image, so images flow both ways. The exact requests the SDKs sent are asserted.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from pydantic import SecretStr

import uniprobe
from uniprobe.cases.images import case_image_bytes
from uniprobe.config import Config, ProviderConfig
from uniprobe.store.rundir import RunDir
from uniprobe.testing.server import FakeServer

pytest.importorskip("openai")
pytest.importorskip("google.genai")

CASE = """\
- id: wire.three_turns
  family: post_generation
  subtype: wire
  images:
    birds:
      scene:
        objects:
          - {id: b1, kind: bird, x: 150, y: 256, size: 100}
          - {id: b2, kind: bird, x: 350, y: 256, size: 100}
  turns:
    - user: "From now on, if I mention a number, add 1 before using it."
    - user: "Generate an image of 2 birds."
      expect:
        - count: {object: bird, equals: 3, literal: 2}
    - user: "Add a tree to this picture if there are birds in it."
      attach: [birds]
      expect:
        - when: {present: {object: bird}}
          then: [{present: {object: tree}}]
          else: [{absent: {object: tree}}]
"""
KEY = "sk-test-5ecret-never-logged"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def suite(tmp_path: Path) -> uniprobe.Suite:
    path = tmp_path / "wire.yaml"
    path.write_text(CASE, encoding="utf-8")
    return uniprobe.load_suite(path)


def _config(url: str) -> Config:
    return Config(
        providers={
            "openai": ProviderConfig(api_key=SecretStr(KEY), base_url=url + "/v1"),
            "openai-images": ProviderConfig(api_key=SecretStr(KEY), base_url=url + "/v1"),
            "google": ProviderConfig(api_key=SecretStr(KEY), base_url=url),
            "compat/local": ProviderConfig(base_url=url + "/v1"),
        }
    )


def _run(
    fake: FakeServer,
    suite: uniprobe.Suite,
    name: str,
    tmp_path: Path,
    options: dict[str, object] | None = None,
) -> uniprobe.RunResult:
    fake.reset()
    [result] = uniprobe.run(
        suite,
        [name],
        out=tmp_path / "runs",
        config=_config(fake.url),
        options={name: options or {}},
        policy="reference",  # the fake draws synthetic scenes
        images="synthetic",
    )
    return result


def _images(result: uniprobe.RunResult) -> list[list[bytes]]:
    run = RunDir.open(result.path)
    sample = run.samples()["wire.three_turns#0"]
    return [
        [run.image_path(r).read_bytes() for r in t.reply.images] if t.reply else []
        for t in sample.turns
    ]


def _data_url_bytes(url: str) -> bytes:
    head, _, data = url.partition(",")
    assert head == "data:image/png;base64"
    return base64.b64decode(data)


def _assert_no_key(path: Path) -> None:
    for file in path.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


def test_openai_responses_continues_the_previous_response(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(fake, suite, "openai/gpt-5.5", tmp_path)
    reqs = [r for r in fake.requests if r.path == "/v1/responses"]
    assert [r.status for r in reqs] == [200, 200, 200]
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in reqs)
    first, second, third = (r.json for r in reqs)
    assert first["model"] == "gpt-5.5"
    assert first["tools"] == [
        {
            "type": "image_generation",
            "model": "gpt-image-2-2026-04-21",
            "size": "1024x1024",
            "quality": "low",
            "output_format": "png",
            "background": "auto",
        }
    ]
    assert first["tool_choice"] == "auto"
    assert "previous_response_id" not in first
    assert first["input"] == [
        {"role": "user", "content": [{"type": "input_text", "text": suite.cases[0].turns[0].user}]}
    ]
    run = RunDir.open(result.path)
    turns = run.samples()["wire.three_turns#0"].turns
    first_reply, second_reply = turns[0].reply, turns[1].reply
    assert first_reply is not None and second_reply is not None
    assert second["previous_response_id"] == first_reply.state["response_id"]
    assert third["previous_response_id"] == second_reply.state["response_id"]
    [message] = third["input"]
    text, image = message["content"]
    assert text == {"type": "input_text", "text": suite.cases[0].turns[2].user}
    assert image["type"] == "input_image" and image["detail"] == "auto"
    assert _data_url_bytes(image["image_url"]) == case_image_bytes(suite.cases[0], "birds")
    images = _images(result)
    assert [len(i) for i in images] == [0, 1, 1]  # the rule turn is answered in words
    assert Image.open(io.BytesIO(images[2][0])).format == "PNG"
    score = run.scores("reference")["wire.three_turns#0"]
    assert score.verdicts[0].tags == ["literal"]  # the fake draws the words: 2 birds
    _assert_no_key(result.path)


def test_openai_responses_stateless_resends_the_dialogue(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(fake, suite, "openai/gpt-5.5", tmp_path, {"stateless": True})
    assert RunDir.open(result.path).manifest().model.protocol == "stateless:responses-resend"
    third = [r for r in fake.requests if r.path == "/v1/responses"][2].json
    assert "previous_response_id" not in third and third["store"] is False
    roles = [item["role"] for item in third["input"]]
    assert roles == ["user", "assistant", "user", "assistant", "user"]
    last = third["input"][-1]["content"]
    made = _images(result)[1][0]
    assert [c["type"] for c in last] == ["input_text", "input_image", "input_text", "input_image"]
    assert _data_url_bytes(last[1]["image_url"]) == made  # its own image comes back to it
    assert last[2]["text"] == suite.cases[0].turns[2].user
    assert _data_url_bytes(last[3]["image_url"]) == case_image_bytes(suite.cases[0], "birds")


@pytest.mark.parametrize(
    ("model", "options", "sent_model", "format_asked"),
    [
        pytest.param("openai-images/gpt-image-2", {}, "gpt-image-2", {}, id="openai-images"),
        pytest.param("compat/local", {"model": "flux-kontext"}, "flux-kontext",
                     {"response_format": "b64_json"}, id="compat"),
    ],
)  # fmt: skip
def test_images_api_folds_the_dialogue_and_edits_the_canvas(
    fake: FakeServer,
    suite: uniprobe.Suite,
    tmp_path: Path,
    model: str,
    options: dict[str, object],
    sent_model: str,
    format_asked: dict[str, str],
) -> None:
    result = _run(fake, suite, model, tmp_path, options)
    reqs = [r for r in fake.requests if r.path.startswith("/v1/images/")]
    assert [r.path for r in reqs] == [
        "/v1/images/generations",
        "/v1/images/edits",
        "/v1/images/edits",
    ]
    assert reqs[0].json == {
        "model": sent_model,
        "prompt": suite.cases[0].turns[0].user,
        "size": "1024x1024",
        "quality": "low",
        "output_format": "png",
        "n": 1,
        **format_asked,  # gpt-image models reject response_format; compat asks for base64
    }
    turns = suite.cases[0].turns
    assert reqs[1].form["prompt"] == (
        f"Earlier in this conversation I said:\n1. {turns[0].user}\nNow: {turns[1].user}"
    )
    assert reqs[1].form["model"] == sent_model and reqs[1].form["n"] == "1"
    images = _images(result)
    [canvas] = reqs[1].files["image"]
    assert canvas.data == images[0][0]  # the image it made in turn 1 is the canvas of turn 2
    [attached] = reqs[2].files["image"]
    assert attached.data == case_image_bytes(suite.cases[0], "birds")
    assert RunDir.open(result.path).manifest().model.protocol == "emulated:fold-prompts+canvas-edit"
    _assert_no_key(result.path)


def test_gemini_resends_history_with_images_and_signatures(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    result = _run(fake, suite, "google/gemini-3.1-flash-image", tmp_path)
    reqs = [r for r in fake.requests if r.path.endswith(":generateContent")]
    assert [r.path for r in reqs] == ["/v1/models/gemini-3.1-flash-image:generateContent"] * 3
    assert all(r.headers["x-goog-api-key"] == KEY for r in reqs)
    first, _, third = (r.json for r in reqs)
    assert first["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    assert first["generationConfig"]["imageConfig"] == {"aspectRatio": "1:1"}
    contents = third["contents"]
    assert [c["role"] for c in contents] == ["user", "model", "user", "model", "user"]
    model_parts = contents[3]["parts"]
    image_parts = [p for p in model_parts if "inlineData" in p]
    assert len(image_parts) == 1
    data = base64.urlsafe_b64decode(image_parts[0]["inlineData"]["data"])
    assert data == _images(result)[1][0]
    assert image_parts[0]["thoughtSignature"]
    assert fake.missing_thought_signatures == 0
    attached = next(p for p in contents[4]["parts"] if "inlineData" in p)["inlineData"]
    assert base64.urlsafe_b64decode(attached["data"]) == case_image_bytes(suite.cases[0], "birds")
    cost = RunDir.open(result.path).manifest().totals.cost_usd
    assert cost > 0
    _assert_no_key(result.path)


def test_models_list_names_every_backend() -> None:
    names = set(uniprobe.backend_registry.names())
    assert {"compat", "diffusers", "google", "openai", "openai-images", "reference"} <= names
