"""What the annotation server accepts from a request, and the bounds it holds them to.

Every request is checked before any work is done on it, and a bad one gets a 4xx with
a short JSON body `{"error": "..."}` (never a 500, never the input echoed at length):

* a request line with a path over `MAX_PATH` bytes or a query over `MAX_QUERY` bytes:
  414;
* a body over `MAX_BODY` bytes: 413, at once when `Content-Length` says so (nothing is
  read), else as soon as the streamed body passes the bound (it is read in chunks and
  never held beyond the bound);
* a label not sent as `application/json` (UTF-8, no content encoding): 415;
* a body that is not a JSON object of exactly `LabelRequest`'s fields, each of its type
  and length: 400, whatever its shape (nesting deeper than the parser's limit, invalid
  UTF-8, numbers out of range, a repeated key, a list or a string at the top);
* query parameters that are unknown, repeated where one is expected, or invalid: 400.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import Headers, QueryParams
from starlette.requests import ClientDisconnect, Request

from uniprobe.errors import UsageError
from uniprobe.store.labels.keys import ITEM_KEY_LENGTH
from uniprobe.store.labels.label import AnnotatorName, LabelValue

__all__ = [
    "MAX_BODY",
    "MAX_CANVAS_ID",
    "MAX_PATH",
    "MAX_QUERY",
    "MAX_SKIPPED",
    "LabelRequest",
    "NextQuery",
    "Refused",
    "content_length",
    "first_error",
    "json_content",
    "label_request",
    "next_query",
    "one_param",
    "read_body",
    "shown",
]

MAX_BODY = 16_384
"""Bytes of a request body, at most (a label is about 150)."""
MAX_PATH = 2_048
"""Bytes of a request path, at most."""
MAX_QUERY = 16_384
"""Bytes of a query string, at most (the page lists the canvases skipped in it)."""
MAX_CANVAS_ID = 512
"""Characters of a canvas id, at most."""
MAX_SKIPPED = 1_000
"""Canvases one request may skip (`exclude`), at most."""
_SHOWN = 80


class Refused(UsageError):
    """A request the server will not act on: its HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class LabelRequest(BaseModel):
    """The body of POST /api/labels."""

    model_config = ConfigDict(extra="forbid")

    annotator: AnnotatorName
    """Who answers."""
    canvas: str = Field(min_length=1, max_length=MAX_CANVAS_ID)
    """The canvas id the item was shown on."""
    item: str = Field(min_length=1, max_length=ITEM_KEY_LENGTH)
    """The item key."""
    label: LabelValue
    """pass, fail or cant_tell."""


class NextQuery(BaseModel):
    """The query of GET /api/next (and the optional one of GET /api/canvas/ID)."""

    model_config = ConfigDict(extra="forbid")

    annotator: AnnotatorName
    """Who asks."""
    exclude: list[str] = Field(default_factory=list, max_length=MAX_SKIPPED)
    """Canvases they skipped: offered again only when nothing else is left."""


def shown(text: str) -> str:
    """Text from a request as an error message quotes it: at most 80 characters."""
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def content_length(headers: Headers) -> int | None:
    """The declared body size, or None; `Refused` (413) over `MAX_BODY`."""
    value = headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise Refused(400, "content-length: not a number of bytes")
    if int(value) > MAX_BODY:
        raise Refused(413, f"a request body is at most {MAX_BODY} bytes")
    return int(value)


async def read_body(request: Request) -> bytes:
    """The body, read in chunks; `Refused` (413) as soon as it passes `MAX_BODY`."""
    content_length(request.headers)
    chunks: list[bytes] = []
    size = 0
    try:
        async with aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > MAX_BODY:
                    raise Refused(413, f"a request body is at most {MAX_BODY} bytes")
                chunks.append(chunk)
    except ClientDisconnect:
        raise Refused(400, "the client went away before sending the body") from None
    return b"".join(chunks)


def json_content(headers: Headers) -> None:
    """`Refused` (415) unless the body is declared as JSON in UTF-8, unencoded."""
    kind, _, params = headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if kind.strip().lower() != "application/json" or charset not in ("", "utf-8"):
        raise Refused(415, "send the label as JSON (Content-Type: application/json)")
    if headers.get("content-encoding", "identity").lower() != "identity":
        raise Refused(415, "send the label unencoded (no Content-Encoding)")


def label_request(body: bytes) -> LabelRequest:
    """The label a POST body carries, or `Refused` (400) saying what is wrong."""
    try:
        request = LabelRequest.model_validate_json(body)
        json.loads(body, object_pairs_hook=_no_repeats)  # depth is bounded: it validated
    except ValidationError as exc:
        raise Refused(400, first_error(exc)) from None
    except _Repeated as exc:
        raise Refused(400, f"{shown(str(exc))}: given twice") from None
    return request


class _Repeated(ValueError):
    pass


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(key)
        out[key] = value
    return out


def next_query(params: QueryParams) -> NextQuery:
    """Who asks for a canvas and what they skipped, or `Refused` (400)."""
    data: dict[str, Any] = {}
    for key in params:
        values = params.getlist(key)
        if key == "exclude":
            data[key] = values
        elif len(values) > 1:
            raise Refused(400, f"{shown(key)}: given {len(values)} times; give it once")
        else:
            data[key] = values[0]
    if not data.get("annotator", "").strip():
        raise Refused(400, "annotator: name yourself first (?annotator=NAME)")
    try:
        return NextQuery.model_validate(data)
    except ValidationError as exc:
        raise Refused(400, first_error(exc)) from None


def one_param(params: QueryParams, name: str, default: str, allowed: Mapping[str, str]) -> str:
    """A single-valued query parameter from a fixed set (the only one the route takes)."""
    for key in params:
        if key != name:
            raise Refused(400, f"{shown(key)}: unknown parameter; this route takes '{name}'")
    values = params.getlist(name)
    if len(values) > 1:
        raise Refused(400, f"{name}: given {len(values)} times; give it once")
    value = values[0] if values else default
    if value not in allowed:
        raise Refused(400, f"{name}: use {' or '.join(allowed)}, not '{shown(value)}'")
    return value


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as `where: why` (`body` for the whole body)."""
    err = exc.errors()[0]
    if err["type"] == "json_invalid":
        reason = str(err["msg"]).removeprefix("Invalid JSON: ")
        return f"the body is not JSON: {reason}"
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{shown(where)}: {str(err['msg']).removeprefix('Value error, ')}"
