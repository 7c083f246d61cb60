"""Group accuracy, the headline metric, probe accuracy given setup, and strict bounds,
on hand-made scores of a suite with contrast groups and setup checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from report_helpers import write_run

import uniprobe
from uniprobe.cases.schema import Suite
from uniprobe.report.metrics import Bounds, Estimate, RunSummary, summarize
from uniprobe.report.outcomes import group_outcome, probe_given_setup, role_of
from uniprobe.store.records import (
    Manifest,
    ModelInfo,
    Outcome,
    ScoreRecord,
    Status,
    SuiteInfo,
    Verdict,
)

SUITE = """\
- id: g.premise.true
  family: global_instruction
  subtype: false_premise
  group: premise
  turns:
    - user: "Draw 2 birds."
      expect: [{count: {object: bird, equals: 2}}]
- id: g.premise.false
  family: global_instruction
  subtype: false_premise
  group: premise
  turns:
    - user: "Draw 3 birds."
      expect: [{count: {object: bird, equals: 3}}]
- id: g.cond.holds
  family: global_instruction
  subtype: false_premise
  group: cond
  turns:
    - user: "Draw a dog."
      expect: [{present: {object: dog}}]
- id: g.cond.not
  family: global_instruction
  subtype: false_premise
  group: cond
  turns:
    - user: "Draw a cat."
      expect: [{present: {object: cat}}]
- id: u.numeric
  family: global_instruction
  subtype: numeric_transform
  turns:
    - user: "Draw 4 birds."
      expect: [{count: {object: bird, equals: 4}}]
- id: p.after
  family: post_generation
  subtype: count_after_edit
  tags: ["distance:2"]
  turns:
    - user: "Draw 2 dogs."
      expect: [{count: {object: dog, equals: 2, role: setup}}]
    - user: "Something else."
      expect: [{present: {object: tree, role: filler}}]
    - user: "Add a cat."
      expect: [{present: {object: cat}}, {count: {object: dog, equals: 2}}]
"""

NONE = Estimate(value=None, low=None, high=None, n=0)
ONE = Estimate(value=1.0, low=0.206543, high=1.0, n=1)  # Wilson 1/1
ZERO = Estimate(value=0.0, low=0.0, high=0.793457, n=1)  # Wilson 0/1


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Suite:
    path = tmp_path_factory.mktemp("suite") / "g.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return uniprobe.load_suite(path)


def _v(path: str, status: Status) -> Verdict:
    turn = int(path.split(".")[1]) + 1
    return Verdict(path=path, turn=turn, kind="count", check={}, status=status, reason="hand")


def _one(case_id: str, epoch: int, status: Status, outcome: Outcome | None = None) -> ScoreRecord:
    """A one-check case's score; the outcome follows the check unless given."""
    return ScoreRecord(
        case_id=case_id,
        epoch=epoch,
        policy="reference",
        judges={},
        outcome=outcome or status,
        verdicts=[_v("turns.0.expect.0", status)],
        scored="2025-01-01T00:00:00+00:00",
    )


def _after(epoch: int, setup: Status, filler: Status, cat: Status, dogs: Status) -> ScoreRecord:
    statuses = [setup, filler, cat, dogs]
    outcome: Outcome = (
        "fail" if "fail" in statuses else "pass" if set(statuses) == {"pass"} else "unknown"
    )
    return ScoreRecord(
        case_id="p.after",
        epoch=epoch,
        policy="reference",
        judges={},
        outcome=outcome,
        verdicts=[
            _v("turns.0.expect.0", setup),
            _v("turns.1.expect.0", filler),
            _v("turns.2.expect.0", cat),
            _v("turns.2.expect.1", dogs),
        ],
        scored="2025-01-01T00:00:00+00:00",
    )


