"""Box logic shared by the judges: detections as boxes, and what object checks mean on them.

Pure geometry and pixels, no model: a detector (or anything else that proposes boxes)
gives `Found` boxes; this module thresholds them, merges duplicates (per-label
non-maximum suppression), counts them, and reads relations, positions and colours off
them with the same rules the reference judge applies to synthetic scenes
(`relation_holds` and `in_place` from `uniprobe.scenes.geometry`: box centres compared).

Colour of a detected object (`box_color`, rule text in `BOX_COLOR_RULE`): an
axis-aligned box around an object also holds background, mostly along its edges.
So only the box's *core* is measured — the box less a border band of `border` (15%)
of its width on the left and right and of its height at the top and bottom. Every
core pixel is named by its nearest palette colour in CIELAB (`name_colors`). The
background's name is the most common name in a ring of the same band width just
outside the box (clipped to the image); core pixels of that name are left out, unless
fewer than `min_object` (20%) of the core would remain — then the object has the
background's colour and every core pixel counts. The answer is the most common
remaining name, with its share of the pixels counted. Dark pixels count as black:
unlike `dominant` (synthetic glyphs, whose black outlines are shape, not colour),
a photograph's black object is black.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from uniprobe.scenes.colors import COLOR_NAMES, name_colors
from uniprobe.scenes.geometry import Box, area, in_place, iou, relation_holds

__all__ = [
    "BOX_COLOR_RULE",
    "PLACES",
    "Boxed",
    "Found",
    "all_at",
    "box_color",
    "count",
    "dominant",
    "inside",
    "nms",
    "places",
    "prune",
    "relation_between",
    "select",
]

BOX_COLOR_RULE = (
    "nearest palette name (CIELAB) most common in the box's core (the box less a border "
    "band of {border:.0%} of its width/height on each side); when background is left out, "
    "core pixels named like the ring just outside the box are ignored unless under "
    "{min_object:.0%} of the core would remain"
)
"""The colour-from-box rule as recorded in evidence (format with border and min_object)."""

PLACES = ("left", "right", "top", "bottom", "center")
"""The places a position verdict reports an object set to be in (as the reference judge)."""

Point = tuple[float, float]


class Boxed(Protocol):
    """Anything with a box and its centre (a `Found`, a reference `Detection`)."""

    @property
    def box(self) -> Box:
        """(x0, y0, x1, y1) in image pixels, x1/y1 exclusive."""
        ...

    @property
    def center(self) -> Point:
        """Centre of the box."""
        ...


B = TypeVar("B", bound=Boxed)


@dataclass(frozen=True)
class Found:
    """One detected object: its box in the image's pixels, the detector's score, its label."""

    box: Box
    """(x0, y0, x1, y1) in image pixels, x1/y1 exclusive."""
    score: float
    """The detector's confidence for `label`, 0..1."""
    label: str
    """The object word the box was found for."""

    @property
    def center(self) -> Point:
        """Centre of the box."""
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)

    @property
    def area(self) -> int:
        """Area of the box in pixels."""
        return area(self.box)

    def as_evidence(self) -> dict[str, Any]:
        """JSON-ready description."""
        return {"label": self.label, "box": list(self.box), "score": round(self.score, 3)}


def nms(found: Iterable[Found], iou_threshold: float, *, limit: int | None = None) -> list[Found]:
    """Per-label non-maximum suppression: within each label, from the highest score down,
    a box is dropped when its IoU with a kept box exceeds `iou_threshold`, and once
    `limit` boxes of its label are kept. Boxes of different labels never suppress each
    other. Kept boxes come best first."""
    kept: dict[str, list[Found]] = {}
    out: list[Found] = []
    for f in sorted(found, key=lambda f: -f.score):
        same = kept.setdefault(f.label, [])
        if limit is not None and len(same) >= limit:
            continue
        if all(iou(k.box, f.box) <= iou_threshold for k in same):
            same.append(f)
            out.append(f)
    return out


def prune(
    found: Iterable[Found], *, threshold: float, iou_threshold: float, limit: int | None = None
) -> list[Found]:
    """Boxes scoring at least `threshold`, deduplicated by `nms`, at most `limit` per label."""
    return nms((f for f in found if f.score >= threshold), iou_threshold, limit=limit)


def inside(found: Iterable[B], within: Box | None) -> list[B]:
    """The boxes whose centre lies in `within` (all of them when it is None)."""
    if within is None:
        return list(found)
    x0, y0, x1, y1 = within
    return [f for f in found if x0 <= f.center[0] < x1 and y0 <= f.center[1] < y1]


