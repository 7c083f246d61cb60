"""Reading a case file's YAML safely: bounded, decoded, scanned, then built with lines.

The rules, in the order they are applied (the first one broken ends the reading with
one located problem):

1. The path is a regular file (not a folder, a pipe or a dangling link) of at most
   `MAX_FILE_BYTES`; its size is checked before its bytes are read.
2. The bytes are UTF-8. A UTF-8 byte-order mark is dropped; a UTF-16 or UTF-32 one is
   refused by name; any other invalid byte is refused with its line and byte offset.
3. The text holds no control characters YAML refuses (a NUL usually means UTF-16
   saved without a byte-order mark).
4. The YAML event stream (parsed without building anything) nests at most `MAX_DEPTH`
   deep, has no anchors or aliases (`&a`, `*a`: an alias bomb of nine lines expands to
   gigabytes) and no explicit tags (`!!binary`, `!!python/...`).
5. The document is composed into nodes (its depth is bounded now, so this cannot
   recurse without end) and built into plain values, recording the line of every path.
   A key that is not a plain text name (a list, a mapping, a number, `yes`) ends the
   reading, as does a key longer than `MAX_NAME_CHARS`; other problems are collected,
   not raised: a duplicate key, and a text longer than `MAX_TEXT_CHARS` (cut to the
   limit so that it causes no second problem).
"""

from __future__ import annotations

import codecs
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from uniprobe.cases.limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_NAME_CHARS, MAX_TEXT_CHARS
from uniprobe.errors import CaseFileError, Problem

__all__ = ["Reader", "YamlPath", "read_text", "read_yaml"]

YamlPath = tuple[str | int, ...]

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _refuse(file: Path, message: str, line: int | None = None) -> CaseFileError:
    return CaseFileError([Problem(message, file, line)])


def _read_bytes(file: Path) -> bytes:
    try:
        if not file.is_file():
            what = "a folder" if file.is_dir() else "not a regular file"
            raise _refuse(file, f"cannot read: {what}; a case file is a .yaml file")
        size = file.stat().st_size
        if size > MAX_FILE_BYTES.value:
            raise _refuse(file, f"is {size} bytes; {MAX_FILE_BYTES.message()}")
        with file.open("rb") as stream:
            data = stream.read(MAX_FILE_BYTES.value + 1)
    except OSError as exc:
        raise _refuse(file, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_FILE_BYTES.value:
        raise _refuse(
            file, f"is more than {MAX_FILE_BYTES.value} bytes; {MAX_FILE_BYTES.message()}"
        )
    return data


def read_text(file: Path) -> str:
    """The file's text, after rules 1-3 of the module docstring."""
    data = _read_bytes(file)
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise _refuse(
                file, f"is {name} (it starts with a byte-order mark); save it as UTF-8", 1
            )
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _refuse(
            file,
            f"is not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start};"
            " save the file as UTF-8",
            line,
        ) from exc
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        char = bad.group()
        hint = " (UTF-16 saved without a byte-order mark?)" if char == "\0" else ""
        raise _refuse(
            file,
            f"character U+{ord(char):04X} is not allowed in YAML{hint}",
            text.count("\n", 0, bad.start()) + 1,
        )
    return text


def _scan(file: Path, text: str) -> None:
    """Rule 4: depth, anchors, aliases and tags, from the event stream."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _refuse(
                file,
                "anchors and aliases (&name, *name) are not allowed in case files;"
                " write the value out",
                line,
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            raise _refuse(
                file, f"YAML tags ({tag}) are not allowed in case files; quote the value", line
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH.value:
                raise _refuse(file, f"nested {depth} levels deep; {MAX_DEPTH.message()}", line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


_KINDS: dict[type, str] = {
    type(None): "nothing (null)",
    bool: "true/false",
    int: "a number",
    float: "a number",
    date: "a date",
    datetime: "a date",
}
"""How a key YAML reads as something other than text is named in the error."""


class Reader:
    """Turns a composed YAML node tree into Python values, recording each path's line
    and collecting the problems rule 5 names (see the module docstring)."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.lines: dict[YamlPath, int] = {}
        self.problems: list[tuple[YamlPath, int, str]] = []
        """(path, line, message) of every problem met while building values."""
        self._loader = yaml.SafeLoader("")

    def value(self, node: yaml.Node, path: YamlPath) -> Any:
        """The plain value of `node`, found at `path` of the document."""
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        value = self._loader.construct_object(node, deep=True)
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS.value:
            message = f"has {len(value)} characters; {MAX_TEXT_CHARS.message()}"
            self.problems.append((path, node.start_mark.line + 1, message))
            return value[: MAX_TEXT_CHARS.value]
        return value

    def _mapping(self, node: yaml.MappingNode, path: YamlPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._key(key_node, line)
            if key in out:
                self.problems.append(((*path, key), line, f"duplicate key '{key}'"))
            self.lines[(*path, key)] = line
            out[key] = self.value(value_node, (*path, key))
        return out

    def _key(self, node: yaml.Node, line: int) -> str:
        if not isinstance(node, yaml.ScalarNode):
            what = "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"
            raise _refuse(self.file, f"a key is a plain name, not {what}", line)
        key = self._loader.construct_object(node, deep=True)
        if not isinstance(key, str):
            kind = _KINDS.get(type(key), f"a {type(key).__name__}")
            raise _refuse(self.file, f"key '{node.value}' is read as {kind}; quote it", line)
        if len(key) > MAX_NAME_CHARS.value:
            message = f"a key has {len(key)} characters; {MAX_NAME_CHARS.message()}"
            raise _refuse(self.file, message, line)
        return key


def read_yaml(file: Path) -> tuple[Any, Reader]:
    """The file's value (None when it holds no document) and the reader that built it."""
    reader = Reader(file)
    text = read_text(file)
    try:
        _scan(file, text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _yaml_problem(file, exc) from exc
    if node is None:
        return None, reader
    return reader.value(node, ()), reader


def _yaml_problem(file: Path, exc: yaml.YAMLError) -> CaseFileError:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context_mark", None)
    if context is not None and line is not None and context.line + 1 != line:
        what += f" ({getattr(exc, 'context', None) or 'started'} at line {context.line + 1})"
    return _refuse(file, f"invalid YAML: {what}", line)
