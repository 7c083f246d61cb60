"""A share with its 95% interval, and the bounds of a share with undecided units.

Every interval of the summaries is `estimate`'s: Wilson's at the effective sample size
n / deff of the clusters (`uniprobe.statistics.cluster_wilson`), which never collapses
at 0% or 100%. `bootstrap_ratio` keeps the case-clustered percentile bootstrap for
callers that want it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, model_validator

from uniprobe.statistics import BOOTSTRAP, cluster_wilson
from uniprobe.statistics import bootstrap_ratio as _bootstrap_ratio

__all__ = ["BOOTSTRAP", "Bounds", "Estimate", "bootstrap_ratio", "bounds", "estimate", "share"]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Estimate(_M):
    """A proportion with its 95% interval (None when nothing was decided)."""

    value: float | None
    """Point estimate."""
    low: float | None
    """Lower end of the 95% interval (None when nothing was decided)."""
    high: float | None
    """Upper end of the 95% interval (None when nothing was decided)."""
    n: int
    """Decided units behind the estimate."""
    half_width: float | None = None
    """(high - low) / 2: how far the interval reaches, for planning sizes (derived)."""

    @model_validator(mode="after")
    def _half_width(self) -> Estimate:
        if self.low is not None and self.high is not None:
            self.half_width = round((self.high - self.low) / 2, 6)
        return self


class Bounds(_M):
    """Where a decided-only share could lie had the undecided units been decided."""

    low: float | None
    """Every undecided unit counted as failed (None when there is no unit)."""
    high: float | None
    """Every undecided unit counted as passed (None when there is no unit)."""
    undecided: int
    """Units that were undecided (no failure, some unknown verdict)."""


def estimate(num: Sequence[float], den: Sequence[float]) -> Estimate:
    """sum(num)/sum(den) with its 95% interval, one entry per cluster (a case, or a
    contrast group): Wilson's at the effective size n / deff (see `statistics`)."""
    est = cluster_wilson(num, den)
    return Estimate(value=est.value, low=est.low, high=est.high, n=est.n)


def share(outcomes: Iterable[tuple[Hashable, str | None]]) -> Estimate:
    """Pass share of (cluster, outcome) pairs whose outcome is pass or fail, clustered
    by the first item (other outcomes are left out)."""
    num: Counter[Hashable] = Counter()
    den: Counter[Hashable] = Counter()
    for cluster, outcome in outcomes:
        if outcome in ("pass", "fail"):
            num[cluster] += outcome == "pass"
            den[cluster] += 1
    return estimate([num[k] for k in den], list(den.values()))


def bounds(*, passed: int, failed: int, undecided: int) -> Bounds:
    """The share passed / decided had the undecided units all failed, then all passed."""
    total = passed + failed + undecided
    if total == 0:
        return Bounds(low=None, high=None, undecided=0)
    low, high = passed / total, (passed + undecided) / total
    return Bounds(low=round(low, 6), high=round(high, 6), undecided=undecided)


def bootstrap_ratio(
    num: Sequence[float], den: Sequence[float], *, seed: int = 0, reps: int = BOOTSTRAP
) -> Estimate:
    """sum(num)/sum(den) with its case-clustered bootstrap interval (see `statistics`)."""
    est = _bootstrap_ratio(num, den, seed=seed, reps=reps)
    return Estimate(value=est.value, low=est.low, high=est.high, n=est.n)
