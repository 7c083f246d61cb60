"""The fake server speaks each provider's wire protocol, records requests, and stays local."""

from __future__ import annotations

import base64
import dataclasses
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fake_http import Http, running_fake
from PIL import Image

from uniprobe.errors import UsageError
from uniprobe.testing import FakeServer, FilePart, paint, serve_forever

DOLPHINS = "Generate an image of 5 dolphins in the ocean"
TOOL = {"type": "image_generation", "quality": "low", "size": "1024x1024", "output_format": "png"}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    yield from running_fake()


@pytest.fixture
def client(fake: FakeServer) -> Http:
    return Http(fake.url)


def _png(text: str = "a red car", size: int = 128) -> bytes:
    png, _ = paint(text, input_image=None, size=size)
    assert png is not None
    return png


def _decode_png(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data, validate=True)))
    assert image.format == "PNG"
    return image


def _multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = "----uniprobe-test-boundary"
    out = b""
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, filename, data in files:
        out += (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        out += data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return out, f"multipart/form-data; boundary={boundary}"


# --- OpenAI Responses ----------------------------------------------------------------


def test_responses_draws_with_the_image_generation_tool(fake: FakeServer, client: Http) -> None:
    reply = client.post("/v1/responses", {"model": "gpt-5.5", "input": DOLPHINS, "tools": [TOOL]})
    assert reply.status == 200 and reply.headers["x-request-id"].startswith("req_")
    body = reply.json()
    assert body["id"].startswith("resp_") and body["object"] == "response"
    assert body["status"] == "completed" and body["previous_response_id"] is None
    call, message = body["output"]
    result = call.pop("result")
    assert call.pop("id").startswith("ig_")
    assert call == {
        "type": "image_generation_call", "status": "completed", "action": "generate",
        "background": "opaque", "output_format": "png", "quality": "low", "size": "1024x1024",
        "revised_prompt": DOLPHINS,
    }  # fmt: skip
    assert _decode_png(result).size == (512, 512)
    assert message["type"] == "message" and message["role"] == "assistant"
    assert message["content"] == [
        {
            "type": "output_text",
            "text": "Here is an image of 5 dolphins and water.",
            "annotations": [],
        }
    ]
    assert set(body["usage"]) == {
        "input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details",
        "total_tokens",
    }  # fmt: skip
    assert body["tool_usage"]["image_gen"] == {
        "input_tokens": 11,
        "input_tokens_details": {"image_tokens": 0, "text_tokens": 11},
        "output_tokens": 272,
        "output_tokens_details": {"image_tokens": 272, "text_tokens": 0},
        "total_tokens": 283,
    }
    assert fake.images_served == 1


@pytest.mark.parametrize(
    ("size", "quality", "tokens"),
    [
        pytest.param("1024x1024", "low", 272, id="square-low"),
        pytest.param("1024x1536", "medium", 1584, id="portrait-medium"),
        pytest.param("1536x1024", "high", 6208, id="landscape-high"),
        pytest.param("auto", "auto", 1056, id="auto-is-square-medium"),
        pytest.param("2048x2048", "low", 1088, id="other-sizes-scale-by-area"),
    ],
)
def test_responses_image_tokens_follow_size_and_quality(
    client: Http, size: str, quality: str, tokens: int
) -> None:
    tool = {"type": "image_generation", "size": size, "quality": quality}
    body = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [tool]}).json()
    assert body["tool_usage"]["image_gen"]["output_tokens"] == tokens
    assert body["output"][0]["size"] == ("1024x1024" if size == "auto" else size)


