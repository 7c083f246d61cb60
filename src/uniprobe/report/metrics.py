"""Metrics of a scored run, with bootstrap confidence intervals clustered by case.

* **Strict accuracy**: share of decided samples whose every check passed. A sample is
  decided when a check failed or all passed; samples with an error or with only
  pass-and-unknown verdicts are counted apart, never as pass or fail.
* **Check accuracy**: passed checks over passed-and-failed checks (a conditional is one).
* **Literal-failure rate**: share of decided samples with a failure tagged `literal`.
* Intervals: 95% percentile bootstrap that resamples *cases* (all epochs of a case go
  together), 2000 replicates, fixed seed, so equal inputs give equal intervals.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict

from uniprobe.cases.schema import FAMILIES, Suite
from uniprobe.store.records import Manifest, SampleRecord, ScoreRecord

__all__ = ["BOOTSTRAP", "Estimate", "GroupMetrics", "RunSummary", "bootstrap_ratio", "summarize"]

BOOTSTRAP = 2000


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Estimate(_M):
    """A proportion with its 95% interval (None when nothing was decided)."""

    value: float | None
    """Point estimate."""
    low: float | None
    """2.5th percentile of the bootstrap (None with fewer than two decided cases)."""
    high: float | None
    """97.5th percentile of the bootstrap (None with fewer than two decided cases)."""
    n: int
    """Decided units behind the estimate."""


class GroupMetrics(_M):
    """Metrics of a set of samples (overall, a family, or a subtype)."""

    cases: int
    """Distinct cases."""
    samples: int
    """Samples (cases x epochs) in the group."""
    decided: int
    """Samples with a pass or fail outcome."""
    errors: int
    """Samples that did not complete."""
    undecided: int
    """Samples with no failure but some unknown verdicts."""
    strict_accuracy: Estimate
    """Share of decided samples that passed every check."""
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
    cost_usd: float
    """Known generation cost."""
    judge_calls: int = 0
    """Model calls the judges made for these scores."""
    judge_cost_usd: float | None = 0.0
    """What those calls cost (None when some price is unknown)."""
    mean_latency_s: float | None
    """Mean wall time per answered turn."""
    overall: GroupMetrics
    """All samples."""
    families: dict[str, GroupMetrics]
    """By family."""
    subtypes: dict[str, GroupMetrics]
    """By 'family/subtype'."""


def bootstrap_ratio(
    num: Sequence[float], den: Sequence[float], *, seed: int = 0, reps: int = BOOTSTRAP
) -> Estimate:
    """sum(num)/sum(den) with a case-clustered percentile bootstrap (one entry per case).

    With fewer than two cases that decided anything there is no interval (None): one
    cluster says nothing about the spread between cases."""
    n_arr = np.asarray(num, dtype=np.float64)
    d_arr = np.asarray(den, dtype=np.float64)
    total = float(d_arr.sum())
    if total == 0:
        return Estimate(value=None, low=None, high=None, n=0)
    value = float(n_arr.sum()) / total
    if int((d_arr > 0).sum()) < 2:
        return Estimate(value=round(value, 6), low=None, high=None, n=int(total))
    k = len(d_arr)
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(k, np.full(k, 1.0 / k), size=reps).astype(np.float64)
    dens = weights @ d_arr
    ok = dens > 0
    ratios = (weights @ n_arr)[ok] / dens[ok]
    low, high = np.percentile(ratios, [2.5, 97.5]) if len(ratios) else (value, value)
    return Estimate(
        value=round(value, 6), low=round(float(low), 6), high=round(float(high), 6), n=int(total)
    )


@dataclass
class _Row:
    case: str
    family: str
    subtype: str
    outcome: str
    passed: int
    failed: int
    unknown: int
    literal: bool
    tags: Counter[str]
    refused: bool


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
        refused = bool(sample) and any(
            t.reply is not None and t.reply.refusal
            for t in sample.turns  # type: ignore[union-attr]
        )
        rows.append(
            _Row(
                case.id,
                case.family,
                case.subtype,
                score.outcome,
                statuses["pass"],
                statuses["fail"],
                statuses["unknown"],
                tags["literal"] > 0,
                tags,
                refused,
            )
        )
    return rows


def _group(rows: Iterable[_Row]) -> GroupMetrics:
    rows = list(rows)
    by_case: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        by_case[r.case].append(r)
    decided = [r for r in rows if r.outcome in ("pass", "fail")]
    strict_num, strict_den, chk_num, chk_den, lit_num = [], [], [], [], []
    for case_rows in by_case.values():
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
        strict_accuracy=bootstrap_ratio(strict_num, strict_den),
        check_accuracy=bootstrap_ratio(chk_num, chk_den),
        checks={
            "pass": sum(r.passed for r in rows),
            "fail": sum(r.failed for r in rows),
            "unknown": sum(r.unknown for r in rows),
        },
        literal_failure_rate=bootstrap_ratio(lit_num, strict_den),
        literal_share_of_failures=(
            round(sum(r.literal for r in failed) / len(failed), 6) if failed else None
        ),
        tags=dict(sorted(tags.items())),
        refusals=sum(r.refused for r in rows),
    )


def summarize(
    suite: Suite,
    manifest: Manifest,
    samples: dict[str, SampleRecord],
    scores: dict[str, ScoreRecord],
    policy: str,
) -> RunSummary:
    """All metrics of one run under one policy."""
    rows = _rows(suite, samples, scores)
    families = {
        f: _group(r for r in rows if r.family == f)
        for f in FAMILIES
        if any(r.family == f for r in rows)
    }
    subtypes: dict[str, GroupMetrics] = {}
    for key in sorted({(FAMILIES.index(r.family), r.family, r.subtype) for r in rows}):
        subtypes[f"{key[1]}/{key[2]}"] = _group(r for r in rows if (r.family, r.subtype) == key[1:])
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
        cost_usd=round(
            sum(t.reply.cost_usd or 0.0 for s in samples.values() for t in s.turns if t.reply), 6
        ),
        judge_calls=sum(u.calls for u in usages),
        judge_cost_usd=judge_cost,
        mean_latency_s=round(sum(latencies) / len(latencies), 4) if latencies else None,
        overall=_group(rows),
        families=families,
        subtypes=subtypes,
    )
