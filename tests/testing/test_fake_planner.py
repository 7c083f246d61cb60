"""FakePlanner: plans from the dialogue text of the planner prompt, nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest

from uniprobe.backends.base import (
    Conversation,
    Exchange,
    ImageData,
    Reply,
    SessionContext,
    UserTurn,
)
from uniprobe.backends.plan import planner_prompt
from uniprobe.testing._mind import Said
from uniprobe.testing.painter import read
from uniprobe.testing.planner import FakePlanner

CONTEXT = SessionContext("case", 0, 0)


def _plan(*messages: str, canvas: bool = False) -> dict[str, str]:
    """The plan for the last message, after the earlier ones (each answered as planned)."""
    planner = FakePlanner()
    history: list[Exchange] = []
    plan: dict[str, str] = {}
    for i, text in enumerate(messages, 1):
        attached = (ImageData(b"png"),) if canvas and i == len(messages) else ()
        turn = UserTurn(i, text, attached)
        prompt = planner_prompt(Conversation(CONTEXT, tuple(history)), turn)
        plan = json.loads(planner.answer("gpt-5.5", [Said("user", prompt)], None))
        drew = (ImageData(b"png"),) if plan["action"] != "none" else ()
        history.append(Exchange(turn, Reply(images=drew, raw_meta={"plan": json.dumps(plan)})))
    return plan


def test_a_numeric_rule_changes_the_count() -> None:
    rule = "From now on, if I mention a number, add 3 before using it."
    assert _plan(rule) == {"action": "none", "instruction": "", "reply": "Understood."}
    plan = _plan(rule, "Generate an image of 2 dolphins.")
    assert plan == {
        "action": "draw",
        "instruction": "Generate an image of 5 dolphins.",
        "reply": "Here it is.",
    }
    # what the literal painter makes of it
    [mention] = read(plan["instruction"]).objects
    assert (mention.concept, mention.count) == ("dolphin", 5)


@pytest.mark.parametrize(
    ("rule", "request_", "instruction"),
    [
        pytest.param(
            "For the rest of this chat, swap left and right in everything I ask: "
            "my left is your right.",
            "Draw a dog and a cat; put the dog on the left.",
            "Draw a dog and a cat; put the dog on the right.",
            id="left-right",
        ),
        pytest.param(
            "Rule: above and below are reversed from now on. If I say on top, put it underneath.",
            "Draw a cup on top of a book.",
            "Draw a cup underneath a book.",
            id="up-down",
        ),
        pytest.param(
            "Let's use a code: 'cat' stands for dog from now on.",
            "Please draw three cats.",
            "Please draw three dogs.",
            id="word",
        ),
        pytest.param(
            "From now on, anything red must be blue.",
            "Show me a red car.",
            "Show me a blue car.",
            id="colour",
        ),
        pytest.param(
            "New rule: your pictures must not show animals.",
            "Draw a house with a dog next to it.",
            "Draw a house.",
            id="exclusion",
        ),
        pytest.param(
            "From now on, write the word 'HELLO' somewhere in every image you make.",
            "Draw an apple.",
            "Draw an apple. Write the word 'HELLO' in the image.",
            id="text",
        ),
        pytest.param(
            "From now on, double every number I give you, except for cats.",
            "Draw 3 cats.",
            "Draw 3 cats.",
            id="exception",
        ),
        pytest.param(
            "New rule: replace every cup I ask for with the largest land animal.",
            "Draw a cup.",
            "Draw an elephant.",
            id="knowledge",
        ),
    ],
)
def test_rules_are_resolved_into_the_instruction(
    rule: str, request_: str, instruction: str
) -> None:
    assert _plan(rule, request_)["instruction"] == instruction


def test_a_later_rule_overrides_and_a_retraction_withdraws() -> None:
    add = "From now on, if I mention a number, add 1 before using it."
    sub = "Scrap that rule: from now on, subtract 2 from every number instead."
    assert _plan(add, sub, "Draw 4 kites.")["instruction"] == "Draw 2 kites."
    off = "Forget the rule about numbers: use numbers exactly as I say them from now on."
    assert _plan(add, off, "Draw 4 kites.")["instruction"] == "Draw 4 kites."


def test_an_off_topic_request_is_declined() -> None:
    rule = "New rule: only dogs, cats and horses are allowed as subjects from now on."
    assert _plan(rule, "Draw a bus and a tree.") == {
        "action": "none",
        "instruction": "",
        "reply": "That is not something you allowed me to draw.",
    }
    assert _plan(rule, "Draw two cats.")["instruction"] == "Draw two cats."


def test_an_edit_of_the_canvas_passes_through() -> None:
    plan = _plan("Add a tree to this picture if there are birds in it.", canvas=True)
    assert plan["action"] == "edit"
    assert plan["instruction"] == "Add a tree to this picture if there are birds in it."


def test_other_prompts_are_not_planned() -> None:
    said = [Said("user", "Before you draw it: how many dogs?")]
    assert FakePlanner().answer("gpt-5.5", said, None) == "I can only plan."

    class Probed:
        def answer(self, model: str, conversation: Any, schema: Any) -> str:
            return f"{model} answers {conversation[-1].text!r}"

    planner = FakePlanner(otherwise=Probed())
    assert planner.answer("gpt-5.5", said, None) == (
        "gpt-5.5 answers 'Before you draw it: how many dogs?'"
    )
    # a planner prompt is still planned
    assert _plan("Draw a dog.")["instruction"] == "Draw a dog."
