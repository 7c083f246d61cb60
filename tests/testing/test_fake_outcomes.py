"""Replies the real APIs send that are neither an answer nor an HTTP error, refused keys and
unknown models, in each provider's shape: the fake sends them on demand."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fake_http import Http, running_fake

from uniprobe.testing import FakeServer

RESPONSES = "/v1/responses"
GENERATIONS = "/v1/images/generations"
GEMINI = "/v1beta/models/gemini-2.5-flash-image:generateContent"
TOOL = {"type": "image_generation", "quality": "low", "size": "1024x1024"}
ASK = {"model": "gpt-5.5", "input": "a red car", "tools": [TOOL]}
GEMINI_ASK = {"contents": [{"role": "user", "parts": [{"text": "a red car"}]}]}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    yield from running_fake()


@pytest.fixture
def client(fake: FakeServer) -> Http:
    return Http(fake.url)


def test_a_failed_response_carries_its_error_and_no_output(fake: FakeServer, client: Http) -> None:
    fake.inject("response_failed", reason="server_error")
    body = client.post(RESPONSES, ASK).json()
    assert body["status"] == "failed" and body["output"] == []
    assert body["error"] == {
        "code": "server_error",
        "message": "The model failed to generate a response.",
    }
    again = client.post(RESPONSES, {**ASK, "previous_response_id": body["id"]})
    assert again.status == 400  # only completed responses are kept to continue from
    assert again.json()["error"]["code"] == "previous_response_not_found"


def test_an_incomplete_response_says_why(fake: FakeServer, client: Http) -> None:
    fake.inject("response_incomplete")
    body = client.post(RESPONSES, ASK).json()
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "content_filter"}
    assert body["output"] == [] and body["error"] is None


def test_a_failed_image_call_carries_a_typed_moderation_error(
    fake: FakeServer, client: Http
) -> None:
    fake.inject("image_call_failed")
    body = client.post(RESPONSES, ASK).json()
    assert body["status"] == "completed"
    call = body["output"][0]
    assert call["type"] == "image_generation_call" and call["status"] == "failed"
    assert call["result"] is None
    assert call["error"] == {
        "code": "moderation_blocked",
        "message": "Your request was rejected by the safety system. safety_violations=[violence].",
        "type": "image_generation_user_error",
        "param": None,
        "moderation_details": {"categories": ["violence"], "moderation_stage": "output"},
    }


@pytest.mark.parametrize("reason", ["IMAGE_OTHER", "MISSING_THOUGHT_SIGNATURE", "MAX_TOKENS"])
def test_gemini_stops_with_the_finish_reason_asked(
    fake: FakeServer, client: Http, reason: str
) -> None:
    fake.inject("finish_reason", reason=reason)
    [candidate] = client.post(GEMINI, GEMINI_ASK).json()["candidates"]
    assert candidate == {
        "finishReason": reason,
        "index": 0,
        "finishMessage": f"Generation stopped ({reason}).",
    }


def test_images_by_url_are_served_by_the_fake(fake: FakeServer, client: Http) -> None:
    fake.inject("image_url")
    body = client.post(GENERATIONS, {"model": "flux", "prompt": "a red car"}).json()
    [item] = body["data"]
    assert set(item) == {"url"} and item["url"].startswith(fake.url + "/files/")
    image = client.request("GET", item["url"][len(fake.url) :])
    assert image.status == 200 and image.headers["content-type"] == "image/png"
    assert image.body.startswith(b"\x89PNG")
    assert client.request("GET", "/files/" + "0" * 32 + ".png").status == 404


@pytest.mark.parametrize(
    ("asked", "keys"),
    [
        pytest.param("url", {"url"}, id="url"),
        pytest.param("b64_json", {"b64_json"}, id="b64_json"),
        pytest.param(None, {"b64_json"}, id="unsaid"),
    ],
)
def test_response_format_is_honoured_by_a_compatible_server(
    client: Http, asked: str | None, keys: set[str]
) -> None:
    payload: dict[str, Any] = {"model": "flux", "prompt": "a red car"}
    if asked:
        payload["response_format"] = asked
    [item] = client.post(GENERATIONS, payload).json()["data"]
    assert set(item) == keys


def test_gpt_image_models_reject_response_format(client: Http) -> None:
    payload = {"model": "gpt-image-1.5", "prompt": "a car", "response_format": "b64_json"}
    reply = client.post(GENERATIONS, payload)
    assert reply.status == 400
    assert reply.json()["error"] == {
        "message": "Unknown parameter: 'response_format'.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": "unknown_parameter",
    }


def test_a_url_server_answers_urls_whatever_is_asked() -> None:
    with FakeServer(image_urls=True) as fake:
        payload = {"model": "flux", "prompt": "a car", "response_format": "b64_json"}
        [item] = Http(fake.url).post(GENERATIONS, payload).json()["data"]
        assert set(item) == {"url"}


def test_unknown_models_get_404_in_each_providers_shape() -> None:
    with FakeServer(models=["gpt-5.5", "gpt-image-1.5", "gemini-2.5-flash-image"]) as fake:
        client = Http(fake.url)
        assert client.post(RESPONSES, ASK).status == 200
        assert client.post(GEMINI, GEMINI_ASK).status == 200
        wrong_tool = {**ASK, "tools": [{**TOOL, "model": "gpt-image-9"}]}
        reply = client.post(RESPONSES, wrong_tool)
        assert reply.status == 404
        assert reply.json()["error"] == {
            "message": "The model `gpt-image-9` does not exist or you do not have access to it.",
            "type": "invalid_request_error",
            "param": None,
            "code": "model_not_found",
        }
        reply = client.post("/v1/models/gemini-9:generateContent", GEMINI_ASK)
        assert reply.status == 404
        error = reply.json()["error"]
        assert error["status"] == "NOT_FOUND" and error["code"] == 404
        assert error["message"].startswith("models/gemini-9 is not found for API version v1,")


def test_a_refused_key_is_echoed_in_the_openai_error() -> None:
    with FakeServer(api_keys=["good"]) as fake:
        client = Http(fake.url)
        reply = client.post(RESPONSES, ASK, headers={"authorization": "Bearer sk-leaky-123456"})
        assert reply.status == 401
        error = reply.json()["error"]
        assert error["code"] == "invalid_api_key"
        assert error["message"].startswith("Incorrect API key provided: sk-leaky-123456.")
        ok = client.post(RESPONSES, ASK, headers={"authorization": "Bearer good"})
        assert ok.status == 200


def test_gemini_3_replies_open_with_a_signed_thought() -> None:
    with FakeServer(strict_signatures=True) as fake:
        client = Http(fake.url)
        path = "/v1beta/models/gemini-3-pro-image:generateContent"
        ask = {"contents": [{"role": "user", "parts": [{"text": "a red car"}]}]}
        parts = client.post(path, ask).json()["candidates"][0]["content"]["parts"]
        assert [sorted(p) for p in parts] == [
            ["thought", "thoughtSignature"],
            ["text", "thoughtSignature"],
            ["inlineData", "thoughtSignature"],
        ]
        history = [*ask["contents"], {"role": "model", "parts": parts}, ask["contents"][0]]
        assert client.post(path, {"contents": history}).status == 200
        kept = [p for p in parts if not p.get("thought")]  # the signed thought dropped
        history[1] = {"role": "model", "parts": kept}
        reply = client.post(path, {"contents": history})
        assert reply.status == 400
        assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"
        assert fake.dropped_thought_signatures == 1
        sig = base64.b64decode(parts[2]["thoughtSignature"])
        assert sig.startswith(b"\xfb\xff\xfe-sig-")
