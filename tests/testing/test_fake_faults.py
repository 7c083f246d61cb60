"""Injected faults arrive in the shape of the protocol they hit, and random ones are seeded."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_http import Http, running_fake

from uniprobe.testing import FAULT_KINDS, FakeServer, Fault, FaultKind
from uniprobe.testing._wire import INVALID_BASE64

RESPONSES = "/v1/responses"
GENERATIONS = "/v1/images/generations"
CHAT_PATH = "/v1/chat/completions"
GEMINI = "/v1beta/models/gemini-2.5-flash-image:generateContent"
TOOL = {"type": "image_generation", "quality": "low", "size": "1024x1024"}
PAYLOADS: dict[str, dict[str, Any]] = {
    RESPONSES: {"model": "gpt-5.5", "input": "a red car", "tools": [TOOL]},
    GENERATIONS: {"model": "gpt-image-1.5", "prompt": "a red car"},
    CHAT_PATH: {"model": "gpt-5.5", "messages": [{"role": "user", "content": "hi"}]},
    GEMINI: {"contents": [{"role": "user", "parts": [{"text": "a red car"}]}]},
}


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    yield from running_fake()


@pytest.fixture
def client(fake: FakeServer) -> Http:
    return Http(fake.url)


def _call(client: Http, path: str, timeout: float = 20.0) -> Any:
    return client.post(path, PAYLOADS[path], timeout=timeout)


@pytest.mark.parametrize("path", [RESPONSES, GENERATIONS, CHAT_PATH])
@pytest.mark.parametrize(
    ("kind", "status", "headers", "error"),
    [
        pytest.param("rate_limit", 429, {"retry-after": "1", "x-ratelimit-remaining-requests": "0"},
                     {"type": "requests", "code": "rate_limit_exceeded"}, id="rate_limit"),
        pytest.param("rate_limit_ms", 429, {"retry-after-ms": "10"},
                     {"type": "requests", "code": "rate_limit_exceeded"}, id="rate_limit_ms"),
        pytest.param("quota", 429, {"x-should-retry": "false"},
                     {"type": "insufficient_quota", "code": "insufficient_quota"}, id="quota"),
        pytest.param("server_error", 500, {}, {"type": "server_error", "code": None},
                     id="server_error"),
        pytest.param("unavailable", 503, {}, {"type": "server_error", "code": None},
                     id="unavailable"),
    ],
)  # fmt: skip
def test_openai_error_faults(
    fake: FakeServer,
    client: Http,
    path: str,
    kind: FaultKind,
    status: int,
    headers: dict[str, str],
    error: dict[str, Any],
) -> None:
    fake.inject(kind)
    reply = _call(client, path)
    assert reply.status == status
    assert {k: reply.headers.get(k) for k in headers} == headers
    body = reply.json()["error"]
    assert {k: body[k] for k in error} == error and body["param"] is None
    assert reply.headers["x-request-id"].startswith("req_")
    if kind == "rate_limit_ms":
        assert "retry-after" not in reply.headers
    assert _call(client, path).status == 200  # one shot
    assert [(r.status, r.fault) for r in fake.requests] == [(status, kind), (200, None)]


@pytest.mark.parametrize("path", [RESPONSES, GENERATIONS, "/v1/images/edits"])
def test_openai_moderation_block(fake: FakeServer, client: Http, path: str) -> None:
    fake.inject("moderation_blocked")
    reply = client.post(path, {"model": "gpt-image-1.5"})  # blocked before it is read
    assert reply.status == 400
    error = reply.json()["error"]
    assert error["message"].startswith("Your request was rejected by the safety system.")
    assert error["message"].endswith(
        f"include the request ID {reply.headers['x-request-id']}. safety_violations=[violence]."
    )
    assert (error["type"], error["param"], error["code"]) == (
        "image_generation_user_error", None, "moderation_blocked",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "status", "headers", "error"),
    [
        pytest.param("rate_limit", 429, {"retry-after": "1"},
                     {"status": "RESOURCE_EXHAUSTED", "details": [
                         {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                          "retryDelay": "1s"}]}, id="rate_limit"),
        pytest.param("rate_limit_ms", 429, {"retry-after-ms": "10"},
                     {"status": "RESOURCE_EXHAUSTED", "details": [
                         {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                          "retryDelay": "0.01s"}]}, id="rate_limit_ms"),
        pytest.param("server_error", 500, {}, {"status": "INTERNAL"}, id="server_error"),
        pytest.param("unavailable", 503, {}, {"status": "UNAVAILABLE"}, id="unavailable"),
    ],
)  # fmt: skip
def test_gemini_error_faults(
    fake: FakeServer,
    client: Http,
    kind: FaultKind,
    status: int,
    headers: dict[str, str],
    error: dict[str, Any],
) -> None:
    fake.inject(kind)
    reply = _call(client, GEMINI)
    assert reply.status == status
    assert {k: reply.headers.get(k) for k in headers} == headers
    body = reply.json()["error"]
    assert body["code"] == status and {k: body[k] for k in error} == error
    assert reply.headers["content-type"] == "application/json; charset=UTF-8"


def test_gemini_quota_names_the_exhausted_quota(fake: FakeServer, client: Http) -> None:
    fake.inject("quota")
    reply = _call(client, GEMINI)
    assert reply.status == 429
    error = reply.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["message"].startswith("You exceeded your current quota")
    [detail] = error["details"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.QuotaFailure"


def test_rate_limit_delay_is_configurable(fake: FakeServer, client: Http) -> None:
    fake.inject("rate_limit", seconds=7)
    fake.inject(Fault("rate_limit_ms", seconds=0.25), path_prefix="/v1beta/")
    assert _call(client, CHAT_PATH).headers["retry-after"] == "7"
    gemini = _call(client, GEMINI)
    assert gemini.headers["retry-after-ms"] == "250"
    assert gemini.json()["error"]["details"][0]["retryDelay"] == "0.25s"


def test_faults_match_path_prefix_and_times(fake: FakeServer, client: Http) -> None:
    fake.inject("server_error", path_prefix="/v1/images/", times=2)
    assert _call(client, CHAT_PATH).status == 200
    assert [_call(client, GENERATIONS).status for _ in range(3)] == [500, 500, 200]
    assert fake.faults.pending() == 0


def test_slow_answers_normally_after_a_delay(fake: FakeServer, client: Http) -> None:
    fake.inject("slow", seconds=0.3)
    start = time.monotonic()
    reply = _call(client, CHAT_PATH)
    assert reply.status == 200 and time.monotonic() - start >= 0.3
    assert fake.requests[0].fault == "slow"


def test_timeout_outlasts_the_client(fake: FakeServer, client: Http) -> None:
    fake.inject("timeout", seconds=1.0)
    with pytest.raises(TimeoutError):
        _call(client, CHAT_PATH, timeout=0.2)
    assert fake.requests[0].status is None
    time.sleep(1.0)  # the server gives up without an answer
    assert fake.requests[0].status is None and fake.requests[0].fault == "timeout"
    assert _call(client, CHAT_PATH).status == 200


def test_timeout_ends_when_the_server_stops() -> None:
    fake = FakeServer()
    client = Http(fake.start())
    fake.inject("timeout")  # 30 s by default
    errors: list[BaseException] = []

    def call() -> None:
        try:
            _call(client, RESPONSES)
        except (ConnectionError, OSError) as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    start = time.monotonic()
    worker.start()
    time.sleep(0.2)
    fake.stop()
    worker.join(timeout=5)
    assert not worker.is_alive() and time.monotonic() - start < 5
    assert len(errors) == 1  # the connection closed with no reply


@pytest.mark.parametrize("path", [RESPONSES, GENERATIONS, CHAT_PATH, GEMINI])
def test_truncated_json_cuts_the_body_in_half(fake: FakeServer, client: Http, path: str) -> None:
    full = _call(client, path)
    fake.inject("truncated_json")
    cut = _call(client, path)
    assert cut.status == 200 and int(cut.headers["content-length"]) == len(cut.body)
    assert abs(len(cut.body) - len(full.body) // 2) < len(full.body) // 10
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.body)
    expected = 0 if path == CHAT_PATH else 1
    assert fake.images_served == expected  # the cut reply delivered nothing


def _assert_not_base64(text: str) -> None:
    for decode in (
        lambda s: base64.b64decode(s, validate=True),
        base64.b64decode,
        base64.urlsafe_b64decode,
    ):
        with pytest.raises(binascii.Error):
            decode(text)


def test_invalid_base64_on_each_image_protocol(fake: FakeServer, client: Http) -> None:
    for path in (RESPONSES, GENERATIONS, GEMINI):
        fake.inject("invalid_base64", path_prefix=path)
    responses = _call(client, RESPONSES).json()
    assert responses["output"][0]["status"] == "completed"
    assert responses["output"][0]["result"] == INVALID_BASE64
    generations = _call(client, GENERATIONS).json()
    assert generations["data"] == [{"b64_json": INVALID_BASE64}]
    gemini = _call(client, GEMINI).json()
    image_part = gemini["candidates"][0]["content"]["parts"][1]
    assert image_part["inlineData"]["data"] == INVALID_BASE64 and image_part["thoughtSignature"]
    _assert_not_base64(INVALID_BASE64)
    assert fake.images_served == 0 and fake.count(status=200) == 3


def test_gemini_prompt_blocked(fake: FakeServer, client: Http) -> None:
    fake.inject("prompt_blocked")
    assert _call(client, RESPONSES).status == 200  # a Gemini block waits for a Gemini path
    assert fake.faults.pending() == 1
    body = _call(client, GEMINI).json()
    assert "candidates" not in body
    assert body["promptFeedback"] == {"blockReason": "PROHIBITED_CONTENT"}
    assert body["usageMetadata"]["promptTokenCount"] > 0 and body["modelVersion"]


def test_gemini_text_only_and_no_image(fake: FakeServer, client: Http) -> None:
    fake.inject("text_only")
    [candidate] = _call(client, GEMINI).json()["candidates"]
    assert candidate["content"]["parts"] == [{"text": "Here is an image of a red car."}]
    assert candidate["finishReason"] == "STOP"
    fake.inject("no_image")
    [candidate] = _call(client, GEMINI).json()["candidates"]
    assert candidate == {"finishReason": "NO_IMAGE", "index": 0}
    assert fake.images_served == 0


def test_openai_text_only_and_no_image(fake: FakeServer, client: Http) -> None:
    fake.inject("text_only")
    body = _call(client, RESPONSES).json()
    assert [o["type"] for o in body["output"]] == ["message"]
    assert body["output"][0]["content"][0]["text"] == "Here is an image of a red car."
    fake.inject("no_image")
    call, message = _call(client, RESPONSES).json()["output"]
    assert call["type"] == "image_generation_call"
    assert call["status"] == "failed" and call["result"] is None
    assert message["type"] == "message"
    assert fake.images_served == 0


def test_a_chat_handler_can_answer_with_a_fault() -> None:
    answers: list[str | Fault] = [Fault("rate_limit", seconds=3), Fault("no_image"), "ok"]
    with FakeServer(chat_handler=lambda body: answers.pop(0)) as fake:
        client = Http(fake.url)
        limited, misfit, fine = (_call(client, CHAT_PATH) for _ in range(3))
    assert limited.status == 429 and limited.headers["retry-after"] == "3"
    assert misfit.status == 500 and "'no_image'" in misfit.json()["error"]["message"]
    assert fine.json()["choices"][0]["message"]["content"] == "ok"
    assert [r.fault for r in fake.requests] == ["rate_limit", None, None]


def _faults_seen(seed: int, rate: float = 0.5) -> list[tuple[int | None, str | None]]:
    with FakeServer(fault_rate=rate, seed=seed) as fake:
        client = Http(fake.url)
        for _ in range(24):
            _call(client, CHAT_PATH)
        return [(r.status, r.fault) for r in fake.requests]


def test_fault_rate_is_deterministic_per_seed() -> None:
    first, again, other = _faults_seen(3), _faults_seen(3), _faults_seen(4)
    assert first == again and first != other
    faults = [f for _, f in first if f is not None]
    assert 4 <= len(faults) <= 20
    # only faults that mean something on a chat endpoint, and that are quick
    assert set(faults) <= {"rate_limit", "rate_limit_ms", "server_error", "unavailable",
                           "truncated_json"}  # fmt: skip


def test_fault_rate_draws_from_the_mix() -> None:
    with FakeServer(fault_rate=1.0, fault_mix=("unavailable",)) as fake:
        client = Http(fake.url)
        assert [_call(client, CHAT_PATH).status for _ in range(3)] == [503] * 3


def test_latency_is_added_to_every_reply() -> None:
    with FakeServer(latency=0.25) as fake:
        client = Http(fake.url)
        start = time.monotonic()
        assert client.post(CHAT_PATH, {}, auth=False).status == 401
        assert time.monotonic() - start >= 0.25


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: Fault("nope"), id="unknown-kind"),  # type: ignore[arg-type]
        pytest.param(lambda: FakeServer(fault_rate=1.5), id="rate-above-1"),
        pytest.param(lambda: FakeServer(fault_mix=("nope",)), id="unknown-mix"),  # type: ignore[arg-type]
        pytest.param(lambda: FakeServer().inject("slow", times=0), id="times-0"),
        pytest.param(lambda: FakeServer(latency=-1), id="negative-latency"),
    ],
)
def test_bad_fault_settings_are_refused(make: Any) -> None:
    with pytest.raises(ValueError):
        make()


def test_every_fault_kind_is_covered_here() -> None:
    assert set(FAULT_KINDS) == {
        "rate_limit", "rate_limit_ms", "quota", "server_error", "unavailable", "slow",
        "timeout", "truncated_json", "invalid_base64", "moderation_blocked", "prompt_blocked",
        "text_only", "no_image", "response_failed", "response_incomplete", "image_call_failed",
        "finish_reason", "image_url",
    }  # fmt: skip
    # the five after no_image are covered in test_fake_outcomes.py
