"""Loading case files and suites: the built-in suite, hashing, folders, located errors."""

from __future__ import annotations

import re
import shutil
import textwrap
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest
from PIL import Image

from uniprobe.cases.checks import Ask, Count
from uniprobe.cases.loader import builtin_suites, load_case_file, load_suite
from uniprobe.errors import CaseFileError, Problem, UnknownNameError

PAPER_YAML = Path(str(resources.files("uniprobe.cases") / "suites" / "paper" / "paper.yaml"))


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _case_yaml(case_id: str, family: str = "global_instruction") -> str:
    """One case, seven lines long."""
    return (
        f"- id: {case_id}\n"
        f"  family: {family}\n"
        "  subtype: test\n"
        "  turns:\n"
        f'    - user: "Draw {case_id}."\n'
        "      expect:\n"
        "        - count: {object: dog, equals: 2}\n"
    )


def _problems(file: Path) -> list[Problem]:
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    return info.value.problems


# --- the built-in suite -------------------------------------------------------------------


def test_paper_suite_has_fifteen_cases_five_per_family() -> None:
    suite = load_suite("paper")
    assert "paper" in builtin_suites()
    assert suite.name == "paper"
    assert len(suite) == 15
    assert Counter(c.family for c in suite.cases) == {
        "global_instruction": 5,
        "editing": 5,
        "post_generation": 5,
    }
    assert {c.source for c in suite.cases} == {"paper"}
    assert len({c.id for c in suite.cases}) == 15
    assert suite.source == PAPER_YAML.parent
    assert suite.file_hashes == {}


def test_paper_cases_know_their_file_and_line() -> None:
    suite = load_suite("paper")
    lines = PAPER_YAML.read_text(encoding="utf-8").splitlines()
    for case in suite.cases:
        assert case.origin is not None
        assert case.origin.file == PAPER_YAML
        assert lines[case.origin.line - 1] == f"- id: {case.id}"


def test_suite_lookup_by_case_id() -> None:
    suite = load_suite("paper")
    case = suite.case("paper.global.numeric.add3.dolphins")
    assert case.turns[1].user == "Generate an image of 2 dolphins swimming in the ocean."
    with pytest.raises(KeyError):
        suite.case("paper.nope")


def test_unknown_suite_name_lists_the_builtin_suites() -> None:
    with pytest.raises(UnknownNameError) as info:
        load_suite("papr")
    assert info.value.kind == "suite"
    assert "paper" in info.value.known
    message = f"unknown suite 'papr'; did you mean 'paper'? Known: {', '.join(info.value.known)}"
    assert str(info.value) == message


# --- content hash -------------------------------------------------------------------------


def test_content_hash_is_stable_and_independent_of_location(tmp_path: Path) -> None:
    first = load_suite("paper").content_hash
    assert load_suite("paper").content_hash == first
    assert re.fullmatch("[0-9a-f]{64}", first)
    copy = shutil.copy(PAPER_YAML, tmp_path / "paper.yaml")
    assert load_suite(copy).content_hash == first
    # Comments and layout are not content.
    text = PAPER_YAML.read_text(encoding="utf-8")
    _write(tmp_path / "reformatted" / "paper.yaml", "# a new comment\n\n" + text)
    assert load_suite(tmp_path / "reformatted" / "paper.yaml").content_hash == first


def test_content_hash_changes_when_one_case_changes(tmp_path: Path) -> None:
    text = PAPER_YAML.read_text(encoding="utf-8")
    old = "- count: {object: bird, equals: 3, literal: 5}"
    assert text.count(old) == 1
    changed = _write(tmp_path / "paper.yaml", text.replace(old, old.replace("3", "4")))
    suite = load_suite(changed)
    check = suite.case("paper.global.numeric.subtract2.birds").turns[1].expect[0]
    assert isinstance(check, Count) and check.equals == 4
    assert suite.content_hash != load_suite("paper").content_hash


def test_content_hash_covers_image_files(tmp_path: Path) -> None:
    case = """
    - id: img.case
      family: editing
      subtype: test
      images:
        photo: {file: photo.png}
      turns:
        - user: "Edit it."
          attach: [photo]
    """
    file = _write(tmp_path / "cases.yaml", case)
    Image.new("RGB", (8, 8), "white").save(tmp_path / "photo.png")
    before = load_suite(file)
    assert list(before.file_hashes) == ["img.case/photo"]
    Image.new("RGB", (8, 8), "black").save(tmp_path / "photo.png")
    after = load_suite(file)
    assert [c.to_dict() for c in after.cases] == [c.to_dict() for c in before.cases]
    assert after.content_hash != before.content_hash


