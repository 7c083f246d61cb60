"""Semantic checks of cases: turn and image references, files, scene parts, vocabulary."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from PIL import Image

import uniprobe
from uniprobe.cases.loader import load_case_file, load_suite
from uniprobe.cases.schema import Case
from uniprobe.cases.validate import (
    group_problems,
    hypernym_problems,
    literal_warnings,
    reference_scene,
    semantic_problems,
    vocabulary_problems,
)
from uniprobe.errors import CaseFileError, Problem


def _write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    file = tmp_path / name
    file.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return file


def _only_problem(file: Path) -> Problem:
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    [problem] = info.value.problems
    assert str(info.value) == str(problem)
    return problem


def test_condition_on_a_turn_that_does_not_exist(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.turn5
          family: post_generation
          subtype: test
          turns:
            - user: "Draw zebras drinking from a river."
            - user: "Add a man if there is no water."
              expect:
                - when:
                    present:
                      object: water
                      turn: 5
                  then: [{absent: {object: man}}]
        """,
    )
    problem = _only_problem(file)
    assert problem == Problem(
        "turn 5 does not exist (the case has 2 turns)",
        file,
        11,
        "v.turn5",
        "turns.1.expect.0.when.present.turn",
    )
    assert problem.loc is not None
    assert problem.loc.endswith(".turn")


def test_check_on_a_later_turn(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.later
          family: post_generation
          subtype: test
          turns:
            - user: "one"
              expect:
                - present: {object: water, turn: 2}
            - user: "two"
        """,
    )
    assert _only_problem(file) == Problem(
        "turn 2 comes after this one (turn 1); checks look back only",
        file,
        7,
        "v.later",
        "turns.0.expect.0.present.turn",
    )


def test_branch_check_on_a_later_turn(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.branch
          family: post_generation
          subtype: test
          turns:
            - user: "one"
              expect:
                - when: {present: {object: water}}
                  else:
                    - absent: {object: man, turn: 2}
            - user: "two"
        """,
    )
    assert _only_problem(file) == Problem(
        "turn 2 comes after this one (turn 1); checks look back only",
        file,
        9,
        "v.branch",
        "turns.0.expect.0.else.0.absent.turn",
    )


def test_unchanged_against_a_later_turn(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.against
          family: editing
          subtype: test
          turns:
            - user: "one"
            - user: "two"
              expect:
                - unchanged: {against: 3}
            - user: "three"
        """,
    )
    assert _only_problem(file) == Problem(
        "against turn 3: must be an earlier turn (1)",
        file,
        8,
        "v.against",
        "turns.1.expect.0.unchanged.against",
    )


def test_against_in_the_first_turn_does_not_print_an_empty_range(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.first
          family: editing
          subtype: test
          turns:
            - user: "one"
              expect:
                - same_as: {against: 2}
            - user: "two"
        """,
    )
    problem = _only_problem(file)
    assert problem.loc == "turns.0.expect.0.same_as.against"
    assert "(1..0)" not in problem.message


@pytest.mark.parametrize(
    ("check", "loc"),
    [
        pytest.param(
            "unchanged: {against: rom}", "turns.0.expect.0.unchanged.against", id="unchanged"
        ),
        pytest.param("same_as: {against: rom}", "turns.0.expect.0.same_as.against", id="same_as"),
    ],
)
def test_against_an_unknown_image(tmp_path: Path, check: str, loc: str) -> None:
    file = _write(
        tmp_path,
        f"""
        - id: v.image
          family: editing
          subtype: test
          images:
            room:
              scene:
                objects:
                  - {{id: cat1, kind: cat, x: 120, y: 256, size: 90}}
                  - {{id: dog1, kind: dog, x: 380, y: 256, size: 90}}
          turns:
            - user: "Edit it."
              attach: [room]
              expect:
                - {check}
        """,
    )
    assert _only_problem(file) == Problem(
        "no image 'rom' in this case; did you mean 'room'?", file, 14, "v.image", loc
    )


