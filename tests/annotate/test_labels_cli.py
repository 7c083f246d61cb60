"""`uniprobe labels export|import|stats`: thin over the API, errors in one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from annotate_helpers import copy_run, find_item, groups_of, paper_run

from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.label import LabelValue


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture()
def runs(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> tuple[Path, Path]:
    base = paper_run(tmp_path_factory)
    first = copy_run(base, tmp_path / "a")
    second = copy_run(base, tmp_path / "b")
    groups = groups_of(first)
    store = LabelStore(labels_path(first))
    votes: list[tuple[str, LabelValue]] = [("ada", "fail"), ("bob", "fail"), ("cy", "pass")]
    for n, (who, value) in enumerate(votes):
        _, item = find_item(groups, "paper.global.numeric.add3.dolphins", "turns.1.expect.0")
        store.add(item.label(who, value, created=f"2026-01-01T00:00:0{n}Z"))
    return first, second


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_into_another_copy(
    runs: tuple[Path, Path], tmp_path: Path, fmt: str
) -> None:
    first, second = runs
    out = tmp_path / f"labels.{fmt}"
    done = _cli("labels", "export", str(first), "--format", fmt, "--out", str(out))
    assert (done.returncode, done.stdout.strip()) == (0, f"wrote 3 label(s) to {out}"), done.stderr
    done = _cli("labels", "import", str(second), str(out))
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == f"imported 3 label(s) into {second}/labels.sqlite (0 already there)"
    )
    again = _cli("labels", "import", str(second), str(out))
    assert again.stdout.strip().endswith("(3 already there)")
    assert [lb.label for lb in LabelStore(labels_path(second)).labels()] == ["fail", "fail", "pass"]


def test_a_bad_import_is_one_line_and_changes_nothing(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    first, _ = runs
    out = tmp_path / "labels.csv"
    _cli("labels", "export", str(first), "--out", str(out))
    out.write_text(out.read_text(encoding="utf-8").replace(",pass,", ",yes,"), encoding="utf-8")
    done = _cli("labels", "import", str(first), str(out))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: {out}:4: label: Input should be 'pass', 'fail' or 'cant_tell'"
    ]
    assert len(LabelStore(labels_path(first)).labels()) == 3


def test_a_bad_format_is_refused(runs: tuple[Path, Path], tmp_path: Path) -> None:
    done = _cli("labels", "export", str(runs[0]), "--format", "xml", "--out", str(tmp_path / "x"))
    assert (done.returncode, done.stderr.strip()) == (2, "error: --format xml: use csv or jsonl")


def test_stats_prints_agreement(runs: tuple[Path, Path]) -> None:
    first, _ = runs
    done = _cli("labels", "stats", str(first), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["annotators"] == ["ada", "bob", "cy"]
    assert data["kinds"]["count"]["n"] == 1 and data["kinds"]["count"]["observed"] == 1.0
    # 2 fail + 1 pass on one unit: n_f=2 n_p=1 n=3, o_fp=o_pf=1: alpha = 1 - 2*2/4 = 0
    assert data["alpha"] == 0.0 and data["alpha_items"] == 1
    table = _cli("labels", "stats", str(first))
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == [
        "kind",
        "items",
        "labels",
        "judged",
        "agree",
        "kappa",
        "alpha",
        "alpha",
        "items",
    ]
    assert lines[1].split() == ["count", "1", "3", "1", "100.0%", "–", "0.000", "1"]
    assert (
        lines[-1]
        == "3 annotator(s) (ada, bob, cy); 3 label(s) on 1 of 61 items; alpha 0.000 over 1 items"
    )
