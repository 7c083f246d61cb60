"""Calibration: how far can a judge be trusted? Measure it on images whose truth is known.

The images and their true verdicts come from `uniprobe.scoring.truthset` (synthetic
scenes and perturbations of them, truth read from the scene specs, never from a judge).
A verdict is *correct* when it equals the truth; `unknown` is never correct and is
counted apart (coverage). An item is *decisive* when every wrong reading of the image
changes its verdict (true items, and false items of yes/no kinds; a false `count
equals 5` stays false for most misreadings of 4 dolphins); the error on decisive
items estimates how often the judge misreads.

Locality is measured apart (`calibrate_locality`) on `uniprobe.scoring.locality_truth`:
per perturbation, the share of content-preserving re-renders an `unchanged` check passes
and the share of real changes outside the excluded region it fails. It runs when the
policy's `unchanged` judge is the local `pixels` judge (a VLM would cost a call per item).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uniprobe.cases.checks import Check
from uniprobe.cases.schema import Case
from uniprobe.scoring.judge import Canvas, Judge, JudgeContext, Ledger
from uniprobe.scoring.locality_truth import LocalityItem, locality_set
from uniprobe.scoring.policy import Judging
from uniprobe.scoring.truthset import CalibrationItem, calibration_set
from uniprobe.statistics import wilson
from uniprobe.store.records import JudgeUsage, Status

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = [
    "CalibrationReport",
    "KindResult",
    "LocalityRow",
    "PerturbationResult",
    "calibrate",
    "calibrate_locality",
]


_CASE = Case.model_validate(
    {"id": "calibration", "family": "editing", "subtype": "calibration", "turns": [{"user": "-"}]}
)
"""The case every calibration item is judged in (an edit turn 2 after turn 1)."""


@dataclass
class KindResult:
    """How one judge did on one check kind."""

    kind: str
    judge: str
    items: int = 0
    correct: int = 0
    unknown: int = 0
    decisive: int = 0
    decisive_errors: int = 0
    confusion: dict[str, dict[str, int]] = field(
        default_factory=lambda: {t: {"pass": 0, "fail": 0, "unknown": 0} for t in ("true", "false")}
    )
    """truth ('true'/'false') -> verdict -> count."""

    @property
    def accuracy(self) -> float | None:
        """Correct verdicts over all items (unknown counts as not correct)."""
        return self.correct / self.items if self.items else None

    @property
    def accuracy_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the accuracy."""
        return wilson(self.correct, self.items)

    @property
    def coverage(self) -> float | None:
        """Share of items the judge decided (pass or fail)."""
        return 1 - self.unknown / self.items if self.items else None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "kind": self.kind,
            "judge": self.judge,
            "items": self.items,
            "correct": self.correct,
            "unknown": self.unknown,
            "accuracy": self.accuracy,
            "accuracy_ci": self.accuracy_ci,
            "coverage": self.coverage,
            "decisive": self.decisive,
            "decisive_errors": self.decisive_errors,
            "confusion": self.confusion,
        }


