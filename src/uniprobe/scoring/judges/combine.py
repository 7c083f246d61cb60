"""Judges made of two judges: `agree(a,b)` (both must agree) and `verify(a,b)`."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from uniprobe.cases.checks import Check
from uniprobe.scoring.judge import Judge, JudgeContext, JudgeOptions, JudgeResult
from uniprobe.scoring.judges.verify import VerifyJudge

__all__ = ["AgreeJudge", "combined"]


class AgreeJudge(Judge):
    """Both judges decide; the verdict stands only when they agree, else `unknown`."""

    def __init__(self, a: Judge, b: Judge) -> None:
        self.a, self.b = a, b
        self.name = f"agree({a.name},{b.name})"
        self.version = f"{a.version}+{b.version}"
        self.kinds = a.kinds & b.kinds
        self.options = JudgeOptions()

    async def prepare(self, queries: Sequence[tuple[Check, JudgeContext]]) -> None:
        """Let both judges prepare."""
        await asyncio.gather(self.a.prepare(queries), self.b.prepare(queries))

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Ask both; agree -> that verdict, disagree or either unknown -> unknown."""
        ra, rb = await asyncio.gather(self.a.judge(check, ctx), self.b.judge(check, ctx))
        evidence = {
            self.a.name: {"status": ra.status, "reason": ra.reason, **ra.evidence},
            self.b.name: {"status": rb.status, "reason": rb.reason, **rb.evidence},
        }
        said = f"{self.a.name}: {ra.reason}; {self.b.name}: {rb.reason}"
        if ra.status == rb.status:
            return JudgeResult(ra.status, f"both agree ({said})", evidence)
        return JudgeResult(
            "unknown",
            f"judges disagree: {self.a.name} says {ra.status}, {self.b.name} says "
            f"{rb.status} ({said})",
            evidence,
        )


def combined(how: str, a: Judge, b: Judge) -> Judge:
    """The combination `how` ('agree' or 'verify') of two judges."""
    if how == "agree":
        return AgreeJudge(a, b)
    if how == "verify":
        return VerifyJudge(a, b)
    raise ValueError(f"unknown combination '{how}'")
