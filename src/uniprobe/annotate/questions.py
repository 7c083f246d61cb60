"""Checks as plain-language questions for annotators.

Every question is phrased so that "yes" means the check passes: the page's pass button
is the yes answer. A hint line gives the rule the automatic judges apply (centres for
relations, halves for positions, the share of pixels an edit may change), so people and
judges answer the same question. Named scene parts ("within the area 'left hand'") are
outlined on the image by the page.
"""

from __future__ import annotations

import re

from uniprobe.cases.checks import (
    Absent,
    Ask,
    Check,
    Color,
    Count,
    Position,
    Present,
    Relation,
    SameAs,
    Style,
    Text,
    Unchanged,
    check_to_dict,
)
from uniprobe.scenes.colors import PALETTE
from uniprobe.scenes.vocabulary import plural, try_resolve

__all__ = ["Question", "ask", "reference_name"]

Question = tuple[str, str]
"""(question, hint)."""

_RELATION = {"left_of": "left of", "right_of": "right of", "above": "above", "below": "below"}
_PLACE = {
    "left": "in the left half",
    "right": "in the right half",
    "top": "in the top half",
    "bottom": "in the bottom half",
    "center": "in the centre",
    "top_left": "in the top-left quarter",
    "top_right": "in the top-right quarter",
    "bottom_left": "in the bottom-left quarter",
    "bottom_right": "in the bottom-right quarter",
}


def part_name(part: str) -> str:
    """A scene part id as words: 'left_hand' -> 'left hand', 'floor2' -> 'floor 2'."""
    return re.sub(r"(?<=[a-z])(?=\d)", " ", part.replace("_", " "))


def reference_name(against: int | str) -> str:
    """What a comparison compares with, in words: 'turn 1' or "the source image 'lake'"."""
    return f"turn {against}" if isinstance(against, int) else f"the source image '{against}'"


def _area(part: str | None) -> str:
    return "" if part is None else f" within the area '{part_name(part)}'"


def _areas(parts: tuple[str, ...]) -> str:
    names = [f"'{part_name(p)}'" for p in parts]
    if len(names) == 1:
        return f"the area {names[0]}"
    return f"the areas {', '.join(names[:-1])} and {names[-1]}"


def _join(words: list[str]) -> str:
    return ", ".join(words[:-1]) + (" and " if len(words) > 1 else "") + words[-1]


def _count(check: Count) -> Question:
    obj, many, area = check.object, plural(check.object), _area(check.within)
    hint = "Count every one you can see, even if partly hidden."
    if check.matches is not None:
        m = check.matches
        other = f"{plural(m.object)} in the image of turn {m.turn}"
        if m.times == 1 and m.plus == 0:
            return f"Are there as many {many}{area} as there are {other}?", hint
        expr = (
            f"{m.times} times the number of {other}" if m.times != 1 else f"the number of {other}"
        )
        if m.plus:
            expr += f" {'plus' if m.plus > 0 else 'minus'} {abs(m.plus)}"
        return f"Is the number of {many}{area} {expr}?", hint
    if check.equals == 0:
        return f"Are there no {many}{area} at all?", hint
    if check.equals == 1:
        return f"Is there exactly one {obj}{area}?", hint
    if check.equals is not None:
        return f"Are there exactly {check.equals} {many}{area}?", hint
    if check.at_least is not None and check.at_most is not None:
        return f"Are there between {check.at_least} and {check.at_most} {many}{area}?", hint
    if check.at_least is not None:
        return f"Are there at least {check.at_least} {many}{area}?", hint
    return f"Are there at most {check.at_most} {many}{area}?", hint


def _presence(check: Present | Absent) -> Question:
    term = try_resolve(check.object)
    backdrop = term is not None and term.render == "backdrop"
    area = _area(check.within)
    if isinstance(check, Absent):
        hint = f"Yes if none is visible{area}."
        return f"Is there no {check.object}{area or ' at all'}?", hint
    if backdrop:
        return f"Is there any {check.object}{area}?", "Backgrounds count: water, road, sky..."
    return f"Is there at least one {check.object}{area}?", "Yes if you can see one or more."


def _relation(check: Relation) -> Question:
    rel = _RELATION[check.relation]
    hint = (
        f"Every {check.subject} must be {rel} every {check.object}, comparing their centres "
        "as you look at the image."
    )
    return f"Is the {check.subject} {rel} the {check.object}?", hint


def _position(check: Position) -> Question:
    hint = (
        "Judge each one by its centre: halves for left/right/top/bottom, the middle third "
        "both ways for the centre. If there are several, all of them must be there."
    )
    return f"Is the {check.object} {_PLACE[check.place]} of the image?", hint


def _color(check: Color) -> Question:
    hint = f"Colours are named from: {', '.join(PALETTE)}."
    if check.part is not None:
        return f"Is the area '{part_name(check.part)}' mostly {check.equals}?", hint
    if check.select is not None:
        return f"Is the {check.select} {check.object} {check.equals}?", hint
    return f"Is the {check.object} {check.equals}?", f"If there are several, all must be. {hint}"


def _text(check: Text) -> Question:
    hint = "Ignore upper/lower case and spacing."
    if check.contains is not None:
        return f'Does the image show the text "{check.contains}"?', hint
    if check.equals == "":
        return "Is there no text in the image at all?", "Yes if nothing is written anywhere."
    return f'Is the only text in the image exactly "{check.equals}"?', hint


def _style(check: Style) -> Question:
    if check.equals == "grayscale":
        return "Is the whole image grayscale (no colour anywhere)?", "Shades of gray only."
    return "Is the image in colour (not grayscale)?", "Yes if any part has colour."


def _unchanged(check: Unchanged) -> Question:
    ref = reference_name(check.against)
    excluded = [_areas(check.outside)] if check.outside else []
    excluded += [f"any {o}" for o in check.outside_objects]
    hint = (
        "Ignore a slight re-rendering of the whole picture (a small shift, crop, scale, "
        "colour or sharpness change) and differences too small to see."
    )
    if not excluded:
        return f"Is the image unchanged from {ref}?", hint
    return f"Outside {_join(excluded)}, is the image unchanged from {ref}?", hint


def _same_as(check: SameAs) -> Question:
    ref = reference_name(check.against)
    hint = "Nothing may change (at most 0.5% of the pixels)."
    where = f"in {ref}" if isinstance(check.against, int) else ref
    return f"Is the image the same as {where}?", hint


def _ask(check: Ask) -> Question:
    if check.expect == "yes":
        return check.question, "Answer the question as asked."
    return f"Is the answer no to: “{check.question}”", "Yes if the answer to the question is no."


def ask(check: Check) -> Question:
    """The question (yes = the check passes) and a one-line hint for a leaf check."""
    if isinstance(check, Count):
        return _count(check)
    if isinstance(check, Present | Absent):
        return _presence(check)
    if isinstance(check, Relation):
        return _relation(check)
    if isinstance(check, Position):
        return _position(check)
    if isinstance(check, Color):
        return _color(check)
    if isinstance(check, Text):
        return _text(check)
    if isinstance(check, Style):
        return _style(check)
    if isinstance(check, Unchanged):
        return _unchanged(check)
    if isinstance(check, SameAs):
        return _same_as(check)
    if isinstance(check, Ask):
        return _ask(check)
    return _generic(check)


def _generic(check: Check) -> Question:
    """A kind without its own wording: the check as written."""
    body = check_to_dict(check)[check.kind]
    said = ", ".join(f"{k}: {v}" for k, v in body.items())
    return f"Does the image satisfy “{check.kind}” ({said})?", "Yes if the check holds."
