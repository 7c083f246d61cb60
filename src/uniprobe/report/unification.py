"""The unification section: does each model know, draw, and see what it was asked?

A run has this section when one of its samples holds probe records (`--probe knows,sees`).
Each check of a scored sample with probes is diagnosed by `uniprobe.probes.diagnosis`
(the rules live there, once); this module only groups the rows and draws them:

* the **outcome bars**: a stacked bar per model and family (and over all checks), its
  segments the shares of the four outcomes among the checks whose outcome is known —
  doesn't know, knows but can't draw, draws but can't see, unified — so they sum to
  100%; checks whose outcome is unknown (a judge or an asked probe that could not
  decide) are left out of the shares and counted apart, after the bar;
* the **knows/draws scatter**: a point per model and subtype at (P(knows), P(draws)),
  with 95% whiskers both ways; a point below the diagonal is a subtype the model can
  state but not draw (the unification gap P(knows) − P(draws) is its height under it);
* the **table** per model: P(knows), P(draws), P(draws | knows), P(sees), the gap, each
  with its interval as `summarize` computed it, and the tag counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from uniprobe.cases.schema import FAMILIES, Case
from uniprobe.probes.diagnosis import (
    CheckDiagnosis,
    DiagnosisSummary,
    diagnose_sample,
    summarize,
)
from uniprobe.report.charts import Dot, Spot, Stack, scatter_chart, stacked_chart
from uniprobe.store.records import SampleRecord, ScoreRecord

__all__ = [
    "DIAGNOSIS_TAGS",
    "OUTCOMES",
    "Group",
    "Unification",
    "UnificationRecord",
    "diagnose",
    "has_probes",
    "knows_draws_chart",
    "outcome_chart",
    "unify",
]

OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("doesnt_know", "doesn't know", "#c0392b"),
    ("cant_draw", "knows, can't draw", "#e07b24"),
    ("cant_see", "draws, can't see", "#8e44ad"),
    ("unified", "unified", "#2e9e5b"),
)
"""The diagnosed outcomes in the order of the bars: (key, label, colour)."""
DIAGNOSIS_TAGS = ("literal_belief", "hallucinated_compliance", "missed_success")
"""The diagnosis tags the table counts."""
_Key = Callable[[CheckDiagnosis], str]
_Order = Callable[[str], tuple[int, str]]


@dataclass(frozen=True)
class Group:
    """The diagnosis of one group of checks (all, a family, a subtype, a check kind)."""

    name: str
    summary: DiagnosisSummary
    unknown: int
    """Checks whose outcome is unknown (left out of the outcome shares)."""

    def share(self, outcome: str) -> float | None:
        """The outcome's share of the checks whose outcome is known."""
        rate = self.summary.outcomes.get(outcome)
        return None if rate is None else rate.value


@dataclass
class Unification:
    """A run's diagnosis as the report shows it."""

    rows: list[CheckDiagnosis]
    overall: Group
    families: list[Group] = field(default_factory=list)
    subtypes: list[Group] = field(default_factory=list)
    """Named 'family/subtype', under their family in FAMILIES order."""
    kinds: list[Group] = field(default_factory=list)

    def by_sample(self) -> dict[tuple[str, int], list[CheckDiagnosis]]:
        """The rows of each (case id, epoch)."""
        out: dict[tuple[str, int], list[CheckDiagnosis]] = {}
        for row in self.rows:
            out.setdefault((row.case_id, row.epoch), []).append(row)
        return out

    def record(self) -> UnificationRecord:
        """The summaries, for report.json."""
        return UnificationRecord(
            checks=len(self.rows),
            unknown=self.overall.unknown,
            overall=self.overall.summary,
            families={g.name: g.summary for g in self.families},
            subtypes={g.name: g.summary for g in self.subtypes},
            kinds={g.name: g.summary for g in self.kinds},
        )


