"""The images a case ships: synthetic scenes rendered to PNG, or files read from disk.

An image file is checked when its case is loaded, cheapest check first: its size
(`MAX_IMAGE_BYTES`) before it is opened, its width and height (`MAX_IMAGE_SIDE`) from
its header before its pixels are decoded, then a full decode (a truncated file fails
here). Pillow's own decompression-bomb bound is kept as an error, never a warning.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from uniprobe.cases.limits import MAX_IMAGE_BYTES, MAX_IMAGE_SIDE
from uniprobe.cases.schema import Case, ImageSource
from uniprobe.errors import UsageError
from uniprobe.scenes.render import RenderedScene, render_scene, to_png

__all__ = ["case_image_bytes", "image_file_problem", "rendered_source"]


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


def image_file_problem(path: Path) -> str | None:
    """Why the regular file at `path` is not a usable case image, or None if it is."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES.value:
        return f"is {size} bytes; {MAX_IMAGE_BYTES.message()}"
    side = MAX_IMAGE_SIDE.message("each side must be at most")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
                if max(width, height) > MAX_IMAGE_SIDE.value:
                    return f"is {width}x{height} pixels; {side}"
                image.load()
    except UnidentifiedImageError:
        return "is not an image (PNG, JPEG, WebP or another format Pillow reads)"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return f"declares more pixels than can be decoded safely; {side}"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"cannot be decoded: {exc}"
    return None
