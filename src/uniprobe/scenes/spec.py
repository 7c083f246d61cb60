"""Scene specs: the declarative description of a synthetic image.

A scene is a canvas, an optional stack of backdrop bands (sky, water, road...), and
objects placed by centre and size. Glyph objects name a vocabulary word (`kind`);
primitive objects are rectangles, ellipses or text. Every object may carry an `id`
so that cases can point at it ("the second floor", "the reflection").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from uniprobe.scenes.colors import parse_color
from uniprobe.scenes.vocabulary import BACKDROPS, resolve

__all__ = ["Band", "Flip", "SceneObject", "SceneSpec", "Shape"]

Flip = Literal["none", "horizontal", "vertical", "both"]
Shape = Literal["glyph", "rect", "ellipse", "text", "region"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Model):
    """A horizontal band of backdrop, from `top` to `bottom` (fractions of the height)."""

    kind: str
    """A backdrop word: sky, water, road, desert, beach, grass, snow (or a synonym)."""
    top: float = Field(0.0, ge=0.0, le=1.0)
    """Top edge as a fraction of the canvas height."""
    bottom: float = Field(1.0, ge=0.0, le=1.0)
    """Bottom edge as a fraction of the canvas height."""

    @field_validator("kind")
    @classmethod
    def _backdrop(cls, v: str) -> str:
        term = resolve(v)
        if term.render != "backdrop":
            raise ValueError(f"'{v}' is not a backdrop (one of {', '.join(BACKDROPS)})")
        return term.name

    @model_validator(mode="after")
    def _order(self) -> Band:
        if self.bottom <= self.top:
            raise ValueError("bottom must be below top")
        return self


class SceneObject(_Model):
    """One object in a scene."""

    id: str | None = None
    """Name cases use to refer to this object (a 'part')."""
    kind: str | None = None
    """Vocabulary word drawn as a glyph; leave empty for a primitive shape."""
    shape: Shape = "glyph"
    """glyph (needs kind), rect, ellipse, text, or region (an invisible named area)."""
    x: float
    """Centre x in pixels."""
    y: float
    """Centre y in pixels."""
    size: float | None = Field(None, gt=0)
    """Glyphs: the larger side in pixels; text: the font size."""
    w: float | None = Field(None, gt=0)
    """Primitives: width in pixels."""
    h: float | None = Field(None, gt=0)
    """Primitives: height in pixels."""
    color: str | None = None
    """Palette name or #rrggbb: a glyph's tint, a primitive's fill, the text colour."""
    flip: Flip = "none"
    """Mirror the glyph."""
    opacity: float = Field(1.0, gt=0.0, le=1.0)
    """1 is opaque."""
    text: str | None = None
    """The words of a text object."""

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        if v is not None:
            parse_color(v)
        return v

    @model_validator(mode="after")
    def _complete(self) -> SceneObject:
        if self.shape == "glyph":
            if not self.kind:
                raise ValueError("a glyph object needs a kind")
            term = resolve(self.kind)
            if term.render != "glyph" or term.is_category:
                raise ValueError(f"'{self.kind}' cannot be drawn as one glyph")
            if self.size is None:
                raise ValueError("a glyph object needs a size")
        elif self.shape == "text":
            if not self.text or self.size is None:
                raise ValueError("a text object needs text and size")
        elif self.w is None or self.h is None:
            raise ValueError(f"a {self.shape} needs w and h")
        return self

    @property
    def concept(self) -> str | None:
        """Canonical concept name of a glyph object."""
        return resolve(self.kind).name if self.shape == "glyph" and self.kind else None


class SceneSpec(_Model):
    """A whole synthetic image."""

    width: int = Field(512, ge=64, le=4096)
    """Canvas width in pixels."""
    height: int = Field(512, ge=64, le=4096)
    """Canvas height in pixels."""
    background: str = "white"
    """Colour behind the bands."""
    bands: tuple[Band, ...] = ()
    """Backdrop bands, drawn in order."""
    objects: tuple[SceneObject, ...] = ()
    """Objects, drawn in order (later ones in front)."""
    grayscale: bool = False
    """Render without colour."""

    @field_validator("background")
    @classmethod
    def _bg(cls, v: str) -> str:
        parse_color(v)
        return v

    @model_validator(mode="after")
    def _unique_ids(self) -> SceneSpec:
        ids = [o.id for o in self.objects if o.id]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"object ids must be unique: {', '.join(sorted(dup))}")
        return self

    def part(self, part_id: str) -> SceneObject | None:
        """The object with this id, if any."""
        return next((o for o in self.objects if o.id == part_id), None)
