"""The wire fakes hand text-only requests to a mind: the Responses API without the
image_generation tool, Gemini with `responseModalities: ["TEXT"]`. The mind sees the whole
conversation (a stored `previous_response_id` history included, images as bytes) and the
JSON schema the request asked for; its text comes back as the provider's text output."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest
from fake_http import Http

from uniprobe.testing import FakeServer, paint
from uniprobe.testing._mind import Said

TOOL = {"type": "image_generation", "quality": "low", "size": "1024x1024", "output_format": "png"}
SCHEMA = {
    "type": "object",
    "properties": {"q1": {"type": "integer"}},
    "required": ["q1"],
    "additionalProperties": False,
}
FORMAT = {"type": "json_schema", "name": "answer", "schema": SCHEMA, "strict": True}


class Scripted:
    """A test mind: answers with a fixed text and records what it was handed."""

    def __init__(self, text: str = '{"q1": 3}') -> None:
        self.text = text
        self.calls: list[tuple[str, tuple[Said, ...], Mapping[str, Any] | None]] = []
        self._lock = threading.Lock()

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        with self._lock:
            self.calls.append((model, tuple(conversation), schema))
        return self.text


class Broken:
    """A mind with a bug."""

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        raise RuntimeError("the mind broke")


@pytest.fixture
def mind() -> Scripted:
    return Scripted()


@pytest.fixture
def fake(mind: Scripted) -> Iterator[FakeServer]:
    with FakeServer(mind=mind) as server:
        yield server


@pytest.fixture
def client(fake: FakeServer) -> Http:
    return Http(fake.url)


def _png(text: str = "a red car") -> bytes:
    png, _ = paint(text, input_image=None, size=96)
    assert png is not None
    return png


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


# --- Responses ---------------------------------------------------------------------------


def test_responses_without_the_tool_ask_the_mind_with_the_stored_history(
    fake: FakeServer, client: Http, mind: Scripted
) -> None:
    first = client.post("/v1/responses", {"model": "gpt-5.5", "input": "a cat", "tools": [TOOL]})
    drawn = base64.b64decode(first.json()["output"][0]["result"])
    attached = _png()
    question = {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "How many cats? Answer in JSON."},
            {"type": "input_image", "image_url": _data_url(attached), "detail": "auto"},
        ],
    }
    reply = client.post(
        "/v1/responses",
        {"model": "gpt-5.5", "input": [question], "previous_response_id": first.json()["id"],
         "store": False, "text": {"format": FORMAT}},
    )  # fmt: skip
    assert reply.status == 200
    body = reply.json()
    [(model, said, schema)] = mind.calls
    assert model == "gpt-5.5" and schema == SCHEMA
    assert said == (
        Said("user", "a cat"),
        Said("assistant", "Here is an image of a cat.", (drawn,)),
        Said("user", "How many cats? Answer in JSON.", (attached,)),
    )
    [message] = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [{"type": "output_text", "text": '{"q1": 3}', "annotations": []}]
    assert body["status"] == "completed" and body["store"] is False
    assert body["text"] == {"format": FORMAT}
    assert body["tools"] == [] and body["previous_response_id"] == first.json()["id"]
    usage = body["usage"]
    assert usage["output_tokens"] == 3  # 9 characters, 4 a token
    assert usage["input_tokens"] > first.json()["usage"]["input_tokens"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert body["tool_usage"]["image_gen"]["output_tokens"] == 0
    assert fake.images_served == 1  # the first request's drawing only
    again = client.post(
        "/v1/responses", {"model": "gpt-5.5", "input": "and?", "previous_response_id": body["id"]}
    )
    assert again.status == 400  # store: false keeps nothing


def test_responses_stateless_input_reaches_the_mind(client: Http, mind: Scripted) -> None:
    drawn = _png("a dog")
    history = [
        {"role": "user", "content": [{"type": "input_text", "text": "a dog"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Here it is"}]},
        {"role": "user", "content": [
            {"type": "input_text", "text": "(The image you made in your previous reply:)"},
            {"type": "input_image", "image_url": _data_url(drawn), "detail": "auto"},
            {"type": "input_text", "text": "Is it a dog?"}]},
    ]  # fmt: skip
    body = client.post("/v1/responses", {"model": "m", "input": history, "store": False}).json()
    [(_, said, schema)] = mind.calls
    assert schema is None
    assert said[-1] == Said(
        "user", "(The image you made in your previous reply:)\nIs it a dog?", (drawn,)
    )
    assert body["output"][0]["content"][0]["text"] == '{"q1": 3}'
    assert body["text"] == {"format": {"type": "text"}}


def test_responses_with_the_tool_still_draw(fake: FakeServer, client: Http, mind: Scripted) -> None:
    body = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [TOOL]}).json()
    assert body["output"][0]["type"] == "image_generation_call" and mind.calls == []
    assert fake.images_served == 1


def test_responses_invalid_structured_output_is_cut_off(client: Http) -> None:
    with FakeServer(mind=Scripted("three cats")) as fake:
        body = (
            Http(fake.url)
            .post("/v1/responses", {"model": "m", "input": "how many?", "text": {"format": FORMAT}})
            .json()
        )
    # what the real API does when structured output stops before the JSON is complete
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["content"][0]["text"] == "three cats"
    # without a schema, any text is an answer
    with FakeServer(mind=Scripted("three cats")) as fake:
        plain = Http(fake.url).post("/v1/responses", {"model": "m", "input": "how many?"}).json()
    assert plain["status"] == "completed"


@pytest.mark.parametrize("text", [None, {"format": FORMAT}], ids=["plain", "schema"])
def test_responses_without_a_mind_answer_as_before(text: dict[str, Any] | None) -> None:
    payload: dict[str, Any] = {"model": "m", "input": "hello"}
    if text is not None:
        payload["text"] = text
    with FakeServer() as fake:
        body = Http(fake.url).post("/v1/responses", payload).json()
    assert body["status"] == "completed"
    assert body["output"][0]["content"][0]["text"] == (
        "I can only answer in text: no image_generation tool was given."
    )


def test_a_broken_mind_is_a_bug_of_the_fake() -> None:
    with FakeServer(mind=Broken()) as fake:
        reply = Http(fake.url).post("/v1/responses", {"model": "m", "input": "hello"})
        assert reply.status == 500
        [trace] = fake.errors
    assert "RuntimeError: the mind broke" in trace


# --- Gemini ------------------------------------------------------------------------------


def _user(text: str, *images: bytes) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"text": text}]
    parts += [{"inlineData": {"mimeType": "image/png", "data": base64.b64encode(i).decode()}}
              for i in images]  # fmt: skip
    return {"role": "user", "parts": parts}


def test_gemini_text_modality_asks_the_mind(client: Http, mind: Scripted) -> None:
    path = "/v1/models/gemini-3-pro-image-preview:generateContent"
    drawn = client.post(path, {"contents": [_user("a cat")]}).json()
    model_turn = drawn["candidates"][0]["content"]
    image = base64.b64decode(model_turn["parts"][2]["inlineData"]["data"])
    attached = _png()
    config = {"responseModalities": ["text"], "responseMimeType": "application/json",
              "responseJsonSchema": SCHEMA}  # fmt: skip
    reply = client.post(
        path,
        {"contents": [_user("a cat"), model_turn, _user("How many?", attached)],
         "generationConfig": config},
    )  # fmt: skip
    assert reply.status == 200
    body = reply.json()
    [(model, said, schema)] = mind.calls
    assert model == "gemini-3-pro-image-preview" and schema == SCHEMA
    assert said == (
        Said("user", "a cat"),
        Said("assistant", "Here is an image of a cat.", (image,)),
        Said("user", "How many?", (attached,)),
    )
    [candidate] = body["candidates"]
    thought, text = candidate["content"]["parts"]  # a gemini-3 model thinks first
    assert thought["thought"] is True and thought["thoughtSignature"]
    assert text["text"] == '{"q1": 3}' and text["thoughtSignature"]
    assert candidate["finishReason"] == "STOP"
    usage = body["usageMetadata"]
    assert usage["candidatesTokenCount"] == 3
    assert usage["candidatesTokensDetails"] == [{"modality": "TEXT", "tokenCount": 3}]
    assert usage["promptTokensDetails"][1] == {"modality": "IMAGE", "tokenCount": 2 * 258}


def test_gemini_response_schema_in_snake_case_reaches_the_mind(
    client: Http, mind: Scripted
) -> None:
    config = {"response_modalities": ["TEXT"], "response_mime_type": "application/json",
              "response_schema": SCHEMA}  # fmt: skip
    path = "/v1beta/models/gemini-2.5-flash-image:generateContent"
    body = client.post(path, {"contents": [_user("How many?")], "generation_config": config})
    [(_, said, schema)] = mind.calls
    assert schema == SCHEMA and said == (Said("user", "How many?"),)
    assert body.json()["candidates"][0]["content"]["parts"] == [{"text": '{"q1": 3}'}]


def test_gemini_invalid_structured_output_stops_at_max_tokens() -> None:
    config = {"responseModalities": ["TEXT"], "responseMimeType": "application/json",
              "responseJsonSchema": SCHEMA}  # fmt: skip
    with FakeServer(mind=Scripted("three")) as fake:
        body = (
            Http(fake.url)
            .post("/v1/models/gemini-2.5-flash-image:generateContent",
                  {"contents": [_user("How many?")], "generationConfig": config})
            .json()
        )  # fmt: skip
    [candidate] = body["candidates"]
    assert candidate["finishReason"] == "MAX_TOKENS"
    assert candidate["content"]["parts"] == [{"text": "three"}]


def test_gemini_requests_that_draw_or_judge_do_not_reach_the_mind(
    fake: FakeServer, client: Http, mind: Scripted
) -> None:
    path = "/v1/models/gemini-2.5-flash-image:generateContent"
    both = {"responseModalities": ["TEXT", "IMAGE"]}
    drawn = client.post(path, {"contents": [_user("a cat")], "generationConfig": both}).json()
    assert "inlineData" in drawn["candidates"][0]["content"]["parts"][-1]
    judge = {"responseMimeType": "application/json", "responseJsonSchema": SCHEMA}
    judged = client.post(path, {"contents": [_user("q")], "generationConfig": judge}).json()
    assert judged["candidates"][0]["content"]["parts"] == [{"text": "{}"}]  # the JSON handler
    assert mind.calls == []


def test_gemini_without_a_mind_answers_as_before() -> None:
    config = {"responseModalities": ["TEXT"]}
    with FakeServer() as fake:
        body = (
            Http(fake.url)
            .post("/v1/models/gemini-2.5-flash-image:generateContent",
                  {"contents": [_user("a cat")], "generationConfig": config})
            .json()
        )  # fmt: skip
    assert body["candidates"][0]["content"]["parts"] == [
        {"text": "I can only answer in text: IMAGE is not a response modality."}
    ]
