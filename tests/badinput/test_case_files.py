"""The bad-input corpus for case files and case images (issue 11, points 1, 2 and 6).

Each input is a small folder written into `tmp_path`; the real `uniprobe` command must
refuse it with exit status 2 and the one exact `error:` line given, within the harness's
time and memory bounds, changing nothing on disk (see `harness.refuse`). The inputs are
what an attacker or a tired user writes: counts a picture cannot hold, booleans and
floats for numbers, alias bombs, deep nesting, foreign encodings, NUL bytes, non-text
keys, files that are folders, pipes or link loops, and images that are text, truncated
or declare 100000x100000 pixels.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import refuse
from PIL import Image

Maker = Callable[[Path], None]
Files = dict[str, str | bytes | Maker]

CASE = """\
- id: t.case
  family: global_instruction
  subtype: test
  turns:
    - user: "Draw dogs."
      expect:
"""
"""One case, six lines; a check appended with `check()` is on line 7."""
TWO_TURNS = """\
- id: t.two
  family: post_generation
  subtype: test
  turns:
    - user: "Draw twenty dogs."
      expect:
        - count: {object: dog, equals: 20}
    - user: "Add as many cats."
      expect:
"""
"""A two-turn case; a check appended is on line 10."""
GOOD = CASE + "        - present: {object: dog}\n"
"""A valid case, seven lines long."""

PICTURE = "a picture holds at most 20 legible objects"
NAME = "a name is a short word"


def check(*lines: str) -> str:
    """The case with these checks, one per line from line 7."""
    return CASE + "".join(f"        - {line}\n" for line in lines)


def with_image(source: str) -> str:
    """A case whose image `photo` is `source` (line 5), attached to its one turn."""
    return (
        "- id: t.photo\n"
        "  family: editing\n"
        "  subtype: test\n"
        "  images:\n"
        f"    photo: {source}\n"
        "  turns:\n"
        '    - user: "Make it brighter."\n'
        "      attach: [photo]\n"
    )


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares this size in its header and holds no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


def png(width: int, height: int) -> bytes:
    """A real PNG of this size."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def alias_bomb() -> str:
    """Nine lines that expand to 9**9 strings if aliases are followed."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def _symlink_loop(path: Path) -> None:
    (path / "loop.yaml").symlink_to(path / "loop.yaml")


def _fifo(path: Path) -> None:
    os.mkfifo(path / "pipe.yaml")


def _folder_named_yaml(path: Path) -> None:
    (path / "x.yaml").mkdir()


def _sparse_image(path: Path) -> None:
    with (path / "photo.png").open("wb") as stream:
        stream.truncate(21 * 2**20)


def _many_files(path: Path) -> None:
    suite = path / "suite"
    suite.mkdir()
    for i in range(201):
        (suite / f"f{i:03}.yaml").write_bytes(b"")


def _write(root: Path, files: Files) -> None:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_bytes(content.encode("utf-8"))
        else:
            content(root)


def _p(files: Files | str, expected: str, id: str, suite: str = "bad.yaml") -> object:
    """One corpus input: files (or the text of bad.yaml), the suite argument, the line."""
    written = {"bad.yaml": files} if isinstance(files, str) else files
    return pytest.param(written, suite, expected, id=id)


E7 = "error: bad.yaml:7: case t.case · turns.0.expect.0"
E5 = "error: bad.yaml:5: case t.photo · images.photo"

CORPUS = [
    # --- counts a picture cannot hold --------------------------------------------------------
    _p(
        check("count: {object: dog, equals: 1000000000000000000000000000000}"),
        f"{E7}.count.equals: must be at most 20 ({PICTURE})",
        "count-10-to-the-30",
    ),
    _p(
        check("count: {object: dog, equals: 1000000}"),
        f"{E7}.count.equals: must be at most 20 ({PICTURE})",
        "count-a-million",
    ),
    _p(
        check("count: {object: dog, equals: 21}"),
        f"{E7}.count.equals: must be at most 20 ({PICTURE})",
        "count-one-over",
    ),
    _p(
        check("count: {object: dog, at_least: 50}"),
        f"{E7}.count.at_least: must be at most 20 ({PICTURE})",
        "at-least-fifty",
    ),
    _p(
        check("count: {object: dog, at_least: 1, at_most: 99999999999}"),
        f"{E7}.count.at_most: must be at most 20 ({PICTURE})",
        "at-most-huge",
    ),
    _p(
        check("count: {object: dog, equals: 2, literal: 400}"),
        f"{E7}.count.literal: must be at most 20 ({PICTURE})",
        "literal-huge",
    ),
    _p(
        check("count: {object: dog, equals: -1}"),
        f"{E7}.count.equals: Input should be greater than or equal to 0",
        "count-negative",
    ),
    _p(
        check("count: {object: dog, equals: 10, matches: {object: cat, turn: 1, times: 100}}"),
        f"{E7}.count.matches.times: must be at most 4 ('four times as many' at most)",
        "matches-times-100",
    ),
    _p(
        check("count: {object: dog, matches: {object: cat, turn: 1, plus: -1000}}"),
        f"{E7}.count.matches.plus: must be at least -20 ({PICTURE})",
        "matches-plus-minus-1000",
    ),
    _p(
        TWO_TURNS + "        - count: {object: cat, matches: {object: dog, turn: 1, times: 4}}\n",
        "error: bad.yaml:10: case t.two · turns.1.expect.0.count.matches: asks for up to 80"
        f" objects (20 x 4 + 0); a count must be at most 20 ({PICTURE})",
        "matches-four-times-twenty",
    ),
    _p(
        TWO_TURNS + "        - count: {object: cat, matches: {object: bird, turn: 1}}\n",
        "error: bad.yaml:10: case t.two · turns.1.expect.0.count.matches: turn 1 has no count"
        " of 'bird' with equals or at_most, so how many this asks for is unbounded; add one",
        "matches-unbounded",
    ),
    _p(
        check(
            "count: {object: dog, equals: 10}",
            "count: {object: cat, equals: 10}",
            "count: {object: bird, at_least: 10}",
        ),
        "error: bad.yaml:6: case t.case · turns.0.expect: the count checks on turn 1's canvas"
        f" ask for 30 objects together; must be at most 20 ({PICTURE})",
        "canvas-total-30",
    ),
    # --- booleans, floats and text where whole numbers belong ----------------------------------
    _p(
        check("count: {object: dog, equals: true}"),
        f"{E7}.count.equals: must be a whole number, not true",
        "equals-true",
    ),
    _p(
        check("count: {object: dog, equals: yes}"),
        f"{E7}.count.equals: must be a whole number, not true",
        "equals-yes",
    ),
    _p(
        check("count: {object: dog, equals: 2.0}"),
        f"{E7}.count.equals: must be a whole number, not 2.0",
        "equals-float",
    ),
    _p(
        check("count: {object: dog, equals: 1.0e+309}"),
        f"{E7}.count.equals: must be a whole number, not inf",
        "equals-1e309-inf",
    ),
    _p(
        check("count: {object: dog, equals: 1e309}"),
        f"{E7}.count.equals: must be a whole number, not '1e309'",
        "equals-1e309-text",
    ),
    _p(
        check("count: {object: dog, equals: .nan}"),
        f"{E7}.count.equals: must be a whole number, not nan",
        "equals-nan",
    ),
    _p(
        check('count: {object: dog, equals: "5"}'),
        f"{E7}.count.equals: must be a whole number, not '5'",
        "equals-quoted",
    ),
    _p(
        check("present: {object: dog, turn: true}"),
        f"{E7}.present.turn: must be a whole number, not true",
        "turn-true",
    ),
    # --- cross-field rules ----------------------------------------------------------------------
    _p(
        check("count: {object: dog, at_least: 5, at_most: 2}"),
        f"{E7}.count: at_least (5) is more than at_most (2): no count satisfies both",
        "at-least-above-at-most",
    ),
    _p(
        check("count: {object: dog, equals: 3, literal: 3}"),
        f"{E7}.count: literal is 3, the same as equals: the literal reading must differ",
        "literal-same-as-equals",
    ),
    # --- lengths -----------------------------------------------------------------------------
    _p(
        GOOD.replace("Draw dogs.", "x" * 5000),
        "error: bad.yaml:5: case t.case · turns.0.user: has 5000 characters; must be at most"
        " 4000 (a prompt, question or description fits in a few paragraphs)",
        "prompt-5000-chars",
    ),
    _p(
        GOOD.replace("t.case", "t" * 101),
        f"error: bad.yaml:1: case {'t' * 101} · id: has 101 characters; must be at most 100"
        f" ({NAME})",
        "id-101-chars",
    ),
    _p(
        check(f"present: {{object: {'dog' * 400}}}"),
        f"{E7}.present.object: has 1200 characters; must be at most 100 ({NAME})",
        "object-word-1200-chars",
    ),
    _p(
        CASE.replace("      expect:\n", "") + "".join(f"    - user: t{i}\n" for i in range(21)),
        "error: bad.yaml:4: case t.case · turns: has 22 turns; must be at most 20"
        " (a conversation of a case is short; the shipped ones have at most 7)",
        "turns-22",
    ),
    _p(
        check(*["present: {object: dog}"] * 31),
        "error: bad.yaml:6: case t.case · turns.0.expect: has 31 checks; must be at most 30"
        " (checks of one turn)",
        "expectations-31",
    ),
    _p(
        GOOD.replace(
            "  turns:", "  tags: [" + ", ".join(f"t{i}" for i in range(33)) + "]\n  turns:"
        ),
        "error: bad.yaml:4: case t.case · tags: has 33 tags; must be at most 32"
        " (tags are a few labels for filtering)",
        "tags-33",
    ),
    # --- empty files and the wrong shape -------------------------------------------------------
    _p("", "error: bad.yaml: no cases (a case file is a YAML list of cases)", "empty-file"),
    _p(
        "# cases go here\n# later\n",
        "error: bad.yaml: no cases (a case file is a YAML list of cases)",
        "comments-only",
    ),
    _p("[]\n", "error: bad.yaml: no cases (a case file is a YAML list of cases)", "empty-list"),
    _p(
        "id: t.case\nfamily: editing\n",
        "error: bad.yaml:1: a case file is a YAML list of cases",
        "a-mapping-not-a-list",
    ),
    _p(
        "- id: a\n---\n- id: b\n",
        "error: bad.yaml:2: invalid YAML: but found another document"
        " (expected a single document in the stream at line 1)",
        "two-documents",
    ),
    _p(
        CASE.replace("  family:", "\tfamily:"),
        "error: bad.yaml:2: invalid YAML: found character '\\t' that cannot start any token",
        "tab-indent",
    ),
    # --- YAML that would eat the machine -------------------------------------------------------
    _p(
        alias_bomb(),
        "error: bad.yaml:1: anchors and aliases (&name, *name) are not allowed in case files;"
        " write the value out",
        "alias-bomb",
    ),
    _p(
        "- &c {id: t.case}\n",
        "error: bad.yaml:1: anchors and aliases (&name, *name) are not allowed in case files;"
        " write the value out",
        "anchor-alone",
    ),
    _p(
        "- " + "[" * 100_000 + "]" * 100_000 + "\n",
        "error: bad.yaml:1: nested 17 levels deep; must be at most 16"
        " (the deepest shipped case nests 10 levels)",
        "nested-100000",
    ),
    _p(
        "".join("  " * i + "- \n" for i in range(40)),
        "error: bad.yaml:17: nested 17 levels deep; must be at most 16"
        " (the deepest shipped case nests 10 levels)",
        "nested-block-40",
    ),
    _p(
        "# padding\n" * 60_000,
        "error: bad.yaml: is 600000 bytes; must be at most 524288"
        " (a case file is read whole; the largest shipped one is 96 KiB)",
        "file-600-kb",
    ),
    _p(
        "- !!python/object/apply:os.system ['touch pwned']\n",
        "error: bad.yaml:1: YAML tags (tag:yaml.org,2002:python/object/apply:os.system) are"
        " not allowed in case files; quote the value",
        "python-tag",
    ),
    _p(
        CASE.replace("Draw dogs.", "x").replace('"x"', "!!binary aGVsbG8="),
        "error: bad.yaml:5: YAML tags (tag:yaml.org,2002:binary) are not allowed in case"
        " files; quote the value",
        "binary-tag",
    ),
    # --- keys ---------------------------------------------------------------------------------
    _p(check("{? [a, b] : 1}"), "error: bad.yaml:7: a key is a plain name, not a list", "list-key"),
    _p(
        check("{{a: 1}: 1}"),
        "error: bad.yaml:7: a key is a plain name, not a mapping",
        "mapping-key",
    ),
    _p(
        CASE.replace("  subtype:", "  yes: 1\n  subtype:"),
        "error: bad.yaml:3: key 'yes' is read as true/false; quote it",
        "bool-key",
    ),
    _p(
        with_image("{scene: {objects: []}}").replace("    photo:", "    1:"),
        "error: bad.yaml:5: key '1' is read as a number; quote it",
        "number-key",
    ),
    _p(
        CASE.replace("  subtype:", "  ~: x\n  subtype:"),
        "error: bad.yaml:3: key '~' is read as nothing (null); quote it",
        "null-key",
    ),
    _p(
        GOOD.replace("  subtype: test\n", "  subtype: test\n  subtype: again\n"),
        "error: bad.yaml:4: case t.case · subtype: duplicate key 'subtype'",
        "duplicate-key",
    ),
    _p(
        check("c\u043eunt: {object: dog, equals: 2}"),
        f"{E7}: unknown check 'c\u043eunt'; did you mean 'count'?",
        "confusable-check-kind",
    ),
    _p(
        GOOD.replace("t.case", "t.c\u0430se"),
        "error: bad.yaml:1: case t.c\u0430se · id: ids use letters, digits, '.', '_' and '-'",
        "confusable-id",
    ),
    # --- encodings ------------------------------------------------------------------------------
    _p(
        {"bad.yaml": b"\xff\xfe" + CASE.encode("utf-16-le")},
        "error: bad.yaml:1: is UTF-16 (it starts with a byte-order mark); save it as UTF-8",
        "utf-16-le-bom",
    ),
    _p(
        {"bad.yaml": b"\xfe\xff" + CASE.encode("utf-16-be")},
        "error: bad.yaml:1: is UTF-16 (it starts with a byte-order mark); save it as UTF-8",
        "utf-16-be-bom",
    ),
    _p(
        {"bad.yaml": CASE.encode("utf-32")},
        "error: bad.yaml:1: is UTF-32 (it starts with a byte-order mark); save it as UTF-8",
        "utf-32-bom",
    ),
    _p(
        {"bad.yaml": CASE.encode("utf-16-le")},
        "error: bad.yaml:1: character U+0000 is not allowed in YAML"
        " (UTF-16 saved without a byte-order mark?)",
        "utf-16-no-bom",
    ),
    _p(
        {"bad.yaml": CASE.replace("Draw dogs.", "Dessine des chiens \u00e9").encode("latin-1")},
        "error: bad.yaml:5: is not UTF-8: byte 0xe9 at offset 99; save the file as UTF-8",
        "latin-1",
    ),
    _p(
        {"bad.yaml": CASE.replace("Draw", "Dr\0aw").encode()},
        "error: bad.yaml:5: character U+0000 is not allowed in YAML"
        " (UTF-16 saved without a byte-order mark?)",
        "nul-byte",
    ),
    _p(
        {"bad.yaml": CASE.replace("Draw", "\x1b[31mDraw").encode()},
        "error: bad.yaml:5: character U+001B is not allowed in YAML",
        "escape-sequence",
    ),
    # --- paths that are not case files ------------------------------------------------------
    _p(
        {"x.yaml": _folder_named_yaml},
        "error: x.yaml: no .yaml case files in this folder",
        "folder-named-x-yaml",
        "x.yaml",
    ),
    _p(
        {"suite/a.yaml": check("present: {object: dog}"), "suite/x.yaml/keep": ""},
        "error: suite/x.yaml: cannot read: a folder; a case file is a .yaml file",
        "folder-inside-a-suite",
        "suite",
    ),
    _p(
        {"loop.yaml": _symlink_loop},
        "error: loop.yaml: cannot read: a link to nothing (or a loop)",
        "symlink-loop",
        "loop.yaml",
    ),
    _p(
        {"pipe.yaml": _fifo},
        "error: pipe.yaml: cannot read: not a regular file; a case file is a .yaml file",
        "named-pipe",
        "pipe.yaml",
    ),
    _p(
        {"suite/notes.txt": "hi"},
        "error: suite: no .yaml case files in this folder",
        "suite-without-case-files",
        "suite",
    ),
    _p(
        {"many": _many_files},
        "error: suite: has 201 case files; must be at most 200 (a suite folder is read whole)",
        "suite-of-201-files",
        "suite",
    ),
    # --- case images ----------------------------------------------------------------------------
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": "just some text\n"},
        f"{E5}.file: photo.png is not an image (PNG, JPEG, WebP or another format Pillow reads)",
        "image-is-text",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": b""},
        f"{E5}.file: photo.png is not an image (PNG, JPEG, WebP or another format Pillow reads)",
        "image-empty",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": png(64, 64)[:-40]},
        f"{E5}.file: photo.png cannot be decoded: image file is truncated",
        "image-truncated",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": png_header(100_000, 100_000)},
        f"{E5}.file: photo.png declares more pixels than can be decoded safely;"
        " each side must be at most 4096 (as for synthetic scenes)",
        "image-100000-squared",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": png_header(5000, 10)},
        f"{E5}.file: photo.png is 5000x10 pixels; each side must be at most 4096"
        " (as for synthetic scenes)",
        "image-5000-wide",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png": _sparse_image},
        f"{E5}.file: photo.png is 22020096 bytes; must be at most 20971520"
        " (a case image is a picture, not an archive)",
        "image-21-mib",
    ),
    _p(
        {"bad.yaml": with_image("{file: photo.png}"), "photo.png/keep": ""},
        f"{E5}.file: file not found: photo.png",
        "image-is-a-folder",
    ),
    _p(
        with_image("{scene: {objects: [{kind: dog, x: .nan, y: 10, size: 60}]}}"),
        f"{E5}.scene.objects.0.x: nan is off the canvas (0 to 512)",
        "scene-x-nan",
    ),
    _p(
        with_image("{scene: {objects: [{kind: dog, x: 10, y: 100000, size: 60}]}}"),
        f"{E5}.scene.objects.0.y: 100000.0 is off the canvas (0 to 512)",
        "scene-y-far",
    ),
    _p(
        with_image("{scene: {objects: [{kind: dog, x: 10, y: 10, size: 1.0e+12}]}}"),
        f"{E5}.scene.objects.0.size: 1000000000000.0 is larger than twice the canvas (1024)",
        "scene-size-huge",
    ),
    _p(
        with_image(
            "{scene: {objects: ["
            + ", ".join("{kind: dog, x: 10, y: 10, size: 60}" for _ in range(41))
            + "]}}"
        ),
        f"{E5}.scene.objects: has 41 objects; must be at most 40"
        " (a synthetic scene holds at most 40 objects)",
        "scene-41-objects",
    ),
]


@pytest.mark.parametrize(("files", "suite", "expected"), CORPUS)
def test_cases_validate_refuses_with_one_line(
    tmp_path: Path, files: Files, suite: str, expected: str
) -> None:
    _write(tmp_path, files)
    assert refuse(tmp_path, "cases", "validate", "--suite", suite) == expected


def test_the_corpus_has_forty_distinct_inputs() -> None:
    ids = [p.id for p in CORPUS]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) >= 40


HUGE = check("count: {object: dog, equals: 1000000000000000000000000000000}")
HUGE_LINE = f"{E7}.count.equals: must be at most 20 ({PICTURE})"


@pytest.mark.parametrize(
    ("args", "text", "expected"),
    [
        pytest.param(
            ("run", "--suite", "bad.yaml", "--model", "reference/oracle", "--out", "runs"),
            HUGE,
            HUGE_LINE,
            id="run-count-10-to-the-30",
        ),
        pytest.param(
            ("run", "--suite", "bad.yaml", "--model", "reference/oracle", "--out", "runs"),
            alias_bomb(),
            "error: bad.yaml:1: anchors and aliases (&name, *name) are not allowed in case"
            " files; write the value out",
            id="run-alias-bomb",
        ),
        pytest.param(
            ("cases", "list", "--suite", "bad.yaml"),
            "",
            "error: bad.yaml: no cases (a case file is a YAML list of cases)",
            id="list-empty",
        ),
        pytest.param(
            ("cases", "show", "t.case", "--suite", "bad.yaml"),
            check("count: {object: dog, equals: true}"),
            f"{E7}.count.equals: must be a whole number, not true",
            id="show-equals-true",
        ),
        pytest.param(
            ("cases", "export", "--out", "export", "--suite", "bad.yaml"),
            HUGE,
            HUGE_LINE,
            id="export-count-10-to-the-30",
        ),
        pytest.param(
            ("cases", "stats", "--suite", "bad.yaml"),
            "- " + "[" * 5000 + "]" * 5000 + "\n",
            "error: bad.yaml:1: nested 17 levels deep; must be at most 16"
            " (the deepest shipped case nests 10 levels)",
            id="stats-nested",
        ),
    ],
)
def test_other_commands_refuse_the_same_files(
    tmp_path: Path, args: tuple[str, ...], text: str, expected: str
) -> None:
    (tmp_path / "bad.yaml").write_text(text, encoding="utf-8")
    assert refuse(tmp_path, *args) == expected