def test_responses_previous_response_id_continues_the_conversation(
    fake: FakeServer, client: Http
) -> None:
    first = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [TOOL]}).json()
    second = client.post(
        "/v1/responses",
        {"model": "m", "input": "make it better", "previous_response_id": first["id"],
         "tools": [TOOL]},
    ).json()  # fmt: skip
    assert second["previous_response_id"] == first["id"]
    # nothing drawable in "make it better": the image the server holds comes back unchanged
    assert second["output"][0]["result"] == first["output"][0]["result"]
    assert second["output"][0]["action"] == "edit"
    assert second["output"][1]["content"][0]["text"] == "I left the image unchanged."
    assert second["tool_usage"]["image_gen"]["input_tokens_details"]["image_tokens"] == 194
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"]
    missing = client.post(
        "/v1/responses", {"model": "m", "input": "x", "previous_response_id": "resp_nope"}
    )
    assert missing.status == 400
    assert missing.json() == {
        "error": {
            "message": "Previous response with id 'resp_nope' not found.",
            "type": "invalid_request_error",
            "param": "previous_response_id",
            "code": "previous_response_not_found",
        }
    }
    assert [r.status for r in fake.requests] == [200, 200, 400]


def test_responses_store_false_keeps_nothing(client: Http) -> None:
    first = client.post("/v1/responses", {"model": "m", "input": "a cat", "store": False}).json()
    again = client.post(
        "/v1/responses", {"model": "m", "input": "x", "previous_response_id": first["id"]}
    )
    assert first["store"] is False and again.status == 400


def test_responses_stateless_input_with_data_url_images(client: Http) -> None:
    attached = _png()
    url = "data:image/png;base64," + base64.b64encode(attached).decode()
    item = {
        "role": "user",
        "content": [
            {"type": "input_text", "text": "keep this as it is"},
            {"type": "input_image", "image_url": url, "detail": "auto"},
        ],
    }
    history = [
        {"role": "user", "content": [{"type": "input_text", "text": "a dog"}]},
        {"role": "assistant", "content": [{"type": "output_text", "text": "Here it is"}]},
    ]
    body = client.post(
        "/v1/responses", {"model": "m", "input": [*history, item], "tools": [TOOL]}
    ).json()
    assert base64.b64decode(body["output"][0]["result"]) == attached
    assert body["output"][0]["action"] == "edit"
    web = {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"}
    bad = client.post(
        "/v1/responses",
        {"model": "m", "input": [{"role": "user", "content": [web]}], "tools": [TOOL]},
    )
    assert bad.status == 400 and bad.json()["error"]["type"] == "invalid_request_error"


def test_responses_image_generation_call_items_are_resolved_by_id(client: Http) -> None:
    first = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [TOOL]}).json()
    call_ref = {"type": "image_generation_call", "id": first["output"][0]["id"]}
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": []}
    body = client.post(
        "/v1/responses",
        {"model": "m", "tools": [TOOL],
         "input": [reasoning, call_ref, {"role": "user", "content": "unchanged please"}]},
    ).json()  # fmt: skip
    assert body["output"][0]["result"] == first["output"][0]["result"]


def test_responses_without_the_tool_answer_in_text(fake: FakeServer, client: Http) -> None:
    body = client.post("/v1/responses", {"model": "m", "input": DOLPHINS}).json()
    [message] = body["output"]
    assert (
        message["type"] == "message"
        and "no image_generation tool" in (message["content"][0]["text"])
    )
    assert body["tool_usage"]["image_gen"]["output_tokens"] == 0
    assert fake.images_served == 0


def test_responses_nothing_drawable_is_a_text_answer(client: Http) -> None:
    body = client.post(
        "/v1/responses", {"model": "m", "input": "From now on, be brief.", "tools": [TOOL]}
    ).json()
    assert [o["type"] for o in body["output"]] == ["message"]
    assert body["output"][0]["content"][0]["text"] == "I can't draw that."


def test_responses_forced_edit_without_an_image_is_an_error(client: Http) -> None:
    tool = {**TOOL, "action": "edit"}
    reply = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [tool]})
    assert reply.status == 400 and "no image" in reply.json()["error"]["message"]


def test_responses_honour_the_output_format(client: Http) -> None:
    tool = {**TOOL, "output_format": "jpeg"}
    body = client.post("/v1/responses", {"model": "m", "input": "a cat", "tools": [tool]}).json()
    image = Image.open(io.BytesIO(base64.b64decode(body["output"][0]["result"])))
    assert image.format == "JPEG" and body["output"][0]["output_format"] == "jpeg"


