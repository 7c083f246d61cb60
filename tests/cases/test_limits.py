"""The limits of a case file: values at a bound load, one past it is a located problem,
and problems found while reading are still collected with the others."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest
from PIL import Image

from uniprobe.cases import limits
from uniprobe.cases.checks import Count
from uniprobe.cases.loader import load_case_file, load_suite
from uniprobe.errors import CaseFileError

CASE = """\
- id: t.case
  family: global_instruction
  subtype: test
  turns:
    - user: "Draw dogs."
      expect:
"""


def _file(tmp_path: Path, *checks: str, text: str | None = None) -> Path:
    file = tmp_path / "case.yaml"
    body = CASE + "".join(f"        - {c}\n" for c in checks) if text is None else text
    file.write_text(body, encoding="utf-8")
    return file


def test_every_limit_is_listed_with_a_reason() -> None:
    assert set(limits.LIMITS) == {n for n in limits.__all__ if n.startswith("MAX_")}
    assert all(limit.value > 0 and limit.why for limit in limits.LIMITS.values())
    assert limits.MAX_COUNT.message() == (
        "must be at most 20 (a picture holds at most 20 legible objects)"
    )


def test_counts_at_the_bound_load(tmp_path: Path) -> None:
    file = _file(tmp_path, "count: {object: dog, at_least: 0, at_most: 20}")
    (case,), _ = load_case_file(file)
    check = case.turns[0].expect[0]
    assert isinstance(check, Count)
    assert (check.at_least, check.at_most) == (0, 20)


def test_a_canvas_of_twenty_objects_loads_and_twenty_one_does_not(tmp_path: Path) -> None:
    file = _file(tmp_path, "count: {object: dog, equals: 10}", "count: {object: cat, equals: 10}")
    assert len(load_case_file(file)[0]) == 1
    file = _file(tmp_path, "count: {object: dog, equals: 10}", "count: {object: cat, equals: 11}")
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    (problem,) = info.value.problems
    assert (problem.line, problem.loc) == (6, "turns.0.expect")
    assert "ask for 21 objects together" in problem.message


def test_a_check_on_an_earlier_canvas_counts_there(tmp_path: Path) -> None:
    text = (
        CASE
        + "        - count: {object: dog, equals: 15}\n"
        + '    - user: "Add cats."\n'
        + "      expect:\n"
        + "        - count: {object: cat, equals: 15}\n"
        + "        - count: {object: bird, equals: 10, turn: 1}\n"
    )
    with pytest.raises(CaseFileError) as info:
        load_case_file(_file(tmp_path, text=text))
    (problem,) = info.value.problems
    assert problem.loc == "turns.0.expect"
    assert "turn 1's canvas ask for 25 objects" in problem.message


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    file = _file(tmp_path, "present: {object: dog}")
    file.write_bytes(codecs.BOM_UTF8 + file.read_bytes())
    (case,), _ = load_case_file(file)
    assert case.id == "t.case"


def test_reading_problems_are_collected_with_the_others(tmp_path: Path) -> None:
    text = (
        CASE.replace("Draw dogs.", "x" * 4001)
        + "        - count: {object: dog, equals: true}\n"
        + "        - count: {object: cat, at_least: 3, at_most: 1}\n"
    )
    with pytest.raises(CaseFileError) as info:
        load_case_file(_file(tmp_path, text=text))
    assert sorted((p.line, p.loc) for p in info.value.problems) == [
        (5, "turns.0.user"),
        (7, "turns.0.expect.0.count.equals"),
        (8, "turns.0.expect.1.count"),
    ]
    assert str(info.value).startswith(f"3 errors in {tmp_path / 'case.yaml'}")


def test_a_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    body = CASE + "        - present: {object: dog}\n"
    padding = limits.MAX_FILE_BYTES.value - len(body.encode())
    file = _file(tmp_path, text=body + "#" * (padding - 1) + "\n")
    assert file.stat().st_size == limits.MAX_FILE_BYTES.value
    assert len(load_case_file(file)[0]) == 1


def test_an_image_at_the_side_limit_loads(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.new("L", (limits.MAX_IMAGE_SIDE.value, 8)).save(buffer, format="PNG")
    (tmp_path / "wide.png").write_bytes(buffer.getvalue())
    text = (
        "- id: t.wide\n  family: editing\n  subtype: test\n"
        "  images: {photo: {file: wide.png}}\n"
        '  turns:\n    - user: "Crop it."\n      attach: [photo]\n'
    )
    suite = load_suite(_file(tmp_path, text=text))
    assert list(suite.file_hashes) == ["t.wide/photo"]


def test_the_shipped_suites_keep_within_the_limits() -> None:
    for name in ("paper", "core"):
        suite = load_suite(name)
        assert max(len(c.turns) for c in suite.cases) <= limits.MAX_TURNS.value