def test_attach_of_an_unknown_image(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.attach
          family: editing
          subtype: test
          images:
            room: {scene: {objects: [{id: cat1, kind: cat, x: 100, y: 100, size: 80}]}}
          turns:
            - user: "one"
              attach: [room, kitchen]
        """,
    )
    assert _only_problem(file) == Problem(
        "no image 'kitchen' in this case", file, 8, "v.attach", "turns.0.attach.1"
    )


def test_missing_image_file(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.file
          family: editing
          subtype: test
          images:
            x: {file: nope.png}
          turns:
            - user: "Edit it."
              attach: [x]
        """,
    )
    assert _only_problem(file) == Problem(
        f"file not found: {tmp_path / 'nope.png'}", file, 5, "v.file", "images.x.file"
    )


def test_image_file_next_to_the_case_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "photos" / "x.png")
    file = _write(
        tmp_path,
        """
        - id: v.file
          family: editing
          subtype: test
          images:
            x: {file: photos/x.png}
          turns:
            - user: "Edit it."
              attach: [x]
        """,
    )
    [case], hashes = load_case_file(file)
    assert case.images["x"].file == "photos/x.png"
    assert list(hashes) == ["v.file/x"]


def test_within_a_part_the_attached_scene_lacks(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.part
          family: editing
          subtype: test
          images:
            room:
              scene:
                objects:
                  - {id: cat1, kind: cat, x: 120, y: 256, size: 90}
                  - {id: dog1, kind: dog, x: 380, y: 256, size: 90}
          turns:
            - user: "Edit it."
              attach: [room]
              expect:
                - count: {object: cat, equals: 1, within: cat2}
        """,
    )
    assert _only_problem(file) == Problem(
        "no part 'cat2' in image 'room'; did you mean 'cat1'? (parts: cat1, dog1)",
        file,
        14,
        "v.part",
        "turns.0.expect.0.count",
    )


def test_unchanged_outside_a_part_of_the_named_image(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.outside
          family: editing
          subtype: test
          images:
            room:
              scene:
                objects:
                  - {id: cat1, kind: cat, x: 120, y: 256, size: 90}
                  - {id: dog1, kind: dog, x: 380, y: 256, size: 90}
          turns:
            - user: "Draw anything."
            - user: "Edit the room."
              attach: [room]
              expect:
                - unchanged: {against: room, outside: [dog1, bird1]}
        """,
    )
    assert _only_problem(file) == Problem(
        "no part 'bird1' in image 'room' (parts: cat1, dog1)",
        file,
        15,
        "v.outside",
        "turns.1.expect.0.unchanged",
    )


def test_part_without_an_attached_scene(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.noscene
          family: editing
          subtype: test
          turns:
            - user: "Draw a lake."
              expect:
                - present: {object: horse, within: reflection}
        """,
    )
    assert _only_problem(file) == Problem(
        "part 'reflection' needs a scene image (no image is attached at or before turn 1)",
        file,
        7,
        "v.noscene",
        "turns.0.expect.0.present",
    )


def test_several_semantic_problems_in_one_case_are_all_reported(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.many
          family: post_generation
          subtype: test
          turns:
            - user: "one"
              attach: [ghost]
            - user: "two"
              expect:
                - present: {object: man, turn: 3}
                - same_as: {against: 2}
        """,
    )
    with pytest.raises(CaseFileError) as info:
        load_case_file(file)
    assert [(p.line, p.loc, p.message) for p in info.value.problems] == [
        (6, "turns.0.attach.0", "no image 'ghost' in this case"),
        (9, "turns.1.expect.0.present.turn", "turn 3 does not exist (the case has 2 turns)"),
        (10, "turns.1.expect.1.same_as.against", "against turn 2: must be an earlier turn (1)"),
    ]


def test_semantic_problems_of_a_case_without_origin() -> None:
    case = Case.model_validate(
        {
            "id": "v.mem",
            "family": "editing",
            "subtype": "test",
            "turns": [
                {"user": "one"},
                {"user": "two", "expect": [{"present": {"object": "x", "turn": 4}}]},
            ],
        }
    )
    assert semantic_problems(case, Path(".")) == [
        Problem(
            "turn 4 does not exist (the case has 2 turns)",
            None,
            None,
            "v.mem",
            "turns.1.expect.0.present.turn",
        )
    ]


