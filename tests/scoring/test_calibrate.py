"""Calibration: the controlled set's truth, and judges measured on it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import pytest
from pydantic import SecretStr

from uniprobe.cases.checks import Count, SameAs, Text, Unchanged
from uniprobe.config import Config, ProviderConfig
from uniprobe.scoring.calibrate import calibrate
from uniprobe.scoring.truthset import CalibrationItem, calibration_set
from uniprobe.statistics import wilson
from uniprobe.testing import FakeServer
from uniprobe.testing.vlm import FakeVlm


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
        if isinstance(i.check, Count) and i.check.equals is not None and i.truth
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
    assert report.judges == {"ocr": "3", "pixels": "3", "reference": "3"}
    assert report.usage == {}


def test_a_wrong_judge_is_caught(items: list[CalibrationItem]) -> None:
    # A pixels judge that tolerates any change calls every perturbation 'unchanged'.
    lax = {
        "pixels": {
            "max_changed": 1.0,
            "max_changed_same": 1.0,
            "max_changed_aligned": 1.0,
            "max_changed_aligned_same": 1.0,
        }
    }
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
    locality = data["locality"]
    assert {r["expect"] for r in locality.values()} == {"pass", "fail"}
    assert locality["jpeg"]["expect"] == "pass" and locality["recolored"]["expect"] == "fail"
    assert all(r["items"] > 0 and r["rate"] is not None for r in locality.values())


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


def _vlm_calibration(items: list[CalibrationItem], error_rate: float) -> tuple[Any, FakeVlm]:
    vlm = FakeVlm(error_rate=error_rate, seed=0)
    with FakeServer(chat_handler=vlm) as fake:
        key = SecretStr("sk-test-calibration")
        config = Config(
            providers={"openai": ProviderConfig(api_key=key, base_url=fake.url + "/v1")}
        )
        # The fake's wrong answers are drawn from the request bytes: this model (which
        # takes a temperature) keeps the draws the tolerances below were set against.
        options = {"vlm": {"model": "gpt-4.1-2025-04-14"}}
        report = asyncio.run(calibrate("vlm", options=options, config=config, items=items))
    return report, vlm


def test_a_perfect_fake_vlm_is_right_on_every_kind(items: list[CalibrationItem]) -> None:
    report, vlm = _vlm_calibration(items, 0.0)
    assert set(report.kinds) >= {"count", "present", "ask", "same_as", "unchanged", "style"}
    for kind, result in report.kinds.items():
        assert result.accuracy == 1.0, (kind, report.mistakes[:3])
    assert report.kinds["ask"].judge == "vlm" and report.kinds["text"].judge == "ocr"
    # one call per canvas and one per (reference, canvas) pair, each booked once
    usage = report.usage["vlm"]
    assert usage.calls == sum(1 for a in vlm.asked if a.qid == "q1")
    assert usage.cost_usd is not None and usage.cost_usd > 0
    assert report.judges["vlm"] == "1"


def test_calibration_reports_a_noisy_vlms_error_rate_back() -> None:
    # the default set (12 scenes); the fake is wrong on 10% of its answers
    report, vlm = _vlm_calibration(calibration_set(12, seed=0), 0.1)
    vlm_kinds = [k for k in report.kinds.values() if k.judge == "vlm"]
    decisive = sum(k.decisive for k in vlm_kinds)
    rate = sum(k.decisive_errors for k in vlm_kinds) / decisive
    assert decisive > 1000
    assert abs(rate - 0.1) <= 0.02, rate
    low, high = report.decisive_error_ci or (0, 0)
    assert low < 0.1 < high
    flipped = sum(a.flipped for a in vlm.asked) / len(vlm.asked)
    assert abs(rate - flipped) <= 0.02  # it measures what the fake actually did
    assert report.kinds["text"].accuracy == 1.0  # OCR is not the VLM
    assert all(m["check"]["kind"] != "text" for m in report.mistakes)


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    low, high = wilson(0, 10) or (1, 1)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(50, 100) or (0, 0)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
