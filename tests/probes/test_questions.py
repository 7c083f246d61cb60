"""The probe questions: which checks are asked, their words, the schema, strict reading."""

from __future__ import annotations

from typing import Any

import pytest

from uniprobe.cases.loader import load_suite
from uniprobe.cases.schema import Case
from uniprobe.probes.questions import (
    KNOWS_MARKER,
    PROBE_PROMPT_VERSION,
    SEES_MARKER,
    ProbeQuestion,
    ProbeReplyError,
    answer_schema,
    knows_prompt,
    probe_questions,
    question_records,
    read_answers,
    sees_prompt,
)
from uniprobe.scoring.questions import COUNT_TEMPLATE, PRESENCE_TEMPLATE


def _case(turns: list[dict[str, Any]], **extra: Any) -> Case:
    return Case.model_validate(
        {"id": "t", "family": "post_generation", "subtype": "s", "turns": turns, **extra}
    )


SCENE = {
    "scene": {
        "objects": [
            {"id": "left_cup", "kind": "cup", "x": 128, "y": 256, "size": 100},
            {"id": "right_cup", "kind": "cup", "x": 384, "y": 256, "size": 100},
        ]
    }
}

MANY = _case(
    [
        {"user": "From now on, if I mention a number, add 3 before using it."},
        {
            "user": "Generate an image of 2 dolphins and a boat.",
            "expect": [
                {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
                {"count": {"object": "dolphin", "at_least": 4}},
                {"present": {"object": "boat"}},
                {"absent": {"object": "boat", "turn": 1}},
                {
                    "relation": {
                        "subject": "boat",
                        "relation": "left_of",
                        "object": "dolphin",
                        "literal": "right_of",
                    }
                },
                {"position": {"object": "boat", "place": "top"}},
                {"color": {"object": "boat", "equals": "red"}},
                {"color": {"object": "dolphin", "select": "leftmost", "equals": "gray"}},
                {"text": {"contains": "SEA"}},
                {"style": {"equals": "grayscale"}},
                {"ask": {"question": "Is there a boat in the image?", "expect": "yes"}},
            ],
        },
    ]
)


def test_knows_asks_one_question_per_check_of_the_turn_in_order() -> None:
    qs = probe_questions(MANY, 2, "knows")
    assert [(q.qid, q.text, q.answer, q.paths) for q in qs] == [
        (
            "q1",
            'How many "dolphin" should the image show? Answer with a number.',
            "count",
            ("turns.1.expect.0", "turns.1.expect.1"),
        ),
        (
            "q2",
            'Should the image show any "boat"? Answer yes or no.',
            "yesno",
            ("turns.1.expect.2",),
        ),
        (
            "q3",
            'Should the "boat" be to the left of the "dolphin"? Answer yes or no.',
            "yesno",
            ("turns.1.expect.4",),
        ),
        (
            "q4",
            'Should the "boat" be to the right of the "dolphin"? Answer yes or no.',
            "yesno",
            ("turns.1.expect.4",),
        ),
        (
            "q5",
            'Should the "boat" be in the top half of the image? Answer yes or no.',
            "yesno",
            ("turns.1.expect.5",),
        ),
        (
            "q6",
            'What colour should the "boat" be? Answer with a colour name.',
            "color",
            ("turns.1.expect.6",),
        ),
        (
            "q7",
            'What colour should the leftmost "dolphin" be? Answer with a colour name.',
            "color",
            ("turns.1.expect.7",),
        ),
        (
            "q8",
            'What text should the image show? Answer with the exact text ("" for none).',
            "text",
            ("turns.1.expect.8",),
        ),
        (
            "q9",
            "Should the whole image be in grayscale, with no colour anywhere? Answer yes or no.",
            "yesno",
            ("turns.1.expect.9",),
        ),
        (
            "q10",
            "About the image you will draw: Is there a boat in the image? Answer yes or no.",
            "yesno",
            ("turns.1.expect.10",),
        ),
    ]
    assert probe_questions(MANY, 1, "knows") == []


def test_sees_uses_the_judge_templates() -> None:
    qs = probe_questions(MANY, 2, "sees")
    assert qs[0].text == COUNT_TEMPLATE.format(object="dolphin", where="")
    assert qs[1].text == PRESENCE_TEMPLATE.format(object="boat", where="")
    assert [q.answer for q in qs] == [
        "count",
        "yesno",
        "yesno",
        "yesno",
        "color",
        "color",
        "text",
        "yesno",
        "yesno",
    ]
    assert qs[2].text == 'Is the "boat" to the left of the "dolphin"?'  # no literal question
    assert (
        qs[6].text == 'What text is written in the image? Answer with the exact text ("" for none).'
    )


EDIT = _case(
    [
        {
            "user": "Make the left cup red.",
            "attach": ["src"],
            "expect": [
                {"color": {"part": "left_cup", "equals": "red"}},
                {"count": {"object": "cup", "equals": 2, "within": "left_cup"}},
                {"unchanged": {"against": "src", "outside": ["left_cup"]}},
                {"present": {"object": "saucer"}},
            ],
        },
        {
            "user": "Now do nothing.",
            "expect": [{"same_as": {"against": 1}}],
        },
    ],
    images={"src": SCENE},
)


def test_comparisons_offer_parts_and_regions_come_from_the_scene() -> None:
    knows = probe_questions(EDIT, 1, "knows")
    assert (
        knows[0].text
        == 'What should the main colour inside "left_cup" be? Answer with a colour name.'
    )
    assert knows[1].text.endswith('should the image show inside "left_cup"? Answer with a number.')
    assert knows[2].answer == "parts"
    assert knows[2].options == ("left_cup", "cup", "saucer", "background", "nothing")
    assert knows[2].text == (
        'Compared with the image "src" you were given, which of these may change: '
        "left_cup, cup, saucer, background, nothing? "
        'Answer with a list of them ("nothing" alone if nothing may change).'
    )
    sees = probe_questions(EDIT, 1, "sees")
    assert sees[0].text.startswith('What is the main colour inside the region "left_cup" (x ')
    assert sees[2].text.startswith(
        'Image 1 is the image "src" you were given, image 2 the image you just drew. '
        'Apart from the region "left_cup" (x '
    )
    assert sees[2].text.endswith("is there any difference between image 1 and image 2?")
    [same] = probe_questions(EDIT, 2, "knows")
    assert same.options == ("background", "nothing")
    assert "the image as it was after turn 1" in same.text
    [same_sees] = probe_questions(EDIT, 2, "sees")
    assert same_sees.text == (
        "Image 1 is the image as it was after turn 1, image 2 the image you just drew. "
        "Is there any difference between image 1 and image 2?"
    )


def test_both_branches_of_a_conditional_are_asked_equal_questions_once() -> None:
    case = _case(
        [
            {
                "user": "If there is a cat, add a snowman; otherwise add a tree.",
                "expect": [
                    {
                        "when": {"present": {"object": "cat"}},
                        "then": [{"present": {"object": "snowman"}}],
                        "else": [
                            {"absent": {"object": "snowman"}},
                            {"present": {"object": "tree"}},
                        ],
                    }
                ],
            }
        ]
    )
    qs = probe_questions(case, 1, "knows")
    assert [(q.text, q.paths) for q in qs] == [
        (
            'Should the image show any "snowman"? Answer yes or no.',
            ("turns.0.expect.0.then.0", "turns.0.expect.0.else.0"),
        ),
        ('Should the image show any "tree"? Answer yes or no.', ("turns.0.expect.0.else.1",)),
    ]


def test_prompts_start_as_the_contract_says() -> None:
    qs = probe_questions(MANY, 2, "knows")
    text = knows_prompt("Generate an image of 2 dolphins and a boat.", qs)
    assert text.startswith("Generate an image of 2 dolphins and a boat.\n\n" + KNOWS_MARKER)
    assert '\nq1: How many "dolphin" should the image show? Answer with a number.\n' in text
    assert text.endswith(
        '{"q1": ..., "q2": ..., "q3": ..., "q4": ..., "q5": ..., "q6": ..., '
        '"q7": ..., "q8": ..., "q9": ..., "q10": ...}.'
    )
    assert sees_prompt(probe_questions(MANY, 2, "sees")).startswith(SEES_MARKER)
    assert len(PROBE_PROMPT_VERSION) >= 8


def test_the_schema_has_one_required_property_per_question() -> None:
    qs = probe_questions(EDIT, 1, "knows")
    schema = answer_schema(qs)
    assert schema["required"] == ["q1", "q2", "q3", "q4"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["q2"] == {
        "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["unsure"]}]
    }
    assert schema["properties"]["q3"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "string", "enum": ["left_cup", "cup", "saucer", "background", "nothing"]},
        "minItems": 1,
    }
    assert schema["properties"]["q4"] == {"type": "string", "enum": ["yes", "no", "unsure"]}
    records = question_records(qs)
    assert records[2].options == ["left_cup", "cup", "saucer", "background", "nothing"]
    assert records[0].paths == ["turns.0.expect.0"]


QS = [
    ProbeQuestion("q1", "how many", "count", ("p1",)),
    ProbeQuestion("q2", "yes?", "yesno", ("p2",)),
    ProbeQuestion("q3", "colour?", "color", ("p3",)),
    ProbeQuestion("q4", "text?", "text", ("p4",)),
    ProbeQuestion("q5", "parts?", "parts", ("p5",), ("left_cup", "background", "nothing")),
]


def test_read_answers_reads_every_kind() -> None:
    text = '```json\n{"q1": 5, "q2": "Yes", "q3": "grey", "q4": "SEA", "q5": ["Left_cup"]}\n```'
    assert read_answers(text, QS) == {
        "q1": 5,
        "q2": "yes",
        "q3": "gray",
        "q4": "SEA",
        "q5": ["left_cup"],
    }
    unsure = '{"q1": "unsure", "q2": "unsure", "q3": "unsure", "q4": "unsure", "q5": "unsure"}'
    assert read_answers(unsure, QS) == dict.fromkeys(["q1", "q2", "q3", "q4", "q5"], "unsure")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("I think 5", "the reply is not JSON (Expecting value at char 0)", id="prose"),
        pytest.param("[5]", "the reply is JSON but not an object (list)", id="list"),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": ""}',
            "the reply has no answer to q5",
            id="missing",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": "", "q5": ["nothing"], "q6": 1}',
            "the reply has unexpected keys: q6",
            id="extra",
        ),
        pytest.param(
            '{"q1": "5", "q2": "no", "q3": "red", "q4": "", "q5": ["nothing"]}',
            'q1 is "5", not a whole number >= 0',
            id="count-string",
        ),
        pytest.param(
            '{"q1": true, "q2": "no", "q3": "red", "q4": "", "q5": ["nothing"]}',
            "q1 is true, not a whole number >= 0",
            id="count-bool",
        ),
        pytest.param(
            '{"q1": 5, "q2": "maybe", "q3": "red", "q4": "", "q5": ["nothing"]}',
            'q2 is "maybe", not yes, no or unsure',
            id="yesno",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "teal-ish", "q4": "", "q5": ["nothing"]}',
            'q3 is "teal-ish", not a palette colour',
            id="colour",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": 3, "q5": ["nothing"]}',
            "q4 is 3, not a text",
            id="text",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": "", "q5": ["roof"]}',
            'q5 names "roof", not one of the offered words',
            id="parts-unknown",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": "", "q5": []}',
            "q5 is [], not a non-empty list of the offered words",
            id="parts-empty",
        ),
        pytest.param(
            '{"q1": 5, "q2": "no", "q3": "red", "q4": "", "q5": ["nothing", "background"]}',
            'q5 gives "nothing" together with other words',
            id="parts-nothing",
        ),
    ],
)
def test_read_answers_rejects_with_one_line(text: str, reason: str) -> None:
    with pytest.raises(ProbeReplyError) as err:
        read_answers(text, QS)
    assert str(err.value) == reason
    assert "\n" not in str(err.value)


def test_every_paper_case_words_its_questions() -> None:
    suite = load_suite("paper")
    asked = 0
    for case in suite.cases:
        for turn, t in enumerate(case.turns, 1):
            knows = probe_questions(case, turn, "knows")
            sees = probe_questions(case, turn, "sees")
            served = {p for q in knows for p in q.paths}
            assert served == {p for q in sees for p in q.paths}
            assert bool(knows) == bool(t.expect)
            asked += len(knows)
    assert asked > 50
