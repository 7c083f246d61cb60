"""Box logic on hand-made detections: thresholds, NMS, relations, positions, select, colour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from uniprobe.scenes.geometry import iou
from uniprobe.scoring.boxes import (
    PLACES,
    Found,
    all_at,
    box_color,
    count,
    dominant,
    inside,
    nms,
    places,
    prune,
    relation_between,
    select,
)


def _at(x: int, y: int, label: str = "dog", score: float = 0.9, half: int = 10) -> Found:
    """A box of side 2*half centred on (x, y)."""
    return Found((x - half, y - half, x + half, y + half), score, label)


def test_iou_of_known_overlaps() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0
    assert iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0  # empty boxes never overlap


def test_count_keeps_boxes_at_or_above_the_threshold() -> None:
    found = [_at(50, 50, score=0.9), _at(150, 50, score=0.5), _at(250, 50, score=0.49)]
    kept = prune(found, threshold=0.5, iou_threshold=0.5)
    assert [f.score for f in kept] == [0.9, 0.5]
    assert count(kept) == 2
    assert count(prune(found, threshold=0.0, iou_threshold=0.5)) == 3
    assert count(prune(found, threshold=0.95, iou_threshold=0.5)) == 0


def test_nms_merges_duplicates_but_keeps_distinct_objects() -> None:
    best = _at(50, 50, score=0.9)
    duplicate = Found((44, 43, 64, 63), 0.8, "dog")  # IoU with best ≈ 0.52
    neighbour = _at(62, 50, score=0.7)  # IoU with best = 8/32 = 0.25: another dog
    far = _at(300, 300, score=0.3)
    cat_on_it = Found(best.box, 0.6, "cat")  # another label is never suppressed
    assert iou(best.box, duplicate.box) > 0.5
    kept = nms([far, duplicate, neighbour, cat_on_it, best], 0.5)
    assert kept == [best, neighbour, cat_on_it, far]
    assert nms([best, duplicate], 0.7) == [best, duplicate]  # a looser IoU keeps both
    assert nms([far, neighbour, best, cat_on_it], 0.5, limit=1) == [best, cat_on_it]


def test_count_within_a_part_uses_box_centres() -> None:
    found = [_at(20, 20), _at(80, 20, half=30), _at(150, 150)]
    assert count(found, within=(0, 0, 100, 100)) == 2  # the big box's centre is inside
    assert inside(found, (0, 0, 50, 50)) == [found[0]]
    assert count(found, within=None) == 3


@pytest.mark.parametrize(
    ("relation", "holds"),
    [
        pytest.param("left_of", True, id="left_of"),
        pytest.param("right_of", False, id="right_of"),
        pytest.param("above", True, id="above"),
        pytest.param("below", False, id="below"),
    ],
)
def test_relation_compares_centres_from_the_viewer(relation: str, holds: bool) -> None:
    dog, cat = [_at(50, 40)], [_at(200, 300, "cat")]
    assert relation_between(dog, cat, relation) is holds
    opposite = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
    assert relation_between(cat, dog, opposite[relation]) is holds


def test_relation_must_hold_for_every_pair() -> None:
    cat = [_at(200, 100, "cat")]
    dogs = [_at(50, 100), _at(350, 100)]  # one dog left of the cat, one right of it
    assert relation_between(dogs, cat, "left_of") is False
    assert relation_between(dogs[:1], cat, "left_of") is True
    assert relation_between([], cat, "left_of") is False
    assert relation_between(dogs, [], "right_of") is False


def test_positions_of_centres() -> None:
    size = (300, 300)
    top_left = [_at(40, 40), _at(100, 60)]
    assert places(top_left, size) == ["left", "top"]
    assert all_at(top_left, "top_left", size)
    assert not all_at(top_left, "bottom_left", size)
    assert places([_at(150, 150)], size) == ["right", "bottom", "center"]
    spread = [_at(40, 40), _at(260, 260)]
    assert places(spread, size) == []
    assert not all_at([], "left", size)
    assert set(PLACES) == {"left", "right", "top", "bottom", "center"}


@pytest.mark.parametrize(
    ("how", "index"),
    [
        pytest.param("leftmost", 1, id="leftmost"),
        pytest.param("rightmost", 2, id="rightmost"),
        pytest.param("topmost", 2, id="topmost"),
        pytest.param("bottommost", 0, id="bottommost"),
        pytest.param("middle", 0, id="middle"),
        pytest.param("largest", 0, id="largest"),
        pytest.param("smallest", 1, id="smallest"),
    ],
)
def test_select_picks_one_box(how: str, index: int) -> None:
    found = [_at(100, 200, half=30), _at(20, 100, half=5), _at(180, 20, half=10)]
    assert select(found, how) is found[index]


def _scene(
    background: str, fill: str | tuple[int, int, int], ellipse: tuple[int, int, int, int]
) -> np.ndarray:
    image = Image.new("RGB", (200, 200), background)
    ImageDraw.Draw(image).ellipse(ellipse, fill=fill)
    return np.asarray(image)


def test_colour_of_a_red_object_on_white() -> None:
    rgb = _scene("white", (214, 40, 40), (60, 60, 139, 139))
    name, share = box_color(rgb, (60, 60, 140, 140))
    assert name == "red"
    assert share == pytest.approx(1.0)
    name, share = box_color(rgb, (60, 60, 140, 140), background=False)
    assert name == "red" and share == pytest.approx(1.0)


def test_colour_leaves_the_background_out_of_a_loose_box() -> None:
    rgb = _scene("green", "white", (70, 70, 129, 129))  # a white ball on grass...
    loose = (40, 40, 160, 160)  # ... in a loose box: the ball is 40% of its core
    name, share = box_color(rgb, loose)
    assert name == "white"
    assert share == pytest.approx(1.0)
    assert box_color(rgb, loose, background=False)[0] == "green"  # the core is mostly grass
    speck = _scene("green", "white", (95, 95, 104, 104))  # under 20% of the core...
    assert box_color(speck, loose)[0] == "green"  # ... so the object is taken as grass


def test_colour_of_an_object_like_its_background_is_that_colour() -> None:
    rgb = _scene("blue", (40, 88, 216), (60, 60, 139, 139))
    assert box_color(rgb, (50, 50, 150, 150)) == ("blue", 1.0)


def test_colour_of_a_box_touching_the_image_edge_and_a_tiny_box() -> None:
    rgb = _scene("white", (214, 40, 40), (-20, -20, 60, 60))
    assert box_color(rgb, (0, 0, 55, 55))[0] == "red"
    assert box_color(rgb, (10, 10, 11, 11)) == ("red", 1.0)  # one pixel: its own colour
    with pytest.raises(ValueError, match="outside"):
        box_color(rgb, (300, 300, 320, 320))


def test_dominant_leaves_outline_ink_out() -> None:
    image = Image.new("RGB", (40, 40), (245, 215, 40))
    ImageDraw.Draw(image).rectangle((0, 0, 39, 39), outline="black", width=6)
    name, share = dominant(np.asarray(image), (0, 0, 40, 40))
    assert (name, share) == ("yellow", 1.0)
