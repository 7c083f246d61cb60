"""Every check kind as a question whose "yes" means the check passes."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from uniprobe.annotate.questions import ask, part_name
from uniprobe.cases.checks import Check

CHECK: TypeAdapter[Any] = TypeAdapter(Check)

QUESTIONS = [
    pytest.param(
        {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
        "Are there exactly 5 dolphins?",
        id="count-equals",
    ),
    pytest.param(
        {"count": {"object": "lion", "equals": 1}}, "Is there exactly one lion?", id="count-one"
    ),
    pytest.param(
        {"count": {"object": "seated person", "equals": 0}},
        "Are there no seated people at all?",
        id="count-zero-irregular-plural",
    ),
    pytest.param(
        {"count": {"object": "mouse", "at_least": 2, "at_most": 4}},
        "Are there between 2 and 4 mice?",
        id="count-range",
    ),
    pytest.param(
        {"count": {"object": "bird", "at_most": 3, "within": "left_hand"}},
        "Are there at most 3 birds within the area 'left hand'?",
        id="count-within",
    ),
    pytest.param(
        {"count": {"object": "bird", "matches": {"object": "tree", "turn": 1}}},
        "Are there as many birds as there are trees in the image of turn 1?",
        id="count-matches",
    ),
    pytest.param(
        {
            "count": {
                "object": "bird",
                "matches": {"object": "tree", "turn": 1, "times": 2, "plus": -1},
            }
        },
        "Is the number of birds 2 times the number of trees in the image of turn 1 minus 1?",
        id="count-matches-arithmetic",
    ),
    pytest.param({"present": {"object": "cat"}}, "Is there at least one cat?", id="present"),
    pytest.param({"present": {"object": "ocean"}}, "Is there any ocean?", id="present-backdrop"),
    pytest.param(
        {"absent": {"object": "monkey", "literal": True}}, "Is there no monkey at all?", id="absent"
    ),
    pytest.param(
        {"absent": {"object": "horse", "within": "reflection"}},
        "Is there no horse within the area 'reflection'?",
        id="absent-within",
    ),
    pytest.param(
        {"relation": {"subject": "cat", "relation": "left_of", "object": "dog"}},
        "Is the cat left of the dog?",
        id="relation",
    ),
    pytest.param(
        {"position": {"object": "dog", "place": "right", "literal": "left"}},
        "Is the dog in the right half of the image?",
        id="position",
    ),
    pytest.param(
        {"position": {"object": "sun", "place": "top_left"}},
        "Is the sun in the top-left quarter of the image?",
        id="position-corner",
    ),
    pytest.param({"color": {"object": "car", "equals": "white"}}, "Is the car white?", id="color"),
    pytest.param(
        {"color": {"object": "apple", "select": "leftmost", "equals": "red"}},
        "Is the leftmost apple red?",
        id="color-select",
    ),
    pytest.param(
        {"color": {"part": "floor2", "equals": "pink"}},
        "Is the area 'floor 2' mostly pink?",
        id="color-part",
    ),
    pytest.param(
        {"text": {"contains": "OPEN"}}, 'Does the image show the text "OPEN"?', id="text-contains"
    ),
    pytest.param({"text": {"equals": ""}}, "Is there no text in the image at all?", id="text-none"),
    pytest.param(
        {"style": {"equals": "grayscale"}},
        "Is the whole image grayscale (no colour anywhere)?",
        id="style",
    ),
    pytest.param(
        {"unchanged": {"against": 1, "outside": ["reflection"]}},
        "Outside the area 'reflection', is the image unchanged from turn 1?",
        id="unchanged",
    ),
    pytest.param(
        {
            "unchanged": {
                "against": "room",
                "outside": ["seated1", "seated2"],
                "outside_objects": ["lamp"],
            }
        },
        "Outside the areas 'seated 1' and 'seated 2' and any lamp, is the image unchanged "
        "from the source image 'room'?",
        id="unchanged-named-image",
    ),
    pytest.param(
        {"unchanged": {"against": 2}},
        "Is the image unchanged from turn 2?",
        id="unchanged-everywhere",
    ),
    pytest.param({"same_as": {"against": 1}}, "Is the image the same as in turn 1?", id="same-as"),
    pytest.param(
        {"ask": {"question": "Is the horse drinking?", "expect": "yes"}},
        "Is the horse drinking?",
        id="ask-yes",
    ),
    pytest.param(
        {"ask": {"question": "Is it night?", "expect": "no"}},
        "Is the answer no to: “Is it night?”",
        id="ask-no",
    ),
]


@pytest.mark.parametrize(("check", "question"), QUESTIONS)
def test_each_check_reads_as_a_yes_means_pass_question(
    check: dict[str, Any], question: str
) -> None:
    text, hint = ask(CHECK.validate_python(check))
    assert text == question
    assert hint and "\n" not in hint


def test_hints_state_the_rule_the_judges_apply() -> None:
    _, relation = ask(
        CHECK.validate_python(
            {"relation": {"subject": "cat", "relation": "above", "object": "dog"}}
        )
    )
    assert relation == (
        "Every cat must be above every dog, comparing their centres as you look at the image."
    )
    _, unchanged = ask(CHECK.validate_python({"unchanged": {"against": 1}}))
    assert unchanged == (
        "Ignore a slight re-rendering of the whole picture (a small shift, crop, scale, "
        "colour or sharpness change) and differences too small to see."
    )


@pytest.mark.parametrize(
    ("part", "words"), [("left_hand", "left hand"), ("floor2", "floor 2"), ("sky", "sky")]
)
def test_part_names_read_as_words(part: str, words: str) -> None:
    assert part_name(part) == words
