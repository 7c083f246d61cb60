"""`verify(a,b)`: a detector proposes boxes, a VLM confirms each crop, the check is decided
on the confirmed boxes.

The proposer must be a `Proposer` (the detector judge is); the verifier a `Verifier`
(the VLM judge is); anything else raises `UsageError`. Each crop is the box
grown by `CROP_MARGIN` of its size on every side. A crop the VLM cannot verify
(unsure, refused, unparseable, API error) makes the check `unknown`: a box is neither
kept nor dropped on a guess. The `vlm-verify` policy runs the detector at a lower
score threshold, so the VLM sees more candidates than the detector alone would keep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from uniprobe.cases.checks import Check, Count
from uniprobe.errors import UsageError
from uniprobe.scenes.geometry import Box, grow
from uniprobe.scoring.boxes import Found
from uniprobe.scoring.judge import (
    Canvas,
    Judge,
    JudgeContext,
    JudgeOptions,
    JudgeResult,
    Ledger,
    Proposer,
    Verifier,
    canvas_key,
)

__all__ = ["CROP_MARGIN", "Proposer", "Verifier", "VerifyJudge", "crop_box"]

CROP_MARGIN = 0.15
"""A crop is its box grown by this share of the box's width/height on every side."""


def crop_box(box: Box, size: tuple[int, int]) -> Box:
    """The box grown by CROP_MARGIN on every side, clipped to the image."""
    return grow(box, CROP_MARGIN, size)


class VerifyJudge(Judge):
    """Detector boxes, each confirmed or rejected by a VLM, then the detector's decision."""

    def __init__(self, proposer: Judge, verifier: Judge) -> None:
        if not isinstance(proposer, Proposer):
            raise UsageError(f"verify(): judge '{proposer.name}' cannot propose boxes")
        if not isinstance(verifier, Verifier):
            raise UsageError(f"verify(): judge '{verifier.name}' cannot verify crops")
        self.proposer, self.verifier = proposer, verifier
        self._propose: Proposer = proposer
        self._verify: Verifier = verifier
        self.name = f"verify({proposer.name},{verifier.name})"
        self.version = f"{proposer.version}+{verifier.version}"
        self.kinds = proposer.kinds
        self.options = JudgeOptions()
        self._seen: dict[tuple[str, str, Box], bool | None] = {}
        self._lock = asyncio.Lock()

    async def _confirm(
        self, canvas: Canvas, found: Mapping[str, Sequence[Found]], ledger: Ledger
    ) -> None:
        """Ask the verifier about every box of this canvas not yet asked about (one call)."""
        key = canvas_key(canvas)
        if key is None or canvas.image is None:
            return
        async with self._lock:
            todo = [
                (label, f)
                for label, fs in found.items()
                for f in fs
                if (key, label, f.box) not in self._seen
            ]
            if not todo:
                return
            image = canvas.image
            crops = [(image.crop(crop_box(f.box, image.size)), label) for label, f in todo]
            answers = await self._verify.verify(crops, ledger)
            for (label, f), ok in zip(todo, answers, strict=True):
                self._seen[(key, label, f.box)] = ok

    def _verified(
        self, canvas: Canvas, found: Mapping[str, Sequence[Found]]
    ) -> tuple[dict[str, list[Found]], list[dict[str, Any]]]:
        key = canvas_key(canvas) or ""
        kept: dict[str, list[Found]] = {}
        log: list[dict[str, Any]] = []
        for label, fs in found.items():
            kept[label] = []
            for f in fs:
                ok = self._seen.get((key, label, f.box))
                log.append({**f.as_evidence(), "confirmed": ok})
                if ok:
                    kept[label].append(f)
        return kept, log

    async def prepare(self, queries: Sequence[tuple[Check, JudgeContext]]) -> None:
        """Detect, then verify every proposed box of each canvas in one verifier call."""
        await self.proposer.prepare(queries)
        plan: dict[str, tuple[Canvas, set[str], Ledger]] = {}
        for check, ctx in queries:
            for canvas, word in self._propose.words_for(check, ctx):
                key = canvas_key(canvas)
                if key is not None:
                    plan.setdefault(key, (canvas, set(), ctx.ledger))[1].add(word)
        for canvas, words, ledger in plan.values():
            try:
                found = await asyncio.to_thread(self._propose.found_on, canvas, sorted(words))
            except ValueError:
                continue  # the detector's failure is reported by judge()
            await self._confirm(canvas, found, ledger)

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide a check on the boxes the verifier confirmed."""
        needs = self._propose.words_for(check, ctx)
        if not needs:  # e.g. the colour of a named part: no boxes to verify
            return await self.proposer.judge(check, ctx)
        try:
            found = await asyncio.to_thread(
                self._propose.found_on, ctx.canvas, [w for c, w in needs if c is ctx.canvas]
            )
            ref_canvas = None
            ref_found: dict[str, list[Found]] | None = None
            if isinstance(check, Count) and check.matches is not None:
                ref_canvas = ctx.references.get(f"turn:{check.matches.turn}")
                if ref_canvas is not None:
                    ref_found = await asyncio.to_thread(
                        self._propose.found_on, ref_canvas, [check.matches.object]
                    )
        except ValueError as exc:
            return JudgeResult("unknown", str(exc))
        await self._confirm(ctx.canvas, found, ctx.ledger)
        kept, log = self._verified(ctx.canvas, found)
        reference = None
        if ref_canvas is not None and ref_found is not None:
            await self._confirm(ref_canvas, ref_found, ctx.ledger)
            reference, ref_log = self._verified(ref_canvas, ref_found)
            log += [{**e, "reference": True} for e in ref_log]
        unsure = [e for e in log if e["confirmed"] is None]
        if unsure:
            return JudgeResult(
                "unknown",
                f"{self.verifier.name} could not verify {len(unsure)} of {len(log)} proposed boxes",
                {"verified": log},
            )
        result = self._propose.decide_from(check, ctx, kept, reference=reference)
        confirmed = sum(1 for e in log if e["confirmed"])
        return JudgeResult(
            result.status,
            f"{result.reason} ({confirmed} of {len(log)} proposed boxes confirmed by "
            f"{self.verifier.name})",
            {**result.evidence, "verified": log},
        )
