"""A paid run killed with SIGKILL resumes without losing or re-buying finished work."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TINY_SUITE
from uniprobe.testing.server import FakeServer

pytest.importorskip("openai")

KEY = "sk-kill-test-9f8e7d6c5b4a"


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(latency=0.05) as server:
        yield server


def _command(tmp_path: Path, fake: FakeServer, *extra: str) -> list[str]:
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    config = tmp_path / "uniprobe.toml"
    config.write_text(
        '[providers.openai-images]\napi_key_env = "UNIPROBE_TEST_KEY"\n'
        f'base_url = "{fake.url}/v1"\n',
        encoding="utf-8",
    )
    return [
        sys.executable,
        "-m",
        "uniprobe.cli",
        "run",
        "--suite",
        str(suite),
        "--model",
        "openai-images/gpt-image-2",
        "--epochs",
        "4",
        "--concurrency",
        "2",
        "--out",
        str(tmp_path / "runs"),
        "--config",
        str(config),
        "--no-progress",
        "--judge",
        "reference",
        "--images",
        "synthetic",  # the fake paints synthetic scenes
        *extra,
    ]


def test_killed_paid_run_resumes_without_paying_twice(fake: FakeServer, tmp_path: Path) -> None:
    env = {**os.environ, "UNIPROBE_TEST_KEY": KEY}
    cmd = _command(tmp_path, fake)
    samples = tmp_path / "runs" / "tiny-openai-images-gpt-image-2" / "samples.jsonl"
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if samples.exists() and samples.read_bytes().count(b"\n") >= 2:
            break
        time.sleep(0.02)
    time.sleep(random.Random(3).uniform(0.0, 0.15))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = samples.read_bytes().count(b"\n")
    assert 2 <= before < 8

    done = subprocess.run([*cmd, "--resume"], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    keys = [f"{r['case_id']}#{r['epoch']}" for r in lines]
    assert len(keys) == len(set(keys)) == 8  # 2 cases x 4 epochs, each once
    recorded = sum(len(t["reply"]["images"]) for r in lines for t in r["turns"] if t["reply"])
    # calls in flight at the kill were paid and asked again: at most --concurrency of them
    assert recorded <= fake.images_served <= recorded + 2
    for file in (tmp_path / "runs").rglob("*"):
        if file.is_file() and file.suffix != ".sqlite":
            assert KEY.encode() not in file.read_bytes(), file
    assert KEY not in done.stdout + done.stderr
