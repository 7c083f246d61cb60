"""The pixels judge: edit locality (`unchanged`), no change at all (`same_as`), and style.

Comparison rule (recorded in every verdict): the canvas is brought to the reference
image's frame first — centre-cropped to the reference's aspect ratio if it differs by
more than 1%, then resized to the reference's size with Lanczos. The compared region is
the whole image for `same_as`; for `unchanged`, everything but the named parts' boxes
and the boxes of the named objects found in either image, each grown by `margin`.
On it, these are always recorded:

* changed share: pixels where a channel differs by more than `pixel_threshold`;
* PSNR of the compared pixels;
* SSIM (Wang et al. 2004: Gaussian window, sigma 1.5, on luma), averaged over them.

`metric` says what decides:

* `aligned` (default): survives a re-render. When the changed share is already at most
  `max_changed_aligned` the images agree and nothing more is done. Otherwise the canvas is
  registered onto the reference (ECC affine on the compared region, else ORB features
  + RANSAC affine, else no warp; the method, matrix and quality are recorded), each
  colour channel is mapped onto the reference's by a robust gain and offset fitted on
  the compared region (global colour, contrast and gamma drift), both are smoothed
  (`blur_sigma`), and a pixel differs where a channel moves by more than
  `color_threshold` or the local (masked) SSIM falls below `min_local_ssim`; differences
  narrower than `min_blob` pixels are dropped (misregistration seams). It passes when
  at most `max_changed_aligned` (`same_as`: `max_changed_aligned_same`) of the compared
  pixels differ. Calibrated on `uniprobe.scoring.locality_truth`.
* `pixels` (alias `changed_share`): the strict rule, changed share at most `max_changed`
  (`max_changed_same`) — exact, for synthetic scenes and pixel-preserving editors;
* `ssim`: mean SSIM at least `min_ssim` (`min_ssim_same`).

Objects are located by the reference perception (`regions = "reference"`) or by the
detector judge (`regions = "detector"`, for photographs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydantic import Field

from uniprobe.cases.checks import Check, SameAs, Style, Unchanged
from uniprobe.errors import UsageError
from uniprobe.scenes.geometry import Box
from uniprobe.scenes.perceive import perceive
from uniprobe.scenes.vocabulary import try_resolve
from uniprobe.scoring.imaging import (
    ALIGNMENT_RULE,
    GRAY_MAX_COLORFUL,
    GRAY_SATURATION,
    align,
    changed_mask,
    colorful_share,
    match_colors,
    psnr,
    register,
    ssim_map,
    structural_change,
)
from uniprobe.scoring.judge import (
    Canvas,
    Judge,
    JudgeContext,
    JudgeOptions,
    JudgeResult,
    Locator,
    judges,
)

if TYPE_CHECKING:
    from uniprobe.config import Config

__all__ = ["Locator", "PixelsJudge", "reference_key"]


class _ReferenceLocator:
    def locate(self, image: Image.Image, word: str) -> list[Box]:
        term = try_resolve(word)
        if term is None:
            raise ValueError(f"'{word}' is not in the reference vocabulary")
        return [d.box for d in perceive(image).of(term.concepts)]


def reference_key(against: int | str) -> str:
    """Key of a comparison image in `JudgeContext.references`."""
    return f"turn:{against}" if isinstance(against, int) else str(against)


@judges.register("pixels")
class PixelsJudge(Judge):
    """Pixel comparisons between a canvas and a reference image, and global style."""

    name = "pixels"
    version = "3"
    kinds = frozenset({"unchanged", "same_as", "style"})

    class Options(JudgeOptions):
        """Thresholds of the pixel comparisons; recorded with every score."""

        metric: Literal["aligned", "pixels", "changed_share", "ssim"] = "aligned"
        """What decides unchanged/same_as: aligned (survives re-rendering), pixels (strict;
        `changed_share` is its old name) or ssim. The strict metrics are recorded either way."""
        pixel_threshold: int = Field(24, ge=0, le=255)
        """A pixel changed when a channel differs by more than this (0..255)."""
        max_changed: float = Field(0.01, ge=0, le=1)
        """changed_share: unchanged passes when at most this share of compared pixels changed."""
        max_changed_same: float = Field(0.005, ge=0, le=1)
        """changed_share: same_as passes when at most this share of all pixels changed."""
        min_ssim: float = Field(0.85, ge=-1, le=1)
        """ssim: unchanged passes when the mean SSIM outside the edit is at least this."""
        min_ssim_same: float = Field(0.95, ge=-1, le=1)
        """ssim: same_as passes when the mean SSIM of the whole image is at least this."""
        blur_sigma: float = Field(1.5, ge=0)
        """aligned: Gaussian sigma (pixels) both images are smoothed with before comparing."""
        color_threshold: int = Field(48, ge=0, le=255)
        """aligned: a smoothed pixel differs when a channel moves by more than this."""
        min_local_ssim: float = Field(0.5, ge=-1, le=1)
        """aligned: ... or when its local SSIM falls below this."""
        min_blob: int = Field(7, ge=1)
        """aligned: differences narrower than this many pixels are dropped."""
        max_changed_aligned: float = Field(0.002, ge=0, le=1)
        """aligned: unchanged passes when at most this share of compared pixels differ."""
        max_changed_aligned_same: float = Field(0.002, ge=0, le=1)
        """aligned: same_as passes when at most this share of all pixels differ."""
        margin: int = Field(6, ge=0)
        """Pixels added around excluded boxes."""
        regions: Literal["reference", "detector"] = "reference"
        """Who locates `outside_objects`: the reference perception or the detector judge."""
        gray_saturation: float = Field(GRAY_SATURATION, ge=0, le=1)
        """grayscale: a pixel is colourful above this HSV saturation..."""
        gray_max_colorful: float = Field(GRAY_MAX_COLORFUL, ge=0, le=1)
        """... and at most this share of pixels may be colourful."""

    options: Options

    def __init__(self, options: Any = None, *, config: Config | None = None) -> None:
        self.options = self.Options.model_validate(options or {})
        self.locator: Locator | None = (
            _ReferenceLocator() if self.options.regions == "reference" else None
        )

    def needs(self) -> list[str]:
        """Other judges this one uses (the detector, to locate objects in photographs)."""
        return ["detector"] if self.options.regions == "detector" else []

    def bind(self, peers: Mapping[str, Judge]) -> None:
        """Take the detector from the policy's judges when `regions = "detector"`."""
        if self.options.regions == "detector":
            detector = peers["detector"]
            if not isinstance(detector, Locator):
                raise UsageError(f"judge '{detector.name}' cannot locate objects")
            self.locator = detector

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        """Decide one check (in a worker thread)."""
        return await asyncio.to_thread(self.decide, check, ctx)

    def decide(self, check: Check, ctx: JudgeContext) -> JudgeResult:
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
        cfg = self.options
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
                if self.locator is None:
                    return JudgeResult("unknown", "no locator for objects (detector not bound)")
                for img in (ref.image, Image.fromarray(b)):
                    try:
                        boxes = self.locator.locate(img, word)
                    except ValueError as exc:
                        return JudgeResult("unknown", str(exc))
                    excluded.extend({"object": word, "box": list(box)} for box in boxes)
            m = cfg.margin
            for e in excluded:
                x0, y0, x1, y1 = e["box"]
                mask[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m] = False
        changed = changed_mask(a, b, cfg.pixel_threshold)
        compared = int(mask.sum())
        share = float((changed & mask).sum()) / compared if compared else 0.0
        ssim = round(float(ssim_map(a, b)[mask].mean()), 4) if compared else None
        ys, xs = np.nonzero(changed & mask)
        evidence: dict[str, Any] = {
            "against": against,
            "metric": cfg.metric,
            "changed_share": round(share, 5),
            "pixel_threshold": cfg.pixel_threshold,
            "ssim": ssim,
            "compared_share": round(compared / mask.size, 4),
            "mean_abs_diff": round(float(np.abs(a.astype(np.int16) - b)[mask].mean()), 3)
            if compared
            else None,
            "psnr": psnr(a, b, mask),
            "excluded": excluded,
            "changed_box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            if len(xs)
            else None,
            "alignment": ALIGNMENT_RULE,
            "canvas_size": list(ctx.canvas.image.size),
            "reference_size": list(size),
        }
        if compared == 0 or ssim is None:
            return JudgeResult("unknown", "the excluded region covers the whole image", evidence)
        where = "outside the edited region " if check is not None else ""
        if cfg.metric == "ssim":
            least = cfg.min_ssim if check is not None else cfg.min_ssim_same
            evidence["min_ssim"] = least
            return JudgeResult(
                "pass" if ssim >= least else "fail",
                f"SSIM {where}{ssim:.3f} (needs {least:.2f}); {share:.2%} of pixels changed",
                evidence,
            )
        limit = cfg.max_changed if check is not None else cfg.max_changed_same
        evidence["max_changed"] = limit
        if cfg.metric == "aligned":
            limit = cfg.max_changed_aligned if check is not None else cfg.max_changed_aligned_same
            if share > limit:
                return self._aligned(a, b, mask, check is not None, evidence)
            evidence["aligned"] = {"registration": None, "reason": "pixels already agree"}
        return JudgeResult(
            "pass" if share <= limit else "fail",
            f"{share:.2%} of pixels {where}changed (limit {limit:.1%})",
            evidence,
        )

    def _aligned(
        self,
        a: NDArray[np.uint8],
        b: NDArray[np.uint8],
        mask: NDArray[np.bool_],
        edit: bool,
        evidence: dict[str, Any],
    ) -> JudgeResult:
        """Decide after registration and colour matching (metric `aligned`)."""
        cfg = self.options
        warped, inside, registration = register(a, b, mask)
        out_of_frame = float((mask & ~inside).sum()) / float(mask.sum())
        mask = mask & inside
        if not mask.any():
            return JudgeResult("unknown", "nothing left to compare after alignment", evidence)
        matched, curves = match_colors(a, warped, mask)
        differs, ssim = structural_change(
            a,
            matched,
            mask,
            sigma=cfg.blur_sigma,
            color_threshold=cfg.color_threshold,
            min_ssim=cfg.min_local_ssim,
            min_blob=cfg.min_blob,
        )
        share = float(differs.sum()) / float(mask.sum())
        limit = cfg.max_changed_aligned if edit else cfg.max_changed_aligned_same
        ys, xs = np.nonzero(differs)
        evidence["aligned"] = {
            "registration": registration.evidence(),
            "out_of_frame_share": round(out_of_frame, 4),
            "color_fit": curves,
            "changed_share": round(share, 5),
            "ssim": round(float(ssim[mask].mean()), 4),
            "changed_box": [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]
            if len(xs)
            else None,
            "max_changed": limit,
            "blur_sigma": cfg.blur_sigma,
            "color_threshold": cfg.color_threshold,
            "min_local_ssim": cfg.min_local_ssim,
            "min_blob": cfg.min_blob,
        }
        where = "outside the edited region " if edit else ""
        return JudgeResult(
            "pass" if share <= limit else "fail",
            f"after alignment ({registration.method}) and colour matching, {share:.2%} of "
            f"pixels {where}differ (limit {limit:.1%})",
            evidence,
        )

    def _style(self, check: Style, canvas: Canvas) -> JudgeResult:
        if canvas.image is None:
            return JudgeResult("fail", "no image")
        share = colorful_share(canvas.image, self.options.gray_saturation)
        gray = share <= self.options.gray_max_colorful
        found = "grayscale" if gray else "color"
        return JudgeResult(
            "pass" if found == check.equals else "fail",
            f"{share:.1%} of pixels are colourful: {found}",
            {
                "colorful_share": round(share, 4),
                "style": found,
                "saturation_threshold": self.options.gray_saturation,
                "max_colorful": self.options.gray_max_colorful,
            },
        )
