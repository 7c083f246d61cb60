"""The literal reading of a turn, and the checks that contradict its literal values."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

import uniprobe
from uniprobe.cases.checks import Expectation
from uniprobe.cases.literal import contradiction, literal_conflicts, literal_reading
from uniprobe.cases.schema import Case

_EXP: TypeAdapter[Expectation] = TypeAdapter(Expectation)


def _c(raw: dict[str, Any]) -> Any:
    return _EXP.validate_python(raw)


def _case(*expect: dict[str, Any]) -> Case:
    return Case.model_validate(
        {
            "id": "c",
            "family": "global_instruction",
            "subtype": "s",
            "turns": [{"user": "rule"}, {"user": "draw", "expect": list(expect)}],
        }
    )


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        pytest.param(
            {"count": {"object": "cat", "equals": 0}},
            {"color": {"object": "cat", "equals": "red"}},
            "at least 1 cat but at most 0 cat",
            id="no-cat-vs-its-colour",
        ),
        pytest.param(
            {"absent": {"object": "animal"}},
            {"present": {"object": "cat"}},
            "at least 1 cat but at most 0 animal",
            id="hypernym-absent-vs-hyponym",
        ),
        pytest.param(
            {"count": {"object": "dog", "equals": 2}},
            {"count": {"object": "dog", "at_least": 4}},
            "at least 4 dog but at most 2 dog",
            id="disjoint-counts",
        ),
        pytest.param(
            {"absent": {"object": "cat", "within": "box"}},
            {"present": {"object": "cat", "within": "box"}},
            "at least 1 cat within box but at most 0 cat within box",
            id="same-part",
        ),
        pytest.param(
            {"color": {"object": "car", "equals": "black"}},
            {"color": {"object": "car", "select": "leftmost", "equals": "white"}},
            "car black but car white",
            id="every-car-vs-the-leftmost",
        ),
        pytest.param(
            {"style": {"equals": "grayscale"}},
            {"color": {"part": "roof", "equals": "red"}},
            "a grayscale canvas but roof red",
            id="grayscale-vs-red",
        ),
        pytest.param(
            {"position": {"object": "dog", "place": "left"}},
            {"position": {"object": "dog", "place": "bottom_right"}},
            "dog at left but dog at bottom_right",
            id="places",
        ),
        pytest.param(
            {"relation": {"subject": "lemon", "relation": "above", "object": "melon"}},
            {"relation": {"subject": "lemon", "relation": "below", "object": "melon"}},
            "lemon above melon but lemon below melon",
            id="relation-opposite",
        ),
        pytest.param(
            {"relation": {"subject": "lemon", "relation": "above", "object": "melon"}},
            {"relation": {"subject": "melon", "relation": "above", "object": "lemon"}},
            "lemon above melon but melon above lemon",
            id="relation-swapped",
        ),
        pytest.param(
            {"text": {"equals": ""}},
            {"text": {"contains": "SALE"}},
            "text exactly '' but containing 'SALE'",
            id="no-text-vs-text",
        ),
        pytest.param(
            {"style": {"equals": "grayscale"}},
            {"style": {"equals": "color"}},
            "style grayscale but color",
            id="styles",
        ),
    ],
)
def test_contradictions(a: dict[str, Any], b: dict[str, Any], why: str) -> None:
    assert contradiction(_c(a), _c(b)) == why


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(
            {"absent": {"object": "cat", "within": "box"}},
            {"present": {"object": "cat"}},
            id="absent-in-a-part-vs-present-anywhere",
        ),
        pytest.param(
            {"absent": {"object": "cat"}}, {"present": {"object": "animal"}}, id="a-dog-will-do"
        ),
        pytest.param(
            {"color": {"object": "cup", "select": "leftmost", "equals": "red"}},
            {"color": {"object": "cup", "select": "rightmost", "equals": "blue"}},
            id="two-picks",
        ),
        pytest.param(
            {"position": {"object": "dog", "place": "left"}},
            {"position": {"object": "dog", "place": "center"}},
            id="overlapping-places",
        ),
        pytest.param({"text": {"contains": "SALE"}}, {"text": {"contains": "NOW"}}, id="two-texts"),
        pytest.param(
            {"count": {"object": "dolphin", "equals": 2}},
            {"present": {"object": "ocean"}},
            id="unrelated",
        ),
    ],
)
def test_compatible_checks(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert contradiction(_c(a), _c(b)) is None


def test_a_plain_check_that_contradicts_a_literal_value_is_not_literal_applicable() -> None:
    case = _case(
        {"count": {"object": "cat", "equals": 2, "literal": 0}},
        {"color": {"object": "cat", "equals": "red"}},
        {"present": {"object": "dog"}},
    )
    reading = literal_reading(case.turns[1].expect, turn=2, path=("turns", 1, "expect"))
    assert [(i.path, i.literal) for i in reading.applied] == [
        (("turns", 1, "expect", 0, "count"), True),
        (("turns", 1, "expect", 2, "present"), False),
    ]
    assert reading.checks[0] == _c({"count": {"object": "cat", "equals": 0}})
    assert literal_conflicts(case) == [
        (
            2,
            ("turns", 1, "expect", 1, "color"),
            "color check is not literal-applicable: it contradicts the literal value at"
            " turns.1.expect.0.count (at least 1 cat but at most 0 cat); the literal reading"
            " leaves it out",
        )
    ]


def test_two_literal_values_that_contradict_each_other_are_reported() -> None:
    case = _case(
        {"count": {"object": "cat", "equals": 2, "literal": 0}},
        {"color": {"object": "cat", "equals": "red", "literal": "blue"}},
    )
    ((turn, path, message),) = literal_conflicts(case)
    assert (turn, path) == (2, ("turns", 1, "expect", 1, "color"))
    assert message.startswith("literal value contradicts the literal value at turns.1.expect.0")


def test_the_literal_reading_of_conditionals_and_locality() -> None:
    case = _case(
        {
            "when": {"present": {"object": "water", "turn": 1}},
            "then": [{"absent": {"object": "man"}}],
            "else": [{"present": {"object": "man"}}, {"count": {"object": "road", "equals": 1}}],
            "literal": "else",
        },
        {
            "when": {"present": {"object": "cat"}},
            "then": [{"present": {"object": "hat"}}],
        },
        {"absent": {"object": "man"}},
        {"unchanged": {"against": 1, "literal": True}},
        {"unchanged": {"against": 1, "outside": ["x"]}},
    )
    reading = literal_reading(case.turns[1].expect, turn=2)
    assert [(i.path, i.literal) for i in reading.applied] == [
        ((0, "else", 0, "present"), True),
        ((0, "else", 1, "count"), True),
        ((4, "unchanged"), False),
    ]
    assert [(p.path, lit.path) for p, lit, _ in reading.ignored] == [
        ((2, "absent"), (0, "else", 0, "present"))
    ]


def test_the_published_suites_have_no_conflict() -> None:
    for name in ("paper", "core"):
        suite = uniprobe.load_suite(name)
        assert [(c.id, literal_conflicts(c)) for c in suite.cases if literal_conflicts(c)] == []
