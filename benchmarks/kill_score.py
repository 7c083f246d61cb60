"""`uniprobe score --force` killed (SIGKILL) at random moments: the previous scores file
must be byte-identical after every kill, and the summary unchanged.

First one whole `score --force` is timed (from its draft to its end); each kill then
starts `uniprobe score RUN --force`, waits until its draft exists (the judging has
begun), sleeps a random delay within that time (or --max-delay), and kills it; then
prints how far the draft had got, whether the old scores file is intact and what the
summary's first line says. At the end,
one more `score --force` removes the killed writers' drafts, and a copy of the run whose
scores were cut to 26 lines shows the partial-scores line of `uniprobe summary`.

    python benchmarks/kill_score.py [--run RUN] [--kills 10] [--max-delay S] [--seed 0]

Without --run, the core suite is run on reference/oracle first (a few minutes).
"""

from __future__ import annotations

import argparse
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uniprobe


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "uniprobe.cli", *args]


def _wait_for_draft(proc: subprocess.Popen[bytes], scores: Path) -> float:
    """Seconds until the re-scoring opened its draft."""
    start = time.monotonic()
    while not list(scores.glob(".*.tmp")):
        if proc.poll() is not None:
            raise SystemExit(f"score --force ended (status {proc.returncode}) before its draft")
        time.sleep(0.01)
    return time.monotonic() - start


def _timed_score(run: Path) -> float:
    """Seconds a whole `score --force` takes from its draft to its end."""
    proc = subprocess.Popen(
        _cli("score", str(run), "--force"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for_draft(proc, run / "scores")
    start = time.monotonic()
    if proc.wait() != 0:
        raise SystemExit(f"score --force failed (status {proc.returncode})")
    return time.monotonic() - start


def _kill_once(run: Path, policy: str, delay: float, before: bytes) -> str:
    scores = run / "scores"
    proc = subprocess.Popen(
        _cli("score", str(run), "--force"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for_draft(proc, scores)
    time.sleep(delay)
    drafts = list(scores.glob(".*.tmp"))
    written = max((len(d.read_bytes().splitlines()) for d in drafts), default=0)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = proc.returncode == 0
    intact = (scores / f"{policy}.jsonl").read_bytes() == before
    s = uniprobe.summary(run)
    first = s.note or f"(no partial note) {s.scored}/{s.samples} scored"
    state = "finished before the kill" if finished else f"killed, draft had {written} lines"
    return f"{state}; old scores intact: {intact}; summary: {first}"


def _partial_demo(run: Path, policy: str, keep: int) -> str:
    copy = Path(tempfile.mkdtemp(prefix="uniprobe-partial-")) / run.name
    shutil.copytree(run, copy)
    scores = copy / "scores" / f"{policy}.jsonl"
    scores.write_bytes(b"".join(scores.read_bytes().splitlines(keepends=True)[:keep]))
    out = subprocess.run(_cli("summary", str(copy)), capture_output=True, text=True, check=True)
    shutil.rmtree(copy.parent)
    return out.stdout.splitlines()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a scored run (default: make a core run)")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument(
        "--max-delay", type=float, help="seconds after the draft (default: a timed score)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run = args.run
    if run is None:
        out = Path(tempfile.mkdtemp(prefix="uniprobe-kill-"))
        [result] = uniprobe.run("core", ["reference/oracle"], out=out)
        run = result.path
    policy = uniprobe.run_policy(run)
    before = (run / "scores" / f"{policy}.jsonl").read_bytes()
    samples = uniprobe.summary(run).samples
    print(f"{run}: {samples} samples, scores/{policy}.jsonl {len(before)} bytes")
    window = args.max_delay
    if window is None:
        window = _timed_score(run)
        print(f"a whole score --force takes {window:.1f} s after its draft; kills land in it")
    rng = random.Random(args.seed)
    intact = 0
    for i in range(1, args.kills + 1):
        delay = rng.uniform(0.0, window)
        outcome = _kill_once(run, policy, delay, before)
        intact += "old scores intact: True" in outcome
        print(f"kill {i:2d} at +{delay:5.2f} s: {outcome}", flush=True)
    left = len(list((run / "scores").glob(".*.tmp")))
    subprocess.run(_cli("score", str(run), "--force"), capture_output=True, check=True)
    gone = not list((run / "scores").glob(".*.tmp"))
    print(f"{intact}/{args.kills} kills left the old scores byte-identical")
    print(f"drafts left by the kills: {left}; removed by the next score --force: {gone}")
    print(f"summary of a copy with 26 scores: {_partial_demo(run, policy, 26)}")


if __name__ == "__main__":
    main()
