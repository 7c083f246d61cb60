"""The verdict of a colour check on a scene part: one rule for every judge that reads a
part's colour from pixels (the reference judge, the detector), so their verdicts and
evidence read the same."""

from __future__ import annotations

from typing import Any

import numpy as np

from uniprobe.cases.checks import Color
from uniprobe.scoring.boxes import dominant
from uniprobe.scoring.judge import JudgeContext, JudgeResult

__all__ = ["decide_part_color"]


def decide_part_color(
    check: Color, part: str, ctx: JudgeContext, rgb: np.ndarray[Any, Any], size: tuple[int, int]
) -> JudgeResult:
    """Pass when the dominant colour of `part`'s box (mapped onto an image of `size`)
    is the colour the check names; unknown when the reference scene has no such part."""
    box = ctx.part_box(part, size)
    if box is None:
        return JudgeResult("unknown", f"no part '{part}' in the reference scene")
    name, share = dominant(rgb, box)
    evidence = {"part": part, "box": list(box), "color": name, "share": round(share, 3)}
    return JudgeResult(
        "pass" if name == check.equals else "fail",
        f"{part} is {name} ({share:.0%} of its pixels)",
        evidence,
    )
