"""The statistics uniprobe reports, in one place: pure functions of counts.

* `cluster_wilson`: a proportion of units clustered by case (or by contrast group) with
  the Wilson interval at the effective sample size n / deff (the intervals of every
  accuracy in summaries and reports: they never collapse at 0% or 100%);
* `design_effect`: Kish's design effect of such clusters, from the intra-cluster
  correlation (one-way ANOVA estimator);
* `bootstrap_ratio`: a ratio of sums with a case-clustered percentile bootstrap;
* `paired_bootstrap`: the difference of two such ratios on the same clusters, resampled
  together (leaderboard significance);
* `wilson`: the Wilson score interval of a proportion (judge calibration, and the
  interval `cluster_wilson` widens);
* `cohen_kappa`: agreement of two raters beyond chance (a judge against people);
* `krippendorff_alpha`: agreement of any number of raters with missing values (people
  among themselves), nominal, computed exactly.

Resampling uses NumPy's generator with a fixed seed, so every figure is reproducible.
Every interval is 95% (z = 1.96).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BOOTSTRAP",
    "Z95",
    "Alpha",
    "Interval",
    "Kappa",
    "bootstrap_ratio",
    "cluster_wilson",
    "cohen_kappa",
    "design_effect",
    "krippendorff_alpha",
    "paired_bootstrap",
    "wilson",
    "wilson_bounds",
]

BOOTSTRAP = 2000
"""Bootstrap resamples for every bootstrap interval."""
Z95 = 1.96
"""The normal quantile of a two-sided 95% interval (to two decimals, as usually quoted)."""


@dataclass(frozen=True)
class Interval:
    """A point estimate with its 95% percentile interval (None where there is none)."""

    value: float | None
    """The estimate on the data as it is; None when nothing was decided."""
    low: float | None
    """2.5th percentile of the bootstrap."""
    high: float | None
    """97.5th percentile of the bootstrap."""
    n: int
    """What the estimate rests on: the denominator's total, or the clusters compared."""


def _weights(k: int, seed: int, reps: int) -> NDArray[np.float64]:
    """How often each of k clusters is drawn, in each of `reps` resamples."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(k, np.full(k, 1.0 / k), size=reps).astype(np.float64)


def bootstrap_ratio(
    num: Sequence[float], den: Sequence[float], *, seed: int = 0, reps: int = BOOTSTRAP
) -> Interval:
    """sum(num)/sum(den) with a case-clustered percentile bootstrap (one entry per case).

    With fewer than two cases that decided anything there is no interval (None): one
    cluster says nothing about the spread between cases."""
    n_arr = np.asarray(num, dtype=np.float64)
    d_arr = np.asarray(den, dtype=np.float64)
    total = float(d_arr.sum())
    if total == 0:
        return Interval(value=None, low=None, high=None, n=0)
    value = float(n_arr.sum()) / total
    if int((d_arr > 0).sum()) < 2:
        return Interval(value=round(value, 6), low=None, high=None, n=int(total))
    weights = _weights(len(d_arr), seed, reps)
    dens = weights @ d_arr
    ok = dens > 0
    ratios = (weights @ n_arr)[ok] / dens[ok]
    low, high = np.percentile(ratios, [2.5, 97.5]) if len(ratios) else (value, value)
    return Interval(
        value=round(value, 6), low=round(float(low), 6), high=round(float(high), 6), n=int(total)
    )


def paired_bootstrap(
    a: Sequence[tuple[float, float]],
    b: Sequence[tuple[float, float]],
    *,
    seed: int = 0,
    reps: int = BOOTSTRAP,
) -> Interval:
    """sum(a_num)/sum(a_den) - sum(b_num)/sum(b_den) over the same clusters (cluster i is
    a[i] and b[i]; every denominator > 0), with a paired percentile bootstrap: the same
    draw for both, so a hard cluster stays hard for both. No interval below 2 clusters."""
    arr = np.array([[*x, *y] for x, y in zip(a, b, strict=True)], dtype=np.float64)
    k = len(arr)
    if k == 0:
        return Interval(value=None, low=None, high=None, n=0)
    value = round(float(arr[:, 0].sum() / arr[:, 1].sum() - arr[:, 2].sum() / arr[:, 3].sum()), 6)
    if k < 2:
        return Interval(value=value, low=None, high=None, n=k)
    sums = _weights(k, seed, reps) @ arr  # every column's total on each draw
    diffs = sums[:, 0] / sums[:, 1] - sums[:, 2] / sums[:, 3]
    low, high = (round(float(x), 6) for x in np.percentile(diffs, [2.5, 97.5]))
    return Interval(value=value, low=low, high=high, n=k)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (95% by default); None for no trials.

    It treats items as independent; items of one image share its reading, so read it as
    a lower bound on the uncertainty."""
    if n <= 0:
        return None
    return wilson_bounds(successes / n, n, z)


