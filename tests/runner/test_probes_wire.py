"""`--probe knows,sees` against the fake provider, through the real OpenAI backend: the
exact requests the server receives, and the main conversation's requests unchanged."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import uniprobe
from uniprobe.probes.questions import (
    answer_schema,
    knows_prompt,
    probe_questions,
    sees_prompt,
)
from uniprobe.testing import FakeServer
from uniprobe.testing._mind import Said

pytest.importorskip("openai")

KEY = "sk-probe-wire-0123456789"
TWO_TURNS = """\
- id: two.dog_cat
  family: post_generation
  subtype: condition_after_edit
  turns:
    - user: "Generate an image of a dog and a cat."
      expect:
        - present: {object: dog}
        - present: {object: cat}
    - user: "Make the dog a cat."
      edit: true
      expect:
        - absent: {object: dog}
"""


class Unsure:
    """A test mind: "unsure" to every question the schema asks; records what it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[Said, ...]] = []
        self._lock = threading.Lock()

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        with self._lock:
            self.calls.append(tuple(conversation))
        assert schema is not None
        return json.dumps(dict.fromkeys(schema["required"], "unsure"))


@pytest.fixture
def mind() -> Unsure:
    return Unsure()


@pytest.fixture
def fake(mind: Unsure) -> Iterator[FakeServer]:
    with FakeServer(mind=mind) as server:
        yield server


def _run(fake: FakeServer, tmp_path: Path, out: str, **settings: Any) -> uniprobe.RunResult:
    suite = tmp_path / "two.yaml"
    suite.write_text(TWO_TURNS, encoding="utf-8")
    config = tmp_path / "uniprobe.toml"
    config.write_text(
        f'[providers.openai]\napi_key_env = "UNIPROBE_TEST_KEY"\nbase_url = "{fake.url}/v1"\n',
        encoding="utf-8",
    )
    [result] = uniprobe.run(
        suite,
        ["openai/gpt-5.5"],
        out=tmp_path / out,
        config=config,
        policy="reference",
        images="synthetic",  # the fake paints synthetic scenes
        **settings,
    )
    return result


def _bodies(fake: FakeServer) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/v1/responses"]


def _texts(body: dict[str, Any]) -> list[str]:
    return [part["text"] for item in body["input"] for part in item["content"]]


def test_the_server_receives_knows_before_each_turn_and_sees_after(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mind: Unsure
) -> None:
    monkeypatch.setenv("UNIPROBE_TEST_KEY", KEY)
    plain = _run(fake, tmp_path, "plain")
    main = _bodies(fake)
    assert [_texts(b) for b in main] == [
        ["Generate an image of a dog and a cat."],
        ["Make the dog a cat."],
    ]
    result = _run(fake, tmp_path, "probed", probes="knows,sees")

    bodies = _bodies(fake)[len(main) :]
    case = uniprobe.load_suite(tmp_path / "two.yaml").cases[0]
    turns = [t.user for t in case.turns]
    knows = [knows_prompt(turns[i - 1], probe_questions(case, i, "knows")) for i in (1, 2)]
    sees = [sees_prompt(probe_questions(case, i, "sees")) for i in (1, 2)]
    assert [_texts(b) for b in bodies] == [
        [knows[0]],
        [turns[0]],
        [sees[0]],
        [knows[1]],
        [turns[1]],
        [sees[1]],
    ]
    probes, sends = bodies[0::3] + bodies[2::3], [bodies[1], bodies[4]]
    assert all("tools" not in b and b["store"] is False for b in probes)
    assert [b["text"]["format"]["schema"] for b in (bodies[0], bodies[2])] == [
        answer_schema(probe_questions(case, 1, "knows")),
        answer_schema(probe_questions(case, 1, "sees")),
    ]
    assert all(b["tools"][0]["type"] == "image_generation" for b in sends)
    # the main conversation: the same requests as a run without probes, continued from
    # the previous drawing (never from a probe, which nothing continues from)
    first_id = _ids(result)[0]
    assert "previous_response_id" not in bodies[0] and "previous_response_id" not in bodies[1]
    assert [b.get("previous_response_id") for b in bodies[2:]] == [first_id] * 3 + [_ids(result)[1]]
    assert [_strip(b) for b in sends] == [_strip(b) for b in main]
    assert len(mind.calls) == 4  # every probe reached the mind, no drawing did
    assert [len(c) for c in mind.calls] == [1, 3, 3, 5]
    assert len(bodies) - len(main) == 4  # 2 checked turns, <= 2 extra calls each
    assert plain.extra.get("probes") is None
    assert result.extra["probes"]["calls"] == 4


def _ids(result: uniprobe.RunResult) -> list[str]:
    [sample] = uniprobe.RunDir.open(result.path).samples().values()
    return [str(t.reply.state["response_id"]) for t in sample.turns if t.reply]


def _strip(body: dict[str, Any]) -> dict[str, Any]:
    """A request without the id of the response it continues (new in every run)."""
    return {k: v for k, v in body.items() if k != "previous_response_id"}


def _unsigned(value: Any) -> Any:
    """A Gemini request without its thought signatures (new in every reply)."""
    if isinstance(value, dict):
        return {k: _unsigned(v) for k, v in value.items() if k != "thoughtSignature"}
    if isinstance(value, list):
        return [_unsigned(v) for v in value]
    return value


def test_gemini_probes_ask_in_text_and_the_main_requests_are_the_same(
    fake: FakeServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mind: Unsure
) -> None:
    pytest.importorskip("google.genai")
    monkeypatch.setenv("UNIPROBE_TEST_KEY", KEY)
    (tmp_path / "two.yaml").write_text(TWO_TURNS, encoding="utf-8")
    config = tmp_path / "gemini.toml"
    config.write_text(
        f'[providers.google]\napi_key_env = "UNIPROBE_TEST_KEY"\nbase_url = "{fake.url}"\n',
        encoding="utf-8",
    )
    common: dict[str, Any] = {"config": config, "policy": "reference", "images": "synthetic"}
    model = ["google/gemini-3.1-flash-image"]

    def generated() -> list[dict[str, Any]]:
        return [r.json for r in fake.requests if r.path.endswith(":generateContent")]

    uniprobe.run(tmp_path / "two.yaml", model, out=tmp_path / "plain", **common)
    main = generated()
    uniprobe.run(
        tmp_path / "two.yaml", model, out=tmp_path / "probed", probes="knows,sees", **common
    )
    bodies = generated()[len(main) :]

    modalities = [b["generationConfig"]["responseModalities"] for b in bodies]
    assert modalities == [["TEXT"], ["TEXT", "IMAGE"], ["TEXT"]] * 2
    # the drawings' requests, exactly (but the signatures the fake mints for each reply)
    assert [_unsigned(bodies[1]), _unsigned(bodies[4])] == [_unsigned(b) for b in main]
    assert [len(b["contents"]) for b in bodies] == [1, 1, 3, 3, 3, 5]
    assert all(
        b["generationConfig"]["responseMimeType"] == "application/json" for b in bodies[0::3]
    )
    assert len(mind.calls) == 4