def test_reference_scene_is_the_latest_attached_image() -> None:
    suite = load_suite("paper")
    case = suite.case("paper.edit.reflection_only.horse_lion")
    name, scene = reference_scene(case, 1)
    assert name == "lake"
    assert scene is not None
    assert [o.id for o in scene.objects] == ["horse", "reflection"]
    assert reference_scene(suite.case("paper.global.numeric.add3.dolphins"), 2) == (None, None)


# --- vocabulary ---------------------------------------------------------------------------


def test_vocabulary_problems_flag_unknown_object_words(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: v.flux
          family: global_instruction
          subtype: test
          turns:
            - user: "Draw a flux capacitor next to a dog."
              expect:
                - present: {object: dog}
                - present: {object: flux capacitor}
                - relation: {subject: dog, relation: left_of, object: flux capacitor}
        """,
    )
    suite = load_suite(file)
    assert vocabulary_problems(suite.cases) == [
        Problem(
            "object 'flux capacitor' is not in the reference vocabulary",
            file,
            8,
            "v.flux",
            "turns.0.expect.1.present",
        ),
        Problem(
            "object 'flux capacitor' is not in the reference vocabulary",
            file,
            9,
            "v.flux",
            "turns.0.expect.2.relation",
        ),
    ]


def test_paper_suite_is_within_the_reference_vocabulary() -> None:
    assert vocabulary_problems(load_suite("paper").cases) == []


# --- hypernyms ----------------------------------------------------------------------------


def test_a_hypernym_counted_beside_a_hyponym_in_a_prompt(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: h.prompt
          family: post_generation
          subtype: false_premise
          turns:
            - user: "Draw 3 ducks on a pond."
            - user: "Now add as many birds as there are ducks."
              expect:
                - count: {object: birds, equals: 3}
        """,
    )
    assert hypernym_problems(load_suite(file).cases) == [
        Problem(
            "counts 'birds' but turn 1's prompt names duck: a judge counts a duck as a bird",
            file,
            8,
            "h.prompt",
            "turns.1.expect.0.count",
        )
    ]


def test_a_hypernym_in_a_branch_beside_a_hyponym_in_a_scene(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: h.scene
          family: editing
          subtype: move
          images:
            source:
              scene:
                objects:
                  - {kind: palm tree, x: 100, y: 100, size: 80}
                  - {kind: sunflower, x: 300, y: 100, size: 80}
          turns:
            - user: "If there is a tree, remove every flower."
              attach: [source]
              expect:
                - when: {present: {object: tree}}
                  then: [{absent: {object: flowers}}]
        """,
    )
    problems = hypernym_problems(load_suite(file).cases)
    assert [(p.line, p.loc, p.message) for p in problems] == [
        (
            14,
            "turns.0.expect.0.when.present",
            "looks for 'tree' but its scene 'source' holds palm tree:"
            " a judge counts a palm tree as a tree",
        ),
        (
            15,
            "turns.0.expect.0.then.0.absent",
            "rules out 'flowers' but its scene 'source' holds sunflower:"
            " a judge counts a sunflower as a flower",
        ),
    ]


def test_a_hyponym_looked_for_by_another_check_is_flagged(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: h.check
          family: global_instruction
          subtype: test
          turns:
            - user: "Draw a pond."
              expect:
                - present: {object: penguin}
                - position: {object: bird, place: left}
        """,
    )
    [problem] = hypernym_problems(load_suite(file).cases)
    assert problem.message == (
        "places 'bird' but a check of turn 1 looks for penguin: a judge counts a penguin as a bird"
    )


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Draw a bird and a dog.", id="no-hyponym"),
        pytest.param("Draw a sparrow and a duckling pond.", id="word-boundaries"),
        pytest.param("Draw a bird, a dolphin and a cat.", id="animals-are-meant"),
    ],
)
def test_cases_without_unmeant_hyponyms_pass(tmp_path: Path, text: str) -> None:
    file = _write(
        tmp_path,
        f"""
        - id: h.ok
          family: global_instruction
          subtype: test
          turns:
            - user: "{text}"
              expect:
                - count: {{object: bird, equals: 1}}
                - present: {{object: animals}}
                - absent: {{object: duck}}
                - count: {{object: penguin, equals: 0}}
        """,
    )
    assert hypernym_problems(load_suite(file).cases) == []


