"""What the VLM judge asks and how it reads the answer: questions, prompts, schema, parsing.

Checks are broken into *atomic questions* with a fixed wording (the templates below),
so that equal questions from different checks are asked once ("how many dolphins"
serves `count: {equals: 5}` and its literal variant `equals: 2`). A question has one
of three answer kinds:

* `count`: a whole number >= 0 (or "unsure");
* `yesno`: "yes", "no" or "unsure";
* `color`: a palette name (`COLOR_NAMES`), "mixed" (instances differ), "none" (no
  such object) or "unsure".

The questions of one call are numbered q1, q2, ... in the prompt; the reply must be a
JSON object with exactly those keys (`answer_schema`, sent as the structured-output
schema). `read_reply` checks a reply against the questions it answers. The prompt
version recorded in every verdict is the hash of all templates (`PROMPT_VERSION`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from uniprobe.hashing import sha256_json, short_hash
from uniprobe.scenes.colors import COLOR_NAMES, canonical_color_name

__all__ = [
    "ASK_TEMPLATE",
    "COLOR_ANSWERS",
    "COLOR_SELECT_TEMPLATE",
    "COLOR_TEMPLATE",
    "COMPARE_PROMPT",
    "COUNT_TEMPLATE",
    "DIFFERENCE_TEMPLATE",
    "IMAGE_PROMPT",
    "OBJECT_EXCLUSION",
    "PART_COLOR_TEMPLATE",
    "PLACE_PHRASES",
    "POSITION_TEMPLATE",
    "PRESENCE_TEMPLATE",
    "PROMPT_VERSION",
    "REGION_TEMPLATE",
    "RELATION_PHRASES",
    "RELATION_TEMPLATE",
    "SAME_TEMPLATE",
    "STYLE_TEMPLATE",
    "VERIFY_PROMPT",
    "VERIFY_TEMPLATE",
    "WHERE_TEMPLATE",
    "YES_NO",
    "AnswerKind",
    "Question",
    "Region",
    "ReplyError",
    "Value",
    "answer_schema",
    "ask_question",
    "color_question",
    "count_question",
    "difference_question",
    "part_color_question",
    "position_question",
    "presence_question",
    "qid",
    "read_reply",
    "relation_question",
    "render_prompt",
    "style_question",
    "verify_question",
]

AnswerKind = Literal["count", "yesno", "color"]
Value = int | str
"""An answer: an int for counts, else one of the allowed words (including "unsure")."""

YES_NO: tuple[str, ...] = ("yes", "no", "unsure")
COLOR_ANSWERS: tuple[str, ...] = (*COLOR_NAMES, "mixed", "none", "unsure")

# --- question templates (the fake VLM parses these very strings) ----------------------

COUNT_TEMPLATE = 'How many instances of "{object}" are there{where}?'
PRESENCE_TEMPLATE = 'Does the image show any "{object}"{where}?'
RELATION_TEMPLATE = 'Is the "{subject}" {relation} the "{object}"?'
POSITION_TEMPLATE = 'Is the "{object}" in the {place} of the image?'
COLOR_TEMPLATE = 'What colour is the "{object}"?'
COLOR_SELECT_TEMPLATE = 'What colour is the {select} "{object}"?'
PART_COLOR_TEMPLATE = "What is the main colour inside {region}?"
STYLE_TEMPLATE = "Is the whole image in grayscale, with no colour anywhere?"
ASK_TEMPLATE = "{question}"
SAME_TEMPLATE = "Is there any difference between image 1 and image 2?"
DIFFERENCE_TEMPLATE = "Apart from {excluded}, is there any difference between image 1 and image 2?"
VERIFY_TEMPLATE = 'Does image {index} show a "{object}"?'
REGION_TEMPLATE = 'the region "{name}" (x {x0}% to {x1}%, y {y0}% to {y1}%)'
WHERE_TEMPLATE = " inside {region}"
OBJECT_EXCLUSION = 'any "{object}"'

RELATION_PHRASES: dict[str, str] = {
    "left_of": "to the left of",
    "right_of": "to the right of",
    "above": "above",
    "below": "below",
}
PLACE_PHRASES: dict[str, str] = {
    "left": "left half",
    "right": "right half",
    "top": "top half",
    "bottom": "bottom half",
    "center": "central third (across and down)",
    "top_left": "top-left quarter",
    "top_right": "top-right quarter",
    "bottom_left": "bottom-left quarter",
    "bottom_right": "bottom-right quarter",
}

# --- prompts ---------------------------------------------------------------------------


def _reply(example: str) -> str:
    return (
        "Reply with one JSON object with exactly one key per question id and nothing else, "
        f"for example {example}."
    )


IMAGE_PROMPT = (
    "You are checking an image. Answer each question below about what the image shows, "
    "as a careful person looking at it would.\n\n"
    "How to answer:\n"
    '- "How many" questions: a whole number (0 if there is none).\n'
    '- Yes/no questions: "yes" or "no".\n'
    "- Colour questions: one of {colors}; "
    '"mixed" if the objects asked about differ in colour, "none" if there is no such object.\n'
    '- Answer "unsure" only when the image does not let you decide.\n'
    "- Left, right, above and below are as the viewer sees the image; an object is "
    "where its centre is.\n"
    "- A statement about an object that appears several times must hold for every one "
    "of them; a statement about a missing object is false.\n"
    '- "The middle" object is the middle one counting from left to right.\n'
    "- Regions and halves are parts of the image: x runs from 0% (left edge) to 100% "
    "(right edge), y from 0% (top edge) to 100% (bottom edge).\n\n"
    "Questions:\n{questions}\n\n" + _reply('{"q1": 2, "q2": "no"}')
)
COMPARE_PROMPT = (
    "You are comparing two images: image 1 is the original, image 2 a later version of "
    "it. Ignore differences of size, scale, compression or a few pixels of shift; "
    "count everything else as a difference: objects added, removed, moved, resized or "
    "recoloured, a changed background, changed text.\n\n"
    "How to answer:\n"
    '- Yes/no questions: "yes" or "no"; "unsure" only when the images do not let you '
    "decide.\n"
    "- Regions are parts of image 1: x runs from 0% (left edge) to 100% (right edge), "
    "y from 0% (top edge) to 100% (bottom edge). A difference inside an excluded "
    "region or on an excluded object does not count.\n\n"
    "Questions:\n{questions}\n\n" + _reply('{"q1": "no", "q2": "yes"}')
)
VERIFY_PROMPT = (
    'Each image is a crop from a larger picture. For each question, answer "yes" if '
    'the crop shows the named object as its main subject, "no" if it does not, and '
    '"unsure" only if the crop does not let you decide.\n\n'
    "Questions:\n{questions}\n\n" + _reply('{"q1": "yes", "q2": "no"}')
)
PROMPT_VERSION = short_hash(
    sha256_json(
        [
            IMAGE_PROMPT,
            COMPARE_PROMPT,
            VERIFY_PROMPT,
            COUNT_TEMPLATE,
            PRESENCE_TEMPLATE,
            RELATION_TEMPLATE,
            POSITION_TEMPLATE,
            COLOR_TEMPLATE,
            COLOR_SELECT_TEMPLATE,
            PART_COLOR_TEMPLATE,
            STYLE_TEMPLATE,
            ASK_TEMPLATE,
            SAME_TEMPLATE,
            DIFFERENCE_TEMPLATE,
            VERIFY_TEMPLATE,
            REGION_TEMPLATE,
            WHERE_TEMPLATE,
            OBJECT_EXCLUSION,
            RELATION_PHRASES,
            PLACE_PHRASES,
            COLOR_ANSWERS,
        ]
    )
)
"""Hash of every prompt and template: changes whenever the wording does."""


# --- questions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    """One atomic question; equal questions are asked once per image."""

    kind: AnswerKind
    text: str


@dataclass(frozen=True)
class Region:
    """A named area of an image, as fractions (x0, y0, x1, y1) of its width and height."""

    name: str
    box: tuple[float, float, float, float]

    def describe(self) -> str:
        """The region in words, as the prompt gives it."""
        x0, y0, x1, y1 = (f"{100 * v:.1f}" for v in self.box)
        return REGION_TEMPLATE.format(name=_word(self.name), x0=x0, x1=x1, y0=y0, y1=y1)


def _word(text: str) -> str:
    """A word or phrase fit to sit inside double quotes on one line."""
    return " ".join(text.replace('"', "'").split())


def _where(region: Region | None) -> str:
    return "" if region is None else WHERE_TEMPLATE.format(region=region.describe())


def count_question(word: str, region: Region | None = None) -> Question:
    """How many of an object there are (optionally inside a region)."""
    return Question("count", COUNT_TEMPLATE.format(object=_word(word), where=_where(region)))


def presence_question(word: str, region: Region | None = None) -> Question:
    """Whether any of an object (or backdrop) is shown (optionally inside a region)."""
    return Question("yesno", PRESENCE_TEMPLATE.format(object=_word(word), where=_where(region)))


def relation_question(subject: str, relation: str, obj: str) -> Question:
    """Whether one object is left of / right of / above / below another."""
    text = RELATION_TEMPLATE.format(
        subject=_word(subject), relation=RELATION_PHRASES[relation], object=_word(obj)
    )
    return Question("yesno", text)


def position_question(word: str, place: str) -> Question:
    """Whether an object is in a half, quarter or the centre of the frame."""
    return Question(
        "yesno", POSITION_TEMPLATE.format(object=_word(word), place=PLACE_PHRASES[place])
    )


def color_question(word: str, select: str | None = None) -> Question:
    """The colour of an object (all its instances, or the selected one)."""
    if select is None:
        return Question("color", COLOR_TEMPLATE.format(object=_word(word)))
    return Question("color", COLOR_SELECT_TEMPLATE.format(select=select, object=_word(word)))


def part_color_question(region: Region) -> Question:
    """The main colour inside a region."""
    return Question("color", PART_COLOR_TEMPLATE.format(region=region.describe()))


def style_question() -> Question:
    """Whether the image is grayscale."""
    return Question("yesno", STYLE_TEMPLATE)


def ask_question(text: str) -> Question:
    """A case's own yes/no question, on one line."""
    return Question("yesno", ASK_TEMPLATE.format(question=" ".join(text.split())))


