"""Calibration: how far can a judge be trusted? Measure it on images whose truth is known.

The images and their true verdicts come from `uniprobe.scoring.truthset` (synthetic
scenes and perturbations of them, truth read from the scene specs, never from a judge).
A verdict is *correct* when it equals the truth; `unknown` is never correct and is
counted apart (coverage). An item is *decisive* when every wrong reading of the image
changes its verdict (true items, and false items of yes/no kinds; a false `count
equals 5` stays false for most misreadings of 4 dolphins); the error on decisive
items estimates how often the judge misreads.
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
from uniprobe.scoring.policy import Judging
from uniprobe.scoring.truthset import CalibrationItem, calibration_set
from uniprobe.statistics import wilson
from uniprobe.store.records import JudgeUsage, Status

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = ["CalibrationReport", "KindResult", "PerturbationResult", "calibrate"]


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
) -> CalibrationReport:
    """Judge the controlled set with a policy's judges; accuracy per check kind.

    Only the kinds the policy routes to a judge are measured.
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
