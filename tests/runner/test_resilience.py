"""The runner against a real (fake) provider: retries, outcomes, cache, limits, budget."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict, Unpack

import pytest
from pydantic import SecretStr

import uniprobe
from uniprobe.config import Config, Price, ProviderConfig
from uniprobe.limits import RetryPolicy
from uniprobe.store.records import ImageRef, SampleRecord, TurnRecord
from uniprobe.store.rundir import RunDir
from uniprobe.testing import RecordedRequest
from uniprobe.testing.faults import FaultKind
from uniprobe.testing.server import FakeServer

pytest.importorskip("openai")
pytest.importorskip("google.genai")

ONE_TURN = """\
- id: one.birds
  family: global_instruction
  subtype: one
  turns:
    - user: "Generate an image of 3 birds."
      expect:
        - count: {object: bird, equals: 3}
"""
FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=2.0)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeServer]:
    with FakeServer() as server:
        yield server


@pytest.fixture
def one(tmp_path: Path) -> uniprobe.Suite:
    (tmp_path / "one.yaml").write_text(ONE_TURN, encoding="utf-8")
    return uniprobe.load_suite(tmp_path / "one.yaml")


def _config(url: str, **provider: object) -> Config:
    return Config(
        providers={
            "openai-images": ProviderConfig(
                api_key=SecretStr("k"), base_url=url + "/v1", **provider
            ),
            "google": ProviderConfig(api_key=SecretStr("k"), base_url=url, **provider),
        },
        prices={
            "gpt-image-2": Price(
                text_input_per_mtok=5, image_input_per_mtok=8, image_output_per_mtok=32
            )
        },
    )


class _RunOptions(TypedDict, total=False):
    """The `uniprobe.run` options these tests vary."""

    epochs: int
    resume: bool
    concurrency: int
    score: bool
    rpm: float
    max_cost: float
    cache: Path


def _run(
    fake: FakeServer,
    suite: uniprobe.Suite,
    out: Path,
    model: str = "openai-images/gpt-image-2",
    *,
    config: Config | None = None,
    **kw: Unpack[_RunOptions],
) -> uniprobe.RunResult:
    config = config or _config(fake.url)
    # the fake draws synthetic scenes, which the reference judge reads: declared explicitly
    [result] = uniprobe.run(
        suite,
        [model],
        out=out,
        config=config,
        retry=FAST,
        policy="reference",
        images="synthetic",
        **kw,
    )
    return result


def _calls(fake: FakeServer) -> list[RecordedRequest]:
    """The requests that asked for work (not the run's one `models.list` before it starts)."""
    return [r for r in fake.requests if r.endpoint != "models.list"]


def _turn(result: uniprobe.RunResult) -> tuple[SampleRecord, TurnRecord]:
    sample = next(iter(RunDir.open(result.path).samples().values()))
    return sample, sample.turns[0]


@pytest.mark.parametrize(
    ("fault", "seconds", "retry_kind"),
    [
        pytest.param("rate_limit", 0.05, "429", id="429-retry-after"),
        pytest.param("rate_limit_ms", 0.01, "429", id="429-retry-after-ms"),
        pytest.param("server_error", None, "server", id="500"),
        pytest.param("unavailable", None, "server", id="503"),
        pytest.param("truncated_json", None, "bad_response", id="truncated-json"),
        pytest.param("invalid_base64", None, "bad_response", id="invalid-base64"),
    ],
)
def test_transient_faults_are_retried_until_the_answer_comes(
    fake: FakeServer,
    one: uniprobe.Suite,
    tmp_path: Path,
    fault: FaultKind,
    seconds: float | None,
    retry_kind: str,
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject(fault, path_prefix="/v1/images", times=2, seconds=seconds)
    result = _run(fake, one, tmp_path)
    sample, turn = _turn(result)
    assert sample.status == "complete"
    assert turn.reply is not None and len(turn.reply.images) == 1
    assert fake.count("/v1/images/generations") == 3
    assert result.extra["retries"] == {retry_kind: 2}
    assert result.extra["live_calls"] == 1


def test_retries_stop_after_the_policy_allows(
    fake: FakeServer, one: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject("server_error", path_prefix="/v1/images", times=10)
    result = _run(fake, one, tmp_path)
    sample, turn = _turn(result)
    assert sample.status == "error"
    assert turn.error is not None
    assert (turn.error.kind, turn.error.status, turn.error.retryable) == ("server", 500, True)
    assert fake.count("/v1/images/generations") == FAST.max_attempts
    score = RunDir.open(result.path).scores("reference")["one.birds#0"]
    assert score.outcome == "error" and score.verdicts[0].tags == ["error"]


@pytest.mark.parametrize(
    ("fault", "model", "refusal"),
    [
        pytest.param(
            "moderation_blocked",
            "openai-images/gpt-image-2",
            "Your request was rejected",
            id="openai-moderation",
        ),
        pytest.param(
            "prompt_blocked",
            "google/gemini-2.5-flash-image",
            "prompt blocked: PROHIBITED_CONTENT",
            id="gemini-prompt-block",
        ),
    ],
)
def test_blocks_are_outcomes_not_retried(
    fake: FakeServer,
    one: uniprobe.Suite,
    tmp_path: Path,
    fault: FaultKind,
    model: str,
    refusal: str,
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject(fault)
    result = _run(fake, one, tmp_path, model=model)
    sample, turn = _turn(result)
    assert sample.status == "complete" and len(_calls(fake)) == 1
    assert turn.reply is not None and turn.reply.images == []
    assert turn.reply.refusal is not None and turn.reply.refusal.startswith(refusal)
    verdict = RunDir.open(result.path).scores("reference")["one.birds#0"].verdicts[0]
    assert verdict.status == "fail" and verdict.tags == ["no_image", "refusal"]


@pytest.mark.parametrize("fault", ["text_only", "no_image"])
def test_gemini_answers_without_an_image_are_outcomes(
    fake: FakeServer, one: uniprobe.Suite, tmp_path: Path, fault: FaultKind
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject(fault)
    result = _run(fake, one, tmp_path, model="google/gemini-2.5-flash-image")
    sample, turn = _turn(result)
    assert sample.status == "complete" and len(_calls(fake)) == 1
    assert turn.reply is not None and turn.reply.images == [] and turn.reply.refusal is None
    verdict = RunDir.open(result.path).scores("reference")["one.birds#0"].verdicts[0]
    assert verdict.tags == ["no_image"]


def test_quota_exhaustion_is_not_retried(
    fake: FakeServer, one: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject("quota")
    result = _run(fake, one, tmp_path)
    _, turn = _turn(result)
    assert turn.error is not None and turn.error.kind == "rate_limit"
    assert turn.error.retryable is False
    assert len(_calls(fake)) == 1


def test_a_slow_answer_past_the_timeout_is_retried(
    fake: FakeServer, one: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject("slow", seconds=1.5)
    result = _run(fake, one, tmp_path, config=_config(fake.url, timeout=0.5))
    sample, _ = _turn(result)
    assert sample.status == "complete"
    assert result.extra["retries"] == {"timeout": 1}


def test_a_rerun_with_the_cache_makes_no_provider_call(fake: FakeServer, tmp_path: Path) -> None:
    suite = uniprobe.load_suite("paper")
    small = uniprobe.Suite("paper", suite.cases[:4], suite.source, suite.file_hashes)
    fake.reset()
    fake.faults.clear()
    cache = tmp_path / "cache.sqlite"
    first = _run(fake, small, tmp_path / "a", cache=cache, epochs=2)
    calls = len(_calls(fake))
    assert calls == first.extra["live_calls"] == 16  # 4 two-turn cases x 2 epochs
    fake.reset()
    fake.faults.clear()
    second = _run(fake, small, tmp_path / "b", cache=cache, epochs=2)
    assert len(_calls(fake)) == 0
    assert second.extra["live_calls"] == 0 and second.extra["cache_hits"] == 16
    assert _images(first) == _images(second)


def _images(result: uniprobe.RunResult) -> dict[str, list[list[ImageRef] | None]]:
    samples = RunDir.open(result.path).samples()
    return {k: [t.reply.images if t.reply else None for t in s.turns] for k, s in samples.items()}


def test_errors_are_never_cached(fake: FakeServer, one: uniprobe.Suite, tmp_path: Path) -> None:
    fake.reset()
    fake.faults.clear()
    fake.inject("quota")
    cache = tmp_path / "cache.sqlite"
    _run(fake, one, tmp_path / "a", cache=cache)
    _run(fake, one, tmp_path / "b", cache=cache)
    assert fake.count("/v1/images/generations", status=200) == 1  # the second run asked again


def test_max_cost_stops_cleanly_and_resumes(fake: FakeServer, tmp_path: Path) -> None:
    suite = uniprobe.load_suite("paper")
    fake.reset()
    fake.faults.clear()
    cache = tmp_path / "cache.sqlite"
    first = _run(fake, suite, tmp_path, cache=cache, concurrency=1, max_cost=0.02)
    assert first.extra["stopped"].startswith("--max-cost reached")
    manifest = RunDir.open(first.path).manifest()
    assert manifest.status == "interrupted" and manifest.note == first.extra["stopped"]
    assert 1 <= first.samples < 15
    paid = fake.count("/v1/images", status=200)
    resumed = _run(fake, suite, tmp_path, cache=cache, resume=True, max_cost=100.0)
    assert resumed.samples == 15 and "stopped" not in resumed.extra
    assert RunDir.open(resumed.path).manifest().status == "finished"
    answered = sum(len(s.turns) for s in RunDir.open(resumed.path).samples().values())
    assert fake.count("/v1/images", status=200) == answered  # nothing paid twice
    assert paid < answered


def test_max_cost_without_known_prices_refuses_to_guess(
    fake: FakeServer, one: uniprobe.Suite, tmp_path: Path
) -> None:
    fake.reset()
    fake.faults.clear()
    result = _run(
        fake,
        one,
        tmp_path,
        config=Config(providers={"compat/x": ProviderConfig(base_url=fake.url + "/v1")}),
        model="compat/x",
        max_cost=1.0,
        epochs=3,
        concurrency=1,
    )
    assert result.samples == 1
    assert "no known price" in result.extra["stopped"]


def test_requests_per_minute_are_paced(fake: FakeServer, tmp_path: Path) -> None:
    suite = uniprobe.load_suite("paper")
    small = uniprobe.Suite("paper", suite.cases[:3], suite.source, suite.file_hashes)
    fake.reset()
    fake.faults.clear()
    t0 = time.monotonic()
    _run(fake, small, tmp_path, rpm=300.0, score=False)  # one call per 0.2 s
    assert len(_calls(fake)) == 6
    assert time.monotonic() - t0 >= 5 * 0.2
