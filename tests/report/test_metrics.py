"""Metrics: ratios with case-clustered bootstrap intervals, and the summary of a run."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

import pytest

import uniprobe
from conftest import TINY_SUITE
from uniprobe.report.metrics import (
    Bounds,
    Estimate,
    GroupMetrics,
    bootstrap_ratio,
    strict_by_case,
    summarize,
)
from uniprobe.store.records import (
    Manifest,
    ModelInfo,
    Outcome,
    ReplyRecord,
    SampleRecord,
    ScoreRecord,
    Status,
    SuiteInfo,
    TurnRecord,
    Verdict,
)

TINY = TINY_SUITE
FAMILY_KEYS = ["global_instruction", "post_generation"]
SUBTYPE_KEYS = ["global_instruction/numeric_transform", "post_generation/condition_after_edit"]


# --- bootstrap_ratio -------------------------------------------------------------------------


def _width(est: Estimate) -> float:
    assert est.low is not None and est.high is not None
    return est.high - est.low


def test_bootstrap_ratio_value_and_n() -> None:
    est = bootstrap_ratio([1, 0, 1, 1], [1, 1, 1, 1])
    assert (est.value, est.n) == (0.75, 4)
    assert est == Estimate(value=0.75, low=0.25, high=1.0, n=4)


def test_bootstrap_ratio_pools_counts_not_case_shares() -> None:
    # 3 of 5 decided units pass: 1/2 + 2/2 + 0/1, not the mean of per-case shares (0.5)
    est = bootstrap_ratio([1, 2, 0], [2, 2, 1])
    assert (est.value, est.n) == (0.6, 5)


def test_bootstrap_ratio_is_deterministic() -> None:
    num, den = [3, 1, 0, 2, 2, 1], [3, 2, 1, 2, 3, 2]
    first = bootstrap_ratio(num, den)
    assert bootstrap_ratio(num, den) == first
    assert bootstrap_ratio(list(num), list(den), seed=0) == first


@pytest.mark.parametrize(
    ("num", "den"),
    [
        pytest.param([0, 0, 0], [0, 0, 0], id="all-zero"),
        pytest.param([], [], id="empty"),
    ],
)
def test_bootstrap_ratio_without_denominator_is_none(num: list[int], den: list[int]) -> None:
    assert bootstrap_ratio(num, den) == Estimate(value=None, low=None, high=None, n=0)


def test_bootstrap_ratio_all_pass_and_all_fail() -> None:
    assert bootstrap_ratio([3, 2, 1], [3, 2, 1]) == Estimate(value=1.0, low=1.0, high=1.0, n=6)
    assert bootstrap_ratio([0, 0], [2, 1]) == Estimate(value=0.0, low=0.0, high=0.0, n=3)


def test_bootstrap_ratio_intervals_stay_in_unit_range() -> None:
    rng = random.Random(7)
    for _ in range(25):
        k = rng.randint(1, 12)
        den = [rng.randint(0, 4) for _ in range(k)]
        num = [rng.randint(0, d) for d in den]
        est = bootstrap_ratio(num, den)
        if sum(den) == 0:
            assert est.value is None
            continue
        assert est.value is not None
        if sum(d > 0 for d in den) < 2:  # one decided case: no interval
            assert (est.low, est.high) == (None, None)
            continue
        assert est.low is not None and est.high is not None
        assert 0.0 <= est.low <= est.high <= 1.0
        assert est.value == round(sum(num) / sum(den), 6)
        assert est.n == sum(den)


def test_clustering_by_case_widens_intervals_of_correlated_epochs() -> None:
    # The same 5 passes in 10 samples, arranged three ways.
    independent = bootstrap_ratio([1] * 5 + [0] * 5, [1] * 10)  # 10 cases x 1 epoch
    clustered = bootstrap_ratio([5, 0], [5, 5])  # 2 cases x 5 epochs, epochs agree
    single = bootstrap_ratio([5], [10])  # 1 case x 10 epochs
    assert independent == Estimate(value=0.5, low=0.2, high=0.8, n=10)
    # epochs of a case move together: only 2 independent units, the interval spans all
    assert clustered == Estimate(value=0.5, low=0.0, high=1.0, n=10)
    # one cluster says nothing about the spread between cases: no interval at all
    assert single == Estimate(value=0.5, low=None, high=None, n=10)
    assert _width(clustered) > _width(independent)


def test_more_cases_narrow_the_interval() -> None:
    few = bootstrap_ratio([1, 0] * 5, [1] * 10)
    many = bootstrap_ratio([1, 0] * 50, [1] * 100)
    assert few.value == many.value == 0.5
    assert _width(many) < _width(few)


# --- summarize on a real run -------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("runs")
    results = uniprobe.run(
        uniprobe.load_suite(tiny), ["reference/oracle", "reference/literal"], out=out
    )
    return {r.model: r.path for r in results}


def test_summary_of_the_oracle(runs: dict[str, Path]) -> None:
    s = uniprobe.summary(runs["reference/oracle"])
    assert (s.run, s.model, s.reference, s.protocol, s.suite, s.policy) == (
        "tiny-reference-oracle",
        "reference/oracle",
        True,
        "reference",
        "tiny",
        "reference",
    )
    assert (s.epochs, s.scored, s.cost_usd) == (1, 2, 0.0)
    assert s.judges == {"ocr": "3", "pixels": "3", "reference": "3"}
    assert s.mean_latency_s is not None and s.mean_latency_s >= 0
    # 2 of 2: Wilson's interval at n = 2 does not collapse at 100%
    assert s.overall.strict_accuracy == Estimate(value=1.0, low=0.342372, high=1.0, n=2)
    assert s.overall.headline == s.overall.strict_accuracy  # the tiny suite has no groups
    assert s.overall.headline_metric == "strict"
    # 5 checks in 2 cases that all agree: the effective size is the 2 cases
    assert s.overall.check_accuracy == Estimate(value=1.0, low=0.342372, high=1.0, n=5)
    assert s.overall.literal_failure_rate == Estimate(value=0.0, low=0.0, high=0.657628, n=2)
    assert s.overall.literal_share_of_failures is None
    assert s.overall.tags == {}
    assert s.overall.checks == {"pass": 5, "fail": 0, "unknown": 0}
    assert list(s.families) == FAMILY_KEYS
    assert list(s.subtypes) == SUBTYPE_KEYS


def test_summary_of_the_literal_reference(runs: dict[str, Path]) -> None:
    s = uniprobe.summary(runs["reference/literal"])
    zero = Estimate(value=0.0, low=0.0, high=0.657628, n=2)
    none = Estimate(value=None, low=None, high=None, n=0)
    assert s.overall == GroupMetrics(
        cases=2,
        samples=2,
        decided=2,
        errors=0,
        undecided=0,
        headline=zero,
        headline_metric="strict",
        groups=0,
        group_accuracy=none,
        groups_undecided=0,
        strict_accuracy=zero,
        strict_bounds=Bounds(low=0.0, high=0.0, undecided=0),
        probe_accuracy=zero,  # every check is a probe
        setup_pass_rate=none,
        # 3 of 5 checks; the 2 cases disagree within (2/4) more than between: deff 1
        check_accuracy=Estimate(value=0.6, low=0.184012, high=0.908905, n=5),
        checks={"pass": 3, "fail": 2, "unknown": 0},
        literal_failure_rate=Estimate(value=1.0, low=0.342372, high=1.0, n=2),
        literal_share_of_failures=1.0,
        tags={"literal": 2, "wrong_branch": 1},
        refusals=0,
        refusal_rate=zero,
    )
    assert s.overall.strict_accuracy.half_width == 0.328814
    gi = s.families["global_instruction"]
    assert (gi.cases, gi.samples, gi.decided) == (1, 1, 1)
    # one sample: Wilson at n = 1, never a point
    assert gi.strict_accuracy == Estimate(value=0.0, low=0.0, high=0.793457, n=1)
    assert gi.literal_failure_rate == Estimate(value=1.0, low=0.206543, high=1.0, n=1)
    assert gi.tags == {"literal": 1}
    post = s.families["post_generation"]
    assert post.strict_accuracy == Estimate(value=0.0, low=0.0, high=0.793457, n=1)
    # 3 of 4 checks of one case: they count as one unit (n / deff = 1)
    assert post.check_accuracy == Estimate(value=0.75, low=0.117906, high=0.985366, n=4)
    assert post.tags == {"literal": 1, "wrong_branch": 1}
    assert s.subtypes["global_instruction/numeric_transform"] == gi
    assert s.subtypes["post_generation/condition_after_edit"] == post


# --- summarize on hand-made scores -------------------------------------------------------------


def _v(path: str, turn: int, kind: str, status: Status, tags: tuple[str, ...] = ()) -> Verdict:
    return Verdict(
        path=path,
        turn=turn,
        kind=kind,
        check={},
        status=status,
        reason="made by hand",
        tags=list(tags),
    )


def _score(case_id: str, epoch: int, outcome: Outcome, verdicts: list[Verdict]) -> ScoreRecord:
    return ScoreRecord(
        case_id=case_id,
        epoch=epoch,
        policy="reference",
        judges={"reference": "1"},
        outcome=outcome,
        verdicts=verdicts,
        scored="2025-01-01T00:00:00+00:00",
    )


def _birds(epoch: int, outcome: Outcome, status: Status, tags: tuple[str, ...] = ()) -> ScoreRecord:
    return _score(
        "tiny.numeric.birds", epoch, outcome, [_v("turns.1.expect.0", 2, "count", status, tags)]
    )


def _dog(
    epoch: int, outcome: Outcome, conditional: Status, tags: tuple[str, ...] = ()
) -> ScoreRecord:
    return _score(
        "tiny.post.dog_cat",
        epoch,
        outcome,
        [
            _v("turns.0.expect.0", 1, "present", "pass"),
            _v("turns.0.expect.1", 1, "present", "pass"),
            _v("turns.1.expect.0", 2, "absent", "pass"),
            _v("turns.1.expect.1", 2, "conditional", conditional, tags),
        ],
    )


def _manifest() -> Manifest:
    return Manifest(
        run_id="hand",
        uniprobe_version="0.1.0",
        suite=SuiteInfo(name="tiny", hash="0" * 64, cases=2),
        model=ModelInfo(name="test/model", protocol="responses"),
        epochs=4,
        policy="reference",
        created="2025-01-01T00:00:00+00:00",
    )


def _refusing_sample() -> SampleRecord:
    return SampleRecord(
        case_id="tiny.post.dog_cat",
        epoch=1,
        seed=1,
        model="test/model",
        protocol="responses",
        turns=[
            TurnRecord(index=1, user="Draw.", reply=ReplyRecord(latency_s=1.0)),
            TurnRecord(index=2, user="Edit.", reply=ReplyRecord(refusal="no", latency_s=3.0)),
        ],
        status="complete",
        started="2025-01-01T00:00:00+00:00",
        finished="2025-01-01T00:00:04+00:00",
    )


def test_summarize_counts_undecided_and_errors_apart(tiny: Path) -> None:
    scores = {
        s.key: s
        for s in [
            _birds(0, "pass", "pass"),
            _birds(1, "fail", "fail", ("literal",)),
            _birds(2, "unknown", "unknown"),
            _birds(3, "error", "unknown", ("error",)),
            _dog(0, "pass", "pass"),
            _dog(1, "fail", "fail", ("wrong_branch",)),
        ]
    }
    samples = {"tiny.post.dog_cat#1": _refusing_sample()}
    s = summarize(uniprobe.load_suite(tiny), _manifest(), samples, scores, "reference")
    assert (s.model, s.reference, s.protocol, s.scored, s.mean_latency_s) == (
        "test/model",
        False,
        "responses",
        6,
        2.0,
    )
    half = Estimate(value=0.5, low=0.150036, high=0.849964, n=4)
    none = Estimate(value=None, low=None, high=None, n=0)
    assert s.overall == GroupMetrics(
        cases=2,
        samples=6,
        decided=4,
        errors=1,
        undecided=1,
        headline=half,
        headline_metric="strict",
        groups=0,
        group_accuracy=none,
        groups_undecided=0,
        # 2 of the 4 decided samples pass; the unknown and the error count for neither;
        # each case has a pass and a fail (rho 0): n / deff = 4
        strict_accuracy=half,
        # the unknown sample counted as failed (2/5), then as passed (3/5)
        strict_bounds=Bounds(low=0.4, high=0.6, undecided=1),
        probe_accuracy=half,
        setup_pass_rate=none,
        # birds: 1 pass 1 fail (unknowns and the error sample left out); dog: 7 pass 1 fail
        check_accuracy=Estimate(value=0.8, low=0.442043, high=0.95282, n=10),
        checks={"pass": 8, "fail": 2, "unknown": 2},
        literal_failure_rate=Estimate(value=0.25, low=0.045586, high=0.699364, n=4),
        literal_share_of_failures=0.5,
        tags={"literal": 1, "wrong_branch": 1},
        refusals=1,
        # the refusing sample is one of 6 (errors included): birds 0/4, dog 1/2
        refusal_rate=Estimate(value=0.166667, low=0.0195, high=0.667919, n=6),
    )
    gi = s.families["global_instruction"]
    assert (gi.cases, gi.samples, gi.decided, gi.errors, gi.undecided) == (1, 4, 2, 1, 1)
    one_of_two = Estimate(value=0.5, low=0.054619, high=0.945381, n=2)
    assert gi.strict_accuracy == gi.check_accuracy == gi.literal_failure_rate == one_of_two
    assert gi.strict_bounds == Bounds(low=0.333333, high=0.666667, undecided=1)
    assert gi.tags == {"literal": 1}
    post = s.families["post_generation"]
    assert (post.decided, post.errors, post.undecided, post.refusals) == (2, 0, 0, 1)
    assert post.strict_accuracy == one_of_two
    assert post.literal_failure_rate == Estimate(value=0.0, low=0.0, high=0.793457, n=2)
    assert post.literal_share_of_failures == 0.0
    assert list(s.subtypes) == SUBTYPE_KEYS


def test_summarize_group_with_only_errors_has_no_estimate(tiny: Path) -> None:
    scores = {
        s.key: s
        for s in [_birds(0, "error", "unknown", ("error",)), _birds(1, "unknown", "unknown")]
    }
    s = summarize(uniprobe.load_suite(tiny), _manifest(), {}, scores, "reference")
    assert list(s.families) == ["global_instruction"]
    g = s.overall
    assert (g.samples, g.decided, g.errors, g.undecided) == (2, 0, 1, 1)
    none = Estimate(value=None, low=None, high=None, n=0)
    assert g.strict_accuracy == g.check_accuracy == g.literal_failure_rate == none
    assert g.literal_share_of_failures is None
    assert g.checks == {"pass": 0, "fail": 0, "unknown": 2}
    assert s.mean_latency_s is None


# --- latency, locality, distances, per-case counts ---------------------------------------------


def _unchanged(status: Status, evidence: Mapping[str, object]) -> Verdict:
    v = _v("turns.1.expect.1.then.0", 2, "unchanged", status)
    return v.model_copy(update={"evidence": evidence})


def test_summarize_latency_percentiles_and_locality(tiny: Path) -> None:
    pixels = {"changed_share": 0.002, "ssim": 0.99}
    conditional = _v("turns.1.expect.1", 2, "conditional", "fail").model_copy(
        update={"children": [_unchanged("fail", {"changed_share": 0.2, "ssim": 0.5})]}
    )
    scores = {
        s.key: s
        for s in [
            _score("tiny.post.dog_cat", 0, "pass", [_unchanged("pass", pixels)]),
            _score("tiny.post.dog_cat", 1, "fail", [conditional]),
            _score("tiny.post.dog_cat", 2, "unknown", [_unchanged("unknown", {"error": "x"})]),
            _score("tiny.numeric.birds", 0, "pass", [_unchanged("pass", {"answer": "no"})]),
        ]
    }
    samples = {"tiny.post.dog_cat#1": _refusing_sample()}  # latencies 1.0 and 3.0
    s = summarize(uniprobe.load_suite(tiny), _manifest(), samples, scores, "reference")
    assert (s.mean_latency_s, s.p50_latency_s, s.p95_latency_s) == (2.0, 2.0, 2.9)
    assert s.locality is not None
    assert (s.locality.checks, s.locality.unknown, s.locality.measured) == (3, 1, 2)
    # dog: 1 of 2 decided pass; birds (a VLM-style verdict, no pixels): 1 of 1
    # deff 1 (the dog's verdicts disagree): Wilson 2/3 at n = 3
    assert s.locality.pass_rate == Estimate(value=0.666667, low=0.207655, high=0.93851, n=3)
    assert (s.locality.median_changed_share, s.locality.median_ssim) == (0.101, 0.745)
    assert s.distances == {}


def test_locality_medians_are_the_measure_the_verdicts_used(tiny: Path) -> None:
    rerendered = {  # the strict share says 30% moved; after alignment 0.1% differ
        "metric": "aligned",
        "changed_share": 0.3,
        "ssim": 0.6,
        "aligned": {"changed_share": 0.001, "ssim": 0.97, "registration": None},
    }
    agreed = {"metric": "aligned", "changed_share": 0.002, "ssim": 0.99, "aligned": {}}
    strict = {"metric": "pixels", "changed_share": 0.05, "ssim": 0.8}
    scores = {
        s.key: s
        for s in [
            _score("tiny.post.dog_cat", 0, "pass", [_unchanged("pass", rerendered)]),
            _score("tiny.post.dog_cat", 1, "pass", [_unchanged("pass", agreed)]),
            _score("tiny.post.dog_cat", 2, "fail", [_unchanged("fail", strict)]),
        ]
    }
    s = summarize(uniprobe.load_suite(tiny), _manifest(), {}, scores, "reference")
    assert s.locality is not None
    assert (s.locality.measured, s.locality.aligned) == (3, 1)
    # as decided: 0.001, 0.002, 0.05; before alignment: 0.3, 0.002, 0.05
    assert s.locality.median_changed_share == 0.002
    assert s.locality.median_strict_changed_share == 0.05
    assert s.locality.median_ssim == 0.97  # 0.97 (aligned), 0.99, 0.8


def test_summarize_without_unchanged_checks_has_no_locality(tiny: Path) -> None:
    scores = {s.key: s for s in [_birds(0, "pass", "pass")]}
    s = summarize(uniprobe.load_suite(tiny), _manifest(), {}, scores, "reference")
    assert s.locality is None
    assert (s.p50_latency_s, s.p95_latency_s) == (None, None)


DISTANCE_SUITE = """\
- id: d.zero
  family: global_instruction
  subtype: context_distance
  tags: ["distance:0", "other"]
  turns:
    - user: "Draw 2 birds."
      expect: [{count: {object: bird, equals: 2}}]
