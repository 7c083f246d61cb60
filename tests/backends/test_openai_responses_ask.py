"""`openai/<model>` answers in words (`Backend.ask`): the same conversation as `send`, no
image_generation tool, the schema as `text.format`, `store: false`; a branch the main
conversation never continues from. Against the fake server with a scripted mind; the
exact requests the SDK sent are asserted."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from pydantic import SecretStr

from uniprobe.backends.base import (
    Conversation,
    ImageData,
    Reply,
    Session,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.openai_responses import OpenAIResponsesBackend
from uniprobe.backends.registry import create_backend, model_capabilities
from uniprobe.config import Config, ProviderConfig
from uniprobe.errors import BackendError
from uniprobe.testing import FakeServer, FaultKind, paint
from uniprobe.testing._mind import Said

pytest.importorskip("openai")

KEY = "sk-test-5ecret-never-logged"
ANSWER = '{"q1": 3}'
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"q1": {"type": "integer"}},
    "required": ["q1"],
    "additionalProperties": False,
}
FORMAT = {"type": "json_schema", "name": "answer", "schema": SCHEMA, "strict": True}
CONTEXT = SessionContext("case.one", 0, 7)


class Scripted:
    """A test mind: answers with a fixed text and records what it was handed."""

    def __init__(self, text: str = ANSWER) -> None:
        self.text = text
        self.calls: list[tuple[str, tuple[Said, ...], Mapping[str, Any] | None]] = []
        self._lock = threading.Lock()

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        with self._lock:
            self.calls.append((model, tuple(conversation), schema))
        return self.text


@pytest.fixture
def mind() -> Scripted:
    return Scripted()


@pytest.fixture
def fake(mind: Scripted) -> Iterator[FakeServer]:
    with FakeServer(mind=mind) as server:
        yield server


def _backend(fake: FakeServer, **options: object) -> OpenAIResponsesBackend:
    config = Config(
        providers={"openai": ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url + "/v1")}
    )
    backend = create_backend("openai/gpt-5.5", options, config=config)
    assert isinstance(backend, OpenAIResponsesBackend)
    return backend


def _bodies(fake: FakeServer) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == "/v1/responses"]


def _user(text: str, *images: ImageData) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "input_text", "text": text}]
    content += [{"type": "input_image", "image_url": _url(i), "detail": "auto"} for i in images]
    return {"role": "user", "content": content}


def _url(image: ImageData) -> str:
    return "data:image/png;base64," + base64.b64encode(image.data).decode()


def _png(text: str) -> ImageData:
    png, _ = paint(text, input_image=None, size=96)
    assert png is not None
    return ImageData(png)


def test_the_provider_backends_say_they_answer_probes() -> None:
    probes = {name: c.probes for name, c in model_capabilities().items()}
    assert probes["openai/<model>"] is True and probes["google/<model>"] is True
    # an image endpoint or a local pipeline cannot be asked in words
    for name in ("openai-images/<model>", "compat/<model>", "diffusers/<model>"):
        assert probes[name] is False, name
    assert probes["reference/oracle"] is False and probes["reference/literal"] is False


def test_ask_branches_from_the_main_conversation(fake: FakeServer, mind: Scripted) -> None:
    backend = _backend(fake)
    attached = _png("a blue car")

    async def go() -> tuple[Reply, Reply, Reply]:
        session = Session(backend.send, CONTEXT)
        first = await session.send(UserTurn(1, "Generate an image of 2 birds."))
        asked = await backend.ask(
            Conversation(CONTEXT, tuple(session.history)),
            UserTurn(2, "How many birds did you draw?", (attached,)),
            schema=SCHEMA,
        )
        second = await session.send(UserTurn(2, "Add a tree."))
        await backend.aclose()
        return first, asked, second

    first, asked, second = asyncio.run(go())
    draw, ask, then = _bodies(fake)
    first_id = first.state["response_id"]
    assert ask == {
        "model": "gpt-5.5",
        "input": [_user("How many birds did you draw?", attached)],
        "previous_response_id": first_id,
        "store": False,
        "text": {"format": FORMAT},
    }
    assert "tools" in draw and "store" not in draw
    # the main conversation continues from its own exchange, never from the ask
    assert then["previous_response_id"] == first_id
    assert then["input"] == [_user("Add a tree.")] and "tools" in then
    assert second.images and len(first.images) == 1
    # what the mind was handed: the stored conversation, the drawing as bytes, the schema
    [(model, said, schema)] = mind.calls
    assert model == "gpt-5.5" and schema == SCHEMA
    assert said == (
        Said("user", "Generate an image of 2 birds."),
        Said("assistant", first.text or "", (first.images[0].data,)),
        Said("user", "How many birds did you draw?", (attached.data,)),
    )
    assert asked.text == ANSWER and asked.refusal is None and asked.images == ()
    assert asked.state == {}  # nothing to continue from: the ask was not stored
    assert asked.raw_meta["response_id"] != first_id and asked.raw_meta["model"] == "gpt-5.5"
    assert "image_model" not in asked.raw_meta  # no image tool was given
    usage = asked.usage
    assert usage.output_tokens == 3 and usage.images == 0 and usage.input_tokens
    assert usage.cached_input_tokens == 0 and usage.output_image_tokens is None
    # text tokens at the text model's price (gpt-5.5: $5 in, $30 out per million)
    expected = (usage.input_tokens * 5.0 + 3 * 30.0) / 1e6
    assert asked.cost_usd == pytest.approx(expected)


def test_stateless_ask_resends_the_dialogue_without_the_tool(fake: FakeServer) -> None:
    backend = _backend(fake, stateless=True, instructions="Be brief.", max_output_tokens=500)

    async def go() -> Reply:
        session = Session(backend.send, CONTEXT)
        await session.send(UserTurn(1, "Generate an image of 2 birds."))
        asked = await backend.ask(
            Conversation(CONTEXT, tuple(session.history)), UserTurn(2, "How many?")
        )
        await backend.aclose()
        return asked

    asked = asyncio.run(go())
    draw, ask = _bodies(fake)
    assert ask == {
        "model": "gpt-5.5",
        "instructions": "Be brief.",
        "max_output_tokens": 500,
        "input": [*draw["input"], *ask["input"][1:]],
        "store": False,
    }
    assert [m["role"] for m in ask["input"]] == ["user", "assistant", "user"]
    made = ask["input"][2]["content"]
    assert made[0] == {"type": "input_text", "text": "(The image you made in your previous reply:)"}
    assert made[1]["type"] == "input_image" and made[-1] == {
        "type": "input_text",
        "text": "How many?",
    }
    assert asked.text == ANSWER


def _ask(fake: FakeServer, schema: dict[str, Any] | None = SCHEMA) -> Reply:
    backend = _backend(fake)

    async def go() -> Reply:
        try:
            return await backend.ask(Conversation(CONTEXT), UserTurn(1, "How many?"), schema=schema)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_ask_without_a_schema_sends_no_text_format(fake: FakeServer) -> None:
    asked = _ask(fake, None)
    [body] = _bodies(fake)
    assert body == {"model": "gpt-5.5", "input": [_user("How many?")], "store": False}
    assert asked.text == ANSWER


@pytest.mark.parametrize(
    ("fault", "reason", "refusal"),
    [
        pytest.param(
            "response_incomplete", "content_filter", "response incomplete: content_filter",
            id="filtered",
        ),
        pytest.param(
            "moderation_blocked", None, "Your request was rejected by the safety system.",
            id="moderated",
        ),
    ],
)  # fmt: skip
def test_a_blocked_ask_is_a_refusal(
    fake: FakeServer, fault: FaultKind, reason: str | None, refusal: str
) -> None:
    fake.inject(fault, path_prefix="/v1/responses", reason=reason)
    asked = _ask(fake)
    assert asked.text is None and asked.refusal is not None
    assert asked.refusal.startswith(refusal)


@pytest.mark.parametrize(
    ("fault", "kind", "status", "retryable"),
    [
        pytest.param("server_error", "server", 500, True, id="500"),
        pytest.param("rate_limit", "rate_limit", 429, True, id="429"),
        pytest.param("quota", "rate_limit", 429, False, id="quota"),
        pytest.param("response_failed", "server", None, True, id="failed"),
    ],
)
def test_a_failed_ask_is_a_backend_error_like_send(
    fake: FakeServer, fault: FaultKind, kind: str, status: int | None, retryable: bool
) -> None:
    fake.inject(fault, path_prefix="/v1/responses")
    with pytest.raises(BackendError) as err:
        _ask(fake)
    assert (err.value.kind, err.value.status, err.value.retryable) == (kind, status, retryable)
    assert err.value.backend == "openai/gpt-5.5"


def test_structured_output_cut_off_is_an_error() -> None:
    with FakeServer(mind=Scripted("three birds")) as fake, pytest.raises(BackendError) as err:
        _ask(fake)
    assert err.value.kind == "bad_response"
    assert str(err.value) == "openai/gpt-5.5: response incomplete: max_output_tokens"


def _response(content: list[dict[str, Any]], **extra: Any) -> Any:
    from openai.types.responses import Response

    message = {"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
               "content": content}  # fmt: skip
    return Response.model_validate(
        {"id": "resp_1", "object": "response", "created_at": 0, "model": "gpt-5.5",
         "status": "completed", "output": [message], "parallel_tool_calls": True,
         "tool_choice": "auto", "tools": [],
         "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0,
                                                                "cache_write_tokens": 0},
                   "output_tokens": 10, "output_tokens_details": {"reasoning_tokens": 0},
                   "total_tokens": 110},
         **extra}
    )  # fmt: skip


def test_a_refusal_part_is_a_refusal_and_text_alone_is_priced() -> None:
    backend = create_backend("openai/gpt-5.5", config=Config())
    assert isinstance(backend, OpenAIResponsesBackend)
    refused = backend.ask_reply(
        _response([{"type": "refusal", "refusal": "I can't help with that."}])
    )
    assert refused.refusal == "I can't help with that." and refused.text is None
    # no tool_usage in the response (no tool was given): the text tokens are the cost
    said = backend.ask_reply(
        _response([{"type": "output_text", "text": ANSWER, "annotations": []}])
    )
    assert said.text == ANSWER
    assert said.cost_usd == pytest.approx((100 * 5.0 + 10 * 30.0) / 1e6)