def wilson_bounds(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson bounds of proportion p over n (> 0) trials; n may be fractional (an
    effective sample size)."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def design_effect(num: Sequence[float], den: Sequence[float]) -> float:
    """Kish's design effect 1 + (m - 1) * rho of binary units clustered (cluster i holds
    den[i] units of which num[i] passed; empty clusters are left out).

    m is the mean number of units per cluster; rho the intra-cluster correlation by the
    one-way ANOVA estimator, clamped to [0, 1]. With one unit per cluster the design
    effect is 1. When rho cannot be estimated (a single cluster, or no variation at
    all, as at 0% or 100%) it is taken as 1: the units of a cluster are assumed to agree,
    so the effective sample size is the number of clusters, never more."""
    pairs = [(float(a), float(m)) for a, m in zip(num, den, strict=True) if m > 0]
    k = len(pairs)
    total = sum(m for _, m in pairs)
    if k == 0 or total == k:
        return 1.0
    mean_size = total / k
    p = sum(a for a, _ in pairs) / total
    between = sum(m * (a / m - p) ** 2 for a, m in pairs)
    within = sum(a * (1 - a / m) for a, m in pairs)
    rho = 1.0
    if k > 1 and between + within > 0:
        msb = between / (k - 1)
        msw = within / (total - k)
        n0 = (total - sum(m * m for _, m in pairs) / total) / (k - 1)
        rho = min(1.0, max(0.0, (msb - msw) / (msb + (n0 - 1) * msw)))
    return 1 + (mean_size - 1) * rho


def cluster_wilson(num: Sequence[float], den: Sequence[float], *, z: float = Z95) -> Interval:
    """sum(num)/sum(den) with the Wilson interval at the effective size n / deff.

    Cluster i holds den[i] binary units (the epochs of a case, the checks of a case, the
    epochs of a contrast group), num[i] of which passed; `design_effect` widens the
    interval as far as units of a cluster agree. Wilson's interval never collapses at 0
    or 1: 0 of 12 independent units gives [0.0, 0.2425]. No units: value None."""
    total = float(sum(den))
    if total == 0:
        return Interval(value=None, low=None, high=None, n=0)
    value = float(sum(num)) / total
    low, high = wilson_bounds(value, total / design_effect(num, den), z)
    return Interval(value=round(value, 6), low=round(low, 6), high=round(high, 6), n=int(total))


@dataclass(frozen=True)
class Kappa:
    """Cohen's kappa of two raters over the same items."""

    n: int
    """Items both rated."""
    observed: float | None
    """Share of them rated the same; None when n is 0."""
    kappa: float | None
    """(observed - chance) / (1 - chance); None when n is 0 or chance agreement is 1."""


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha (nominal) of any number of raters, values missing allowed."""

    alpha: float | None
    """1 - observed / expected disagreement; None when undefined."""
    units: int
    """Units with two or more values (the only ones that count)."""
    values: int
    """Values in those units."""


def cohen_kappa(pairs: Iterable[tuple[Hashable, Hashable]]) -> Kappa:
    """Cohen's kappa of (rater A, rater B) pairs over any categories."""
    pairs = list(pairs)
    n = len(pairs)
    if n == 0:
        return Kappa(0, None, None)
    observed = Fraction(sum(a == b for a, b in pairs), n)
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chance = Fraction(sum(first[c] * second[c] for c in first), n * n)
    kappa = None if chance == 1 else float((observed - chance) / (1 - chance))
    return Kappa(n, float(observed), kappa)


def krippendorff_alpha(units: Iterable[Sequence[Hashable]]) -> Alpha:
    """Krippendorff's alpha for nominal data: each unit is the values its raters gave
    (leave missing values out). Computed from the coincidence matrix (Krippendorff 2011,
    "Computing Krippendorff's alpha-reliability"), exactly, with fractions."""
    coincidences: defaultdict[tuple[Hashable, Hashable], Fraction] = defaultdict(Fraction)
    pairable = 0
    for values in units:
        m = len(values)
        if m < 2:
            continue
        pairable += 1
        counts = Counter(values)
        for c in counts:
            for k in counts:
                coincidences[(c, k)] += Fraction(counts[c] * (counts[k] - (c == k)), m - 1)
    totals: defaultdict[Hashable, Fraction] = defaultdict(Fraction)
    for (c, _), o in coincidences.items():
        totals[c] += o
    n = sum(totals.values(), Fraction(0))
    observed = sum((o for (c, k), o in coincidences.items() if c != k), Fraction(0))
    expected = sum((totals[c] * totals[k] for c in totals for k in totals if c != k), Fraction(0))
    if n < 2 or expected == 0:
        return Alpha(None, pairable, int(n))
    return Alpha(float(1 - (n - 1) * observed / expected), pairable, int(n))
