"""Which leaderboard differences are real: a paired bootstrap over the cases two runs share.

Two runs of one track are compared on the cases both decided (a pass or a fail in at
least one epoch of each). The cases are resampled with replacement — the same draw for
both runs, so a hard case stays hard for both — 2000 times with a fixed seed, and the
difference in strict accuracy (each run's pooled passes over decided samples on the
drawn cases) is recomputed on every draw. A difference is *significant* when its 95%
percentile interval excludes 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from uniprobe.report.metrics import BOOTSTRAP, RunSummary

__all__ = ["Difference", "Standing", "leaderboard", "paired_difference"]

Counts = Mapping[str, tuple[int, int]]
"""Case id -> (samples that passed, samples decided)."""


class Difference(BaseModel):
    """Strict accuracy of one run minus another's, on the cases both decided."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float
    """Point difference on the shared cases."""
    low: float | None
    """2.5th percentile of the paired bootstrap (None with fewer than two shared cases)."""
    high: float | None
    """97.5th percentile of the paired bootstrap."""
    cases: int
    """Shared decided cases."""
    significant: bool
    """Whether the 95% interval excludes 0."""


def paired_difference(
    a: Counts, b: Counts, *, seed: int = 0, reps: int = BOOTSTRAP
) -> Difference | None:
    """Strict accuracy of `a` minus `b` with its paired bootstrap interval (None when the
    runs share no decided case)."""
    shared = sorted(c for c in a.keys() & b.keys() if a[c][1] > 0 and b[c][1] > 0)
    if not shared:
        return None
    arr = np.array([[*a[c], *b[c]] for c in shared], dtype=np.float64)
    value = arr[:, 0].sum() / arr[:, 1].sum() - arr[:, 2].sum() / arr[:, 3].sum()
    k = len(shared)
    if k < 2:
        return Difference(
            value=round(float(value), 6), low=None, high=None, cases=k, significant=False
        )
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(k, np.full(k, 1.0 / k), size=reps).astype(np.float64)
    sums = weights @ arr  # every column's total on each draw; each decided count is > 0
    diffs = sums[:, 0] / sums[:, 1] - sums[:, 2] / sums[:, 3]
    low, high = (round(float(x), 6) for x in np.percentile(diffs, [2.5, 97.5]))
    return Difference(
        value=round(float(value), 6),
        low=low,
        high=high,
        cases=k,
        significant=low > 0 or high < 0,
    )


class Standing(BaseModel):
    """One row of a track's leaderboard."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int
    """1-based position in the track."""
    run: int
    """Index of the run in the report's list of runs."""
    vs_above: Difference | None
    """This run minus the row above (None for the leader or without shared cases)."""
    vs_leader: Difference | None
    """This run minus the leader (None for the leader itself)."""


def _strict(summary: RunSummary) -> float:
    value = summary.overall.strict_accuracy.value
    return -1.0 if value is None else value


def leaderboard(
    summaries: Sequence[RunSummary], counts: Sequence[Counts]
) -> dict[str, list[Standing]]:
    """Runs by protocol track (tracks in order of first appearance), each sorted by strict
    accuracy (best first, runs without any decided sample last), with the paired
    differences to the row above and to the leader."""
    tracks: dict[str, list[int]] = {}
    for i, s in enumerate(summaries):
        tracks.setdefault(s.protocol, []).append(i)
    out: dict[str, list[Standing]] = {}
    for protocol, members in tracks.items():
        order = sorted(members, key=lambda i: (-_strict(summaries[i]), summaries[i].run, i))
        rows = []
        for rank, i in enumerate(order, start=1):
            above = order[rank - 2] if rank > 1 else None
            leader = order[0]
            rows.append(
                Standing(
                    rank=rank,
                    run=i,
                    vs_above=None if above is None else paired_difference(counts[i], counts[above]),
                    vs_leader=None if rank == 1 else paired_difference(counts[i], counts[leader]),
                )
            )
        out[protocol] = rows
    return out
