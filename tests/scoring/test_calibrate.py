"""Calibration: the controlled set's truth, and judges measured on it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter

import pytest

from uniprobe.cases.checks import Count, SameAs, Text, Unchanged
from uniprobe.scoring.calibrate import CalibrationItem, calibrate, calibration_set


@pytest.fixture(scope="module")
def items() -> list[CalibrationItem]:
    return calibration_set(5, seed=0)


def test_the_set_covers_every_kind_with_true_and_false_items(items: list[CalibrationItem]) -> None:
    by_kind = Counter((i.kind, i.truth) for i in items)
    for kind in (
        "count",
        "present",
        "absent",
        "relation",
        "position",
        "color",
        "style",
        "text",
        "ask",
        "same_as",
        "unchanged",
    ):
        assert by_kind[(kind, True)] > 0, kind
        assert by_kind[(kind, False)] > 0, kind
    renders = {i.render for i in items}
    assert {"scene", "added", "removed", "recolored", "moved", "grayscale", "sign"} <= renders


def test_truth_comes_from_the_specs(items: list[CalibrationItem]) -> None:
    # The base scene's true counts are one fewer than the 'added' render's, for the kind added.
    first = [i for i in items if i.id.startswith("0/")]
    counts = {
        (i.render, i.check.object): i.check.equals
        for i in first
        if isinstance(i.check, Count) and i.truth
    }
    added = [k for (r, k) in counts if r == "added"]
    assert any(counts[("added", k)] == counts.get(("scene", k), 0) + 1 for k in added)
    # Edit items compare with the base scene; a copy is the same, a perturbation is not.
    for i in first:
        if isinstance(i.check, SameAs | Unchanged):
            assert i.reference is not None
        if isinstance(i.check, SameAs):
            assert i.truth == (i.render == "copy")
        if isinstance(i.check, Text):
            assert i.render == "sign"
    # Decisive: true items, and false items of yes/no kinds.
    assert all(i.decisive for i in items if i.truth)
    assert not any(i.decisive for i in items if not i.truth and i.kind in ("count", "color"))


def test_reference_policy_is_trustworthy_on_every_kind(items: list[CalibrationItem]) -> None:
    report = asyncio.run(calibrate("reference", items=items))
    # the reference policy has no judge for `ask`: not measured
    assert "ask" not in report.kinds
    assert set(report.kinds) == {
        "count",
        "present",
        "absent",
        "relation",
        "position",
        "color",
        "style",
        "text",
        "same_as",
        "unchanged",
    }
    for kind, result in report.kinds.items():
        assert result.accuracy is not None and result.accuracy >= 0.97, (kind, report.mistakes)
        total = sum(sum(row.values()) for row in result.confusion.values())
        assert total == result.items
    assert report.judges == {"ocr": "2", "pixels": "2", "reference": "1"}
    assert report.usage == {}


def test_a_wrong_judge_is_caught(items: list[CalibrationItem]) -> None:
    # A pixels judge that tolerates any change calls every perturbation 'unchanged'.
    lax = {"pixels": {"max_changed": 1.0, "max_changed_same": 1.0}}
    report = asyncio.run(calibrate("reference", options=lax, items=items))
    same = report.kinds["same_as"]
    assert same.confusion["false"]["pass"] > 0
    assert same.confusion["false"]["fail"] == 0
    assert same.accuracy is not None and same.accuracy < 0.6
    assert any(m["check"]["kind"] == "same_as" and m["truth"] is False for m in report.mistakes)


def test_calibrate_command_prints_json() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "calibrate", "--scenes", "1", "--json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["policy"] == "reference"
    assert data["items"] == sum(k["items"] for k in data["kinds"].values()) > 0
    assert set(data["kinds"]["count"]["confusion"]) == {"true", "false"}


def test_calibrate_command_rejects_a_bad_judge_option() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "calibrate", "-J", "pixels.metric=psnr"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pixels" in lines[0] and "metric" in lines[0], proc.stderr
