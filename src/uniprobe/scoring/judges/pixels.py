"""The pixels judge: edit locality (`unchanged`), no change at all (`same_as`), and style.

Comparison rule (fixed, and recorded in every verdict): the canvas is brought to the
reference image's frame first — centre-cropped to the reference's aspect ratio if it
differs by more than 1%, then resized to the reference's size with Lanczos. A pixel
has *changed* when any channel differs by more than `pixel_threshold`. `unchanged`
passes when at most `max_changed` of the compared pixels changed; the excluded
region is the union of the named parts' boxes (grown by `margin`) and the boxes of
the named objects found in either image.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from uniprobe.cases.checks import SameAs, Style, Unchanged
from uniprobe.scenes.perceive import perceive
from uniprobe.scenes.vocabulary import try_resolve
from uniprobe.scoring.judge import Canvas, JudgeContext, JudgeResult, judges

__all__ = ["ALIGNMENT_RULE", "PixelConfig", "PixelsJudge", "align", "reference_key"]

ALIGNMENT_RULE = (
    "center-crop to reference aspect (if >1% off), then Lanczos resize to reference size"
)


@dataclass(frozen=True)
class PixelConfig:
    """Thresholds of the pixel comparisons; recorded in every verdict."""

    pixel_threshold: int = 24
    """A pixel changed when a channel differs by more than this (0..255)."""
    max_changed: float = 0.01
    """unchanged passes when at most this share of compared pixels changed."""
    max_changed_same: float = 0.005
    """same_as passes when at most this share of all pixels changed."""
    margin: int = 6
    """Pixels added around excluded boxes."""
    gray_saturation: float = 0.08
    """grayscale: a pixel is colourful above this HSV saturation..."""
    gray_max_colorful: float = 0.01
    """... and at most this share of pixels may be colourful."""


def reference_key(against: int | str) -> str:
    """Key of a comparison image in `JudgeContext.references`."""
    return f"turn:{against}" if isinstance(against, int) else str(against)


def align(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The canvas in the reference's frame (see ALIGNMENT_RULE)."""
    w, h = image.size
    rw, rh = size
    if abs((w / h) / (rw / rh) - 1) > 0.01:
        if w / h > rw / rh:
            nw = round(h * rw / rh)
            image = image.crop(((w - nw) // 2, 0, (w - nw) // 2 + nw, h))
        else:
            nh = round(w * rh / rw)
            image = image.crop((0, (h - nh) // 2, w, (h - nh) // 2 + nh))
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    return image


def _changed(a: NDArray[np.uint8], b: NDArray[np.uint8], threshold: int) -> NDArray[np.bool_]:
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)).max(axis=2)
    return np.asarray(diff > threshold, dtype=bool)


def _psnr(a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.bool_]) -> float | None:
    if not mask.any():
        return None
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask].mean())
    return float("inf") if mse == 0 else round(10 * np.log10(255.0**2 / mse), 2)


@judges.register("pixels")
class PixelsJudge:
    """Pixel comparisons between a canvas and a reference image, and global style."""

    name: ClassVar[str] = "pixels"
    version: ClassVar[str] = "1"
    kinds: ClassVar[frozenset[str]] = frozenset({"unchanged", "same_as", "style"})

    def __init__(self, config: PixelConfig | None = None) -> None:
        self.config = config or PixelConfig()

    async def judge(self, check: Any, ctx: JudgeContext) -> JudgeResult:
        """Decide one check (in a worker thread)."""
        return await asyncio.to_thread(self.decide, check, ctx)

    def decide(self, check: Any, ctx: JudgeContext) -> JudgeResult:
        """Synchronous form of `judge`."""
        if isinstance(check, Style):
            return self._style(check, ctx.canvas)
        if isinstance(check, Unchanged | SameAs):
            ref = ctx.references.get(reference_key(check.against))
            if ref is None or ref.image is None:
                return JudgeResult("unknown", f"no image to compare with ({check.against})")
            if ctx.canvas.image is None:
                return JudgeResult("unknown", "no canvas to compare")
            if isinstance(check, SameAs):
                return self._compare(ctx, ref, None, str(check.against))
            return self._compare(ctx, ref, check, str(check.against))
        return JudgeResult("unknown", f"the pixels judge does not answer '{check.kind}'")

    def _compare(
        self, ctx: JudgeContext, ref: Canvas, check: Unchanged | None, against: str
    ) -> JudgeResult:
        cfg = self.config
        assert ref.image is not None and ctx.canvas.image is not None
        size = ref.image.size
        a = np.asarray(ref.image.convert("RGB"))
        b = np.asarray(align(ctx.canvas.image.convert("RGB"), size))
        mask = np.ones(a.shape[:2], bool)
        excluded: list[dict[str, Any]] = []
        if check is not None:
            for part in check.outside:
                box = ctx.part_box(part, size)
                if box is not None:
                    excluded.append({"part": part, "box": list(box)})
            for word in check.outside_objects:
                term = try_resolve(word)
                if term is None:
                    return JudgeResult("unknown", f"'{word}' is not in the reference vocabulary")
                for img in (ref.image, Image.fromarray(b)):
                    for d in perceive(img).of(term.concepts):
                        excluded.append({"object": term.name, "box": list(d.box)})
            m = cfg.margin
            for e in excluded:
                x0, y0, x1, y1 = e["box"]
                mask[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m] = False
        changed = _changed(a, b, cfg.pixel_threshold)
        compared = int(mask.sum())
        share = float((changed & mask).sum()) / compared if compared else 0.0
        limit = cfg.max_changed if check is not None else cfg.max_changed_same
        ys, xs = np.nonzero(changed & mask)
        evidence: dict[str, Any] = {
            "against": against,
            "changed_share": round(share, 5),
            "max_changed": limit,
            "pixel_threshold": cfg.pixel_threshold,
            "compared_share": round(compared / mask.size, 4),
            "mean_abs_diff": round(float(np.abs(a.astype(np.int16) - b)[mask].mean()), 3)
            if compared
            else None,
            "psnr": _psnr(a, b, mask),
            "excluded": excluded,
            "changed_box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            if len(xs)
            else None,
            "alignment": ALIGNMENT_RULE,
            "canvas_size": list(ctx.canvas.image.size),
            "reference_size": list(size),
        }
        if compared == 0:
            return JudgeResult("unknown", "the excluded region covers the whole image", evidence)
        ok = share <= limit
        where = "outside the edited region " if check is not None else ""
        return JudgeResult(
            "pass" if ok else "fail",
            f"{share:.2%} of pixels {where}changed (limit {limit:.1%})",
            evidence,
        )

    def _style(self, check: Style, canvas: Canvas) -> JudgeResult:
        if canvas.image is None:
            return JudgeResult("fail", "no image")
        hsv = np.asarray(canvas.image.convert("RGB").convert("HSV")).astype(np.float64) / 255.0
        colorful = (hsv[..., 1] > self.config.gray_saturation) & (hsv[..., 2] > 0.12)
        share = float(colorful.mean())
        gray = share <= self.config.gray_max_colorful
        found = "grayscale" if gray else "color"
        return JudgeResult(
            "pass" if found == check.equals else "fail",
            f"{share:.1%} of pixels are colourful: {found}",
            {
                "colorful_share": round(share, 4),
                "style": found,
                "saturation_threshold": self.config.gray_saturation,
                "max_colorful": self.config.gray_max_colorful,
            },
        )
