"""The report's charts, from the runs' summaries: one SVG string per chart (or None when
the runs have nothing to show in it)."""

from __future__ import annotations

from collections.abc import Sequence

from uniprobe.report.agreement import HumanAgreement, KindAgreement, PolicyAgreement
from uniprobe.report.charts import Axis, Point, Series, bar_chart, line_chart
from uniprobe.report.metrics import Estimate, RunSummary

__all__ = ["agreement_chart", "distance_chart", "human_chart", "subtype_chart", "tags_chart"]


def _point(est: Estimate | None) -> Point | None:
    if est is None or est.value is None:
        return None
    return Point(est.value, est.low, est.high, f"n={est.n}")


def subtype_chart(summaries: Sequence[RunSummary], labels: Sequence[str]) -> str | None:
    """The headline by subtype, with 95% whiskers, a bar per run."""
    keys: list[str] = []
    for s in summaries:
        keys += [k for k in s.subtypes if k not in keys]
    if not keys:
        return None
    series = [
        Series(
            label,
            [_point(s.subtypes[k].headline) if k in s.subtypes else None for k in keys],
        )
        for s, label in zip(summaries, labels, strict=True)
    ]
    return bar_chart(keys, series, title="Headline by subtype (95% interval)")


def tags_chart(summaries: Sequence[RunSummary], labels: Sequence[str]) -> str | None:
    """Failed checks per failure tag, a bar per run."""
    tags = sorted({t for s in summaries for t in s.overall.tags})
    if not tags:
        return None
    series = [
        Series(label, [Point(float(s.overall.tags.get(t, 0))) for t in tags])
        for s, label in zip(summaries, labels, strict=True)
    ]
    largest = max(max(s.overall.tags.values(), default=0) for s in summaries)
    return bar_chart(tags, series, title="Failed checks by failure tag", axis=Axis.counts(largest))


def distance_chart(summaries: Sequence[RunSummary], labels: Sequence[str]) -> str | None:
    """Probe accuracy against context distance (cases tagged 'distance:N'), with whiskers."""
    distances = sorted({int(d) for s in summaries for d in s.distances})
    if not distances:
        return None
    series = [
        Series(
            label,
            [
                _point(s.distances[str(d)].probe_accuracy) if str(d) in s.distances else None
                for d in distances
            ],
        )
        for s, label in zip(summaries, labels, strict=True)
    ]
    return line_chart(
        [str(d) for d in distances],
        series,
        title="Probe accuracy against context distance (95% interval)",
        x_title="unrelated turns between the rule and the request",
    )


def agreement_chart(found: Sequence[PolicyAgreement]) -> str | None:
    """Share of checks on which the run's policy and each other policy agree, by kind."""
    kinds = sorted({k for a in found for k, v in a.kinds.items() if v.decided})
    if not kinds:
        return None
    series = [
        Series(f"{a.policy} vs {a.other}", [_share(a.kinds.get(k)) for k in kinds]) for a in found
    ]
    return bar_chart(kinds, series, title="Agreement between judge policies, by check kind")


def _share(kind: KindAgreement | None) -> Point | None:
    if kind is None or kind.share is None:
        return None
    return Point(kind.share, note=f"n={kind.decided}, kappa={kind.kappa}")


def human_chart(found: HumanAgreement, label: str) -> str | None:
    """Cohen's kappa, judge vs human, by check kind (from -1 to 1)."""
    kinds = sorted(k for k, v in found.kappa.items() if v is not None)
    if not kinds:
        return None
    axis = Axis(-1.0, 1.0, (-1.0, -0.5, 0.0, 0.5, 1.0), lambda v: f"{v:.2f}")
    points: list[Point | None] = [Point(v) for k in kinds if (v := found.kappa[k]) is not None]
    return bar_chart(
        kinds, [Series(label, points)], title="Cohen's kappa, judge vs human", axis=axis
    )
