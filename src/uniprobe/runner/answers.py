"""What an imported answer file must be, checked before a run folder is made.

Rules (each broken rule is one line naming the file):

* an image answer (`.png`, `.jpg`, `.jpeg`, `.webp`) is a PNG, JPEG or WebP image that
  Pillow reads to its end (not truncated), of at most `MAX_IMAGE_BYTES`, at most
  `MAX_SIDE` pixels a side and `MAX_PIXELS` pixels in all (its header is read before
  its pixels, so a huge image is refused without decoding it);
* a text answer (`.txt`) is UTF-8 (a byte-order mark allowed) of at most
  `MAX_TEXT_BYTES`; a byte that is not UTF-8 is located by line and column.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from uniprobe.config import not_utf8

__all__ = [
    "IMAGE_FORMATS",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_TEXT_BYTES",
    "answer_problem",
    "read_text_answer",
]

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
"""Image formats an answer may be in (whatever its suffix says)."""
MAX_IMAGE_BYTES = 50_000_000
"""The largest image answer file."""
MAX_SIDE = 16_384
"""The longest side of an image answer, in pixels."""
MAX_PIXELS = 64_000_000
"""The most pixels of an image answer (width x height)."""
MAX_TEXT_BYTES = 1_000_000
"""The largest text answer file."""

_OBJECT = re.compile(r"\s*<[^>]* at 0x[0-9a-f]+>")


def answer_problem(path: Path) -> str | None:
    """Why `path` cannot be imported as an answer (one line naming it), or None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    if path.suffix.lower() == ".txt":
        if size > MAX_TEXT_BYTES:
            return f"{path}: a text answer of {size:,} bytes (at most {MAX_TEXT_BYTES:,})"
        try:
            read_text_answer(path)
        except ValueError as exc:
            return str(exc)
        return None
    if size > MAX_IMAGE_BYTES:
        return f"{path}: an image of {size:,} bytes (at most {MAX_IMAGE_BYTES:,})"
    return _image_problem(path)


def read_text_answer(path: Path) -> str:
    """The text of a `.txt` answer, stripped; ValueError (one located line) if not UTF-8."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        raise ValueError(not_utf8(path, raw, exc)) from None


def _image_problem(path: Path) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                fmt = im.format or "unknown"
                if fmt not in IMAGE_FORMATS:
                    return f"{path}: a {fmt} image; save it as PNG, JPEG or WebP"
                if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
                    return (
                        f"{path}: {width}x{height} pixels is too large (at most {MAX_SIDE} "
                        f"a side and {MAX_PIXELS:,} in all)"
                    )
                im.verify()
    except Image.DecompressionBombError:
        return f"{path}: too many pixels to be an answer (at most {MAX_PIXELS:,})"
    except UnidentifiedImageError:
        return f"{path}: not a readable PNG, JPEG or WebP image (not an image format Pillow knows)"
    except (OSError, ValueError, SyntaxError) as exc:
        reason = _OBJECT.sub("", str(exc)).strip() or type(exc).__name__
        return f"{path}: not a readable PNG, JPEG or WebP image ({reason})"
    return None
