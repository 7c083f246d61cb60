"""What a locality verdict measured: the change outside the edit that decided it.

The pixels judge records two measures of an `unchanged` or `same_as` comparison:

* the **strict** one, always: the share of compared pixels whose channel moved by more
  than `pixel_threshold` once the canvas is brought to the reference's frame (crop and
  resize only), its SSIM and the box of the changed pixels (`changed_share`, `ssim`,
  `changed_box` at the top of the evidence);
* the **aligned** one, when its default `metric = "aligned"` had to align (the strict
  share was above its limit): the same after registration and colour matching, under
  `evidence["aligned"]`, with the warp (`registration.matrix`) and the colour fit
  (`color_fit`: gain and offset per channel) it used.

The report shows the measure the verdict was decided on: the aligned one where the judge
aligned, else the strict one (the `pixels` and `ssim` metrics, an `aligned` verdict whose
pixels already agreed, and verdicts written before alignment existed). A re-rendering
editor's crop, scale and colour drift count as change only in the strict share, which is
kept beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Alignment", "Measure", "measure_of"]


@dataclass(frozen=True)
class Alignment:
    """How the judge aligned a canvas before measuring (from the verdict's evidence)."""

    matrix: tuple[tuple[float, float, float], tuple[float, float, float]]
    """2x3 affine from reference to canvas pixels (OpenCV's inverse map)."""
    color_fit: tuple[tuple[float, float], ...]
    """Per RGB channel, the (gain, offset) mapping the canvas onto the reference."""
    blur_sigma: float
    """Gaussian sigma both images were smoothed with."""
    color_threshold: int
    """A smoothed pixel differs when a channel moves by more than this."""

    def key(self) -> str:
        """A short stable text of the transform (heat-maps are cached by it)."""
        numbers = [v for row in self.matrix for v in row]
        numbers += [v for fit in self.color_fit for v in fit]
        numbers += [self.blur_sigma, float(self.color_threshold)]
        return ",".join(f"{v:.5g}" for v in numbers)


@dataclass(frozen=True)
class Measure:
    """The change outside the edit as the verdict measured it."""

    changed_share: float | None
    """Share of compared pixels that changed (after alignment, if the judge aligned)."""
    strict_changed_share: float | None
    """The same before alignment (the pixels judge's strict rule)."""
    ssim: float | None
    """Mean SSIM of the compared pixels (after alignment, if the judge aligned)."""
    changed_box: list[float] | None
    """Box of the changed pixels, in the reference's frame."""
    aligned: bool
    """Measured after alignment and colour matching."""
    alignment: Alignment | None
    """The warp and colour fit it used, when recorded whole (None without alignment)."""


def measure_of(evidence: Mapping[str, Any]) -> Measure:
    """The measure a locality verdict was decided on (see the module)."""
    strict = _number(evidence.get("changed_share"))
    aligned = evidence.get("aligned")
    if isinstance(aligned, Mapping) and _number(aligned.get("changed_share")) is not None:
        return Measure(
            _number(aligned.get("changed_share")),
            strict,
            _number(aligned.get("ssim")),
            _box(aligned.get("changed_box")),
            True,
            _alignment(aligned),
        )
    ssim, box = _number(evidence.get("ssim")), _box(evidence.get("changed_box"))
    return Measure(strict, strict, ssim, box, False, None)


def _alignment(aligned: Mapping[str, Any]) -> Alignment | None:
    """The recorded warp and colour fit, if whole and well-formed."""
    registration = aligned.get("registration")
    matrix = registration.get("matrix") if isinstance(registration, Mapping) else None
    fit = aligned.get("color_fit")
    sigma, threshold = _number(aligned.get("blur_sigma")), _number(aligned.get("color_threshold"))
    rows = _rows(matrix, 2, 3)
    fits = _rows(fit, 3, 2)
    if rows is None or fits is None or sigma is None or threshold is None:
        return None
    return Alignment(
        ((rows[0][0], rows[0][1], rows[0][2]), (rows[1][0], rows[1][1], rows[1][2])),
        tuple((f[0], f[1]) for f in fits),
        sigma,
        int(threshold),
    )


def _rows(value: Any, n: int, m: int) -> list[list[float]] | None:
    """`value` as an n x m list of numbers, else None."""
    if not isinstance(value, list) or len(value) != n:
        return None
    rows = []
    for row in value:
        if not isinstance(row, list) or len(row) != m:
            return None
        numbers = [_number(v) for v in row]
        if any(v is None for v in numbers):
            return None
        rows.append([float(v) for v in numbers if v is not None])
    return rows


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _box(value: Any) -> list[float] | None:
    rows = _rows([value], 1, 4)
    return rows[0] if rows is not None else None
