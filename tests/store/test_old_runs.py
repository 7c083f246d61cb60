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
from uniprobe.store.records import SCHEMA_VERSION

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
        out[record["case_id"]] = record
    return out


def test_an_old_run_summarises_as_it_did(old_run: Path) -> None:
    summary = uniprobe.summary(old_run)
    assert summary.overall.strict_accuracy.value == pytest.approx(0.2)
    assert summary.overall.strict_accuracy.n == 15


def _verdicts(records: dict[str, dict[str, Any]], *, reasons: bool) -> set[tuple[Any, ...]]:
    out: set[tuple[Any, ...]] = set()

    def walk(case: str, verdict: dict[str, Any]) -> None:
        reason = verdict["reason"] if reasons else None
        out.add((case, verdict["path"], verdict["status"], tuple(verdict["tags"]), reason))
        for child in verdict["children"]:
            walk(case, child)

    for case, record in records.items():
        for verdict in record["verdicts"]:
            walk(case, verdict)
    return out


RETAGGED = {
    # issue 12: `literal` needs a picture drawn in that turn (the literal reference
    # answered the laterality edit in words), and a locality failure is `over_edit` only
    ("paper.edit.laterality.ice_cream", "turns.0.expect.1"): ("under_edit", "no_image"),
    ("paper.edit.laterality.ice_cream", "turns.0.expect.2"): ("under_edit", "no_image"),
    ("paper.edit.reflection_only.horse_lion", "turns.0.expect.4"): ("over_edit",),
}
"""The verdicts whose tags the literal-tag rule changed since 0.1.0, and their new tags."""


def _retagged(verdicts: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    out = set()
    for case, path, status, tags, reason in verdicts:
        new = RETAGGED.get((case, path), tags)
        assert new == tags or "literal" in tags  # only `literal` was ever dropped
        out.add((case, path, status, new, reason))
    return out


def test_old_score_records_read_their_verdicts_as_probes(old_run: Path) -> None:
    raw = (old_run / "scores" / "reference.jsonl").read_text()
    assert '"role"' not in raw  # written before checks had roles
    scores = uniprobe.RunDir.open(old_run).scores("reference")
    verdicts = [v for s in scores.values() for v in s.verdicts]
    roles = {v.role for v in [*verdicts, *(c for v in verdicts for c in v.children)]}
    assert len(scores) == 15
    assert roles == {"probe"}
    uniprobe.score(old_run, force=True)
    lines = (old_run / "scores" / "reference.jsonl").read_text().splitlines()
    rescored = [json.loads(line) for line in lines]
    assert {v["role"] for r in rescored for v in r["verdicts"]} == {"probe"}


@pytest.mark.parametrize(
    ("metric", "reasons"),
    [pytest.param("aligned", False, id="aligned"), pytest.param("pixels", True, id="pixels")],
)
def test_rescoring_an_old_run_gives_the_same_verdicts(
    old_run: Path, metric: str, reasons: bool
) -> None:
    # pixels judge 3 records more (its options, the alignment) and, by default, decides
    # with the aligned metric; reference judge 2 first asks whether the canvas is a
    # synthetic scene: the same verdicts; the strict metric even the same reasons
    before = _scores(old_run)
    uniprobe.score(old_run, force=True, judge_options={"pixels": {"metric": metric}})
    after = _scores(old_run)
    assert len(after) == 15
    assert _verdicts(after, reasons=reasons) == _retagged(_verdicts(before, reasons=reasons))
    for case, record in after.items():
        assert record["judges"] == before[case]["judges"] | {
            "ocr": "3",
            "pixels": "3",
            "reference": "3",
        }
        assert record["schema_version"] == SCHEMA_VERSION  # written now, in today's format
        new = ("judges", "judge_options", "verdicts", "schema_version")
        assert {k: v for k, v in record.items() if k not in new} == {
            k: v for k, v in before[case].items() if k not in new
        }


def test_an_old_run_reports(old_run: Path, tmp_path: Path) -> None:
    index = uniprobe.report([old_run], out=tmp_path / "report")
    assert index.name == "index.html"
    assert "20.0%" in index.read_text()
