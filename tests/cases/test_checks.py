"""Checks: parsing from YAML, validation errors, literal variants, round trips."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from uniprobe.cases.checks import (
    Absent,
    Ask,
    Color,
    Conditional,
    Count,
    Expectation,
    Position,
    Present,
    Relation,
    SameAs,
    Style,
    Text,
    Unchanged,
    check_to_dict,
)
from uniprobe.cases.loader import load_suite
from uniprobe.cases.schema import Case


def _case(*expect: Any, turns: int = 2) -> dict[str, Any]:
    """A raw case whose last turn expects `expect` (earlier turns expect nothing)."""
    earlier = [{"user": f"turn {i + 1}"} for i in range(turns - 1)]
    return {
        "id": "t.case",
        "family": "post_generation",
        "subtype": "test",
        "turns": [*earlier, {"user": "last turn", "expect": list(expect)}],
    }


def _parse(check_yaml: str) -> BaseModel:
    """The expectation a one-check YAML mapping becomes inside a validated case."""
    case = Case.model_validate(_case(yaml.safe_load(check_yaml)))
    (expectation,) = case.turns[-1].expect
    return expectation


def _errors(check_yaml: str) -> list[tuple[tuple[str | int, ...], str, str]]:
    with pytest.raises(ValidationError) as info:
        Case.model_validate(_case(yaml.safe_load(check_yaml)))
    return [(e["loc"], e["type"], e["msg"]) for e in info.value.errors()]


# --- parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_yaml", "expected"),
    [
        pytest.param(
            "{count: {object: dolphin, equals: 5, literal: 2}}",
            Count(object="dolphin", equals=5, literal=2),
            id="count",
        ),
        pytest.param(
            "{count: {object: apple, at_least: 2, at_most: 4, within: bowl, turn: 1}}",
            Count(object="apple", at_least=2, at_most=4, within="bowl", turn=1),
            id="count-bounds",
        ),
        pytest.param(
            "{present: {object: water, within: lake, literal: true}}",
            Present(object="water", within="lake", literal=True),
            id="present",
        ),
        pytest.param(
            "{absent: {object: monkey, literal: true}}",
            Absent(object="monkey", literal=True),
            id="absent",
        ),
        pytest.param(
            "{relation: {subject: lemon, relation: below, object: watermelon, literal: above}}",
            Relation(subject="lemon", relation="below", object="watermelon", literal="above"),
            id="relation",
        ),
        pytest.param(
            "{position: {object: dog, place: right, literal: left}}",
            Position(object="dog", place="right", literal="left"),
            id="position",
        ),
        pytest.param(
            "{color: {object: apple, select: middle, equals: Grey, literal: violet}}",
            Color(object="apple", select="middle", equals="gray", literal="purple"),
            id="color-object-synonyms",
        ),
        pytest.param(
            "{color: {part: floor2, equals: pink}}",
            Color(part="floor2", equals="pink"),
            id="color-part",
        ),
        pytest.param(
            "{text: {contains: OPEN, literal: CLOSED}}",
            Text(contains="OPEN", literal="CLOSED"),
            id="text",
        ),
        pytest.param(
            "{style: {equals: grayscale, literal: color}}",
            Style(equals="grayscale", literal="color"),
            id="style",
        ),
        pytest.param(
            "{unchanged: {against: room, outside: [seated1, seated2], outside_objects: [man]}}",
            Unchanged(against="room", outside=("seated1", "seated2"), outside_objects=("man",)),
            id="unchanged-image",
        ),
        pytest.param(
            "{unchanged: {against: 1, literal: true}}",
            Unchanged(against=1, literal=True),
            id="unchanged-turn",
        ),
        pytest.param(
            "{same_as: {against: 1}}",
            SameAs(against=1),
            id="same_as",
        ),
        pytest.param(
            '{ask: {question: "Is the man smiling?", expect: "no", literal: true}}',
            Ask(question="Is the man smiling?", expect="no", literal=True),
            id="ask",
        ),
    ],
)
def test_each_check_kind_parses_from_its_one_key_mapping(
    check_yaml: str, expected: BaseModel
) -> None:
    parsed = _parse(check_yaml)
    assert type(parsed) is type(expected)
    assert parsed == expected


def test_conditional_parses_with_else_alias() -> None:
    parsed = _parse(
        """
        when: {present: {object: water, turn: 1}}
        then: [{absent: {object: man}}]
        else: [{present: {object: man}}, {present: {object: road}}]
        literal: else
        assumed: true
        """
    )
    assert parsed == Conditional(
        when=Present(object="water", turn=1),
        then=(Absent(object="man"),),
        else_=(Present(object="man"), Present(object="road")),
        literal="else",
        assumed=True,
    )
    assert isinstance(parsed, Conditional)
    assert parsed.branch(True) == (Absent(object="man"),)
    assert parsed.branch(False) == (Present(object="man"), Present(object="road"))


@pytest.mark.parametrize(
    ("branches", "then", "else_"),
    [
        pytest.param("then: [{absent: {object: man}}]", (Absent(object="man"),), (), id="then"),
        pytest.param("else: [{present: {object: man}}]", (), (Present(object="man"),), id="else"),
    ],
)
def test_conditional_with_one_branch_is_enough(
    branches: str, then: tuple[BaseModel, ...], else_: tuple[BaseModel, ...]
) -> None:
    parsed = _parse(f"{{when: {{present: {{object: water}}}}, {branches}}}")
    assert isinstance(parsed, Conditional)
    assert (parsed.then, parsed.else_) == (then, else_)


# --- validation errors --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_yaml", "loc", "kind", "msg"),
    [
        pytest.param(
            "{count: {object: dog}}",
            ("turns", 1, "expect", 0, "count"),
            "value_error",
            "Value error, give equals, matches, at_least or at_most",
            id="count-without-bounds",
        ),
        pytest.param(
            "{count: {object: dog, equals: 2, at_least: 1}}",
            ("turns", 1, "expect", 0, "count"),
            "value_error",
            "Value error, give one of equals, matches, or at_least/at_most",
            id="count-equals-and-at_least",
        ),
        pytest.param(
            "{count: {object: dog, equals: -1}}",
            ("turns", 1, "expect", 0, "count", "equals"),
            "greater_than_equal",
            "Input should be greater than or equal to 0",
            id="count-negative",
        ),
        pytest.param(
            "{color: {object: car, part: floor2, equals: red}}",
            ("turns", 1, "expect", 0, "color"),
            "value_error",
            "Value error, give exactly one of object or part",
            id="color-object-and-part",
        ),
        pytest.param(
            "{color: {equals: red}}",
            ("turns", 1, "expect", 0, "color"),
            "value_error",
            "Value error, give exactly one of object or part",
            id="color-no-target",
        ),
        pytest.param(
            "{color: {part: floor2, select: leftmost, equals: red}}",
            ("turns", 1, "expect", 0, "color"),
            "value_error",
            "Value error, select needs object",
            id="color-select-without-object",
        ),
        pytest.param(
            "{color: {object: car, equals: mauve}}",
            ("turns", 1, "expect", 0, "color", "equals"),
            "value_error",
            "Value error, unknown colour 'mauve'",
            id="color-unknown-name",
        ),
        pytest.param(
            "{color: {object: car, equals: red, literal: blu}}",
            ("turns", 1, "expect", 0, "color", "literal"),
            "value_error",
            "Value error, unknown colour 'blu'; did you mean 'blue'?",
            id="color-unknown-literal",
        ),
        pytest.param(
            "{text: {contains: a, equals: b}}",
            ("turns", 1, "expect", 0, "text"),
            "value_error",
            "Value error, give exactly one of contains or equals",
            id="text-both-modes",
        ),
        pytest.param(
            "{present: {object: dog, turn: 0}}",
            ("turns", 1, "expect", 0, "present", "turn"),
            "greater_than_equal",
            "Input should be greater than or equal to 1",
            id="turn-zero",
        ),
        pytest.param(
            "{present: {object: dog, colour: red}}",
            ("turns", 1, "expect", 0, "present", "colour"),
            "extra_forbidden",
            "Extra inputs are not permitted",
            id="extra-field",
        ),
        pytest.param(
            "{when: {present: {object: water}}}",
            ("turns", 1, "expect", 0, "conditional"),
            "value_error",
            "Value error, a conditional needs then or else checks",
            id="conditional-without-branches",
        ),
        pytest.param(
            "{count: {object: dog, equals: 2}, literal: 3}",
            ("turns", 1, "expect", 0),
            "union_tag_not_found",
            "Unable to extract tag using discriminator _tag()",
            id="two-keys",
        ),
    ],
)
def test_invalid_check_is_rejected_with_its_location(
    check_yaml: str, loc: tuple[str | int, ...], kind: str, msg: str
) -> None:
    assert _errors(check_yaml) == [(loc, kind, msg)]


def test_unknown_check_kind_is_a_union_tag_error() -> None:
    [(loc, kind, msg)] = _errors("{cout: {object: dog, equals: 2}}")
    assert (loc, kind) == (("turns", 1, "expect", 0), "union_tag_invalid")
    assert msg.startswith("Input tag 'cout' found using _tag() does not match any of")


# --- literal variants ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "variant"),
    [
        pytest.param(
            Count(object="bird", equals=3, literal=5, within="sky", turn=1),
            Count(object="bird", equals=5, within="sky", turn=1),
            id="count-equals",
        ),
        pytest.param(
            Count(object="bird", at_least=2, at_most=4, literal=1),
            Count(object="bird", equals=1),
            id="count-bounds-become-equals",
        ),
        pytest.param(
            Present(object="horse", within="horse", literal=True, turn=1),
            Absent(object="horse", within="horse", turn=1),
            id="present-to-absent",
        ),
        pytest.param(
            Absent(object="monkey", literal=True),
            Present(object="monkey"),
            id="absent-to-present",
        ),
        pytest.param(
            Relation(subject="lemon", relation="below", object="watermelon", literal="above"),
            Relation(subject="lemon", relation="above", object="watermelon"),
            id="relation-swapped",
        ),
        pytest.param(
            Position(object="dog", place="right", literal="left"),
            Position(object="dog", place="left"),
            id="position",
        ),
        pytest.param(
            Color(object="car", equals="white", literal="black"),
            Color(object="car", equals="black"),
            id="color",
        ),
        pytest.param(
            Text(contains="OPEN", literal="CLOSED"),
            Text(contains="CLOSED"),
            id="text-contains",
        ),
        pytest.param(
            Text(equals="SALE", literal="SAIL"),
            Text(equals="SAIL"),
            id="text-equals",
        ),
        pytest.param(
            Style(equals="grayscale", literal="color"),
            Style(equals="color"),
            id="style",
        ),
        pytest.param(
            Ask(question="Is it raining?", expect="yes", literal=True),
            Ask(question="Is it raining?", expect="no"),
            id="ask",
        ),
    ],
)
def test_literal_variant(check: Any, variant: BaseModel) -> None:
    got = check.literal_variant()
    assert type(got) is type(variant)
    assert got == variant
    assert check.literal_negates is False


@pytest.mark.parametrize(
    "check",
    [
        pytest.param(Count(object="bird", equals=3), id="count"),
        pytest.param(Present(object="horse"), id="present"),
        pytest.param(Absent(object="horse"), id="absent"),
        pytest.param(Relation(subject="a", relation="above", object="b"), id="relation"),
        pytest.param(Position(object="dog", place="left"), id="position"),
        pytest.param(Color(part="floor2", equals="pink"), id="color"),
        pytest.param(Text(contains="OPEN"), id="text"),
        pytest.param(Style(equals="color"), id="style"),
        pytest.param(Ask(question="Is it raining?", expect="yes"), id="ask"),
        pytest.param(Unchanged(against=1, literal=True), id="unchanged-negates-instead"),
        pytest.param(SameAs(against="room", literal=True), id="same_as-negates-instead"),
    ],
)
def test_no_literal_variant_without_literal(check: Any) -> None:
    assert check.literal_variant() is None


@pytest.mark.parametrize(
    ("check", "negates"),
    [
        pytest.param(Unchanged(against=1, literal=True), True, id="unchanged-literal"),
        pytest.param(Unchanged(against=1), False, id="unchanged"),
        pytest.param(SameAs(against="room", literal=True), True, id="same_as-literal"),
        pytest.param(SameAs(against="room"), False, id="same_as"),
        pytest.param(Present(object="man", literal=True), False, id="present-literal"),
    ],
)
def test_literal_negates(check: Any, negates: bool) -> None:
    assert check.literal_negates is negates


@pytest.mark.parametrize(
    ("check", "n", "accepted"),
    [
        pytest.param(Count(object="dog", equals=2), 2, True, id="equals-hit"),
        pytest.param(Count(object="dog", equals=2), 3, False, id="equals-miss"),
        pytest.param(Count(object="dog", at_least=2), 9, True, id="at_least-hit"),
        pytest.param(Count(object="dog", at_least=2), 1, False, id="at_least-miss"),
        pytest.param(Count(object="dog", at_most=2), 0, True, id="at_most-hit"),
        pytest.param(Count(object="dog", at_least=1, at_most=2), 3, False, id="range-miss"),
    ],
)
def test_count_accepts(check: Count, n: int, accepted: bool) -> None:
    assert check.accepts(n) is accepted


# --- YAML form and round trip -------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "as_dict"),
    [
        pytest.param(
            Count(object="dolphin", equals=5, literal=2),
            {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
            id="count",
        ),
        pytest.param(
            Count(object="dog", equals=0),
            {"count": {"object": "dog", "equals": 0}},
            id="count-zero-kept",
        ),
        pytest.param(
            Present(object="water", turn=1),
            {"present": {"turn": 1, "object": "water"}},
            id="present-turn",
        ),
        pytest.param(
            Unchanged(against="room", outside=("seated1", "seated2")),
            {"unchanged": {"against": "room", "outside": ["seated1", "seated2"]}},
            id="unchanged",
        ),
        pytest.param(
            Color(object="car", equals="grey"),
            {"color": {"object": "car", "equals": "gray"}},
            id="color-canonical",
        ),
        pytest.param(
            Conditional(
                when=Absent(object="cat"),
                else_=(Absent(object="beach"),),
                literal="then",
                assumed=False,
            ),
            {
                "when": {"absent": {"object": "cat"}},
                "else": [{"absent": {"object": "beach"}}],
                "literal": "then",
                "assumed": False,
            },
            id="conditional",
        ),
    ],
)
def test_check_to_dict(check: Expectation, as_dict: dict[str, Any]) -> None:
    assert check_to_dict(check) == as_dict


def test_case_with_every_kind_round_trips_through_to_dict() -> None:
    raw = _case(
        {"count": {"object": "bird", "at_least": 2, "literal": 5}},
        {"present": {"object": "water", "turn": 1, "literal": True}},
        {"absent": {"object": "man", "within": "left_half"}},
        {"relation": {"subject": "dog", "relation": "left_of", "object": "cat"}},
        {"position": {"object": "dog", "place": "top_left", "literal": "center"}},
        {"color": {"object": "apple", "select": "largest", "equals": "grey"}},
        {"text": {"equals": "SALE", "literal": "SAIL"}},
        {"style": {"equals": "grayscale"}},
        {"unchanged": {"against": 1, "outside_objects": ["man"], "literal": True}},
        {"same_as": {"against": "room"}},
        {"ask": {"question": "Is it night?", "expect": "yes"}},
        {
            "when": {"present": {"object": "water", "turn": 1}},
            "then": [{"absent": {"object": "man"}}],
            "else": [{"present": {"object": "man"}}],
            "literal": "else",
            "assumed": True,
        },
    )
    case = Case.model_validate(raw)
    again = Case.model_validate(case.to_dict())
    assert again == case
    assert again.to_dict() == case.to_dict()
    turns = case.to_dict()["turns"]
    assert isinstance(turns, list)
    assert turns[1]["expect"][5] == {
        "color": {"object": "apple", "select": "largest", "equals": "gray"}
    }


def test_paper_cases_round_trip_through_to_dict() -> None:
    for case in load_suite("paper").cases:
        again = Case.model_validate(case.to_dict())
        assert again.model_dump() == case.model_dump(), case.id
        assert again.to_dict() == case.to_dict(), case.id