# --- OpenAI Images -------------------------------------------------------------------


def test_images_generations_returns_n_images(fake: FakeServer, client: Http) -> None:
    reply = client.post(
        "/v1/images/generations",
        {"model": "gpt-image-1.5", "prompt": "a red fox and 2 cats", "n": 2, "quality": "low",
         "size": "1024x1536", "background": "opaque", "output_format": "png", "moderation": "low"},
    )  # fmt: skip
    assert reply.status == 200
    body = reply.json()
    assert isinstance(body.pop("created"), int)
    data = body.pop("data")
    assert body == {
        "background": "opaque", "output_format": "png", "quality": "low", "size": "1024x1536",
        "usage": {"input_tokens": 5, "input_tokens_details": {"image_tokens": 0, "text_tokens": 5},
                  "output_tokens": 816, "total_tokens": 821,
                  "output_tokens_details": {"image_tokens": 816, "text_tokens": 0}},
    }  # fmt: skip
    assert [set(d) for d in data] == [{"b64_json"}, {"b64_json"}]
    assert data[0]["b64_json"] != data[1]["b64_json"]  # two layouts of the same words
    assert _decode_png(data[0]["b64_json"]).size == (512, 512)
    assert fake.images_served == 2


def test_images_generations_nothing_drawable_is_a_blank_canvas(client: Http) -> None:
    body = client.post("/v1/images/generations", {"model": "m", "prompt": "hello"}).json()
    image = _decode_png(body["data"][0]["b64_json"])
    assert len(image.getcolors() or []) == 1


@pytest.mark.parametrize(
    ("payload", "param"),
    [
        pytest.param({"model": "m"}, "prompt", id="no-prompt"),
        pytest.param({"model": "m", "prompt": "a cat", "n": 11}, "n", id="n-too-large"),
        pytest.param({"model": "m", "prompt": "a cat", "size": "big"}, "size", id="bad-size"),
        pytest.param(
            {"model": "m", "prompt": "a cat", "quality": "ultra"}, "quality", id="bad-quality"
        ),
    ],
)
def test_images_generations_validates(client: Http, payload: dict[str, Any], param: str) -> None:
    reply = client.post("/v1/images/generations", payload)
    assert reply.status == 400
    assert reply.json()["error"]["param"] == param


def test_images_edits_parses_repeated_image_fields(fake: FakeServer, client: Http) -> None:
    a, b, mask = _png("a cat"), _png("a dog"), _png("a tree")
    body, ctype = _multipart(
        {"prompt": "add 2 birds", "model": "gpt-image-1.5", "n": "1", "quality": "low",
         "size": "1024x1024", "input_fidelity": "high"},
        [("image[]", "a.png", a), ("image[]", "b.png", b), ("mask", "mask.png", mask)],
    )  # fmt: skip
    reply = client.post("/v1/images/edits", body=body, headers={"content-type": ctype})
    assert reply.status == 200
    out = reply.json()
    assert len(out["data"]) == 1 and out["usage"]["input_tokens_details"]["image_tokens"] == 388
    [req] = fake.requests
    assert req.json is None and req.body == body
    assert req.form == {
        "prompt": "add 2 birds", "model": "gpt-image-1.5", "n": "1", "quality": "low",
        "size": "1024x1024", "input_fidelity": "high",
    }  # fmt: skip
    assert req.files == {
        "image[]": [FilePart("a.png", "image/png", a), FilePart("b.png", "image/png", b)],
        "mask": [FilePart("mask.png", "image/png", mask)],
    }


def test_images_edits_single_image_field_and_unchanged_canvas(
    fake: FakeServer, client: Http
) -> None:
    canvas = _png("a cat")
    body, ctype = _multipart({"prompt": "keep it", "model": "m"}, [("image", "c.png", canvas)])
    reply = client.post("/v1/images/edits", body=body, headers={"content-type": ctype})
    assert base64.b64decode(reply.json()["data"][0]["b64_json"]) == canvas
    assert fake.requests[0].files["image"][0].data == canvas