def difference_question(regions: Sequence[Region] = (), objects: Sequence[str] = ()) -> Question:
    """Whether image 2 differs from image 1 (apart from some regions and objects)."""
    excluded = [r.describe() for r in regions] + [
        OBJECT_EXCLUSION.format(object=_word(o)) for o in objects
    ]
    if not excluded:
        return Question("yesno", SAME_TEMPLATE)
    joined = (
        excluded[0] if len(excluded) == 1 else ", ".join(excluded[:-1]) + " and " + excluded[-1]
    )
    return Question("yesno", DIFFERENCE_TEMPLATE.format(excluded=joined))


def verify_question(index: int, word: str) -> Question:
    """Whether crop number `index` (1-based) shows an object."""
    return Question("yesno", VERIFY_TEMPLATE.format(index=index, object=_word(word)))


# --- the request -----------------------------------------------------------------------


def qid(index: int) -> str:
    """The key of the question at `index` (0-based) in the prompt and the reply."""
    return f"q{index + 1}"


def render_prompt(template: str, questions: Sequence[Question]) -> str:
    """A prompt template with its numbered questions filled in."""
    lines = "\n".join(f"{qid(i)}: {q.text}" for i, q in enumerate(questions))
    return template.replace("{colors}", ", ".join(COLOR_NAMES)).replace("{questions}", lines)


