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

from pydantic import BaseModel, ConfigDict

from uniprobe.report.metrics import RunSummary
from uniprobe.statistics import BOOTSTRAP, paired_bootstrap

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
    est = paired_bootstrap([a[c] for c in shared], [b[c] for c in shared], seed=seed, reps=reps)
    assert est.value is not None
    significant = est.low is not None and est.high is not None and (est.low > 0 or est.high < 0)
    return Difference(
        value=est.value, low=est.low, high=est.high, cases=est.n, significant=significant
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