class UnificationRecord(BaseModel):
    """A run's diagnosis summaries in report.json (see `uniprobe.probes.diagnosis`)."""

    model_config = ConfigDict(extra="forbid")

    checks: int
    """Checks diagnosed (of scored samples with probes)."""
    unknown: int
    """Of them, checks whose outcome is unknown."""
    overall: DiagnosisSummary
    """All checks."""
    families: dict[str, DiagnosisSummary]
    """By family."""
    subtypes: dict[str, DiagnosisSummary]
    """By 'family/subtype'."""
    kinds: dict[str, DiagnosisSummary]
    """By check kind."""


def has_probes(samples: Iterable[SampleRecord]) -> bool:
    """True when some turn of some sample holds a probe record."""
    return any(turn.probes for sample in samples for turn in sample.turns)


def diagnose(
    cases: Mapping[str, Case],
    samples: Mapping[str, SampleRecord],
    scores: Mapping[str, ScoreRecord],
) -> Unification | None:
    """The diagnosis of every scored sample with probes; None when no sample has probes
    (the section is not shown)."""
    if not has_probes(samples.values()):
        return None
    rows: list[CheckDiagnosis] = []
    for key, sample in samples.items():
        case, score = cases.get(sample.case_id), scores.get(key)
        if case is not None and score is not None and has_probes([sample]):
            rows += diagnose_sample(case, sample, score)
    return unify(rows)


def unify(rows: list[CheckDiagnosis]) -> Unification:
    """Group diagnosed checks: all, by family, by subtype, by check kind."""

    def order(key: str) -> tuple[int, str]:
        family = key.split("/", 1)[0]
        return (FAMILIES.index(family) if family in FAMILIES else len(FAMILIES), key)

    return Unification(
        rows=rows,
        overall=_summary("all", rows),
        families=_groups(rows, lambda r: r.family, order),
        subtypes=_groups(rows, lambda r: f"{r.family}/{r.subtype}", order),
        kinds=_groups(rows, lambda r: r.check_kind, lambda k: (0, k)),
    )


def _summary(name: str, rows: Sequence[CheckDiagnosis]) -> Group:
    return Group(name, summarize(rows), sum(r.outcome == "unknown" for r in rows))


def _groups(rows: Sequence[CheckDiagnosis], key: _Key, order: _Order) -> list[Group]:
    found: dict[str, list[CheckDiagnosis]] = {}
    for row in rows:
        found.setdefault(key(row), []).append(row)
    return [_summary(name, found[name]) for name in sorted(found, key=order)]


def _note(group: Group) -> str:
    known = group.summary.checks - group.unknown
    return f"n={known}" + (f", {group.unknown} unknown" if group.unknown else "")


def outcome_chart(runs: Sequence[tuple[str, Unification]]) -> str | None:
    """A stacked bar of the four outcome shares per model: over all its checks, then per
    family (the models side by side in each); None when no check was diagnosed."""
    stacks: list[Stack] = []
    for label, u in runs:
        if u.rows:
            stacks.append(_stack(f"all · {label}", u.overall))
    for family in FAMILIES:
        for label, u in runs:
            stacks += [_stack(f"{family} · {label}", g) for g in u.families if g.name == family]
    if not stacks:
        return None
    return stacked_chart(stacks, OUTCOMES, title="Diagnosed outcome of each check, by family")


def _stack(label: str, group: Group) -> Stack:
    return Stack(label, [group.share(key) for key, _, _ in OUTCOMES], _note(group))


def knows_draws_chart(runs: Sequence[tuple[str, Unification]]) -> str | None:
    """A point per model and subtype at (P(knows), P(draws)), whiskers both ways; None
    when no subtype has both."""
    spots = [
        Spot(label, [d for g in u.subtypes if (d := _dot(g)) is not None]) for label, u in runs
    ]
    if not any(s.dots for s in spots):
        return None
    return scatter_chart(
        spots,
        title="P(draws) against P(knows), a point per subtype",
        x_title="P(knows)",
        y_title="P(draws)",
    )


def _dot(group: Group) -> Dot | None:
    knows, draws = group.summary.knows, group.summary.draws
    if knows.value is None or draws.value is None:
        return None
    note = f"knows {knows.k}/{knows.n}, draws {draws.k}/{draws.n}"
    return Dot(group.name, knows.value, draws.value, knows.ci, draws.ci, note)