def _summary(suite: Suite, scores: list[ScoreRecord]) -> RunSummary:
    manifest = Manifest(
        run_id="hand",
        uniprobe_version="0.1.0",
        suite=SuiteInfo(name="g", hash="0" * 64, cases=len(suite.cases)),
        model=ModelInfo(name="test/model", protocol="responses"),
        epochs=3,
        policy="reference",
        created="2025-01-01T00:00:00+00:00",
    )
    return summarize(suite, manifest, {}, {s.key: s for s in scores}, "reference")


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        pytest.param({"a": "pass", "b": "pass"}, "pass", id="all-pass"),
        pytest.param({"a": "pass", "b": "fail"}, "fail", id="one-fails"),
        pytest.param({"a": "pass", "b": "unknown"}, "unknown", id="undecided-member"),
        pytest.param({"a": "fail", "b": "unknown"}, "fail", id="a-failure-is-a-failure"),
        pytest.param({"a": "fail", "b": "error"}, "error", id="error-outranks"),
        pytest.param({"a": "pass"}, "error", id="missing-member"),
    ],
)
def test_group_outcome(outcomes: dict[str, Outcome], expected: Outcome) -> None:
    assert group_outcome(["a", "b"], outcomes) == expected


def test_probe_given_setup_rules() -> None:
    assert probe_given_setup("pass", "pass", "pass") == "pass"
    assert probe_given_setup("fail", None, "fail") == "fail"  # no setup: eligible
    assert probe_given_setup("fail", "fail", "pass") == "ineligible"
    assert probe_given_setup("unknown", "unknown", "pass") == "undecided"
    assert probe_given_setup("unknown", "pass", "unknown") == "undecided"
    assert probe_given_setup("error", "pass", "pass") == "none"
    assert probe_given_setup("pass", "pass", None) == "none"


def test_a_group_passes_only_when_every_member_passes(suite: Suite) -> None:
    s = _summary(
        suite,
        [
            # epoch 0: premise passes (both members), cond fails (one member fails)
            _one("g.premise.true", 0, "pass"),
            _one("g.premise.false", 0, "pass"),
            _one("g.cond.holds", 0, "pass"),
            _one("g.cond.not", 0, "fail"),
            # epoch 1: premise undecided (a member unknown), cond undecided (a member errored)
            _one("g.premise.true", 1, "pass"),
            _one("g.premise.false", 1, "unknown"),
            _one("g.cond.holds", 1, "pass"),
            _one("g.cond.not", 1, "unknown", "error"),
            # epoch 2: premise undecided (a member was not scored)
            _one("g.premise.true", 2, "pass"),
        ],
    )
    fp = s.subtypes["global_instruction/false_premise"]
    assert (fp.groups, fp.groups_undecided) == (2, 3)
    # 1 of 2 decided groups-in-an-epoch (premise@0 passes, cond@0 fails)
    assert fp.group_accuracy == Estimate(value=0.5, low=0.094529, high=0.905471, n=2)
    assert (fp.headline, fp.headline_metric) == (fp.group_accuracy, "group")
    # strict accuracy counts the samples: 6 of 7 decided passed (the error is neither)
    assert fp.strict_accuracy.value == 0.857143
    # the unknown sample counted as failed (6/8), then as passed (7/8)
    assert fp.strict_bounds == Bounds(low=0.75, high=0.875, undecided=1)


def test_headline_picks_the_metric_by_grouping(suite: Suite) -> None:
    scores = [
        _one("g.premise.true", 0, "pass"),
        _one("g.premise.false", 0, "fail"),  # the group fails though 1 of 2 passed
        _one("g.cond.holds", 0, "pass"),
        _one("g.cond.not", 0, "pass"),
        _one("u.numeric", 0, "pass"),
        _one("u.numeric", 1, "fail"),
        _after(0, "pass", "pass", "pass", "pass"),
    ]
    s = _summary(suite, scores)
    fp = s.subtypes["global_instruction/false_premise"]
    assert (fp.headline_metric, fp.headline.value, fp.strict_accuracy.value) == (
        "group",
        0.5,
        0.75,
    )
    numeric = s.subtypes["global_instruction/numeric_transform"]
    assert (numeric.headline_metric, numeric.groups) == ("strict", 0)
    assert numeric.headline == numeric.strict_accuracy
    assert numeric.group_accuracy == NONE
    # the family counts 2 groups and 2 samples of its ungrouped case as units: 2 of 4
    gi = s.families["global_instruction"]
    assert (gi.headline_metric, gi.headline.value, gi.headline.n) == ("mixed", 0.5, 4)
    assert (s.families["post_generation"].headline_metric, s.overall.headline_metric) == (
        "strict",
        "mixed",
    )
    # overall: premise fails, cond passes, numeric 1 of 2, p.after passes: 3 of 5 units
    assert (s.overall.headline.value, s.overall.headline.n, s.overall.groups) == (0.6, 5, 2)


