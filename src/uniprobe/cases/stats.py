"""Counts that describe a suite: how many cases of what, which checks, which branches."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, ConfigDict

from uniprobe.cases.checks import Conditional
from uniprobe.cases.schema import FAMILIES, Suite

__all__ = ["SuiteStats", "suite_stats"]


class SuiteStats(BaseModel):
    """What `uniprobe cases stats` prints."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    """Suite name."""
    hash: str
    """Content hash."""
    cases: int
    """Number of cases."""
    turns: int
    """User turns over all cases."""
    expectations: int
    """Expectations (a conditional counts once)."""
    families: dict[str, int]
    """Cases per family."""
    subtypes: dict[str, int]
    """Cases per 'family/subtype'."""
    check_kinds: dict[str, int]
    """Leaf checks per kind (conditions and branches included)."""
    literal_alternatives: int
    """Checks or conditionals that record a literal reading."""
    conditionals: dict[str, int]
    """Conditionals: total, and how many the dialogue's words imply true / false / neither."""
    cases_with_images: int
    """Cases that attach source images."""
    sources: dict[str, int]
    """Cases per source (paper, core, importer)."""


def suite_stats(suite: Suite) -> SuiteStats:
    """Count everything worth counting in a suite."""
    families: Counter[str] = Counter()
    subtypes: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    literal = 0
    cond = Counter({"total": 0, "assumed_true": 0, "assumed_false": 0, "assumed_unknown": 0})
    for case in suite.cases:
        families[case.family] += 1
        subtypes[f"{case.family}/{case.subtype}"] += 1
        sources[case.source] += 1
        for _, _, leaf in case.leaves():
            kinds[leaf.kind] += 1
            if leaf.literal not in (None, False):
                literal += 1
        for _, _, exp in case.expectations():
            if isinstance(exp, Conditional):
                cond["total"] += 1
                key = {True: "assumed_true", False: "assumed_false"}.get(
                    exp.assumed,  # type: ignore[arg-type]
                    "assumed_unknown",
                )
                cond[key] += 1
                literal += exp.literal is not None
    ordered_families = {f: families[f] for f in FAMILIES if families[f]}
    ordered_subtypes = dict(
        sorted(subtypes.items(), key=lambda kv: (FAMILIES.index(kv[0].split("/")[0]), kv[0]))
    )
    return SuiteStats(
        suite=suite.name,
        hash=suite.content_hash,
        cases=len(suite),
        turns=sum(len(c.turns) for c in suite.cases),
        expectations=sum(c.n_checks() for c in suite.cases),
        families=ordered_families,
        subtypes=ordered_subtypes,
        check_kinds=dict(sorted(kinds.items())),
        literal_alternatives=literal,
        conditionals=dict(cond),
        cases_with_images=sum(bool(c.images) for c in suite.cases),
        sources=dict(sorted(sources.items())),
    )