def test_images_edits_needs_an_image(client: Http) -> None:
    body, ctype = _multipart({"prompt": "a cat", "model": "m"}, [])
    reply = client.post("/v1/images/edits", body=body, headers={"content-type": ctype})
    assert reply.status == 400 and reply.json()["error"]["param"] == "image"


# --- OpenAI Chat Completions ---------------------------------------------------------

CHAT = {
    "model": "gpt-5.5",
    "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "Score 1-5"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA",
                                                "detail": "high"}},
        ]},
    ],
}  # fmt: skip


def test_chat_default_answer_is_an_empty_json_object(client: Http) -> None:
    reply = client.post("/v1/chat/completions", CHAT)
    body = reply.json()
    assert body["object"] == "chat.completion" and body["model"] == "gpt-5.5"
    [choice] = body["choices"]
    assert choice["message"] == {
        "role": "assistant",
        "content": "{}",
        "refusal": None,
        "annotations": [],
    }
    assert choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["prompt_tokens_details"]["image_tokens"] == 194
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


def test_chat_handler_is_pluggable() -> None:
    seen: list[dict[str, Any]] = []

    def judge(body: dict[str, Any]) -> str:
        seen.append(body)
        return json.dumps({"score": 4, "reason": "two birds"})

    with FakeServer(chat_handler=judge) as fake:
        body = Http(fake.url).post("/v1/chat/completions", CHAT).json()
    assert json.loads(body["choices"][0]["message"]["content"]) == {
        "score": 4,
        "reason": "two birds",
    }
    assert seen == [CHAT]


def test_chat_handler_errors_become_500s() -> None:
    def broken(body: dict[str, Any]) -> str:
        raise RuntimeError("judge exploded")

    with FakeServer(chat_handler=broken) as fake:
        reply = Http(fake.url).post("/v1/chat/completions", CHAT)
    assert reply.status == 500
    assert reply.json()["error"]["type"] == "server_error"
    assert "judge exploded" in reply.json()["error"]["message"]
    assert fake.errors == []  # the handler failed, not the fake


# --- Gemini --------------------------------------------------------------------------


def _gemini(text: str, *history: dict[str, Any]) -> dict[str, Any]:
    return {
        "contents": [*history, {"role": "user", "parts": [{"text": text}]}],
        "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]},
    }


@pytest.mark.parametrize("version", ["v1", "v1beta"])
def test_gemini_generates_under_both_prefixes(fake: FakeServer, client: Http, version: str) -> None:
    path = f"/{version}/models/gemini-2.5-flash-image:generateContent"
    reply = client.post(path, _gemini("draw a red car"))
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json; charset=UTF-8"
    body = reply.json()
    [candidate] = body["candidates"]
    assert candidate["finishReason"] == "STOP" and candidate["index"] == 0
    assert candidate["content"]["role"] == "model"
    text, image = candidate["content"]["parts"]
    assert text == {"text": "Here is an image of a red car."}
    assert image["inlineData"]["mimeType"] == "image/png"
    assert _decode_png(image["inlineData"]["data"]).size == (512, 512)
    signature = image["thoughtSignature"]
    assert base64.b64decode(signature, validate=True)  # standard alphabet, as the API sends
    assert "+" in signature or "/" in signature
    assert body["modelVersion"] == "gemini-2.5-flash-image" and body["responseId"]
    usage = body["usageMetadata"]
    assert usage["candidatesTokensDetails"][0] == {"modality": "IMAGE", "tokenCount": 1290}
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert fake.requests[0].endpoint == "gemini.generate" and fake.images_served == 1


def _model_turn(client: Http) -> tuple[dict[str, Any], bytes]:
    path = "/v1/models/gemini-3-pro-image-preview:generateContent"
    body = client.post(path, _gemini("a cat")).json()
    content = body["candidates"][0]["content"]
    image = base64.b64decode(content["parts"][2]["inlineData"]["data"])  # after thought, text
    assert body["usageMetadata"]["candidatesTokensDetails"][0]["tokenCount"] == 1120
    return content, image


