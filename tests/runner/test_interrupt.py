"""Ctrl-C stops a run cleanly: the manifest says so, and --resume finishes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY_SUITE


def test_ctrl_c_marks_the_run_interrupted_and_resume_finishes_it(tmp_path: Path) -> None:
    suite = tmp_path / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    out = tmp_path / "runs"
    cmd = [
        sys.executable,
        "-m",
        "uniprobe.cli",
        "run",
        "--suite",
        str(suite),
        "--model",
        "reference/oracle",
        "--out",
        str(out),
        "--epochs",
        "3",
        "-M",
        "latency=0.3",
        "--concurrency",
        "1",  # one sample at a time: Ctrl-C lands while the others still wait
        "--no-progress",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = out / "tiny-reference-oracle"
    deadline = time.monotonic() + 30
    while not (run / "samples.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip() == f"interrupted; continue with: uniprobe run ... --out {out} --resume"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    done_before = len((run / "samples.jsonl").read_text().splitlines())
    assert 1 <= done_before < 6

    resumed = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"6 samples ({6 - done_before} new, 0 errors)" in resumed.stdout
    assert json.loads((run / "manifest.json").read_text())["status"] == "finished"
