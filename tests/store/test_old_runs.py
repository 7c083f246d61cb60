"""A run folder written by an earlier uniprobe still loads, scores and reports the same.

`fixtures/run-0.1.0-paper-literal` was written by uniprobe 0.1.0 (commit 8a25140, before
the packages were re-layered): `uniprobe run --suite paper --model reference/literal`.
Its suite path points into a checkout that no longer exists, so the suite is found
again by name and content hash.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import uniprobe

FIXTURE = Path(__file__).parent / "fixtures" / "run-0.1.0-paper-literal"


@pytest.fixture
def old_run(tmp_path: Path) -> Path:
    run = tmp_path / "paper-reference-literal"
    shutil.copytree(FIXTURE, run)
    return run


def _scores(run: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for line in (run / "scores" / "reference.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("scored")  # when it was scored
        # the judges' versions and options are recorded as they are now, not as they were
        for key in ("judges", "judge_options"):
            record.pop(key)
        record["verdicts"] = [_verdict(v) for v in record["verdicts"]]
        out[record["case_id"]] = record
    return out


def _verdict(v: dict[str, Any]) -> dict[str, Any]:
    """A verdict without its judge's version."""
    v = {**v, "judge": (v["judge"] or "").split("@")[0]}
    v["children"] = [_verdict(c) for c in v["children"]]
    return v


def test_an_old_run_summarises_as_it_did(old_run: Path) -> None:
    summary = uniprobe.summary(old_run)
    assert summary.overall.strict_accuracy.value == pytest.approx(0.2)
    assert summary.overall.strict_accuracy.n == 15


def test_rescoring_an_old_run_gives_the_same_verdicts(old_run: Path) -> None:
    before = _scores(old_run)
    uniprobe.score(old_run, force=True)
    after = _scores(old_run)
    assert len(after) == 15
    assert after == before


def test_an_old_run_reports(old_run: Path, tmp_path: Path) -> None:
    index = uniprobe.report([old_run], out=tmp_path / "report")
    assert index.name == "index.html"
    assert "20.0%" in index.read_text()
