"""A run SIGKILLed at a random instant and resumed ends up equal to an uninterrupted run.

Nothing completed is lost or redone, nothing is duplicated: samples, scores and stored
images match a run that was never interrupted (timing fields aside).
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SUITE = """\
- id: kill.numeric.birds
  family: global_instruction
  subtype: numeric_transform
  source: core
  turns:
    - user: "From now on, if I mention a number, subtract 2 before using it."
    - user: "Generate an image of 5 birds."
      expect:
        - count: {object: bird, equals: 3, literal: 5}

- id: kill.numeric.dolphins
  family: global_instruction
  subtype: numeric_transform
  source: core
  turns:
    - user: "From now on, if I mention a number, add 3 before using it."
    - user: "Generate an image of 2 dolphins."
      expect:
        - count: {object: dolphin, equals: 5, literal: 2}

- id: kill.spatial.dog_cat
  family: global_instruction
  subtype: spatial_reversal
  source: core
  turns:
    - user: "From now on, when I say left, I mean right."
    - user: "Generate an image of a dog and a cat with the dog on the left."
      expect:
        - present: {object: cat}
        - position: {object: dog, place: right, literal: left}

- id: kill.post.zebras
  family: post_generation
  subtype: condition_on_presence
  source: core
  turns:
    - user: "Generate an image of two zebras drinking water from the river."
      expect:
        - count: {object: zebra, equals: 2}
    - user: "Draw a man running on the road if there is no water in the first image."
      expect:
        - when: {present: {object: water, turn: 1}}
          then: [{absent: {object: man}}]
          else: [{present: {object: man}}]
          literal: else
          assumed: true
"""
CASES = ["kill.numeric.birds", "kill.numeric.dolphins", "kill.spatial.dog_cat", "kill.post.zebras"]
EPOCHS = 3
KEYS = sorted(f"{c}#{e}" for c in CASES for e in range(EPOCHS))
RUN_NAME = "kill-reference-oracle"
TIMING = {"started", "finished", "latency_s"}


def _command(suite: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uniprobe.cli",
        "run",
        "--suite",
        str(suite),
        "--model",
        "reference/oracle",
        "--epochs",
        str(EPOCHS),
        "--out",
        str(out),
        "-M",
        "latency=0.05",
        "--no-progress",
        *extra,
    ]


def _complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _key(record: dict[str, Any]) -> str:
    return f"{record['case_id']}#{record['epoch']}"


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _drop(value: Any, names: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [_drop(v, names) for v in value]
    return value


def _by_key(path: Path, names: set[str]) -> dict[str, Any]:
    return {_key(r): _drop(r, names) for r in _records(path)}


def _image_files(run: Path) -> list[str]:
    return sorted(p.name for p in (run / "images").iterdir() if not p.name.startswith("."))


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "kill.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def baseline(suite_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run, never interrupted."""
    out = tmp_path_factory.mktemp("baseline")
    done = subprocess.run(
        _command(suite_file, out), capture_output=True, text=True, cwd=out, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "12 samples (12 new, 0 errors)" in done.stdout
    return out / RUN_NAME


@pytest.mark.parametrize(
    ("seed", "watch"),
    [
        # The kill moment is random but tied to progress, not to wall time (the machine
        # may be slow or busy): wait for a seeded number of lines in the watched file,
        # then a seeded extra delay. Generation is a short burst at the start; scoring
        # takes most of the run.
        pytest.param(1234, "samples.jsonl", id="kill-while-generating"),
        pytest.param(5678, "scores/reference.jsonl", id="kill-while-scoring"),
    ],
)
def test_killed_run_resumes_to_the_same_result(
    suite_file: Path, baseline: Path, tmp_path: Path, seed: int, watch: str
) -> None:
    rng = random.Random(seed)
    target = rng.randint(1, 6) if watch == "samples.jsonl" else rng.randint(1, 9)
    delay = rng.uniform(0.0, 0.05)
    run = tmp_path / RUN_NAME
    samples_path = run / "samples.jsonl"
    scores_path = run / "scores" / "reference.jsonl"

    proc = subprocess.Popen(
        _command(suite_file, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 90
        while _complete_lines(run / watch) < target and proc.poll() is None:
            assert time.monotonic() < deadline, f"{watch} did not reach {target} lines in 90 s"
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    samples_before = _complete_lines(samples_path)
    scores_before = _complete_lines(scores_path)
    assert samples_before >= 1
    assert samples_before < len(KEYS) or scores_before < len(KEYS), "nothing was interrupted"

    resumed = subprocess.run(
        _command(suite_file, tmp_path, "--resume"),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr
    # nothing completed before the kill is generated again
    new = len(KEYS) - len({_key(r) for r in _records(samples_path)[:samples_before]})
    assert f"12 samples ({new} new, 0 errors)" in resumed.stdout

    for name in ("samples.jsonl", "scores/reference.jsonl"):
        counts = Counter(_key(r) for r in _records(run / name))
        assert sorted(counts) == KEYS, name
        assert set(counts.values()) == {1}, f"duplicate lines in {name}: {counts}"

    assert _by_key(samples_path, TIMING) == _by_key(baseline / "samples.jsonl", TIMING)
    assert _by_key(scores_path, {"scored"}) == _by_key(
        baseline / "scores" / "reference.jsonl", {"scored"}
    )
    assert {k: r["outcome"] for k, r in _by_key(scores_path, set()).items()} == dict.fromkeys(
        KEYS, "pass"
    )
    assert _image_files(run) == _image_files(baseline)
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
