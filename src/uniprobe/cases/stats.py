"""Counts that describe a suite: how many cases of what, which checks, which branches."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from uniprobe.cases.checks import Conditional
from uniprobe.cases.schema import FAMILIES, Case, Suite
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.vocabulary import known_words

__all__ = ["SuiteStats", "duplicates", "frame", "frames_by_subtype", "suite_stats"]

_NUMBER_WORDS = (
    *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    *("ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen"),
    *("seventeen", "eighteen", "nineteen", "twenty", "once", "twice", "double"),
    *("triple", "half"),
)
_COLOR_EXTRA = ("grey", "violet", "magenta", "gold", "colour", "color")


@cache
def _masks() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    objects = sorted(known_words(), key=len, reverse=True)
    colours = sorted({*COLOR_NAMES, *_COLOR_EXTRA}, key=len, reverse=True)
    alt = "|".join(re.escape(w) for w in objects)
    return (
        re.compile(rf"\b(?:{alt})\b", re.IGNORECASE),
        re.compile(rf"\b(?:{'|'.join(colours)})s?\b", re.IGNORECASE),
        re.compile(rf"\b(?:\d+(?:st|nd|rd|th)?|{'|'.join(_NUMBER_WORDS)})\b", re.IGNORECASE),
    )


def frame(text: str) -> str:
    """A prompt's sentence frame: objects, colours and numbers masked, case and spacing
    folded, so prompts that differ only in what is filled in share one frame.

    `frame("Draw 3 red cars on the grass.") == "draw <n> <c> <o> on the <o>."`"""
    objects, colours, numbers = _masks()
    out = objects.sub("<o>", text)
    out = colours.sub("<c>", out)
    out = numbers.sub("<n>", out)
    out = re.sub(r"\b(?:a|an)\s+(?=<)", "", out, flags=re.IGNORECASE)
    out = re.sub(r"'[^']*'|\"[^\"]*\"", "<q>", out)
    return re.sub(r"\s+", " ", out).strip().lower()


def frames_by_subtype(suite: Suite) -> dict[str, int]:
    """'family/subtype' -> the number of distinct sentence frames over all its prompts."""
    seen: dict[str, set[str]] = defaultdict(set)
    for case in suite.cases:
        for t in case.turns:
            seen[f"{case.family}/{case.subtype}"].add(frame(t.user))
    return {k: len(v) for k, v in sorted(seen.items())}


def _content(case: Case) -> str:
    doc = case.to_dict()
    return repr((doc.get("images"), doc["turns"]))


def duplicates(suite: Suite) -> list[tuple[str, str]]:
    """Pairs of case ids whose images, turns and checks are identical (each later one
    with the first it repeats)."""
    first: dict[str, str] = {}
    pairs = []
    for case in suite.cases:
        key = _content(case)
        if key in first:
            pairs.append((first[key], case.id))
        else:
            first[key] = case.id
    return pairs


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
    groups: int
    """Contrast groups (cases sharing a `group` id)."""
    grouped_cases: int
    """Cases that belong to a group."""
    group_sizes: dict[int, int]
    """Members -> how many groups have that many."""
    subtype_groups: dict[str, int]
    """Contrast groups per 'family/subtype' (only subtypes with some)."""
    frames: dict[str, int]
    """Distinct sentence frames per 'family/subtype' (`frames_by_subtype`)."""
    duplicates: list[tuple[str, str]]
    """Pairs of case ids with identical images, turns and checks (`duplicates`)."""


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
        **_group_counts(suite),
        frames=frames_by_subtype(suite),
        duplicates=duplicates(suite),
    )


def _group_counts(suite: Suite) -> dict[str, Any]:
    """The group fields of `SuiteStats`."""
    members: dict[str, list[Case]] = defaultdict(list)
    for case in suite.cases:
        if case.group is not None:
            members[case.group].append(case)
    per_subtype: Counter[str] = Counter(
        f"{found[0].family}/{found[0].subtype}" for found in members.values()
    )
    sizes = Counter(len(found) for found in members.values())
    return {
        "groups": len(members),
        "grouped_cases": sum(sizes[n] * n for n in sizes),
        "group_sizes": dict(sorted(sizes.items())),
        "subtype_groups": dict(sorted(per_subtype.items())),
    }
