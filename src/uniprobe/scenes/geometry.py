"""Box geometry, in one place: boxes, centres, overlaps, and what places and relations mean.

A box is `(x0, y0, x1, y1)` in image pixels, x1/y1 exclusive; y grows downwards. Where
an object *is* means where its box's centre is: a `position` check compares the centre
with the frame (`in_place`), a `relation` check compares two centres, from the viewer
(`relation_holds`). The reference planner, the judges and the test fakes all use these
definitions, so what is drawn and what is judged cannot drift apart.
"""

from __future__ import annotations

__all__ = [
    "Box",
    "Point",
    "area",
    "center",
    "clip",
    "contains",
    "grow",
    "in_place",
    "iou",
    "overlaps",
    "relation_holds",
    "scale",
]

Box = tuple[int, int, int, int]
"""(x0, y0, x1, y1) in pixels, x1/y1 exclusive."""

Point = tuple[float, float]
"""(x, y) in pixels."""


def area(box: Box) -> int:
    """Pixels in the box (0 when it is empty)."""
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def center(box: Box) -> Point:
    """The centre of the box."""
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def contains(box: Box, point: Point) -> bool:
    """Whether the point lies in the box (right and bottom edges excluded)."""
    return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when either is empty)."""
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def overlaps(a: Box, b: Box, margin: int = 0) -> bool:
    """Whether the boxes come closer than `margin` pixels (touching counts at margin 0+)."""
    return not (
        a[2] + margin <= b[0]
        or b[2] + margin <= a[0]
        or a[3] + margin <= b[1]
        or b[3] + margin <= a[1]
    )


def clip(box: Box, size: tuple[int, int]) -> Box:
    """The part of the box inside an image of `size` (width, height)."""
    return (max(0, box[0]), max(0, box[1]), min(size[0], box[2]), min(size[1], box[3]))


def grow(box: Box, share: float, size: tuple[int, int]) -> Box:
    """The box grown by `share` of its width and height on every side, clipped to `size`."""
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * share, (y1 - y0) * share
    return (
        max(0, round(x0 - mx)),
        max(0, round(y0 - my)),
        min(size[0], round(x1 + mx)),
        min(size[1], round(y1 + my)),
    )


def scale(box: Box, size: tuple[int, int], to: tuple[int, int]) -> Box:
    """A box of an image of `size` mapped onto an image of size `to` (x and y independently)."""
    sx, sy = to[0] / size[0], to[1] / size[1]
    return (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx), round(box[3] * sy))


def in_place(point: Point, place: str, size: tuple[int, int]) -> bool:
    """What a `position` check means: the centre lies in that half of the frame (quadrant
    for corners; the middle third on both axes for center)."""
    x, y = point[0] / size[0], point[1] / size[1]
    left, top = x < 0.5, y < 0.5
    return {
        "left": left,
        "right": not left,
        "top": top,
        "bottom": not top,
        "center": 1 / 3 <= x < 2 / 3 and 1 / 3 <= y < 2 / 3,
        "top_left": left and top,
        "top_right": not left and top,
        "bottom_left": left and not top,
        "bottom_right": not left and not top,
    }[place]


def relation_holds(a: Point, b: Point, relation: str) -> bool:
    """What a `relation` check means for one pair: compare the centres, from the viewer."""
    (ax, ay), (bx, by) = a, b
    return {"left_of": ax < bx, "right_of": ax > bx, "above": ay < by, "below": ay > by}[relation]
