from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from uniprobe.scenes.colors import COLOR_NAMES, name_colors
from uniprobe.scenes.render import (
    ATTRIBUTION,
    BACKDROP_STYLE,
    Box,
    RenderedScene,
    glyph_unit_size,
    natural_color,
    render_scene,
    to_png,
)
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec


def _spec(**kw: object) -> SceneSpec:
    objects = (
        SceneObject(id="a", kind="dolphin", x=120, y=150, size=100),
        SceneObject(id="b", kind="lemon", x=380, y=300, size=80, color="blue", flip="horizontal"),
        SceneObject(id="r", shape="region", x=256, y=450, w=100, h=40),
    )
    return SceneSpec(objects=objects, **kw)


def _box(rendered: RenderedScene, part_id: str) -> Box:
    box = rendered.box(part_id)
    assert box is not None, f"no object {part_id!r} in the scene"
    return box


def test_rendering_is_deterministic() -> None:
    assert to_png(render_scene(_spec()).image) == to_png(render_scene(_spec()).image)


def test_boxes_are_exact_visible_extents() -> None:
    rendered = render_scene(_spec())
    rgb = np.asarray(rendered.image)
    white = np.all(rgb == 250, axis=2)  # the palette's white
    x0, y0, x1, y1 = _box(rendered, "a")
    assert not white[y0:y1, x0:x1].all()
    # outside the dolphin's box (and away from the lemon) the canvas is untouched
    assert white[y0 - 3 : y0, x0:x1].all() and white[y1 : y1 + 3, x0:x1].all()
    uw, uh = glyph_unit_size("dolphin")
    assert max(x1 - x0, y1 - y0) == pytest.approx(100, abs=3)
    assert (x1 - x0) / (y1 - y0) == pytest.approx(uw / uh, rel=0.05)


def test_regions_are_named_but_not_drawn() -> None:
    rendered = render_scene(_spec())
    assert rendered.box("r") == (206, 430, 306, 470)
    x0, y0, x1, y1 = _box(rendered, "r")
    assert np.all(np.asarray(rendered.image)[y0:y1, x0:x1] == 250)


def test_tint_repaints_fills_and_keeps_black_outline() -> None:
    rendered = render_scene(_spec())
    x0, y0, x1, y1 = _box(rendered, "b")
    px = np.asarray(rendered.image)[y0:y1, x0:x1].reshape(-1, 3).astype(int)
    lum = px @ np.array([0.299, 0.587, 0.114])
    assert (lum < 20).sum() > 100  # the outline is still black
    fill = px[(lum > 60) & ~np.all(px == 250, axis=1)]
    names = np.array(COLOR_NAMES)[name_colors(fill)]
    assert (names == "blue").mean() > 0.9
    assert natural_color("lemon") == "yellow"


def test_bands_paint_their_exact_fill() -> None:
    spec = SceneSpec(bands=(Band(kind="sky", bottom=0.5), Band(kind="ocean", top=0.5)))
    rgb = np.asarray(render_scene(spec).image)
    assert tuple(rgb[5, 3]) == BACKDROP_STYLE["sky"][0]
    assert tuple(rgb[300, 3]) == BACKDROP_STYLE["water"][0]


def test_grayscale_scene_has_no_colour() -> None:
    rgb = np.asarray(render_scene(_spec(grayscale=True)).image).astype(int)
    assert np.all(rgb[..., 0] == rgb[..., 1]) and np.all(rgb[..., 1] == rgb[..., 2])


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            {"kind": "unicorn", "x": 1, "y": 1, "size": 9}, "not in the reference", id="word"
        ),
        pytest.param(
            {"kind": "animal", "x": 1, "y": 1, "size": 9}, "cannot be drawn", id="category"
        ),
        pytest.param({"kind": "dog", "x": 1, "y": 1}, "needs a size", id="size"),
        pytest.param({"shape": "rect", "x": 1, "y": 1, "w": 3}, "needs w and h", id="rect"),
        pytest.param(
            {"kind": "dog", "x": 1, "y": 1, "size": 9, "color": "teal"},
            "unknown colour",
            id="colour",
        ),
    ],
)
def test_bad_objects_are_refused(obj: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SceneObject.model_validate(obj)


def test_attribution_names_openmoji_and_licence() -> None:
    assert "OpenMoji" in ATTRIBUTION and "CC BY-SA 4.0" in ATTRIBUTION
