"""`uniprobe fake-server --mind` and `uniprobe run --probe` through the real commands: a
fake that knows the rule but draws literally can't draw; one that believes the literal
reading doesn't know."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import uniprobe
from conftest import TINY_SUITE

pytest.importorskip("openai")

KEY = "sk-cli-probes-0123456789"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"FORCE_COLOR", "TTY_COMPATIBLE"}}
    return {**env, "NO_COLOR": "1", "UNIPROBE_TEST_KEY": KEY}


def _uniprobe(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@contextmanager
def _fake_server(cwd: Path, *args: str) -> Iterator[str]:
    """`uniprobe fake-server --port 0 ARGS` in the background; its base URL."""
    cmd = [sys.executable, "-m", "uniprobe.cli", "fake-server", "--port", "0", *args]
    with subprocess.Popen(cmd, cwd=cwd, env=_env(), stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:"), url
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("mind", "outcome", "tags", "stated"),
    [
        pytest.param("rule", "cant_draw", (), 3, id="knows-the-rule-draws-literally"),
        pytest.param("literal", "doesnt_know", ("literal_belief",), 5, id="believes-literally"),
    ],
)
def test_a_fake_mind_diagnosed_through_the_commands(
    tmp_path: Path, mind: str, outcome: str, tags: tuple[str, ...], stated: int
) -> None:
    (tmp_path / "tiny.yaml").write_text(TINY_SUITE, encoding="utf-8")
    with _fake_server(tmp_path, "--mind", mind, "--suite", "tiny.yaml") as url:
        (tmp_path / "uniprobe.toml").write_text(
            f'[providers.openai]\napi_key_env = "UNIPROBE_TEST_KEY"\nbase_url = "{url}/v1"\n',
            encoding="utf-8",
        )
        args = ["-m", "openai/gpt-5.5", "--suite", "tiny.yaml", "--judge", "reference"]
        args += ["--images", "synthetic", "--no-progress", "--probe", "knows,sees"]
        done = _uniprobe(tmp_path, "run", *args)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "runs" / "tiny-openai-gpt-5.5"
    probe_line = done.stdout.splitlines()[1]
    assert probe_line.startswith(
        "openai/gpt-5.5: probes: 6 calls at 3 checked turns (2.0 per turn), $"
    )
    # birds: 5 asked, 3 meant; the fake paints 5
    [birds] = [r for r in uniprobe.diagnose(run).rows if r.case_id == "tiny.numeric.birds"]
    assert (birds.knows, birds.draws, birds.sees, birds.outcome, birds.tags) == (
        "right" if mind == "rule" else "wrong",
        "fail",
        "agree",
        outcome,
        tags,
    )
    assert (birds.stated_before, birds.stated_after) == (stated, 5)
    summary = _uniprobe(tmp_path, "summary", str(run), "--json")
    assert summary.returncode == 0, summary.stderr
    diagnosis = json.loads(summary.stdout)["diagnosis"]
    assert diagnosis["probes"] == ["knows", "sees"]
    assert diagnosis["ledger"]["calls"] == 6
    assert diagnosis["families"]["global_instruction"]["outcomes"][outcome]["k"] == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("--mind", "wise"),
            "error: Invalid value for '--mind': Value error, 'wise' is not one of 'rule', "
            "'literal'. (see `uniprobe fake-server --help`)",
            id="unknown-mind",
        ),
        pytest.param(
            ("--sees-error", "0.2"),
            "error: sees_error_rate needs a mind (rule or literal)",
            id="sees-error-without-a-mind",
        ),
        pytest.param(
            ("--mind", "rule", "--sees-error", "1.5"),
            "error: sees_error_rate must be between 0 and 1, not 1.5",
            id="sees-error-out-of-range",
        ),
    ],
)
def test_fake_server_refuses_a_bad_mind_before_it_listens(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    done = _uniprobe(tmp_path, "fake-server", "--port", "0", *args)
    assert (done.returncode, done.stdout, done.stderr.splitlines()) == (2, "", [expected])