@dataclass
class PerturbationResult:
    """How a policy's judges did on the items of one perturbation ('none': clean renders)."""

    perturbation: str
    items: int = 0
    decided: int = 0
    correct: int = 0

    @property
    def coverage(self) -> float | None:
        """Share of items decided (pass or fail)."""
        return self.decided / self.items if self.items else None

    @property
    def accuracy(self) -> float | None:
        """Correct verdicts over decided items."""
        return self.correct / self.decided if self.decided else None

    @property
    def accuracy_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the accuracy on decided items."""
        return wilson(self.correct, self.decided)

    @property
    def wrong(self) -> int:
        """Decided items whose verdict is wrong."""
        return self.decided - self.correct

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "perturbation": self.perturbation,
            "items": self.items,
            "decided": self.decided,
            "correct": self.correct,
            "wrong": self.wrong,
            "coverage": self.coverage,
            "accuracy": self.accuracy,
            "accuracy_ci": self.accuracy_ci,
        }


@dataclass
class CalibrationReport:
    """A policy's judges measured on the controlled set."""

    policy: str
    judges: dict[str, str]
    options: dict[str, dict[str, Any]]
    kinds: dict[str, KindResult]
    seconds: float
    usage: dict[str, JudgeUsage]
    mistakes: list[dict[str, Any]]
    """Every wrong or unknown verdict of a clean item: item id, check, truth, verdict,
    reason."""
    perturbations: dict[str, PerturbationResult] = field(default_factory=dict)
    """Per perturbation ('none' first): coverage and accuracy on decided items."""
    locality: dict[str, LocalityRow] | None = None
    """Per perturbation of the locality set (None when not measured)."""

    @property
    def items(self) -> int:
        """Items judged."""
        return sum(k.items for k in self.kinds.values())

    @property
    def accuracy(self) -> float | None:
        """Correct over all items."""
        n = self.items
        return sum(k.correct for k in self.kinds.values()) / n if n else None

    @property
    def decisive_error(self) -> float | None:
        """Wrong (or unknown) verdicts over decisive items: the misreading rate."""
        n = sum(k.decisive for k in self.kinds.values())
        return sum(k.decisive_errors for k in self.kinds.values()) / n if n else None

    @property
    def decisive_error_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the misreading rate."""
        n = sum(k.decisive for k in self.kinds.values())
        return wilson(sum(k.decisive_errors for k in self.kinds.values()), n)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "policy": self.policy,
            "judges": self.judges,
            "options": self.options,
            "items": self.items,
            "accuracy": self.accuracy,
            "decisive_error": self.decisive_error,
            "decisive_error_ci": self.decisive_error_ci,
            "seconds": round(self.seconds, 2),
            "usage": {k: v.model_dump() for k, v in self.usage.items()},
            "kinds": {k: r.as_dict() for k, r in sorted(self.kinds.items())},
            "mistakes": self.mistakes,
            "perturbations": {k: r.as_dict() for k, r in self.perturbations.items()},
            "locality": {k: r.as_dict() for k, r in self.locality.items()}
            if self.locality is not None
            else None,
        }


def _context(item: CalibrationItem, canvas: Canvas, ledger: Ledger) -> JudgeContext:
    refs: dict[str, Canvas] = {}
    if item.reference is not None:
        refs["turn:1"] = Canvas(1, item.reference, None, drawn=True)
    return JudgeContext(_CASE, 2, canvas, refs, {}, None, ledger)


_Judged = tuple[CalibrationItem, Status, str, str]


async def _judge_image(
    group: list[CalibrationItem], judging: Judging, ledger: Ledger
) -> list[_Judged]:
    canvas = Canvas(2, group[0].image, None, drawn=True)
    queries: dict[int, tuple[Judge, list[tuple[Check, JudgeContext]]]] = {}
    contexts = []
    for item in group:
        ctx = _context(item, canvas, ledger)
        contexts.append(ctx)
        judge = judging.judge_for(item.kind)
        if judge is not None:
            queries.setdefault(id(judge), (judge, []))[1].append((item.check, ctx))
    await asyncio.gather(*(j.prepare(q) for j, q in queries.values()))
    out: list[_Judged] = []
    for item, ctx in zip(group, contexts, strict=True):
        judge = judging.judge_for(item.kind)
        if judge is None:
            out.append((item, "unknown", f"no judge for '{item.kind}'", "-"))
            continue
        res = await judge.judge(item.check, ctx)
        out.append((item, res.status, res.reason, judge.name))
    return out


async def calibrate(
    policy: str,
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | None = None,
    items: Sequence[CalibrationItem] | None = None,
    scenes: int = 12,
    seed: int = 0,
    concurrency: int = 4,
    locality_items: Sequence[LocalityItem] | None = None,
) -> CalibrationReport:
    """Judge the controlled set with a policy's judges; accuracy per check kind.

    Only the kinds the policy routes to a judge are measured. Locality is measured on
    `locality_items`, else (when `items` is not given) on `2 * scenes` scenes of the
    locality set, if the policy's `unchanged` judge is `pixels`.
    """
    judging = Judging.of(policy, options, config)
    try:
        pool = list(items) if items is not None else calibration_set(scenes, seed=seed)
        pool = [i for i in pool if judging.judge_for(i.kind) is not None]
        groups: dict[tuple[int, int], list[CalibrationItem]] = {}
        for item in pool:
            key = (id(item.image), id(item.reference) if item.reference is not None else 0)
            groups.setdefault(key, []).append(item)
        ledger = Ledger()
        slots = asyncio.Semaphore(max(1, concurrency))
        started = time.perf_counter()

        async def one(
            group: list[CalibrationItem],
        ) -> list[tuple[CalibrationItem, Status, str, str]]:
            async with slots:
                return await _judge_image(group, judging, ledger)

        results = [r for g in await asyncio.gather(*(one(g) for g in groups.values())) for r in g]
        seconds = time.perf_counter() - started
        locality = None
        unchanged = judging.judge_for("unchanged")
        if unchanged is not None and unchanged.name == "pixels":
            if locality_items is None and items is None:
                locality_items = locality_set(2 * scenes, seed=seed)
            if locality_items is not None:
                locality = await calibrate_locality(unchanged, locality_items, ledger, slots)
    finally:
        await judging.aclose()
    kinds: dict[str, KindResult] = {}
    mistakes: list[dict[str, Any]] = []
    perturbations = _by_perturbation(results)
    for item, status, reason, judge_name in results:
        if item.perturbation != "none":
            continue
        k = kinds.setdefault(item.kind, KindResult(item.kind, judge_name))
        k.items += 1
        k.confusion["true" if item.truth else "false"][status] += 1
        ok = status == ("pass" if item.truth else "fail")
        k.correct += ok
        k.unknown += status == "unknown"
        if item.decisive:
            k.decisive += 1
            k.decisive_errors += not ok
        if not ok:
            mistakes.append(
                {
                    "id": item.id,
                    "render": item.render,
                    "check": item.check.model_dump(mode="json", exclude_defaults=True)
                    | {"kind": item.kind},
                    "truth": item.truth,
                    "verdict": status,
                    "reason": reason,
                }
            )
    return CalibrationReport(
        judging.policy.name,
        judging.versions(),
        judging.options(),
        kinds,
        seconds,
        ledger.usage,
        sorted(mistakes, key=lambda m: m["id"]),
        perturbations,
        locality,
    )


def _by_perturbation(results: Sequence[_Judged]) -> dict[str, PerturbationResult]:
    """Coverage and accuracy on decided items per perturbation, 'none' first."""
    out: dict[str, PerturbationResult] = {}
    for item, status, _, _ in results:
        r = out.setdefault(item.perturbation, PerturbationResult(item.perturbation))
        r.items += 1
        if status != "unknown":
            r.decided += 1
            r.correct += status == ("pass" if item.truth else "fail")
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != "none", kv[0])))


# --- locality ----------------------------------------------------------------------------


@dataclass
class LocalityRow:
    """How `unchanged` did on one perturbation of the locality set."""

    perturbation: str
    expect: Status
    """pass (a content-preserving re-render) or fail (a real change)."""
    items: int = 0
    right: int = 0
    unknown: int = 0
    wrong: list[str] = field(default_factory=list)
    """Ids of the items judged wrongly (or unknown)."""

    @property
    def rate(self) -> float | None:
        """Pass rate of re-renders, or fail rate of real changes."""
        return self.right / self.items if self.items else None

    @property
    def rate_ci(self) -> tuple[float, float] | None:
        """95% Wilson interval of the rate."""
        return wilson(self.right, self.items)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "perturbation": self.perturbation,
            "expect": self.expect,
            "items": self.items,
            "rate": self.rate,
            "rate_ci": self.rate_ci,
            "unknown": self.unknown,
            "wrong": self.wrong,
        }


async def calibrate_locality(
    judge: Judge,
    items: Sequence[LocalityItem],
    ledger: Ledger | None = None,
    slots: asyncio.Semaphore | None = None,
) -> dict[str, LocalityRow]:
    """Judge every locality item's `unchanged` check; a row per perturbation."""
    ledger = ledger or Ledger()
    slots = slots or asyncio.Semaphore(4)

    async def one(item: LocalityItem) -> Status:
        parts = {"edit": item.excluded} if item.excluded is not None else {}
        refs = {"turn:1": Canvas(1, item.reference, None, drawn=True)}
        canvas = Canvas(2, item.image, None, drawn=True)
        ctx = JudgeContext(_CASE, 2, canvas, refs, parts, item.reference.size, ledger)
        async with slots:
            return (await judge.judge(item.check, ctx)).status

    statuses = await asyncio.gather(*(one(i) for i in items))
    rows: dict[str, LocalityRow] = {}
    for item, status in zip(items, statuses, strict=True):
        expect: Status = "pass" if item.truth else "fail"
        row = rows.setdefault(item.perturbation, LocalityRow(item.perturbation, expect))
        row.items += 1
        row.right += status == expect
        row.unknown += status == "unknown"
        if status != expect:
            row.wrong.append(item.id)
    return rows