def _property(kind: AnswerKind) -> dict[str, Any]:
    if kind == "count":
        return {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "enum": ["unsure"]},
            ]
        }
    return {"type": "string", "enum": list(YES_NO if kind == "yesno" else COLOR_ANSWERS)}


def answer_schema(questions: Sequence[Question]) -> dict[str, Any]:
    """The JSON schema of a reply: one required property per question, nothing else."""
    keys = [qid(i) for i in range(len(questions))]
    return {
        "type": "object",
        "properties": {k: _property(q.kind) for k, q in zip(keys, questions, strict=True)},
        "required": keys,
        "additionalProperties": False,
    }


# --- the reply -------------------------------------------------------------------------


class ReplyError(ValueError):
    """The reply as a whole cannot be read (not JSON, not an object)."""


_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _value(kind: AnswerKind, raw: object) -> Value:
    """One answer in canonical form; ValueError says why it is not one."""
    if kind == "count":
        if isinstance(raw, bool):
            raise ValueError(f"not a count: {raw!r}")
        if isinstance(raw, int) and raw >= 0:
            return raw
        if isinstance(raw, float) and raw.is_integer() and raw >= 0:
            return int(raw)
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw.strip())
        if isinstance(raw, str) and raw.strip().lower() == "unsure":
            return "unsure"
        raise ValueError(f"not a count: {raw!r}")
    if not isinstance(raw, str):
        raise ValueError(f"not a word: {raw!r}")
    word = raw.strip().lower()
    if kind == "yesno":
        if word in YES_NO:
            return word
        raise ValueError(f"not yes, no or unsure: {raw!r}")
    if word in COLOR_ANSWERS:
        return word
    try:
        return canonical_color_name(word)
    except ValueError:
        raise ValueError(f"not a palette colour: {raw!r}") from None


def read_reply(
    text: str, questions: Sequence[Question]
) -> tuple[list[Value | None], dict[int, str]]:
    """The answer to each question (None where there is none) and, by question index,
    what is wrong with the ones that are missing or invalid.

    Raises:
        ReplyError: the reply is not a JSON object.
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:  # local models often wrap JSON in a code fence
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"the reply is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict):
        raise ReplyError(f"the reply is JSON but not an object ({type(data).__name__})")
    answers: list[Value | None] = []
    problems: dict[int, str] = {}
    for i, q in enumerate(questions):
        key = qid(i)
        if key not in data:
            answers.append(None)
            problems[i] = f"the reply has no answer to {key}"
            continue
        try:
            answers.append(_value(q.kind, data[key]))
        except ValueError as exc:
            answers.append(None)
            problems[i] = f"the answer to {key} is {exc}"
    return answers, problems
