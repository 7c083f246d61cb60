"""A small multipart/form-data parser (the standard library's `cgi` is gone in 3.13)."""

from __future__ import annotations

import re

from uniprobe.testing._wire import FilePart

__all__ = ["parse_multipart"]

_PARAM = re.compile(r';\s*([\w*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _params(header: str) -> tuple[str, dict[str, str]]:
    value, _, rest = header.partition(";")
    params = {}
    for name, raw in _PARAM.findall(";" + rest):
        v = raw.strip()
        if v.startswith('"') and v.endswith('"'):
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        params[name.lower()] = v
    return value.strip().lower(), params


def parse_multipart(
    content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, list[FilePart]]]:
    """Split a multipart/form-data body into text fields and files.

    Args:
        content_type: The request's Content-Type header, with its boundary.
        body: The raw request body.

    Returns:
        Text fields (name -> value; a repeated name keeps the last) and files
        (name -> every uploaded file under that name, in order).

    Raises:
        ValueError: not multipart/form-data, or the body is malformed.
    """
    kind, params = _params(content_type)
    boundary = params.get("boundary")
    if kind != "multipart/form-data" or not boundary:
        raise ValueError("expected multipart/form-data with a boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ValueError("multipart body has no closing boundary")
    fields: dict[str, str] = {}
    files: dict[str, list[FilePart]] = {}
    for chunk in chunks[1:-1]:
        part = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without headers")
        headers = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if colon:
                headers[key.strip().lower()] = value.strip()
        _, disp = _params(headers.get("content-disposition", ""))
        name = disp.get("name")
        if name is None:
            raise ValueError("multipart part without a name")
        if "filename" in disp:
            ctype = headers.get("content-type", "application/octet-stream")
            files.setdefault(name, []).append(FilePart(disp["filename"], ctype, data))
        else:
            fields[name] = data.decode("utf-8")
    return fields, files