def count(found: Iterable[Boxed], within: Box | None = None) -> int:
    """How many boxes there are (whose centre lies in `within`, if given)."""
    return len(inside(found, within))


def relation_between(a: Sequence[Boxed], b: Sequence[Boxed], relation: str) -> bool:
    """Whether every box of `a` is `relation` (left_of, right_of, above, below) every box
    of `b`, centres compared; False when either side has none."""
    if not a or not b:
        return False
    return all(relation_holds(x.center, y.center, relation) for x in a for y in b)


def all_at(found: Sequence[Boxed], place: str, size: tuple[int, int]) -> bool:
    """Whether every box's centre is in `place` of an image of `size`; False for none."""
    return bool(found) and all(in_place(f.center, place, size) for f in found)


def places(found: Sequence[Boxed], size: tuple[int, int]) -> list[str]:
    """The places of `PLACES` that hold every box's centre (empty: spread out, or none)."""
    return [p for p in PLACES if all_at(found, p, size)]


def select(items: Sequence[B], how: str) -> B:
    """The one box a colour check's `select` names: leftmost, rightmost, topmost,
    bottommost (by centre), middle (the median by centre x), largest or smallest (area)."""
    sizes = {id(d): area(d.box) for d in items}
    if how == "middle":
        return sorted(items, key=lambda d: d.center[0])[len(items) // 2]
    key = {
        "leftmost": lambda d: d.center[0],
        "rightmost": lambda d: -d.center[0],
        "topmost": lambda d: d.center[1],
        "bottommost": lambda d: -d.center[1],
        "largest": lambda d: -sizes[id(d)],
        "smallest": lambda d: sizes[id(d)],
    }[how]
    return min(items, key=key)


def dominant(rgb: NDArray[Any], box: Box) -> tuple[str, float]:
    """The palette name most pixels of a box are nearest to (outline ink left out)."""
    x0, y0, x1, y1 = box
    px = rgb[max(0, y0) : y1, max(0, x0) : x1].reshape(-1, 3)
    lum = px @ np.array([0.299, 0.587, 0.114])
    px = px[lum >= 45]
    if len(px) == 0:
        return "black", 1.0
    counts = np.bincount(name_colors(px), minlength=len(COLOR_NAMES))
    top = int(np.argmax(counts))
    return COLOR_NAMES[top], float(counts[top]) / len(px)


def box_color(
    rgb: NDArray[Any],
    box: Box,
    *,
    border: float = 0.15,
    background: bool = True,
    min_object: float = 0.2,
) -> tuple[str, float]:
    """The palette colour of the object in `box` and its share of the pixels counted
    (the rule is in the module docstring; `background=False` keeps every core pixel)."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {list(box)} lies outside the {width}x{height} image")
    bw, bh = round(border * (x1 - x0)), round(border * (y1 - y0))
    cx0, cy0 = min(x0 + bw, (x0 + x1 - 1) // 2), min(y0 + bh, (y0 + y1 - 1) // 2)
    cx1, cy1 = max(x1 - bw, cx0 + 1), max(y1 - bh, cy0 + 1)
    names = name_colors(rgb[cy0:cy1, cx0:cx1].reshape(-1, 3))
    counts = np.bincount(names, minlength=len(COLOR_NAMES))
    if background:
        behind = _ring_name(rgb, (x0, y0, x1, y1), bw, bh)
        if behind is not None and counts.sum() - counts[behind] >= min_object * counts.sum():
            counts[behind] = 0
    top = int(np.argmax(counts))
    return COLOR_NAMES[top], float(counts[top]) / float(counts.sum())


def _ring_name(rgb: NDArray[Any], box: Box, bw: int, bh: int) -> int | None:
    """Index of the most common palette name in the ring of width (bw, bh) around `box`."""
    height, width = rgb.shape[:2]
    x0, y0, x1, y1 = box
    ox0, oy0 = max(0, x0 - max(bw, 1)), max(0, y0 - max(bh, 1))
    ox1, oy1 = min(width, x1 + max(bw, 1)), min(height, y1 + max(bh, 1))
    outer = np.ones((oy1 - oy0, ox1 - ox0), dtype=bool)
    outer[y0 - oy0 : y1 - oy0, x0 - ox0 : x1 - ox0] = False
    px = rgb[oy0:oy1, ox0:ox1][outer]
    if len(px) == 0:
        return None
    return int(np.argmax(np.bincount(name_colors(px), minlength=len(COLOR_NAMES))))