# --- folders ------------------------------------------------------------------------------


def test_folder_of_case_files_loads_in_file_name_order(tmp_path: Path) -> None:
    folder = tmp_path / "mysuite"
    b = _write(folder / "b.yaml", _case_yaml("b.one") + _case_yaml("b.two", "editing"))
    a = _write(folder / "a.yaml", _case_yaml("a.one", "post_generation"))
    c = _write(folder / "c.yml", _case_yaml("c.one"))
    _write(folder / "notes.txt", "not a case file")
    suite = load_suite(folder)
    assert suite.name == "mysuite"
    assert suite.source == folder.resolve()
    assert [c.id for c in suite.cases] == ["a.one", "b.one", "b.two", "c.one"]
    origins = [(case.origin.file, case.origin.line) for case in suite.cases if case.origin]
    assert origins == [(a, 1), (b, 1), (b, 8), (c, 1)]


def test_single_file_suite_is_named_after_the_file(tmp_path: Path) -> None:
    file = _write(tmp_path / "tiny.yaml", _case_yaml("t.one"))
    suite = load_suite(file)
    assert (suite.name, suite.source, len(suite)) == ("tiny", (tmp_path / "tiny.yaml").resolve(), 1)
    assert load_suite(str(file)).content_hash == suite.content_hash


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError) as info:
        load_suite(tmp_path)
    assert str(info.value) == f"{tmp_path}: no .yaml case files in this folder"


def test_duplicate_case_ids_across_files_name_both_places(tmp_path: Path) -> None:
    first = _write(tmp_path / "a.yaml", _case_yaml("a.one") + _case_yaml("shared.id"))
    second = _write(tmp_path / "b.yaml", _case_yaml("b.one") + _case_yaml("shared.id"))
    with pytest.raises(CaseFileError) as info:
        load_suite(tmp_path)
    assert info.value.problems == [
        Problem(f"duplicate case id (first at {first}:8)", second, 8, "shared.id"),
    ]
    assert str(info.value) == (
        f"{second}:8: case shared.id: duplicate case id (first at {first}:8)"
    )


def test_duplicate_case_ids_within_one_file(tmp_path: Path) -> None:
    file = _write(tmp_path / "a.yaml", _case_yaml("same") + _case_yaml("same"))
    with pytest.raises(CaseFileError) as info:
        load_suite(file)
    assert info.value.problems == [
        Problem(f"duplicate case id (first at {file}:1)", file, 8, "same"),
    ]


# --- problems are collected -----------------------------------------------------------------


def test_every_problem_in_a_file_is_reported_at_once(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "bad.yaml",
        """
        - id: bad.first
          family: global_instruction
          subtype: test
          colour: red
          turns:
            - user: "one"
        - id: good.one
          family: editing
          subtype: test
          turns:
            - user: "fine"
        - id: bad.second
          family: post_generation
          subtype: test
          turns:
            - user: "one"
            - user: "two"
              expect:
                - present: {object: dog}
                - count: {object: dog}
        """,
    )
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    assert info.value.problems == [
        Problem("unknown field 'colour'; did you mean 'color'?", file, 4, "bad.first", "colour"),
        Problem(
            "give equals, matches, at_least or at_most",
            file,
            20,
            "bad.second",
            "turns.1.expect.1.count",
        ),
    ]
    assert str(info.value) == "\n".join(
        [
            f"2 errors in {file}",
            f"  {file}:4: case bad.first · colour: unknown field 'colour'; did you mean 'color'?",
            f"  {file}:20: case bad.second · turns.1.expect.1.count: "
            "give equals, matches, at_least or at_most",
        ]
    )