def test_probe_accuracy_given_setup_and_fillers(suite: Suite) -> None:
    s = _summary(
        suite,
        [
            # setup passed, the filler failed, the probe passed: a probe pass, a strict fail
            _after(0, "pass", "fail", "pass", "pass"),
            # setup failed: not eligible, whatever the probe did
            _after(1, "fail", "pass", "pass", "pass"),
            # setup passed, a probe check failed
            _after(2, "pass", "pass", "fail", "pass"),
            # setup unknown: undecided eligibility
            _after(3, "unknown", "pass", "pass", "pass"),
        ],
    )
    post = s.subtypes["post_generation/count_after_edit"]
    # 1 of 2 eligible decided samples; one case, two epochs that disagree: n_eff 1
    assert post.probe_accuracy == Estimate(value=0.5, low=0.054619, high=0.945381, n=2)
    # 2 of 3 samples with decided setup passed it
    assert post.setup_pass_rate.value == 0.666667
    assert post.setup_pass_rate.n == 3
    assert post.strict_accuracy.value == 0.0  # every decided sample failed some check
    assert post.strict_bounds == Bounds(low=0.0, high=0.25, undecided=1)
    # context distance: probe accuracy of the distance-tagged cases
    assert s.distances["2"].probe_accuracy == post.probe_accuracy


def test_unknowns_give_bounds_and_intervals_do_not_collapse(suite: Suite) -> None:
    s = _summary(
        suite,
        [_one("u.numeric", e, "unknown" if e < 2 else "pass", None) for e in range(3)],
    )
    numeric = s.subtypes["global_instruction/numeric_transform"]
    assert numeric.strict_accuracy == ONE  # decided only: 1 of 1
    assert numeric.strict_bounds == Bounds(low=0.333333, high=1.0, undecided=2)
    s = _summary(suite, [_one("u.numeric", 0, "fail")])
    assert s.overall.headline == ZERO
    assert s.overall.headline.half_width == 0.396728


def test_summary_and_report_lead_with_the_headline(suite: Suite, tmp_path: Path) -> None:
    passed = {"g.premise.true", "g.premise.false", "g.cond.holds", "u.numeric", "p.after"}
    run = write_run(tmp_path, "grouped", suite, passed)
    done = subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", "summary", str(run)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:7] == [
        "family",
        "/",
        "subtype",
        "samples",
        "headline",
        "[95%",
        "CI]",
    ]
    rows = {line.split()[0]: " ".join(line.split()[1:]) for line in lines[1:]}
    # premise passes, cond fails (g.cond.not failed): 1 of 2 groups; strict: 3 of 4 samples
    assert rows["false_premise"].startswith("4 50.0% [9.5%, 90.5%] ±40.5 group 75.0% [30.1%,")
    assert rows["numeric_transform"].startswith("1 100.0% [20.7%, 100.0%] ±39.7 strict")
    assert rows["all"].split()[5] == "mixed"

    index = uniprobe.report([run], out=tmp_path / "rep").read_text(encoding="utf-8")
    assert '<dt>Headline</dt><dd data-run="grouped" data-metric="headline" data-value="0.75"' in (
        index
    )
    row = 'data-group="global_instruction/false_premise" data-metric="group_accuracy"'
    assert f'{row} data-value="0.5"' in index
    assert 'data-headline-metric="group">group</td>' in index


def test_a_verdicts_role_is_its_checks(suite: Suite) -> None:
    case = suite.case("p.after")
    assert [role_of(case, _v(p, "pass")) for p in ("turns.0.expect.0", "turns.1.expect.0")] == [
        "setup",
        "filler",
    ]
    assert role_of(case, _v("turns.2.expect.1", "pass")) == "probe"
    # a path the case does not hold: the role the verdict records
    recorded = _v("turns.9.expect.0", "pass").model_copy(update={"role": "setup"})
    assert role_of(case, recorded) == "setup"