def test_the_specific_word_is_never_flagged(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: h.specific
          family: global_instruction
          subtype: test
          turns:
            - user: "Draw 2 ducks, a penguin and a tulip."
              expect:
                - count: {object: ducks, equals: 2}
                - present: {object: penguin}
                - present: {object: tulip}
        """,
    )
    assert hypernym_problems(load_suite(file).cases) == []


# --- contrast groups ----------------------------------------------------------------------

_GROUPED = """
- id: g.a
  family: post_generation
  subtype: false_premise
  group: g1
  turns: [{user: "Draw a cat."}]
- id: g.b
  family: post_generation
  subtype: false_premise
  group: g1
  turns: [{user: "Draw a dog."}]
- id: g.c
  family: post_generation
  subtype: retraction
  group: g1
  turns: [{user: "Draw a cow."}]
- id: g.d
  family: editing
  subtype: move
  group: lonely
  turns: [{user: "Draw a pig."}]
"""


def test_groups_of_one_member_or_mixed_subtypes_are_errors(tmp_path: Path) -> None:
    file = _write(tmp_path, _GROUPED)
    suite = load_suite(file)
    assert group_problems(suite.cases) == [
        Problem(
            "group 'g1' mixes post_generation/retraction with post_generation/false_premise"
            " (g.a); a group's members share family and subtype",
            file,
            14,
            "g.c",
            "group",
        ),
        Problem(
            "group 'lonely' has one member; a contrast group needs two or more",
            file,
            19,
            "g.d",
            "group",
        ),
    ]
    assert [p.case_id for p in uniprobe.validate_suite(suite)] == ["g.c", "g.d"]


def test_well_formed_groups_pass(tmp_path: Path) -> None:
    text = _GROUPED.replace("retraction", "false_premise").replace("  group: lonely\n", "")
    assert group_problems(load_suite(_write(tmp_path, text)).cases) == []


# --- warnings -----------------------------------------------------------------------------


def test_literal_on_unchanged_or_same_as_is_a_warning_not_an_error(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        """
        - id: w.literal
          family: editing
          subtype: test
          turns:
            - user: "Draw a cat."
            - user: "Make the cat red."
              expect:
                - unchanged: {against: 1, outside_objects: [cat], literal: true}
                - same_as: {against: 1, literal: true}
                - unchanged: {against: 1}
        """,
    )
    suite = load_suite(file)
    assert literal_warnings(suite.cases) == [
        Problem(
            f"literal: true on {kind}: locality failures are over_edit; literal no longer applies",
            file,
            line,
            "w.literal",
            f"turns.1.expect.{i}.{kind}",
        )
        for i, kind, line in ((0, "unchanged", 8), (1, "same_as", 9))
    ]
    assert uniprobe.suite_warnings(suite) == literal_warnings(suite.cases)
    assert uniprobe.validate_suite(suite) == []


def test_a_check_contradicting_a_literal_value_is_a_warning(tmp_path: Path) -> None:
    # The literal reading draws no cat at all, so "the cat is red" cannot hold on it:
    # the colour check is not literal-applicable, and validate says so.
    file = _write(
        tmp_path,
        """
        - id: w.conflict
          family: global_instruction
          subtype: test
          turns:
            - user: "From now on, when I say cat, I mean dog."
            - user: "Draw a red cat."
              expect:
                - count: {object: cat, equals: 1, literal: 0}
                - color: {object: cat, equals: red}
        """,
    )
    suite = load_suite(file)
    [warning] = literal_warnings(suite.cases)
    assert (warning.file, warning.line, warning.case_id, warning.loc) == (
        file,
        9,
        "w.conflict",
        "turns.1.expect.1.color",
    )
    assert warning.message.startswith("color check is not literal-applicable: it contradicts")
    assert "turns.1.expect.0" in warning.message
    assert uniprobe.validate_suite(suite) == []
