"""Bad import folders (`uniprobe import`): one line naming the file, exit 2, no run folder.

The answers are the oracle's to a two-case suite, laid out as `uniprobe cases prompts`
asks; each test damages a copy in one way.
"""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import refuse
from PIL import Image

import uniprobe
from conftest import TINY_SUITE
from uniprobe.store.rundir import RunDir

BIRDS = "tiny.numeric.birds"


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("answers")
    suite = base / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    [result] = uniprobe.run(suite, ["reference/oracle"], out=base / "runs", score=False)
    run = RunDir.open(result.path)
    folder = base / "answers"
    for sample in run.samples().values():
        for turn in sample.turns:
            if turn.reply is not None and turn.reply.images:
                target = folder / sample.case_id / f"turn-{turn.index}.png"
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(run.image_path(turn.reply.images[-1]), target)
    return folder


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims `width` x `height` pixels (and holds none)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunks = [(b"IHDR", ihdr), (b"IDAT", zlib.compress(b"\x00" * 64)), (b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )


def _gif() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="GIF")
    return buf.getvalue()


def _answer(folder: Path) -> Path:
    return folder / BIRDS / "turn-2.png"


def _text(data: bytes) -> Callable[[Path], Path]:
    def damage(folder: Path) -> Path:
        _answer(folder).unlink()
        target = folder / BIRDS / "turn-2.txt"
        target.write_bytes(data)
        return target

    return damage


def _bytes(make: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def damage(folder: Path) -> Path:
        target = _answer(folder)
        target.write_bytes(make(target.read_bytes()))
        return target

    return damage


def _extra(name: str, data: bytes | None = None) -> Callable[[Path], Path]:
    """Add a file (by default a copy of a good answer)."""

    def damage(folder: Path) -> Path:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_answer(folder).read_bytes() if data is None else data)
        return target

    return damage


DAMAGES = [
    # (damage, what the line says after naming the file)
    pytest.param(
        _text(b"five caf\xe9 birds"), ":1:9: not UTF-8 text (byte 0xe9)", id="text-latin-1"
    ),
    pytest.param(
        _text("five birds".encode("utf-16")), ":1:1: not UTF-8 text (byte 0xff)", id="text-utf-16"
    ),
    pytest.param(
        _text(b"x" * 1_000_001),
        ": a text answer of 1,000,001 bytes (at most 1,000,000)",
        id="text-huge",
    ),
    pytest.param(
        _bytes(lambda _: b"<html>not an image</html>"),
        ": not a readable PNG, JPEG or WebP image (not an image format Pillow knows)",
        id="not-an-image",
    ),
    pytest.param(
        _bytes(lambda _: b""),
        ": not a readable PNG, JPEG or WebP image",
        id="empty-image",
    ),
    pytest.param(
        _bytes(lambda data: data[: len(data) // 2]),
        ": not a readable PNG, JPEG or WebP image",
        id="truncated",
    ),
    pytest.param(
        _bytes(lambda _: _png_header(100_000, 100_000)),
        ": too many pixels to be an answer (at most 64,000,000)",
        id="decompression-bomb",
    ),
    pytest.param(
        _bytes(lambda _: _png_header(20_000, 1_000)),
        ": 20000x1000 pixels is too large (at most 16384 a side and 64,000,000 in all)",
        id="too-wide",
    ),
    pytest.param(
        _bytes(lambda _: _png_header(9_000, 9_000)),
        ": 9000x9000 pixels is too large",
        id="too-many-pixels",
    ),
    pytest.param(_bytes(lambda _: _gif()), ": a GIF image; save it as PNG, JPEG or WebP", id="gif"),
]


@pytest.mark.parametrize(("damage", "expected"), DAMAGES)
def test_a_bad_answer_file_is_named_and_nothing_is_imported(
    answers: Path, tmp_path: Path, damage: Callable[[Path], Path], expected: str
) -> None:
    folder = tmp_path / "answers"
    shutil.copytree(answers, folder)
    bad = damage(folder)
    line = _import(tmp_path, "answers")
    assert line.startswith(f"error: {bad.relative_to(tmp_path)}{expected}"), line
    assert "0x7f" not in line and "BytesIO" not in line


LAYOUT = [
    pytest.param(
        _extra(f"{BIRDS}/notes.md", b"# what I did"),
        f"error: answers: unexpected file: {BIRDS}/notes.md",
        id="unexpected-file",
    ),
    pytest.param(
        _extra(f"{BIRDS}/turn-9.png"),
        f"error: answers: unexpected file: {BIRDS}/turn-9.png",
        id="turn-out-of-range",
    ),
    pytest.param(
        _extra("tiny.numeric.bird/turn-2.png"),
        "error: answers: unexpected file: tiny.numeric.bird/turn-2.png",
        id="case-typo",
    ),
    pytest.param(
        _extra(f"{BIRDS}/turn-2.jpg"),
        f"error: answers: two answers for one turn: {BIRDS}/turn-2.png",  # .jpg sorts first
        id="two-answers",
    ),
]


@pytest.mark.parametrize(("damage", "expected"), LAYOUT)
def test_names_outside_the_layout_are_refused(
    answers: Path, tmp_path: Path, damage: Callable[[Path], Path], expected: str
) -> None:
    folder = tmp_path / "answers"
    shutil.copytree(answers, folder)
    damage(folder)
    line = _import(tmp_path, "answers")
    assert line == expected


def test_a_missing_answer_is_named(answers: Path, tmp_path: Path) -> None:
    shutil.copytree(answers, tmp_path / "answers")
    _answer(tmp_path / "answers").unlink()
    line = _import(tmp_path, "answers")
    assert line == f"error: answers: missing answer: {BIRDS}/turn-2{{.png,.jpg,.jpeg,.webp,.txt}}"


def test_a_folder_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "answers.zip").write_bytes(b"PK\x03\x04")
    line = _import(tmp_path, "answers.zip")
    assert line.startswith("error: answers.zip: a file, not a folder of answers")


def test_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    assert _import(tmp_path, "answrs") == "error: answrs: no such folder of answers"


def test_out_that_is_a_file(answers: Path, tmp_path: Path) -> None:
    shutil.copytree(answers, tmp_path / "answers")
    (tmp_path / "runs").write_text("not a folder", encoding="utf-8")
    line = _import(tmp_path, "answers")
    assert line == "error: out: runs is a file, not a folder for runs"


def _import(cwd: Path, folder: str) -> str:
    (cwd / "tiny.yaml").write_text(TINY_SUITE, encoding="utf-8")
    args = ["-m", "import/tired", "--suite", "tiny.yaml", "--judge", "reference"]
    return refuse(cwd, "import", folder, *args, "--images", "synthetic")