def _urlsafe(content: dict[str, Any]) -> dict[str, Any]:
    """The model turn as google-genai sends it back: bytes in URL-safe base64."""
    parts = []
    for part in content["parts"]:
        part = dict(part)
        if "inlineData" in part:
            raw = base64.b64decode(part["inlineData"]["data"])
            part["inlineData"] = {"mimeType": "image/png",
                                  "data": base64.urlsafe_b64encode(raw).decode()}  # fmt: skip
            sig = base64.b64decode(part["thoughtSignature"])
            part["thoughtSignature"] = base64.urlsafe_b64encode(sig).decode()
            assert "-" in part["thoughtSignature"] or "_" in part["thoughtSignature"]
        parts.append(part)
    return {"role": "model", "parts": parts}


def test_gemini_history_in_urlsafe_base64_round_trips(fake: FakeServer, client: Http) -> None:
    content, image = _model_turn(client)
    first = {"role": "user", "parts": [{"text": "a cat"}]}
    reply = client.post(
        "/v1beta/models/gemini-3-pro-image-preview:generateContent",
        _gemini("keep it", first, _urlsafe(content)),
    )
    parts = reply.json()["candidates"][0]["content"]["parts"]
    assert base64.b64decode(parts[2]["inlineData"]["data"]) == image  # unchanged: from history
    assert fake.missing_thought_signatures == 0 and fake.invalid_thought_signatures == 0


def test_gemini_user_images_in_urlsafe_base64_are_decoded(client: Http) -> None:
    attached = _png("two blue cars", size=96)
    data = base64.urlsafe_b64encode(attached).decode()
    assert "-" in data or "_" in data
    part = {"inlineData": {"mimeType": "image/png", "data": data}}
    payload = {"contents": [{"role": "user", "parts": [{"text": "as it is"}, part]}]}
    body = client.post("/v1/models/gemini-2.5-flash-image:generateContent", payload).json()
    out = body["candidates"][0]["content"]["parts"][1]["inlineData"]["data"]
    assert base64.b64decode(out) == attached
    assert body["usageMetadata"]["promptTokensDetails"][1] == {"modality": "IMAGE",
                                                               "tokenCount": 258}  # fmt: skip


def test_gemini_counts_missing_and_foreign_signatures(fake: FakeServer, client: Http) -> None:
    content, _ = _model_turn(client)
    bare = _urlsafe(content)
    del bare["parts"][2]["thoughtSignature"]
    forged = _urlsafe(content)
    forged["parts"][2]["thoughtSignature"] = base64.b64encode(b"forged").decode()
    path = "/v1/models/gemini-3-pro-image-preview:generateContent"
    first = {"role": "user", "parts": [{"text": "a cat"}]}
    assert client.post(path, _gemini("again", first, bare)).status == 200
    assert client.post(path, _gemini("again", first, forged)).status == 200
    assert fake.missing_thought_signatures == 1 and fake.invalid_thought_signatures == 1
    fake.reset()
    assert fake.missing_thought_signatures == 0 and fake.requests == []


def test_gemini_strict_signatures_reject_like_gemini_3() -> None:
    with FakeServer(strict_signatures=True) as fake:
        client = Http(fake.url)
        content, _ = _model_turn(client)
        bare = _urlsafe(content)
        del bare["parts"][2]["thoughtSignature"]
        first = {"role": "user", "parts": [{"text": "a cat"}]}
        path = "/v1/models/gemini-3-pro-image-preview:generateContent"
        reply = client.post(path, _gemini("again", first, bare))
        ok = client.post(path, _gemini("again", first, _urlsafe(content)))
    assert reply.status == 400 and ok.status == 200
    assert reply.json() == {
        "error": {
            "code": 400,
            "message": "Image part is missing a thought_signature in content position 2, "
            "part position 3.",
            "status": "INVALID_ARGUMENT",
        }
    }


