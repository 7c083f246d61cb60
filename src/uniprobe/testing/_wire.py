"""What the fake endpoints share: the parsed request, the reply, base64 and image helpers."""

from __future__ import annotations

import base64
import binascii
import io
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from PIL import Image

__all__ = [
    "INVALID_BASE64",
    "Endpoint",
    "FilePart",
    "Outgoing",
    "RecordedRequest",
    "WireError",
    "b64",
    "decode_b64",
    "decode_data_url",
    "json_reply",
    "now",
    "reencode",
    "text_tokens",
]

Endpoint = Literal[
    "responses",
    "images.generations",
    "images.edits",
    "chat.completions",
    "gemini.generate",
    "models.list",
    "files",
]
"""The endpoints the fake serves; faults are matched against these."""

INVALID_BASE64 = "<<not base64: the image data was cut off>>"
"""What an image field holds under the `invalid_base64` fault: strict and lenient
decoders of either alphabet reject it."""


class FilePart(NamedTuple):
    """One uploaded file of a multipart form."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class RecordedRequest:
    """A request the fake server received, and the status it answered with."""

    method: str
    """HTTP method."""
    path: str
    """The path, without the query string."""
    query: dict[str, str]
    """Query parameters (a repeated name keeps the last value)."""
    headers: dict[str, str]
    """Headers, names in lower case."""
    body: bytes = field(default=b"", repr=False)
    """The raw body."""
    json: Any = None
    """The parsed JSON body, or None if it was not JSON."""
    form: dict[str, str] = field(default_factory=dict)
    """Text parts of a multipart form (numbers arrive as strings)."""
    files: dict[str, list[FilePart]] = field(default_factory=dict)
    """File parts of a multipart form, by field name ("image", "image[]", "mask")."""
    endpoint: Endpoint | None = None
    """Which endpoint the path routed to (None: unknown path)."""
    fault: str | None = None
    """The fault injected into the reply, if any."""
    status: int | None = None
    """The status sent; None while in flight or when no reply was sent (timeout)."""


@dataclass(frozen=True)
class Outgoing:
    """A reply about to be sent, and how many images it carries."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    images: int = 0


class WireError(Exception):
    """Raised by an endpoint to answer with an error reply of its protocol."""

    def __init__(self, reply: Outgoing) -> None:
        super().__init__(reply.body.decode("utf-8", "replace"))
        self.reply = reply


def json_reply(
    status: int, obj: object, *, headers: Mapping[str, str] | None = None, images: int = 0
) -> Outgoing:
    """A JSON reply (compact, UTF-8) with its content type set."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    hdrs = {"content-type": "application/json", **(headers or {})}
    return Outgoing(status, body, hdrs, images)


def b64(data: bytes) -> str:
    """Standard base64, as the providers send it."""
    return base64.b64encode(data).decode("ascii")


def decode_b64(text: str) -> bytes:
    """Decode standard or URL-safe base64 (the google-genai SDK sends URL-safe).

    Raises:
        ValueError: the text is not base64 in either alphabet.
    """
    cleaned = "".join(text.split()).replace("-", "+").replace("_", "/")
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return base64.b64decode(cleaned, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64: {exc}") from exc


def decode_data_url(url: str) -> bytes:
    """The bytes of a `data:<mime>;base64,<data>` URL.

    Raises:
        ValueError: not a base64 data URL (the fake fetches nothing from the web).
    """
    head, sep, data = url.partition(",")
    if not (sep and head.startswith("data:") and head.endswith(";base64")):
        raise ValueError("only base64 data URLs are supported by the fake server")
    return decode_b64(data)


_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def reencode(data: bytes, output_format: str) -> tuple[bytes, str]:
    """The image in the requested format (png, jpeg or webp) and its MIME type.

    Bytes already in that format are returned unchanged.
    """
    fmt = output_format if output_format in _FORMATS else "png"
    with Image.open(io.BytesIO(data)) as im:
        if (im.format or "").upper() == _FORMATS[fmt]:
            return data, f"image/{fmt}"
        buf = io.BytesIO()
        im.convert("RGB").save(buf, format=_FORMATS[fmt], quality=95)
    return buf.getvalue(), f"image/{fmt}"


def text_tokens(text: str) -> int:
    """The fake's token count of a text: one token per four characters, at least one."""
    return max(1, math.ceil(len(text) / 4))


def now() -> int:
    """Unix time in whole seconds."""
    return int(time.time())
