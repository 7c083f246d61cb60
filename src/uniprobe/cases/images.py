"""The images a case ships: synthetic scenes rendered to PNG, or files read from disk."""

from __future__ import annotations

from functools import lru_cache

from uniprobe.cases.schema import Case, ImageSource
from uniprobe.errors import UsageError
from uniprobe.scenes.render import RenderedScene, render_scene, to_png

__all__ = ["case_image_bytes", "rendered_source"]


@lru_cache(maxsize=256)
def _render(source: ImageSource) -> RenderedScene:
    assert source.scene is not None
    return render_scene(source.scene)


def rendered_source(source: ImageSource) -> RenderedScene:
    """The rendering (pixels and exact part boxes) of a scene source."""
    return _render(source)


def case_image_bytes(case: Case, name: str) -> bytes:
    """Encoded bytes of one of the case's images (PNG for scenes; files as they are)."""
    source = case.images[name]
    if source.scene is not None:
        return to_png(_render(source).image)
    assert source.file is not None
    if case.origin is None:
        raise UsageError(f"case {case.id}: image file '{source.file}' needs the case's file path")
    return (case.origin.file.parent / source.file).read_bytes()
