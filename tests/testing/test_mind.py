"""The fake mind: it states what the checks expect (or their literal reading) before
drawing, and describes what its image shows after, wrongly at a chosen rate."""

from __future__ import annotations

import json
from typing import Any

import pytest

from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.loader import load_suite
from uniprobe.cases.schema import Case, Suite
from uniprobe.probes.questions import (
    knows_prompt,
    probe_questions,
    read_answers,
    sees_prompt,
)
from uniprobe.scenes.render import render_scene, to_png
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.testing._mind import Said
from uniprobe.testing.mind import FakeMind
from uniprobe.testing.painter import paint

DOLPHINS = "paper.global.numeric.add3.dolphins"


@pytest.fixture(scope="module")
def paper() -> Suite:
    return load_suite("paper")


def _before(case: Case, upto: int, images: dict[int, bytes] | None = None) -> list[Said]:
    """The main dialogue of `case` up to turn `upto` (replies with the given images)."""
    out: list[Said] = []
    for t in range(1, upto + 1):
        out.append(Said("user", case.turns[t - 1].user))
        image = (images or {}).get(t)
        out.append(Said("assistant", "" if image else "Understood.", (image,) if image else ()))
    return out


def _knows(mind: FakeMind, case: Case, turn: int) -> dict[str, Any]:
    qs = probe_questions(case, turn, "knows")
    said = [*_before(case, turn - 1), Said("user", knows_prompt(case.turns[turn - 1].user, qs))]
    return read_answers(mind.answer("m", said, None), qs)


def _sees(mind: FakeMind, case: Case, turn: int, images: dict[int, bytes]) -> dict[str, Any]:
    qs = probe_questions(case, turn, "sees")
    said = [*_before(case, turn, images), Said("user", sees_prompt(qs))]
    return read_answers(mind.answer("m", said, None), qs)


def test_knows_states_the_rule_or_the_literal_reading(paper: Suite) -> None:
    case = paper.case(DOLPHINS)
    assert _knows(FakeMind(paper.cases), case, 2) == {"q1": 5, "q2": "yes"}
    assert _knows(FakeMind(paper.cases, belief="literal"), case, 2) == {"q1": 2, "q2": "yes"}


def test_sees_counts_what_it_drew(paper: Suite) -> None:
    case = paper.case(DOLPHINS)
    drawn, _ = paint(case.turns[1].user, input_image=None, size=512)
    assert drawn is not None
    mind = FakeMind(paper.cases)
    assert _sees(mind, case, 2, {2: drawn}) == {"q1": 2, "q2": "yes"}
    assert [(d.truth, d.given, d.flipped) for d in mind.described] == [
        (2, 2, False),
        ("yes", "yes", False),
    ]


def test_anything_else_is_not_a_probe(paper: Suite) -> None:
    mind = FakeMind(paper.cases)
    assert mind.answer("m", [Said("user", "Draw a cat.")], None) == "I can only draw."
    stranger = [Said("user", "Nothing any case says.\n\nBefore you draw it: q1: ...")]
    assert mind.answer("m", stranger, None) == "I do not know this conversation."


def test_wrong_descriptions_come_at_the_chosen_rate(paper: Suite) -> None:
    case = paper.case(DOLPHINS)
    drawn, _ = paint(case.turns[1].user, input_image=None, size=512)
    assert drawn is not None
    mind = FakeMind(paper.cases, sees_error_rate=0.2, seed=3)
    qs = probe_questions(case, 2, "sees")
    said = [*_before(case, 2, {2: drawn}), Said("user", sees_prompt(qs))]
    for _ in range(600):
        answers = read_answers(mind.answer("m", said, None), qs)
        # every wrong answer flips the check: a count of 5 (the rule) or no ocean
        assert answers["q1"] in (2, 5) and answers["q2"] in ("yes", "no")
    share = sum(d.flipped for d in mind.described) / len(mind.described)
    assert len(mind.described) == 1200
    assert abs(share - 0.2) <= 0.03, share


def _cups(n: int) -> bytes:
    spec = SceneSpec(
        objects=tuple(
            SceneObject(id=f"c{i}", kind="cup", x=80 + 110 * i, y=256, size=90) for i in range(n)
        )
    )
    return to_png(render_scene(spec).image)


def test_a_count_that_matches_an_earlier_image_is_counted_there() -> None:
    case = Case.model_validate(
        {
            "id": "m",
            "family": "post_generation",
            "subtype": "s",
            "turns": [
                {"user": "Draw some cups.", "expect": [{"present": {"object": "cup"}}]},
                {
                    "user": "Now one more cup than before.",
                    "expect": [
                        {
                            "count": {
                                "object": "cup",
                                "matches": {"object": "cup", "turn": 1, "plus": 1},
                            }
                        }
                    ],
                },
            ],
        }
    )
    mind = FakeMind([case])
    qs = probe_questions(case, 2, "knows")
    said = [*_before(case, 1, {1: _cups(3)}), Said("user", knows_prompt(case.turns[1].user, qs))]
    assert json.loads(mind.answer("m", said, None)) == {"q1": 4}


def test_an_edit_names_what_may_change_and_compares_with_the_source() -> None:
    cups = {
        "scene": {
            "objects": [
                {"id": "left_cup", "kind": "cup", "x": 128, "y": 256, "size": 100},
                {"id": "right_cup", "kind": "cup", "x": 384, "y": 256, "size": 100},
            ]
        }
    }
    case = Case.model_validate(
        {
            "id": "e",
            "family": "editing",
            "subtype": "s",
            "images": {"src": cups},
            "turns": [
                {
                    "user": "Make the left cup red.",
                    "attach": ["src"],
                    "expect": [
                        {"color": {"part": "left_cup", "equals": "red"}},
                        {"unchanged": {"against": "src", "outside": ["left_cup"]}},
                    ],
                }
            ],
        }
    )
    source = case_image_bytes(case, "src")
    mind = FakeMind([case])
    qs = probe_questions(case, 1, "knows")
    ask = Said("user", knows_prompt(case.turns[0].user, qs), (source,))
    assert read_answers(mind.answer("m", [ask], None), qs) == {"q1": "red", "q2": ["left_cup"]}
    sees = probe_questions(case, 1, "sees")
    drawn = [Said("user", case.turns[0].user, (source,)), Said("assistant", "", (source,))]
    answers = read_answers(mind.answer("m", [*drawn, Said("user", sees_prompt(sees))], None), sees)
    # it returned the source unchanged: the left cup keeps its colour, nothing else changed
    assert answers["q1"] != "red"
    assert answers["q2"] == "no"
