"""`google/<model>` answers in words (`Backend.ask`): the history and the turn as contents
(thought signatures kept), `responseModalities: ["TEXT"]`, the schema as
`responseJsonSchema`. Against the fake server with a scripted mind; the exact requests the
SDK sent are asserted."""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from pydantic import SecretStr

from uniprobe.backends.base import Conversation, ImageData, Reply, Session, SessionContext, UserTurn
from uniprobe.backends.gemini import GeminiBackend
from uniprobe.backends.registry import create_backend
from uniprobe.config import Config, ProviderConfig
from uniprobe.errors import BackendError
from uniprobe.testing import FakeServer, Fault, FaultKind, paint
from uniprobe.testing._mind import Said

pytest.importorskip("google.genai")

KEY = "g-test-5ecret-never-logged"
ANSWER = '{"q1": 3}'
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"q1": {"type": "integer"}},
    "required": ["q1"],
    "additionalProperties": False,
}
CONTEXT = SessionContext("case.one", 0, 7)
PATH = "/v1/models/gemini-3-pro-image:generateContent"


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
    with FakeServer(mind=mind, strict_signatures=True) as server:
        yield server


def _backend(fake: FakeServer, **options: object) -> GeminiBackend:
    config = Config(providers={"google": ProviderConfig(api_key=SecretStr(KEY), base_url=fake.url)})
    backend = create_backend("google/gemini-3-pro-image", options, config=config)
    assert isinstance(backend, GeminiBackend)
    return backend


def _bodies(fake: FakeServer) -> list[dict[str, Any]]:
    return [r.json for r in fake.requests if r.path == PATH]


def _png(text: str) -> ImageData:
    png, _ = paint(text, input_image=None, size=96)
    assert png is not None
    return ImageData(png)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()  # as google-genai sends bytes


def test_the_backend_says_it_answers_probes() -> None:
    assert GeminiBackend.capabilities.probes is True


def test_ask_sends_the_history_text_only_and_the_schema(fake: FakeServer, mind: Scripted) -> None:
    backend = _backend(fake, system_instruction="Be brief.")
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
    assert fake.count(PATH, status=200) == 3 and fake.missing_thought_signatures == 0
    draw, ask, then = _bodies(fake)
    assert ask["generationConfig"] == {
        "responseModalities": ["TEXT"],
        "responseMimeType": "application/json",
        "responseJsonSchema": SCHEMA,
        "seed": 7,
    }
    assert ask["systemInstruction"] == {"parts": [{"text": "Be brief."}], "role": "user"}
    question = {
        "role": "user",
        "parts": [
            {"text": "How many birds did you draw?"},
            # google-genai 3.6.1 sends the blob's MIME type in snake case
            {"inlineData": {"mime_type": "image/png", "data": _b64(attached.data)}},
        ],
    }
    assert ask["contents"] == [*draw["contents"], then["contents"][1], question]
    assert then["generationConfig"]["responseModalities"] == ["TEXT", "IMAGE"]
    assert len(then["contents"]) == 3  # the ask never entered the conversation
    [(model, said, schema)] = mind.calls
    assert model == "gemini-3-pro-image" and schema == SCHEMA
    assert said == (
        Said("user", "Generate an image of 2 birds."),
        Said("assistant", first.text or "", (first.images[0].data,)),
        Said("user", "How many birds did you draw?", (attached.data,)),
    )
    assert asked.text == ANSWER and asked.refusal is None and asked.images == ()
    assert asked.raw_meta["finish_reason"] == "STOP" and second.images
    usage = asked.usage
    assert usage.output_tokens == 3 and usage.output_image_tokens == 0 and usage.images == 0
    assert usage.input_image_tokens == 2 * 258 and usage.input_tokens
    # gemini-3-pro-image: $2 per million input tokens (text and image), $12 per million text out
    assert asked.cost_usd == pytest.approx((usage.input_tokens * 2.0 + 3 * 12.0) / 1e6)


def _ask(fake: FakeServer, schema: dict[str, Any] | None = SCHEMA) -> Reply:
    backend = _backend(fake)

    async def go() -> Reply:
        try:
            return await backend.ask(Conversation(CONTEXT), UserTurn(1, "How many?"), schema=schema)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_ask_without_a_schema_asks_for_plain_text(fake: FakeServer) -> None:
    asked = _ask(fake, None)
    [body] = _bodies(fake)
    assert body == {
        "contents": [{"role": "user", "parts": [{"text": "How many?"}]}],
        "generationConfig": {"responseModalities": ["TEXT"], "seed": 7},
    }
    assert asked.text == ANSWER


@pytest.mark.parametrize(
    ("fault", "refusal"),
    [
        pytest.param(Fault("finish_reason", reason="SAFETY"), "blocked (SAFETY)", id="safety"),
        pytest.param(Fault("prompt_blocked"), "prompt blocked: PROHIBITED_CONTENT", id="prompt"),
    ],
)
def test_a_blocked_ask_is_a_refusal(fake: FakeServer, fault: Fault, refusal: str) -> None:
    fake.inject(fault, path_prefix=PATH)
    asked = _ask(fake)
    assert asked.text is None and asked.refusal is not None
    assert asked.refusal.startswith(refusal)


@pytest.mark.parametrize(
    ("fault", "kind", "status", "retryable"),
    [
        pytest.param("server_error", "server", 500, True, id="500"),
        pytest.param("rate_limit", "rate_limit", 429, True, id="429"),
        pytest.param("quota", "rate_limit", 429, False, id="quota"),
    ],
)
def test_a_failed_ask_is_a_backend_error_like_send(
    fake: FakeServer, fault: FaultKind, kind: str, status: int | None, retryable: bool
) -> None:
    fake.inject(fault, path_prefix=PATH)
    with pytest.raises(BackendError) as err:
        _ask(fake)
    assert (err.value.kind, err.value.status, err.value.retryable) == (kind, status, retryable)
    assert err.value.backend == "google/gemini-3-pro-image"


def test_structured_output_cut_off_is_an_error() -> None:
    with FakeServer(mind=Scripted("three birds")) as fake, pytest.raises(BackendError) as err:
        _ask(fake)
    assert err.value.kind == "bad_response"
    assert str(err.value) == "google/gemini-3-pro-image: generation stopped: MAX_TOKENS"
