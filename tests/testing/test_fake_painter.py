"""The literal painter draws what the words say, and the reference eye sees exactly that."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from PIL import Image

from uniprobe.scenes.perceive import perceive
from uniprobe.testing import Mention, Reading, paint, read
from uniprobe.testing.painter import MAX_OBJECTS, blank


def _seen(png: bytes) -> tuple[Counter[tuple[str, str]], dict[str, float], tuple[int, int]]:
    image = Image.open(io.BytesIO(png))
    seen = perceive(image)
    counts = Counter((d.concept, d.color) for d in seen.detections)
    return counts, seen.backdrops, image.size


def test_five_dolphins_in_the_ocean() -> None:
    png, text = paint("Generate an image of 5 dolphins in the ocean", input_image=None, size=512)
    assert png is not None
    counts, backdrops, size = _seen(png)
    assert size == (512, 512)
    assert sum(n for (c, _), n in counts.items() if c == "dolphin") == 5
    assert set(c for c, _ in counts) == {"dolphin"}
    assert backdrops["water"] > 0.4
    assert text == "Here is an image of 5 dolphins and water."


def test_a_red_car() -> None:
    png, text = paint("draw a red car", input_image=None, size=512)
    assert png is not None
    counts, backdrops, _ = _seen(png)
    assert counts == Counter({("car", "red"): 1})
    assert max(backdrops.values()) < 0.01
    assert text == "Here is an image of a red car."


def test_nothing_drawable_draws_nothing() -> None:
    assert paint("Hello! How are you today?", input_image=None, size=512) == (
        None,
        "I can't draw that.",
    )


def test_nothing_drawable_returns_the_input_image_unchanged() -> None:
    earlier = b"\x89PNG any bytes at all"
    assert paint("make it nicer", input_image=earlier, size=512) == (
        earlier,
        "I left the image unchanged.",
    )


@pytest.mark.parametrize(
    ("text", "objects", "backdrops"),
    [
        pytest.param("an image of 3 cats", [("cat", 3, None)], [], id="digit"),
        pytest.param("seven zebras", [("zebra", 7, None)], [], id="number-word"),
        pytest.param("an image of dolphins", [("dolphin", 2, None)], [], id="plural-no-number"),
        pytest.param("a couple of dogs", [("dog", 2, None)], [], id="couple"),
        pytest.param("5 small red birds", [("bird", 5, "red")], [], id="number-reaches-over-words"),
        pytest.param("an orange", [("orange", 1, None)], [], id="orange-the-fruit"),
        pytest.param("an orange car", [("car", 1, "orange")], [], id="orange-the-colour"),
        pytest.param("a grey bus", [("bus", 1, "gray")], [], id="colour-synonym"),
        pytest.param(
            "3 mice and 2 sheep", [("mouse", 3, None), ("sheep", 2, None)], [], id="plurals"
        ),
        pytest.param(
            "a palm tree and ice cream",
            [("palm tree", 1, None), ("ice cream", 1, None)],
            [],
            id="two-word-names",
        ),
        pytest.param("an alligator", [("crocodile", 1, None)], [], id="synonym"),
        pytest.param("2 animals", [("bird", 2, None)], [], id="category-first-member"),
        pytest.param(
            "a red car and a blue car",
            [("car", 1, "red"), ("car", 1, "blue")],
            [],
            id="tints-apart",
        ),
        pytest.param(
            "a dog. Then 3 dogs. The dog again.", [("dog", 3, None)], [], id="repeats-keep-largest"
        ),
        pytest.param("Draw no cats", [("cat", 2, None)], [], id="no-is-not-read"),
        pytest.param("subtract 2 from every number", [], [], id="number-without-object"),
        pytest.param(
            "a boat on the sea under the sky",
            [("sailboat", 1, None)],
            ["water", "sky"],
            id="backdrops",
        ),
    ],
)
def test_read_takes_words_literally(
    text: str, objects: list[tuple[str, int, str | None]], backdrops: list[str]
) -> None:
    assert read(text) == Reading(
        tuple(Mention(c, n, tint) for c, n, tint in objects), tuple(backdrops)
    )


def test_painting_is_deterministic_per_text_and_seed() -> None:
    a, _ = paint("three cats on the grass", input_image=None, size=256)
    b, _ = paint("three cats on the grass", input_image=None, size=256)
    c, _ = paint("three cats on the grass", input_image=None, size=256, seed=1)
    assert a == b and a != c


def test_many_objects_are_capped_and_still_seen() -> None:
    png, text = paint("20 apples", input_image=None, size=512)
    assert png is not None and text == f"Here is an image of {MAX_OBJECTS} apples."
    counts, _, _ = _seen(png)
    assert sum(counts.values()) == MAX_OBJECTS


def test_canvas_follows_the_size_and_bands_stack() -> None:
    png, _ = paint("a cow on the grass under the sky", input_image=None, size=256)
    assert png is not None
    counts, backdrops, size = _seen(png)
    assert size == (256, 256)
    assert sum(counts.values()) == 1
    assert backdrops["sky"] > 0.25 and backdrops["grass"] > 0.5


def test_blank_is_an_empty_canvas() -> None:
    image = Image.open(io.BytesIO(blank(128)))
    assert image.size == (128, 128) and image.getcolors() == [
        (128 * 128, (250, 250, 250))
    ]  # the palette white
