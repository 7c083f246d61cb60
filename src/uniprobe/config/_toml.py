"""Reading a TOML file as a person wrote it: bytes decoded with a located message, syntax
errors with line and column, and the line where each key was written.

Rules:

* The file must be a regular file of at most `MAX_BYTES`, in UTF-8 (a leading byte-order
  mark is allowed); anything else is a `ConfigError` naming the file (and, for bytes
  that are not UTF-8, the line and column of the first bad one).
* A syntax error is `FILE:LINE:COLUMN: invalid TOML: <tomllib's reason>`.
* `tomllib` gives no positions for keys, so `KeyLines` scans the text for table headers
  (`[a."b"]`, `[[a]]`) and assignments (`a.b = ...`) outside multi-line strings: the
  line of a key path is where it (or its nearest written parent) first appears.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from uniprobe.errors import ConfigError

__all__ = ["MAX_BYTES", "KeyLines", "TomlFile", "not_utf8", "read_toml"]

MAX_BYTES = 1_000_000
"""The largest configuration file read (a real one is a few hundred bytes)."""

_AT = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$")
_BARE = re.compile(r"[A-Za-z0-9_-]+")
_HEADER = re.compile(r"^\s*\[\[?(?P<key>[^\]]*)\]\]?\s*(#.*)?$")


@dataclass
class KeyLines:
    """Line numbers (1-based) of key paths as written in a TOML text."""

    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    @classmethod
    def scan(cls, text: str) -> KeyLines:
        """Index every table header and assignment of `text`."""
        found = cls()
        table: tuple[str, ...] = ()
        fence: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if fence is not None:
                if line.count(fence) % 2 == 1:
                    fence = None
                continue
            header = _HEADER.match(line)
            if header is not None:
                keys = _split_key(header.group("key"))
                if keys is not None:
                    table = tuple(keys)
                    found._add(table, number)
                continue
            key, sep, value = line.partition("=")
            keys = _split_key(key) if sep else None
            if keys is None:
                continue
            found._add((*table, *keys), number)
            for quote in ('"""', "'''"):
                if value.count(quote) % 2 == 1:
                    fence = quote
        return found

    def _add(self, path: tuple[str, ...], number: int) -> None:
        for end in range(1, len(path) + 1):
            self.lines.setdefault(path[:end], number)

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """The line of the longest written prefix of `loc`, or None."""
        path = tuple(str(p) for p in loc)
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _split_key(text: str) -> list[str] | None:
    """The parts of a dotted TOML key (`a."b.c".d`), or None if `text` is not one."""
    parts: list[str] = []
    rest = text.strip()
    while rest:
        if rest[0] in "\"'":
            end = rest.find(rest[0], 1)
            if end < 0:
                return None
            parts.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            bare = _BARE.match(rest)
            if bare is None:
                return None
            parts.append(bare.group())
            rest = rest[bare.end() :].lstrip()
        if rest.startswith("."):
            rest = rest[1:].lstrip()
            if not rest:
                return None
        elif rest:
            return None
    return parts or None


@dataclass(frozen=True)
class TomlFile:
    """A parsed TOML file with where its keys are."""

    path: Path
    data: dict[str, Any]
    keys: KeyLines


def read_toml(path: Path) -> TomlFile:
    """Read, decode and parse `path` (see the module doc for what is refused)."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder, not a config file (name a .toml file)")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{path}: larger than {MAX_BYTES:,} bytes; not a config file")
    text = _decode(path, raw)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{_where(path, text, str(exc))}: invalid TOML: {_reason(exc)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    return TomlFile(path, data, KeyLines.scan(text))


def _decode(path: Path, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(not_utf8(path, raw, exc)) from None


def not_utf8(path: Path, raw: bytes, exc: UnicodeDecodeError) -> str:
    """The one line that says where `raw` (read from `path`) stops being UTF-8:
    `FILE:LINE:COLUMN: not UTF-8 text (byte 0xff); save the file as UTF-8`."""
    line = raw.count(b"\n", 0, exc.start) + 1
    column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
    utf16 = " (it looks like UTF-16)" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ""
    return (
        f"{path}:{line}:{column}: not UTF-8 text (byte 0x{raw[exc.start]:02x}){utf16}; "
        "save the file as UTF-8"
    )


def _where(path: Path, text: str, message: str) -> str:
    at = _AT.search(message)
    if at is None:
        return str(path)
    if at.group(1) is None:
        return f"{path}:{max(1, len(text.splitlines()))}"
    return f"{path}:{at.group(1)}:{at.group(2)}"


def _reason(exc: tomllib.TOMLDecodeError) -> str:
    return _AT.sub("", str(exc)) or "syntax error"
