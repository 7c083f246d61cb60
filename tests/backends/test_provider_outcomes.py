"""What a real API answers besides a drawing, recorded as what it is: failed and cut-off
responses, typed image-call errors, finish reasons, exhausted quotas, unknown models,
images by URL, and keys echoed in error bodies (which must never reach a file or the
screen). Each provider is the fake server speaking its real protocol, driven by the SDKs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

import uniprobe
from uniprobe.backends.openai_images import OpenAIImagesBackend
from uniprobe.backends.registry import create_backend
from uniprobe.config import Config, ProviderConfig
from uniprobe.limits import RetryPolicy
from uniprobe.store.records import SampleRecord
from uniprobe.store.rundir import RunDir
from uniprobe.testing.server import FakeServer

pytest.importorskip("openai")
pytest.importorskip("google.genai")

CASE = """\
- id: wire.two_turns
  family: post_generation
  subtype: wire
  turns:
    - user: "Generate an image of 2 birds."
      expect:
        - count: {object: bird, equals: 2}
    - user: "Add a tree to this picture."
      expect:
        - present: {object: tree}
"""
KEY = "sk-test-5ecret-never-logged"
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


RETIRED_1 = " (retired on 2026-10-23; use 'gpt-image-2.5-sunburst')"
"""What the provider data file says of gpt-image-1."""
RETIRED_25 = " (retired on 2026-10-02; use 'gemini-3.1-flash-image')"
"""What it says of gemini-2.5-flash-image."""


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def suite(tmp_path: Path) -> uniprobe.Suite:
    path = tmp_path / "wire.yaml"
    path.write_text(CASE, encoding="utf-8")
    return uniprobe.load_suite(path)


def _config(url: str, key: str = KEY) -> Config:
    secret = SecretStr(key)
    return Config(
        providers={
            "openai": ProviderConfig(api_key=secret, base_url=url + "/v1"),
            "openai-images": ProviderConfig(api_key=secret, base_url=url + "/v1"),
            "google": ProviderConfig(api_key=secret, base_url=url),
            "compat/local": ProviderConfig(api_key=secret, base_url=url + "/v1"),
        }
    )


def _run(
    fake: FakeServer,
    suite: uniprobe.Suite,
    name: str,
    out: Path,
    options: dict[str, object] | None = None,
    *,
    key: str = KEY,
    cache: Path | None = None,
) -> SampleRecord:
    fake.reset()
    [result] = uniprobe.run(
        suite,
        [name],
        out=out,
        config=_config(fake.url, key),
        options={name: options or {}},
        retry=FAST,
        cache=cache,
        policy="reference",  # the fake draws synthetic scenes
        images="synthetic",
    )
    return RunDir.open(result.path).samples()["wire.two_turns#0"]


def _posts(fake: FakeServer, prefix: str) -> list[dict[str, object]]:
    return [r.json if r.json is not None else dict(r.form) for r in fake.requests
            if r.path.startswith(prefix) and r.method == "POST"]  # fmt: skip


# --- Images API ---------------------------------------------------------------------------


def test_images_api_edits_although_moderation_is_set(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    sample = _run(fake, suite, "openai-images/gpt-image-2", tmp_path, {"moderation": "low"})
    assert sample.status == "complete", sample.turns[-1].error
    generation, edit = _posts(fake, "/v1/images/")
    assert generation["moderation"] == "low"  # a parameter of generations only
    assert "moderation" not in edit and edit["model"] == "gpt-image-2"
    assert "response_format" not in generation  # gpt-image models reject it


def test_compat_asks_for_base64(fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path) -> None:
    sample = _run(fake, suite, "compat/local", tmp_path, {"model": "flux-kontext"})
    assert sample.status == "complete"
    generation, edit = _posts(fake, "/v1/images/")
    assert generation["response_format"] == "b64_json"
    assert edit["response_format"] == "b64_json"


def test_compat_server_answering_with_urls_is_downloaded(
    suite: uniprobe.Suite, tmp_path: Path
) -> None:
    with FakeServer(image_urls=True) as fake:
        sample = _run(fake, suite, "compat/local", tmp_path, {"model": "flux-kontext"})
        downloads = [r for r in fake.requests if r.endpoint == "files"]
    assert sample.status == "complete", sample.turns[-1].error
    assert [len(t.reply.images) for t in sample.turns if t.reply] == [1, 1]
    assert [r.status for r in downloads] == [200, 200]
    first = sample.turns[0].reply
    assert first is not None and first.raw_meta["image_urls"] == [f"{fake.url}{downloads[0].path}"]


def test_image_timeout_defaults_to_300_seconds() -> None:
    assert Config().connection("openai-images").timeout == 300.0
    config = _config("http://127.0.0.1:9")
    for name in ("openai-images/gpt-image-2", "openai/gpt-5.5", "google/gemini-3-pro-image"):
        assert create_backend(name, config=config).connection.timeout == 300.0
    images = create_backend("openai-images/gpt-image-2", config=config)
    assert isinstance(images, OpenAIImagesBackend)
    assert images.client().timeout == 300.0  # what the SDK client was made with


# --- Responses API ------------------------------------------------------------------------


def test_content_filtered_response_is_a_refusal_never_continued(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("response_incomplete", path_prefix="/v1/responses", reason="content_filter")
    sample = _run(fake, suite, "openai/gpt-5.5", tmp_path)
    first, second = sample.turns
    assert first.reply is not None and first.error is None
    assert first.reply.refusal == "response incomplete: content_filter"
    assert first.reply.images == [] and first.reply.state == {}
    assert first.reply.raw_meta["status"] == "incomplete"
    assert first.reply.raw_meta["incomplete_reason"] == "content_filter"
    _, after = _posts(fake, "/v1/responses")
    assert "previous_response_id" not in after  # nothing to continue from
    assert second.reply is not None and len(second.reply.images) == 1


def test_failed_response_is_an_error_with_its_code_and_never_cached(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    cache = tmp_path / "cache.sqlite"
    fake.inject("response_failed", path_prefix="/v1/responses", reason="server_error", times=3)
    sample = _run(fake, suite, "openai/gpt-5.5", tmp_path / "a", cache=cache)
    assert sample.status == "error"
    [turn] = sample.turns
    assert turn.reply is None and turn.error is not None
    assert turn.error.message == (
        "openai/gpt-5.5: response failed: server_error: The model failed to generate a response."
    )
    assert turn.error.kind == "server" and turn.error.retryable
    with sqlite3.connect(cache) as db:
        [(rows,)] = db.execute("SELECT count(*) FROM replies").fetchall()
    assert rows == 0


def test_failed_response_is_retried_and_then_continues(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("response_failed", path_prefix="/v1/responses", reason="server_error")
    sample = _run(fake, suite, "openai/gpt-5.5", tmp_path)
    assert sample.status == "complete"
    _, first, second = _posts(fake, "/v1/responses")
    assert "previous_response_id" not in first
    assert second["previous_response_id"] == sample.turns[0].reply.state["response_id"]  # type: ignore[union-attr]


def test_moderated_image_call_is_a_refusal_with_the_providers_message(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("image_call_failed", path_prefix="/v1/responses")
    sample = _run(fake, suite, "openai/gpt-5.5", tmp_path)
    reply = sample.turns[0].reply
    assert reply is not None and reply.images == []
    assert reply.refusal == (
        "Your request was rejected by the safety system. safety_violations=[violence]."
    )
    assert reply.raw_meta["image_error"] == {
        "code": "moderation_blocked",
        "type": "image_generation_user_error",
        "categories": ["violence"],
        "moderation_stage": "output",
    }


def test_failed_image_call_is_an_error_with_code_and_message(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("image_call_failed", path_prefix="/v1/responses", reason="server_error", times=3)
    sample = _run(fake, suite, "openai/gpt-5.5", tmp_path)
    [turn] = sample.turns
    assert turn.error is not None and turn.error.kind == "server"
    assert turn.error.message == (
        "openai/gpt-5.5: image generation failed: server_error: Image generation failed "
        "(server_error)."
    )


# --- Gemini -------------------------------------------------------------------------------


def test_gemini_3_history_keeps_every_signed_part(suite: uniprobe.Suite, tmp_path: Path) -> None:
    with FakeServer(strict_signatures=True) as fake:
        sample = _run(fake, suite, "google/gemini-3-pro-image", tmp_path)
        [_, second] = _posts(fake, "/v1/models/")
        dropped = fake.dropped_thought_signatures
    assert sample.status == "complete", sample.turns[-1].error
    assert dropped == 0
    model_turn = second["contents"][1]  # type: ignore[index]
    assert [sorted(p) for p in model_turn["parts"]] == [
        ["thought", "thoughtSignature"],
        ["text", "thoughtSignature"],
        ["inlineData", "thoughtSignature"],
    ]
    assert sample.turns[0].reply is not None
    assert sample.turns[0].reply.text == "Here is an image of 2 birds."  # no thought text


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        pytest.param("IMAGE_OTHER", "bad_response", id="image-other"),
        pytest.param("MISSING_THOUGHT_SIGNATURE", "client", id="missing-signature"),
        pytest.param("MAX_TOKENS", "bad_response", id="max-tokens"),
        pytest.param("MALFORMED_RESPONSE", "bad_response", id="malformed"),
    ],
)
def test_gemini_stops_are_recorded_with_their_reason(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path, reason: str, kind: str
) -> None:
    fake.inject("finish_reason", reason=reason)
    sample = _run(fake, suite, "google/gemini-2.5-flash-image", tmp_path)
    [turn] = sample.turns
    assert turn.reply is None and turn.error is not None
    assert turn.error.kind == kind and not turn.error.retryable
    # the SDK drops the Gemini API's finishMessage; the reason is what reaches us
    assert turn.error.message == f"google/gemini-2.5-flash-image: generation stopped: {reason}"
    assert len(_posts(fake, "/v1/models/")) == 1


def test_gemini_safety_stop_stays_a_refusal(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("finish_reason", reason="IMAGE_SAFETY")
    sample = _run(fake, suite, "google/gemini-2.5-flash-image", tmp_path)
    reply = sample.turns[0].reply
    assert reply is not None and reply.refusal == "blocked (IMAGE_SAFETY)"
    assert reply.raw_meta["finish_reason"] == "IMAGE_SAFETY"


def test_gemini_daily_quota_is_not_retried(
    fake: FakeServer, suite: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.inject("quota", path_prefix="/v1/models/", times=3)
    sample = _run(fake, suite, "google/gemini-2.5-flash-image", tmp_path)
    fake.faults.clear()
    [turn] = sample.turns
    assert turn.error is not None and turn.error.status == 429
    assert turn.error.kind == "rate_limit" and not turn.error.retryable
    assert "GenerateRequestsPerDayPerProjectPerModel-FreeTier" in turn.error.message
    assert len(_posts(fake, "/v1/models/")) == 1


# --- Unknown models -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "options", "line"),
    [
        pytest.param("openai/gpt-9", {}, "openai/gpt-9: the provider does not offer model "
                     "'gpt-9'; the closest it offers is 'gpt-5.5'", id="openai"),
        pytest.param("openai/gpt-5.5", {"image_model": "gpt-image-1"}, "openai/gpt-5.5: the "
                     "provider does not offer image_model 'gpt-image-1'"
                     f"{RETIRED_1}; the closest it offers "
                     "is 'gpt-image-2'", id="openai-tool"),
        pytest.param("openai-images/gpt-image-1", {}, "openai-images/gpt-image-1: the provider "
                     "does not offer model 'gpt-image-1'"
                     f"{RETIRED_1}; the closest it offers is "
                     "'gpt-image-2'", id="openai-images"),
        pytest.param("google/gemini-2.5-flash-image", {}, "google/gemini-2.5-flash-image: the "
                     "provider does not offer model 'gemini-2.5-flash-image'"
                     f"{RETIRED_25}; the closest it "
                     "offers is 'gemini-3-pro-image-preview'", id="google"),
    ],
)  # fmt: skip
def test_a_model_the_provider_does_not_offer_stops_the_run_before_any_request(
    suite: uniprobe.Suite, tmp_path: Path, name: str, options: dict[str, object], line: str
) -> None:
    known = ["gpt-5.5", "gpt-image-2", "gpt-image-2-2026-04-21", "gemini-3-pro-image-preview"]
    with FakeServer(models=known) as fake, pytest.raises(uniprobe.PreflightError) as caught:
        _run(fake, suite, name, tmp_path, options)
    assert caught.value.problems == [line]
    # one models.list (Gemini's in pages of GEMINI_PAGE_SIZE), nothing generated
    assert {(r.method, r.path, r.status) for r in fake.requests} == {("GET", "/v1/models", 200)}
    assert [p.name for p in tmp_path.iterdir()] == ["wire.yaml"]  # no run folder


def test_a_server_that_lists_no_models_is_taken_on_trust(
    suite: uniprobe.Suite, tmp_path: Path
) -> None:
    with FakeServer() as fake:  # a fake that takes any name answers /v1/models with 404
        sample = _run(fake, suite, "compat/local", tmp_path)
        assert fake.count("/v1/models", status=404) == 1
    assert sample.status == "complete"


# --- Secrets ------------------------------------------------------------------------------


def _files_holding(root: Path, secret: str) -> list[Path]:
    return [f for f in root.rglob("*") if f.is_file() and secret.encode() in f.read_bytes()]


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("openai-images/gpt-image-2", "sk-proj-Wr0ngKey0123456789abcdef",
                     id="openai-shaped"),
        pytest.param("openai/gpt-5.5", "plain-local-secret-7f3a9c", id="configured"),
        pytest.param("google/gemini-2.5-flash-image", "AIzaSyD-0123456789abcdefghijklmnopqrstu",
                     id="google-shaped"),
    ],
)  # fmt: skip
def test_an_echoed_key_reaches_no_file_no_output_and_no_report(
    suite: uniprobe.Suite,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    name: str,
    key: str,
) -> None:
    out = tmp_path / "runs"
    with FakeServer(api_keys=["the-right-key"]) as fake:
        [result] = uniprobe.run(
            suite,
            [name],
            out=out,
            config=_config(fake.url, key),
            retry=FAST,
            progress=True,
            policy="reference",
            images="synthetic",
        )
        echoed = [r for r in fake.requests if r.status in (400, 401)]
    assert echoed and all(key.encode() not in r.body for r in echoed)  # sent in a header
    report = uniprobe.report([result.path])
    sample = RunDir.open(result.path).samples()["wire.two_turns#0"]
    [turn] = sample.turns
    assert turn.error is not None and turn.error.kind in ("auth", "client")
    assert "[redacted]" in turn.error.message
    captured = capfd.readouterr()
    assert key not in captured.out and key not in captured.err
    assert _files_holding(out, key) == []
    assert _files_holding(report.parent, key) == []