def test_problems_from_several_files_are_reported_together(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", "- id: a.one\n  family: nope\n  subtype: t\n  turns: [{user: x}]\n")
    _write(tmp_path / "b.yaml", "{not: a list}\n")
    with pytest.raises(CaseFileError) as info:
        load_suite(tmp_path)
    assert [(p.file.name if p.file else None, p.line, p.loc) for p in info.value.problems] == [
        ("a.yaml", 2, "family"),
        ("b.yaml", 1, None),
    ]
    assert str(info.value).splitlines()[0] == "2 errors"


def test_missing_field_points_at_the_case(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "c.yaml",
        """
        # leading comment
        - id: no.family
          subtype: test
          turns: [{user: x}]
        """,
    )
    assert _problems(file) == [Problem("missing field 'family'", file, 2, "no.family", "family")]


# --- bad input: one located, single-line message ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            """
            - id: a.one
              family: editing
              subtype: test
              turns: [{user: hi}
            - id: a.two
            """,
            "{file}:5: invalid YAML: expected ',' or ']', but got '-'"
            " (while parsing a flow sequence at line 4)",
            id="unclosed-bracket",
        ),
        pytest.param(
            """
            - id: a.one
              family: editing
              subtype: test
              turns:
                - user: "one"
                - user: "two"
                  expect:
                    - present: {object: dog}
                    - cout: {object: dog, equals: 2}
            """,
            "{file}:9: case a.one · turns.1.expect.1: unknown check 'cout'; did you mean 'count'?",
            id="unknown-check-kind",
        ),
        pytest.param(
            """
            - id: a.one
              family: editing
              subtype: test
              turns:
                - user: "one"
                - user: "two"
                  expect:
                    - count:
                        object: dog
                        equal: 2
            """,
            "{file}:10: case a.one · turns.1.expect.0.count.equal: "
            "unknown field 'equal'; did you mean 'equals'?",
            id="unknown-field-in-check",
        ),
        pytest.param(
            """
            - id: a.one
              family: editing
              subtype: test
              turns: [{user: hi}]
              tgas: [x]
            """,
            "{file}:5: case a.one · tgas: unknown field 'tgas'; did you mean 'tags'?",
            id="unknown-field-in-case",
        ),
        pytest.param(
            """
            id: a.one
            family: editing
            """,
            "{file}:1: a case file is a YAML list of cases",
            id="top-level-mapping",
        ),
        pytest.param(
            """
            - id: a.one
              family: editing
              subtype: test
              turns:
                - user: "one"
                - user: "two"
                  expect:
                    - ask: {question: "Is it night?", expect: maybe}
            """,
            "{file}:8: case a.one · turns.1.expect.0.ask.expect: Input should be 'yes' or 'no'",
            id="bad-literal-value",
        ),
        pytest.param(
            """
            - id: bad id
              family: editing
              subtype: test
              turns: [{user: hi}]
            """,
            "{file}:1: case bad id · id: ids use letters, digits, '.', '_' and '-'",
            id="bad-case-id",
        ),
    ],
)
def test_bad_file_gives_one_located_line(tmp_path: Path, text: str, message: str) -> None:
    file = _write(tmp_path / "cases.yaml", text)
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    assert len(info.value.problems) == 1
    assert str(info.value) == message.format(file=file)


def test_duplicate_key_is_reported_at_its_line(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "dup.yaml",
        """
        - id: a.one
          family: editing
          subtype: test
          turns:
            - user: "one"
              expect:
                - count: {object: dog, equals: 2, equals: 3}
        """,
    )
    [problem] = _problems(file)
    assert (problem.message, problem.file, problem.line) == ("duplicate key 'equals'", file, 7)


def test_duplicate_key_problem_names_case_and_path(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "dup.yaml",
        """
        - id: a.one
          family: editing
          subtype: test
          turns:
            - user: "one"
              expect:
                - count: {object: dog, equals: 2, equals: 3}
        """,
    )
    [problem] = _problems(file)
    assert (problem.case_id, problem.loc) == ("a.one", "turns.0.expect.0.count.equals")


def test_unknown_check_in_a_one_turn_case_is_one_problem(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "one_turn.yaml",
        """
        - id: a.one
          family: global_instruction
          subtype: test
          turns:
            - user: "hi"
              expect:
                - cout: {object: dog, equals: 2}
        """,
    )
    assert _problems(file) == [
        Problem("unknown check 'cout'; did you mean 'count'?", file, 7, "a.one", "turns.0.expect.0")
    ]


def test_ask_expect_accepts_unquoted_yes_and_no(tmp_path: Path) -> None:
    file = _write(
        tmp_path / "ask.yaml",
        """
        - id: a.ask
          family: global_instruction
          subtype: test
          turns:
            - user: "Draw a sunny beach."
              expect:
                - ask: {question: "Is it night?", expect: no}
        """,
    )
    [case], _ = load_case_file(file)
    assert case.turns[0].expect == (Ask(question="Is it night?", expect="no"),)
