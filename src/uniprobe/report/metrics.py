"""Metrics of a scored run, with 95% intervals that never collapse at 0% or 100%.

Units: a *sample* is one case in one epoch; it is decided when a check failed or all
passed; samples with an error or with only pass-and-unknown verdicts are counted apart,
never as pass or fail.

* **Headline**: the pass share of *units*, where a unit is a contrast group in an epoch
  (for cases with a `group`) or a sample (for cases without). A subtype whose cases all
  have groups thus reports group accuracy, one without groups strict accuracy
  (`headline_metric` "group" or "strict"); a family or the whole run counts its groups
  and its ungrouped cases together ("mixed" when it has both). Summary and report lead
  with it.
* **Group accuracy**: share of decided groups-in-an-epoch that passed: every member's
  sample of that epoch passed (see `uniprobe.report.outcomes`: a member that errored or
  is missing leaves the group undecided, a failed member fails it). Only cases with a
  group count.
* **Strict accuracy**: share of decided samples whose every check passed, with its
  bounds when some samples are undecided (`strict_bounds`: every undecided sample
  counted as failed, then as passed).
* **Probe accuracy given setup**: among samples whose `setup` checks all passed (or that
  have none) and whose `probe` checks are decided, the share whose every probe check
  passed; `filler` checks never count. **Setup pass rate**: share of samples with
  decided setup checks whose setup all passed.
* **Check accuracy**: passed checks over passed-and-failed checks (a conditional is one).
* **Literal-failure rate**: share of decided samples with a failure tagged `literal`.
* **Refusal rate**: share of samples in which the model refused at least once.
* **Locality**: of the `unchanged` verdicts (conditional branches included), the share
  that passed, and the median changed share and SSIM outside the edit where the judge
  recorded them (the pixels judge does; a VLM judge does not), as the verdict measured
  them: after alignment and colour matching where the judge aligned (its default
  `aligned` metric; see `uniprobe.report.locality`), else the strict pixel share. The
  median strict (pre-alignment) share is kept beside it.
* **Context distance**: the metrics of the cases tagged `distance:N`, per N; its figure
  is their probe accuracy (the filler turns between rule and test never count).
* Intervals: Wilson's at the effective sample size n / deff, where deff is the design
  effect of the clusters (a case's epochs; a group's epochs) from their intra-cluster
  correlation (`uniprobe.statistics.cluster_wilson`); with one epoch, n itself. Each
  estimate carries its 95% half-width, (high - low) / 2.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from uniprobe.cases.schema import FAMILIES, Case, Suite
from uniprobe.report.estimates import (
    BOOTSTRAP,
    Bounds,
    Estimate,
    bootstrap_ratio,
    bounds,
    estimate,
    share,
)
from uniprobe.report.locality import measure_of
from uniprobe.report.outcomes import Eligibility, group_outcome, part, probe_given_setup
from uniprobe.store.records import (
    Manifest,
    Outcome,
    SampleRecord,
    ScoreRecord,
    Status,
    Verdict,
)

__all__ = [
    "BOOTSTRAP",
    "Bounds",
    "Estimate",
    "GroupMetrics",
    "HeadlineMetric",
    "Locality",
    "RunSummary",
    "bootstrap_ratio",
    "distance_of",
    "estimate",
    "strict_by_case",
    "summarize",
    "walk_verdicts",
]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


HeadlineMetric = Literal["group", "strict", "mixed"]
"""What a headline counts: contrast groups (every case has a group), samples (no case
has one), or both (groups and ungrouped cases, each a unit)."""


class GroupMetrics(_M):
    """Metrics of a set of samples (overall, a family, or a subtype)."""

    cases: int
    """Distinct cases."""
    samples: int
    """Samples (cases x epochs) in the set."""
    decided: int
    """Samples with a pass or fail outcome."""
    errors: int
    """Samples that did not complete."""
    undecided: int
    """Samples with no failure but some unknown verdicts."""
    headline: Estimate
    """Pass share of units: groups in an epoch, and samples of ungrouped cases."""
    headline_metric: HeadlineMetric
    """What the headline counts: group (all cases grouped), strict (none), mixed."""
    groups: int
    """Distinct contrast groups with a member here."""
    group_accuracy: Estimate
    """Share of decided groups-in-an-epoch whose every member passed."""
    groups_undecided: int
    """Groups-in-an-epoch left undecided (a member errored, is missing or undecided)."""
    strict_accuracy: Estimate
    """Share of decided samples that passed every check."""
    strict_bounds: Bounds
    """Strict accuracy with the undecided samples counted as failed, then as passed."""
    probe_accuracy: Estimate
    """Share of setup-passed samples with decided probe checks whose probe checks all passed."""
    setup_pass_rate: Estimate
    """Share of samples with decided setup checks whose setup checks all passed."""
    check_accuracy: Estimate
    """Share of decided checks that passed."""
    checks: dict[str, int]
    """Verdict counts: pass, fail, unknown."""
    literal_failure_rate: Estimate
    """Share of decided samples with a literal-tagged failure."""
    literal_share_of_failures: float | None
    """Among failed samples, the share with a literal-tagged failure."""
    tags: dict[str, int]
    """Failed checks per failure tag."""
    refusals: int
    """Samples in which the model refused at least once."""
    refusal_rate: Estimate
    """Share of samples (errors included) in which the model refused at least once."""


class Locality(_M):
    """How well edits left the rest of the image alone, from the `unchanged` verdicts."""

    checks: int
    """Decided `unchanged` verdicts (pass or fail)."""
    unknown: int
    """`unchanged` verdicts no judge could decide."""
    pass_rate: Estimate
    """Share of decided `unchanged` verdicts that passed."""
    measured: int
    """Verdicts whose evidence records the changed share (pixels judge)."""
    aligned: int = 0
    """Of those, verdicts measured after alignment and colour matching."""
    median_changed_share: float | None
    """Median share of compared pixels that changed outside the edit, as the verdicts
    measured it (after alignment where the judge aligned)."""
    median_strict_changed_share: float | None = None
    """Median share of compared pixels that changed before any alignment (the strict
    rule: a re-rendered frame's crop, scale and colour drift count as change)."""
    median_ssim: float | None
    """Median SSIM outside the edit, where recorded (after alignment where aligned)."""


class RunSummary(_M):
    """Everything `uniprobe summary` prints."""

    run: str
    """Run directory name."""
    model: str
    """'provider/model'."""
    reference: bool
    """A reference backend, not a model."""
    protocol: str
    """Context protocol (its own track)."""
    suite: str
    """Suite name."""
    suite_hash: str
    """Suite content hash."""
    policy: str
    """Judge policy of these scores."""
    judges: dict[str, str]
    """Judge versions."""
    epochs: int
    """Repetitions per case."""
    scored: int
    """Samples with scores."""
    samples: int = 0
    """Samples the run holds, scored or not (more than `scored`: the scores are partial)."""
    note: str | None = None
    """What makes these metrics less than the whole run, e.g. "scores cover 26 of 401
    samples; run `uniprobe score RUN`" (the first line `summary` and the report show)."""
    cost_usd: float
    """Known generation cost."""
    judge_calls: int = 0
    """Model calls the judges made for these scores."""
    judge_cost_usd: float | None = 0.0
    """What those calls cost (None when some price is unknown)."""
    mean_latency_s: float | None
    """Mean wall time per answered turn."""
    p50_latency_s: float | None = None
    """Median wall time per answered turn."""
    p95_latency_s: float | None = None
    """95th percentile of the wall time per answered turn."""
    overall: GroupMetrics
    """All samples."""
    families: dict[str, GroupMetrics]
    """By family."""
    subtypes: dict[str, GroupMetrics]
    """By 'family/subtype'."""
    distances: dict[str, GroupMetrics] = Field(default_factory=dict)
    """By context distance N of the cases tagged 'distance:N' (keys 'N', ascending)."""
    locality: Locality | None = None
    """From the `unchanged` verdicts (None when the run has none)."""


def walk_verdicts(verdicts: Iterable[Verdict]) -> Iterator[Verdict]:
    """Every verdict, the children of conditionals (condition, then branch) included."""
    for v in verdicts:
        yield v
        yield from walk_verdicts(v.children)


def distance_of(case: Case) -> int | None:
    """N of the case's 'distance:N' tag, if it has one."""
    for tag in case.tags:
        name, sep, value = tag.partition(":")
        if sep and name == "distance" and value.isdigit():
            return int(value)
    return None


@dataclass
class _Row:
    case: str
    family: str
    subtype: str
    group: str | None
    epoch: int
    distance: int | None
    outcome: Outcome
    passed: int
    failed: int
    unknown: int
    literal: bool
    tags: Counter[str]
    refused: bool
    unchanged: list[Verdict]
    setup: Status | None
    probe: Eligibility


@dataclass(frozen=True)
class _Unit:
    """What a headline counts: a group in an epoch, or a sample of an ungrouped case."""

    key: str
    cases: frozenset[str]
    grouped: bool
    outcome: Outcome


def _rows(
    suite: Suite, samples: dict[str, SampleRecord], scores: dict[str, ScoreRecord]
) -> list[_Row]:
    cases = {c.id: c for c in suite.cases}
    rows = []
    for key, score in scores.items():
        case = cases.get(score.case_id)
        if case is None:
            continue
        statuses = Counter(v.status for v in score.verdicts)
        tags: Counter[str] = Counter()
        for v in score.verdicts:
            if v.status == "fail":
                tags.update(v.tags)
        sample = samples.get(key)
        refused = sample is not None and any(
            t.reply is not None and t.reply.refusal for t in sample.turns
        )
        setup = part(case, score.verdicts, "setup")
        rows.append(
            _Row(
                case.id,
                case.family,
                case.subtype,
                case.group,
                score.epoch,
                distance_of(case),
                score.outcome,
                statuses["pass"],
                statuses["fail"],
                statuses["unknown"],
                tags["literal"] > 0,
                tags,
                refused,
                [v for v in walk_verdicts(score.verdicts) if v.kind == "unchanged"],
                None if score.outcome == "error" else setup,
                probe_given_setup(score.outcome, setup, part(case, score.verdicts, "probe")),
            )
        )
    return rows


def _units(suite: Suite, rows: Sequence[_Row]) -> list[_Unit]:
    """Every headline unit of the rows: their ungrouped samples, their groups by epoch
    (a group's members are all the suite's cases of that group)."""
    members: dict[str, list[str]] = defaultdict(list)
    for c in suite.cases:
        if c.group is not None:
            members[c.group].append(c.id)
    by_group: dict[tuple[str, int], dict[str, Outcome]] = defaultdict(dict)
    units = []
    for r in rows:
        if r.group is None:
            units.append(_Unit(f"case:{r.case}", frozenset((r.case,)), False, r.outcome))
        else:
            by_group[(r.group, r.epoch)][r.case] = r.outcome
    for (group, _), outcomes in sorted(by_group.items()):
        ids = members[group]
        units.append(_Unit(f"group:{group}", frozenset(ids), True, group_outcome(ids, outcomes)))
    return units


def _units_share(units: Iterable[_Unit]) -> Estimate:
    """Pass share of the decided units, clustered by key (a case or a group)."""
    return share((u.key, u.outcome) for u in units)


def _bounds(rows: Sequence[_Row]) -> Bounds:
    return bounds(
        passed=sum(r.outcome == "pass" for r in rows),
        failed=sum(r.outcome == "fail" for r in rows),
        undecided=sum(r.outcome == "unknown" for r in rows),
    )


def _headline_metric(units: Sequence[_Unit]) -> HeadlineMetric:
    kinds = {u.grouped for u in units}
    return "mixed" if len(kinds) > 1 else "group" if kinds == {True} else "strict"


def _group(rows: Iterable[_Row], all_units: Sequence[_Unit]) -> GroupMetrics:
    rows = list(rows)
    selected = {r.case for r in rows}
    units = [u for u in all_units if u.cases & selected]
    grouped = [u for u in units if u.grouped]
    by_case: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        by_case[r.case].append(r)
    decided = [r for r in rows if r.outcome in ("pass", "fail")]
    strict_num, strict_den, chk_num, chk_den, lit_num = [], [], [], [], []
    ref_num, ref_den = [], []
    for case_rows in by_case.values():
        ref_num.append(sum(r.refused for r in case_rows))
        ref_den.append(len(case_rows))
        dec = [r for r in case_rows if r.outcome in ("pass", "fail")]
        strict_num.append(sum(r.outcome == "pass" for r in dec))
        strict_den.append(len(dec))
        lit_num.append(sum(r.outcome == "fail" and r.literal for r in dec))
        chk_num.append(sum(r.passed for r in case_rows if r.outcome != "error"))
        chk_den.append(sum(r.passed + r.failed for r in case_rows if r.outcome != "error"))
    failed = [r for r in decided if r.outcome == "fail"]
    tags: Counter[str] = Counter()
    for r in rows:
        tags.update(r.tags)
    return GroupMetrics(
        cases=len(by_case),
        samples=len(rows),
        decided=len(decided),
        errors=sum(r.outcome == "error" for r in rows),
        undecided=sum(r.outcome == "unknown" for r in rows),
        headline=_units_share(units),
        headline_metric=_headline_metric(units),
        groups=len({u.key for u in grouped}),
        group_accuracy=_units_share(grouped),
        groups_undecided=sum(u.outcome not in ("pass", "fail") for u in grouped),
        strict_accuracy=estimate(strict_num, strict_den),
        strict_bounds=_bounds(rows),
        probe_accuracy=share((r.case, r.probe) for r in rows),
        setup_pass_rate=share((r.case, r.setup) for r in rows),
        check_accuracy=estimate(chk_num, chk_den),
        checks={
            "pass": sum(r.passed for r in rows),
            "fail": sum(r.failed for r in rows),
            "unknown": sum(r.unknown for r in rows),
        },
        literal_failure_rate=estimate(lit_num, strict_den),
        literal_share_of_failures=(
            round(sum(r.literal for r in failed) / len(failed), 6) if failed else None
        ),
        tags=dict(sorted(tags.items())),
        refusals=sum(r.refused for r in rows),
        refusal_rate=estimate(ref_num, ref_den),
    )


def _locality(rows: Sequence[_Row]) -> Locality | None:
    by_case: dict[str, list[Verdict]] = defaultdict(list)
    for r in rows:
        by_case[r.case].extend(r.unchanged)
    verdicts = [v for vs in by_case.values() for v in vs]
    if not verdicts:
        return None
    num = [sum(v.status == "pass" for v in vs) for vs in by_case.values()]
    den = [sum(v.status != "unknown" for v in vs) for vs in by_case.values()]
    decided = [v for v in verdicts if v.status != "unknown"]

    measures = [measure_of(v.evidence) for v in decided]

    def median(values: Iterable[float | None]) -> float | None:
        found = [v for v in values if v is not None]
        return round(float(np.median(found)), 6) if found else None

    shares = [m for m in measures if m.changed_share is not None]
    return Locality(
        checks=len(decided),
        unknown=len(verdicts) - len(decided),
        pass_rate=estimate(num, den),
        measured=len(shares),
        aligned=sum(m.aligned for m in shares),
        median_changed_share=median(m.changed_share for m in measures),
        median_strict_changed_share=median(m.strict_changed_share for m in measures),
        median_ssim=median(m.ssim for m in measures),
    )


def _percentile(values: Sequence[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 4) if values else None


def strict_by_case(suite: Suite, scores: dict[str, ScoreRecord]) -> dict[str, tuple[int, int]]:
    """Case id -> (samples that passed, samples decided), over the cases of the suite."""
    known = {c.id for c in suite.cases}
    out: dict[str, tuple[int, int]] = {}
    for score in scores.values():
        if score.case_id not in known or score.outcome not in ("pass", "fail"):
            continue
        passed, decided = out.get(score.case_id, (0, 0))
        out[score.case_id] = (passed + (score.outcome == "pass"), decided + 1)
    return out


def summarize(
    suite: Suite,
    manifest: Manifest,
    samples: dict[str, SampleRecord],
    scores: dict[str, ScoreRecord],
    policy: str,
) -> RunSummary:
    """All metrics of one run under one policy."""
    rows = _rows(suite, samples, scores)
    units = _units(suite, rows)
    families = {
        f: _group((r for r in rows if r.family == f), units)
        for f in FAMILIES
        if any(r.family == f for r in rows)
    }
    subtypes: dict[str, GroupMetrics] = {}
    for key in sorted({(FAMILIES.index(r.family), r.family, r.subtype) for r in rows}):
        subtypes[f"{key[1]}/{key[2]}"] = _group(
            (r for r in rows if (r.family, r.subtype) == key[1:]), units
        )
    distances = {
        str(d): _group((r for r in rows if r.distance == d), units)
        for d in sorted({r.distance for r in rows if r.distance is not None})
    }
    latencies = [t.reply.latency_s for s in samples.values() for t in s.turns if t.reply]
    judges: dict[str, str] = {}
    usages = [u for s in scores.values() for u in s.judge_usage.values()]
    for s in scores.values():
        judges.update(s.judges)
    judge_cost = (
        None
        if any(u.cost_usd is None for u in usages)
        else round(sum(u.cost_usd or 0.0 for u in usages), 6)
    )
    return RunSummary(
        run=manifest.run_id,
        model=manifest.model.name,
        reference=manifest.model.reference,
        protocol=manifest.model.protocol,
        suite=manifest.suite.name,
        suite_hash=manifest.suite.hash,
        policy=policy,
        judges=judges,
        epochs=manifest.epochs,
        scored=len(scores),
        samples=len(samples),
        cost_usd=round(
            sum(t.reply.cost_usd or 0.0 for s in samples.values() for t in s.turns if t.reply), 6
        ),
        judge_calls=sum(u.calls for u in usages),
        judge_cost_usd=judge_cost,
        mean_latency_s=round(sum(latencies) / len(latencies), 4) if latencies else None,
        p50_latency_s=_percentile(latencies, 50),
        p95_latency_s=_percentile(latencies, 95),
        overall=_group(rows, units),
        families=families,
        subtypes=subtypes,
        distances=distances,
        locality=_locality(rows),
    )