def test_gemini_text_modality_only_answers_in_text(client: Http) -> None:
    payload = {**_gemini("a cat"), "generationConfig": {"responseModalities": ["TEXT"]}}
    body = client.post("/v1/models/gemini-2.5-flash:generateContent", payload).json()
    assert [list(p) for p in body["candidates"][0]["content"]["parts"]] == [["text"]]


def test_gemini_accepts_snake_case_fields(client: Http) -> None:
    attached = _png(size=96)
    part = {"inline_data": {"mime_type": "image/png", "data": base64.b64encode(attached).decode()}}
    payload = {
        "contents": [{"role": "user", "parts": [{"text": "same"}, part]}],
        "generation_config": {"response_modalities": ["IMAGE"]},
    }
    body = client.post("/v1/models/gemini-2.5-flash-image:generateContent", payload).json()
    out = body["candidates"][0]["content"]["parts"][1]["inlineData"]["data"]
    assert base64.b64decode(out) == attached


def test_gemini_rejects_bad_requests(client: Http) -> None:
    path = "/v1/models/gemini-2.5-flash-image:generateContent"
    empty = client.post(path, {"contents": []})
    assert empty.status == 400 and empty.json()["error"]["status"] == "INVALID_ARGUMENT"
    bad = {"contents": [{"role": "user", "parts": [{"inlineData": {"data": "***"}}]}]}
    assert client.post(path, bad).status == 400


# --- auth, routing, recording --------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/responses", "/v1/images/generations", "/v1/images/edits", "/v1/chat/completions"],
)
@pytest.mark.parametrize("authorization", [None, "Bearer ", "Basic abc"])
def test_openai_paths_need_a_bearer_token(
    client: Http, path: str, authorization: str | None
) -> None:
    headers = {"authorization": authorization} if authorization is not None else {}
    reply = client.post(path, {"model": "m"}, auth=False, headers=headers)
    assert reply.status == 401
    error = reply.json()["error"]
    assert error["message"].startswith("You didn't provide an API key.")
    assert error["type"] == "invalid_request_error" and error["code"] is None


def test_gemini_paths_need_a_key(fake: FakeServer, client: Http) -> None:
    path = "/v1beta/models/gemini-2.5-flash-image:generateContent"
    reply = client.post(path, _gemini("a cat"), auth=False)
    assert reply.status == 401
    assert reply.json()["error"]["status"] == "UNAUTHENTICATED"
    assert client.post(path + "?key=abc", _gemini("a cat"), auth=False).status == 200
    assert fake.requests[1].query == {"key": "abc"}


@pytest.mark.parametrize(
    ("method", "path", "shape"),
    [
        pytest.param("POST", "/v1/nope", "openai", id="unknown-openai"),
        pytest.param("GET", "/v1/responses", "openai", id="wrong-method"),
        pytest.param("POST", "/v1beta/models/x:countTokens", "gemini", id="unknown-gemini"),
    ],
)
def test_unknown_paths_are_404_in_the_right_shape(
    client: Http, method: str, path: str, shape: str
) -> None:
    reply = client.request(method, path, headers={"authorization": "Bearer k"})
    assert reply.status == 404
    error = reply.json()["error"]
    if shape == "openai":
        assert error["message"] == f"Invalid URL ({method} {path})"
    else:
        assert error["status"] == "NOT_FOUND"


def test_invalid_json_is_a_400(client: Http) -> None:
    reply = client.post("/v1/responses", body=b"{not json", headers={"content-type": "x"})
    assert reply.status == 400
    assert reply.json()["error"]["message"].startswith("We could not parse the JSON body")


