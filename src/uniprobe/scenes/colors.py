"""Named colours: the fixed palette used by cases, the renderer and the judges.

Checks name colours from one palette (`COLOR_NAMES`). The renderer tints glyphs with
the palette's sRGB values; judges name a measured colour by its nearest palette
entry in CIELAB, so "pink" means the same thing to every part of uniprobe.
"""

from __future__ import annotations

from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from uniprobe.errors import did_you_mean

__all__ = [
    "COLOR_NAMES",
    "PALETTE",
    "ColorName",
    "canonical_color_name",
    "name_color",
    "name_colors",
    "parse_color",
    "rgb_to_lab",
]

ColorName = Literal[
    "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white", "gray"
]
COLOR_NAMES: tuple[str, ...] = get_args(ColorName)

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (214, 40, 40),
    "orange": (245, 140, 30),
    "yellow": (245, 215, 40),
    "green": (56, 168, 66),
    "blue": (40, 88, 216),
    "purple": (136, 60, 188),
    "pink": (240, 128, 180),
    "brown": (124, 78, 40),
    "black": (60, 60, 64),
    "white": (250, 250, 250),
    "gray": (150, 150, 150),
}
"""The sRGB value the renderer paints for each name. Black is a dark grey on purpose:
pure black is reserved for glyph outlines, which the reference judge reads as shape."""

# Reference points used for naming (slightly different from paint: a name covers a range).
_NAMING = {**PALETTE, "black": (30, 30, 30)}
_SYNONYMS = {"grey": "gray", "violet": "purple", "magenta": "pink", "gold": "yellow"}


def parse_color(value: str) -> tuple[int, int, int]:
    """sRGB of a palette name (or synonym) or of a '#rrggbb' string; ValueError otherwise."""
    text = value.strip().lower()
    text = _SYNONYMS.get(text, text)
    if text in PALETTE:
        return PALETTE[text]
    if text.startswith("#") and len(text) == 7:
        try:
            return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
        except ValueError:
            pass
    raise ValueError(
        f"unknown colour '{value}'{did_you_mean(text, PALETTE)} "
        f"(use one of {', '.join(COLOR_NAMES)} or #rrggbb)"
    )


def canonical_color_name(value: str) -> str:
    """The palette name for a name or synonym ('grey' -> 'gray'); ValueError if unknown."""
    text = _SYNONYMS.get(value.strip().lower(), value.strip().lower())
    if text not in PALETTE:
        raise ValueError(f"unknown colour '{value}'{did_you_mean(text, PALETTE)}")
    return text


def rgb_to_lab(rgb: NDArray[np.floating] | NDArray[np.integer]) -> NDArray[np.float64]:
    """CIELAB (D65) of sRGB values in 0..255; accepts any array with a last axis of 3."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = c @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    lab = np.stack(
        [116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])],
        axis=-1,
    )
    return lab


_NAMES_ARR = list(_NAMING)
_LAB_REF = rgb_to_lab(np.array([_NAMING[n] for n in _NAMES_ARR]))


def name_colors(rgb: NDArray[np.integer]) -> NDArray[np.int64]:
    """Index into `COLOR_NAMES`-ordered palette of the nearest name, per pixel (N x 3 input)."""
    lab = rgb_to_lab(rgb.reshape(-1, 3))
    d = ((lab[:, None, :] - _LAB_REF[None, :, :]) ** 2).sum(-1)
    return np.asarray(np.argmin(d, axis=1), dtype=np.int64)


def name_color(rgb: tuple[int, int, int] | NDArray[np.integer]) -> str:
    """The palette name nearest to one sRGB colour."""
    return _NAMES_ARR[int(name_colors(np.asarray(rgb).reshape(1, 3))[0])]