- id: d.five
  family: global_instruction
  subtype: context_distance
  tags: ["distance:5"]
  turns:
    - user: "Draw 2 birds."
      expect: [{count: {object: bird, equals: 2}}]
- id: d.five.b
  family: global_instruction
  subtype: context_distance
  tags: ["distance:5"]
  turns:
    - user: "Draw 3 birds."
      expect: [{count: {object: bird, equals: 3}}]
"""


def test_summarize_by_context_distance_and_per_case_counts(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(DISTANCE_SUITE, encoding="utf-8")
    suite = uniprobe.load_suite(path)
    count = [_v("turns.0.expect.0", 1, "count", "pass")]
    fail = [_v("turns.0.expect.0", 1, "count", "fail")]
    scores = {
        s.key: s
        for s in [
            _score("d.zero", 0, "pass", count),
            _score("d.zero", 1, "unknown", [_v("turns.0.expect.0", 1, "count", "unknown")]),
            _score("d.five", 0, "fail", fail),
            _score("d.five.b", 0, "pass", count),
            _score("not.in.suite", 0, "pass", count),
        ]
    }
    s = summarize(suite, _manifest(), {}, scores, "reference")
    assert list(s.distances) == ["0", "5"]
    assert s.distances["0"].strict_accuracy == Estimate(value=1.0, low=0.206543, high=1.0, n=1)
    assert s.distances["5"].strict_accuracy == Estimate(value=0.5, low=0.094529, high=0.905471, n=2)
    assert s.distances["5"].probe_accuracy == s.distances["5"].strict_accuracy
    assert strict_by_case(suite, scores) == {"d.zero": (1, 1), "d.five": (0, 1), "d.five.b": (1, 1)}