def test_requests_are_recorded_with_what_was_answered(fake: FakeServer, client: Http) -> None:
    client.post("/v1/chat/completions", CHAT, headers={"X-Custom": "Yes"})
    client.post("/v1/chat/completions?trace=1", {"model": "m"})
    client.post("/v1/responses", {"model": "m", "input": "a cat"}, auth=False)
    first, second, third = fake.requests
    assert (first.method, first.path, first.query, first.status) == (
        "POST", "/v1/chat/completions", {}, 200,
    )  # fmt: skip
    assert first.headers["x-custom"] == "Yes" and first.headers["authorization"] == "Bearer sk"
    assert first.json == CHAT and first.form == {} and first.files == {}
    assert first.endpoint == "chat.completions" and first.fault is None
    assert second.query == {"trace": "1"} and second.status == 400  # no messages
    assert third.status == 401
    assert fake.count() == 3
    assert fake.count("/v1/chat/") == 2
    assert fake.count(status=200) == 1
    assert fake.count("/v1/responses", status=401) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.status = 500  # type: ignore[misc]
    fake.reset()
    assert fake.requests == [] and fake.count() == 0 and fake.images_served == 0


def test_fifty_parallel_requests_are_served_concurrently() -> None:
    with FakeServer(latency=0.2) as fake:
        client = Http(fake.url)
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=50) as pool:
            replies = list(pool.map(lambda _: client.post("/v1/chat/completions", CHAT), range(50)))
        elapsed = time.monotonic() - start
    assert [r.status for r in replies] == [200] * 50
    assert elapsed < 3.0  # serially it would take 50 x 0.2 = 10 s
    assert fake.count(status=200) == 50


# --- lifecycle and binding -----------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "example.com", "::"])
def test_only_loopback_hosts_can_be_bound(host: str) -> None:
    with pytest.raises(ValueError, match=f"refusing to bind '{host}'"):
        FakeServer().start(host=host)
    with pytest.raises(ValueError, match=f"refusing to bind '{host}'"):
        serve_forever(host, 0)


def test_localhost_binds_and_the_url_names_the_port() -> None:
    fake = FakeServer()
    with pytest.raises(UsageError):
        _ = fake.url
    url = fake.start(host="localhost")
    try:
        assert url == fake.url and url.startswith("http://localhost:")
        with pytest.raises(UsageError):
            fake.start()
        assert Http(url).post("/v1/chat/completions", CHAT).status == 200
    finally:
        fake.stop()
    fake.stop()  # idempotent


def test_ipv6_loopback_binds() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    fake = FakeServer()
    try:
        url = fake.start(host="::1")
    except OSError as exc:
        pytest.skip(f"cannot bind ::1 here: {exc}")
    try:
        assert url.startswith("http://[::1]:")
        conn = http.client.HTTPConnection("::1", int(url.rsplit(":", 1)[1]), timeout=10)
        conn.request("POST", "/v1/chat/completions", body=json.dumps(CHAT),
                     headers={"authorization": "Bearer k"})  # fmt: skip
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        fake.stop()


def test_chunked_request_bodies_are_read(fake: FakeServer) -> None:
    host, port = fake.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    chunks = iter([json.dumps(CHAT)[:20].encode(), json.dumps(CHAT)[20:].encode()])
    conn.request(
        "POST", "/v1/chat/completions", body=chunks, encode_chunked=True,
        headers={"authorization": "Bearer k", "content-type": "application/json"},
    )  # fmt: skip
    assert conn.getresponse().status == 200
    conn.close()
    assert fake.requests[0].json == CHAT
    assert fake.requests[0].headers["transfer-encoding"] == "chunked"


def test_stop_cuts_idle_keep_alive_connections(fake: FakeServer) -> None:
    host, port = fake.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/v1/chat/completions", body=json.dumps(CHAT),
                 headers={"authorization": "Bearer k"})  # fmt: skip
    reply = conn.getresponse()
    reply.read()
    assert reply.status == 200 and reply.getheader("connection") != "close"
    start = time.monotonic()
    fake.stop()
    assert time.monotonic() - start < 2
    conn.close()


def test_start_returns_a_127_url_on_a_free_port() -> None:
    with FakeServer() as a, FakeServer() as b:
        assert a.url.startswith("http://127.0.0.1:") and a.url != b.url


def test_serve_forever_prints_the_url_and_stops_on_ctrl_c() -> None:
    code = "from uniprobe.testing import serve_forever; serve_forever(port=0)"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=dict(os.environ)
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert Http(url).post("/v1/chat/completions", CHAT).status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
