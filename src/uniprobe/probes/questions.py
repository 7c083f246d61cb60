"""What the probes ask: one question per check, worded from the check; prompts, schema, parsing.

Which checks are asked, at turn t: every check of turn t's `expect` judged on turn t's own
canvas (a check with `turn: N` for another turn is not), and of a conditional both
branches' checks (not its condition). Equal questions are asked once; a question's
`paths` name every check it serves (verdict paths, as `uniprobe.scoring.engine` writes
them: `turns.0.expect.1`, `turns.0.expect.2.then.0`).

*knows* (before drawing; the request and the questions in one user message, which starts
with the request text, then `KNOWS_MARKER`): what the image asked for should show.

* count (`equals`, `at_least`, `at_most`, `matches`, `within`): how many; a number.
* present / absent: whether the image should show any; yes/no (one question serves both).
* relation / position: whether the object should be there; yes/no. A check with a
  `literal` relation or place is also asked about that one (so a literal belief can be
  told from a mere no).
* color (`object`, `select`, `part`): which colour; a palette name.
* text: what text the image should show; the text ("" for none).
* style: whether the image should be grayscale; yes/no.
* ask: the case's own question, about the image to be drawn; yes/no.
* unchanged / same_as: which of the offered things may change compared with the
  earlier image; a `parts` answer, a list of options. The options are, in this order:
  the check's excluded parts (`outside`) and objects (`outside_objects`), the other
  object words the turn's asked checks name, "background", and "nothing" (alone: no
  change at all). The rule answer is the excluded ones (or ["nothing"]).

*sees* (after drawing, starting with `SEES_MARKER`): the VLM judge's own atomic questions
(`uniprobe.scoring.questions`: COUNT_TEMPLATE, PRESENCE_TEMPLATE, ...), about the image
the model just drew; regions (`within`, a colour's `part`, `outside`) are described as
the judge does, from the case's reference scene. Text: `TEXT_QUESTION`. Comparisons
(unchanged / same_as) ask the judge's difference question, prefixed with which earlier
image is image 1 (`COMPARE_PREFIX`).

Answers: one JSON object `{"q1": ..., "q2": ...}` with exactly the asked keys
(`answer_schema`); "unsure" is allowed for every question and reads as "unsure".
`read_answers` is strict (a fenced ```json block is tolerated). `PROBE_PROMPT_VERSION`
hashes every wording here and the judge's `PROMPT_VERSION`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from uniprobe.cases.checks import (
    Absent,
    Ask,
    Check,
    Color,
    Conditional,
    Count,
    Position,
    Present,
    Relation,
    SameAs,
    Style,
    Text,
    Unchanged,
)
from uniprobe.cases.schema import Case
from uniprobe.hashing import sha256_json, short_hash
from uniprobe.scenes.colors import COLOR_NAMES, canonical_color_name
from uniprobe.scoring.engine import scene_parts
from uniprobe.scoring.questions import (
    COLOR_ANSWERS,
    PLACE_PHRASES,
    PROMPT_VERSION,
    RELATION_PHRASES,
    YES_NO,
    Question,
    Region,
    ask_question,
    color_question,
    count_question,
    difference_question,
    part_color_question,
    position_question,
    presence_question,
    relation_question,
    style_question,
)
from uniprobe.store.records import ProbeAnswer, ProbeKind, ProbeQuestionRecord

__all__ = [
    "ANSWER_HOWTO",
    "BACKGROUND",
    "COMPARE_PREFIX",
    "KNOWS_MARKER",
    "NOTHING",
    "PROBE_PROMPT_VERSION",
    "SEES_MARKER",
    "TEXT_QUESTION",
    "UNSURE",
    "AnswerKind",
    "ProbeQuestion",
    "ProbeReplyError",
    "answer_schema",
    "check_paths",
    "knows_prompt",
    "probe_questions",
    "question_for",
    "question_records",
    "read_answers",
    "sees_prompt",
]

AnswerKind = Literal["count", "yesno", "color", "text", "parts"]

KNOWS_MARKER = "Before you draw it:"
"""Starts the knows block, after the request text."""
SEES_MARKER = "About the image you just drew:"
"""Starts the sees prompt."""
UNSURE = "unsure"
NOTHING = "nothing"
"""The `parts` option meaning: nothing may change."""
BACKGROUND = "background"

# --- knows wording -----------------------------------------------------------------------
KNOWS_COUNT = 'How many "{object}" should the image show{where}? Answer with a number.'
KNOWS_PRESENCE = 'Should the image show any "{object}"{where}? Answer yes or no.'
KNOWS_RELATION = 'Should the "{subject}" be {relation} the "{object}"? Answer yes or no.'
KNOWS_POSITION = 'Should the "{object}" be in the {place} of the image? Answer yes or no.'
KNOWS_COLOR = 'What colour should the "{object}" be? Answer with a colour name.'
KNOWS_COLOR_SELECT = 'What colour should the {select} "{object}" be? Answer with a colour name.'
KNOWS_PART_COLOR = 'What should the main colour inside "{part}" be? Answer with a colour name.'
KNOWS_TEXT = 'What text should the image show? Answer with the exact text ("" for none).'
KNOWS_STYLE = "Should the whole image be in grayscale, with no colour anywhere? Answer yes or no."
KNOWS_ASK = "About the image you will draw: {question} Answer yes or no."
KNOWS_PARTS = (
    "Compared with {against}, which of these may change: {options}? "
    'Answer with a list of them ("{nothing}" alone if nothing may change).'
)
KNOWS_WHERE = ' inside "{part}"'
AGAINST_TURN = "the image as it was after turn {turn}"
AGAINST_IMAGE = 'the image "{name}" you were given'

# --- sees wording (besides the judge's templates) ------------------------------------------
TEXT_QUESTION = 'What text is written in the image? Answer with the exact text ("" for none).'
COMPARE_PREFIX = "Image 1 is {against}, image 2 the image you just drew. "

ANSWER_HOWTO = (
    "How to answer:\n"
    '- "How many" questions: a whole number (0 if there is none).\n'
    '- Yes/no questions: "yes" or "no".\n'
    "- Colour questions: one of {colors}; "
    '"mixed" if the objects asked about differ in colour, "none" if there is no such object.\n'
    '- Text questions: the exact text, "" for none.\n'
    "- Questions that offer a list: a JSON list of the offered words.\n"
    '- Answer "unsure" only when you cannot decide.\n'
)
KNOWS_INTRO = (
    KNOWS_MARKER + " do not draw anything yet. Answer these questions about the image my "
    "message above asks for, as you understand the request.\n"
)
SEES_INTRO = (
    SEES_MARKER + " do not draw anything. Answer each question below about what the image "
    "you just drew (the latest image in this conversation) shows, as a careful person "
    "looking at it would. Left, right, above and below are as the viewer sees the image; "
    "an object is where its centre is. Regions are parts of the image: x runs from 0% "
    "(left edge) to 100% (right edge), y from 0% (top edge) to 100% (bottom edge).\n"
)
REPLY_FORMAT = (
    "Reply with one JSON object with exactly one key per question id and nothing else: {example}."
)

PROBE_PROMPT_VERSION = short_hash(
    sha256_json(
        [
            PROMPT_VERSION,
            KNOWS_MARKER,
            SEES_MARKER,
            KNOWS_COUNT,
            KNOWS_PRESENCE,
            KNOWS_RELATION,
            KNOWS_POSITION,
            KNOWS_COLOR,
            KNOWS_COLOR_SELECT,
            KNOWS_PART_COLOR,
            KNOWS_TEXT,
            KNOWS_STYLE,
            KNOWS_ASK,
            KNOWS_PARTS,
            KNOWS_WHERE,
            AGAINST_TURN,
            AGAINST_IMAGE,
            TEXT_QUESTION,
            COMPARE_PREFIX,
            ANSWER_HOWTO,
            KNOWS_INTRO,
            SEES_INTRO,
            REPLY_FORMAT,
            BACKGROUND,
            NOTHING,
        ]
    )
)
"""Hash of every probe wording (and the judge's templates): changes whenever one does."""


@dataclass(frozen=True)
class ProbeQuestion:
    """One probe question, as asked."""

    qid: str
    """q1, q2, ... in the order asked."""
    text: str
    """The question's words."""
    answer: AnswerKind
    """count, yesno, color, text or parts."""
    paths: tuple[str, ...]
    """Verdict paths of the checks it serves (equal questions are asked once)."""
    options: tuple[str, ...] = ()
    """The allowed answers of a `parts` question."""


class ProbeReplyError(ValueError):
    """A probe reply that cannot be read; the message is one line saying why."""


# --- which checks -------------------------------------------------------------------------


def check_paths(case: Case, turn: int) -> list[tuple[str, Check]]:
    """(verdict path, check) of every check asked at `turn` (1-based): the turn's leaf
    checks and both branches of its conditionals, judged on the turn's own canvas."""
    out: list[tuple[str, Check]] = []
    for i, exp in enumerate(case.turns[turn - 1].expect):
        base = f"turns.{turn - 1}.expect.{i}"
        if isinstance(exp, Conditional):
            for name, branch in (("then", exp.then), ("else", exp.else_)):
                out.extend((f"{base}.{name}.{j}", c) for j, c in enumerate(branch))
        else:
            out.append((base, exp))
    return [(p, c) for p, c in out if c.turn in (None, turn)]


def _q(text: str) -> str:
    return " ".join(text.replace('"', "'").split())


def _against(against: int | str) -> str:
    if isinstance(against, int):
        return AGAINST_TURN.format(turn=against)
    return AGAINST_IMAGE.format(name=_q(against))


def _parts_options(check: Unchanged | SameAs, others: Sequence[str]) -> tuple[str, ...]:
    """The offered answers of a comparison's knows question (module docstring)."""
    excluded = [*check.outside, *check.outside_objects] if isinstance(check, Unchanged) else []
    out: list[str] = []
    for word in (*excluded, *others, BACKGROUND, NOTHING):
        if word not in out:
            out.append(word)
    return tuple(out)


def _words(checks: Sequence[Check]) -> list[str]:
    out: list[str] = []
    for c in checks:
        for w in c.words():
            if w not in out:
                out.append(w)
    return out


def _knows(check: Check, others: Sequence[str]) -> list[tuple[str, AnswerKind, tuple[str, ...]]]:
    """The knows questions of one check: (text, answer kind, options)."""

    def where(part: str | None) -> str:
        return "" if part is None else KNOWS_WHERE.format(part=_q(part))

    if isinstance(check, Count):
        return [
            (KNOWS_COUNT.format(object=_q(check.object), where=where(check.within)), "count", ())
        ]
    if isinstance(check, Present | Absent):
        text = KNOWS_PRESENCE.format(object=_q(check.object), where=where(check.within))
        return [(text, "yesno", ())]
    if isinstance(check, Relation):
        rels = [check.relation] + ([check.literal] if check.literal else [])
        return [
            (
                KNOWS_RELATION.format(
                    subject=_q(check.subject), relation=RELATION_PHRASES[r], object=_q(check.object)
                ),
                "yesno",
                (),
            )
            for r in rels
        ]
    if isinstance(check, Position):
        places = [check.place] + ([check.literal] if check.literal else [])
        return [
            (KNOWS_POSITION.format(object=_q(check.object), place=PLACE_PHRASES[p]), "yesno", ())
            for p in places
        ]
    if isinstance(check, Color):
        if check.part is not None:
            return [(KNOWS_PART_COLOR.format(part=_q(check.part)), "color", ())]
        assert check.object is not None
        if check.select is not None:
            text = KNOWS_COLOR_SELECT.format(select=check.select, object=_q(check.object))
        else:
            text = KNOWS_COLOR.format(object=_q(check.object))
        return [(text, "color", ())]
    if isinstance(check, Text):
        return [(KNOWS_TEXT, "text", ())]
    if isinstance(check, Style):
        return [(KNOWS_STYLE, "yesno", ())]
    if isinstance(check, Ask):
        return [(KNOWS_ASK.format(question=" ".join(check.question.split())), "yesno", ())]
    options = _parts_options(check, others)
    text = KNOWS_PARTS.format(
        against=_against(check.against), options=", ".join(options), nothing=NOTHING
    )
    return [(text, "parts", options)]


def _region(case: Case, turn: int, check: Check, part: str) -> Region | None:
    boxes, size = scene_parts(case, turn, check)
    box = boxes.get(part)
    if box is None or size is None:
        return None
    w, h = size
    return Region(part, (box[0] / w, box[1] / h, box[2] / w, box[3] / h))


def _sees(case: Case, turn: int, check: Check) -> Question | None:
    """The judge's question for a check about the drawn image (None: cannot be worded,
    a part missing from the reference scene)."""
    region: Region | None = None
    part = check.within if isinstance(check, Count | Present | Absent) else None
    part = check.part if isinstance(check, Color) else part
    if part is not None:
        region = _region(case, turn, check, part)
        if region is None:
            return None
    if isinstance(check, Count):
        return count_question(check.object, region)
    if isinstance(check, Present | Absent):
        return presence_question(check.object, region)
    if isinstance(check, Relation):
        return relation_question(check.subject, check.relation, check.object)
    if isinstance(check, Position):
        return position_question(check.object, check.place)
    if isinstance(check, Color):
        if region is not None:
            return part_color_question(region)
        assert check.object is not None
        return color_question(check.object, check.select)
    if isinstance(check, Style):
        return style_question()
    if isinstance(check, Ask):
        return ask_question(check.question)
    if isinstance(check, Text):
        return Question("yesno", TEXT_QUESTION)  # kind replaced by the caller
    return _compare(case, turn, check)


def _compare(case: Case, turn: int, check: Unchanged | SameAs) -> Question | None:
    regions: list[Region] = []
    objects: tuple[str, ...] = ()
    if isinstance(check, Unchanged):
        for part in check.outside:
            region = _region(case, turn, check, part)
            if region is None:
                return None
            regions.append(region)
        objects = check.outside_objects
    q = difference_question(regions, objects)
    return Question("yesno", COMPARE_PREFIX.format(against=_against(check.against)) + q.text)


def question_for(
    case: Case, turn: int, check: Check, kind: ProbeKind
) -> list[tuple[str, AnswerKind, tuple[str, ...]]]:
    """The (text, answer kind, options) of the questions `check` at `turn` is asked: for
    knows, the check's own question first, then its literal variant's (relation,
    position); for sees, one question (none when it cannot be worded)."""
    if kind == "knows":
        others = _words([c for _, c in check_paths(case, turn) if c is not check])
        if isinstance(check, Unchanged):
            others = [w for w in others if w not in (*check.outside, *check.outside_objects)]
        return _knows(check, others)
    q = _sees(case, turn, check)
    if q is None:
        return []
    answer: AnswerKind = "text" if isinstance(check, Text) else q.kind
    return [(q.text, answer, ())]


def probe_questions(case: Case, turn: int, kind: ProbeKind) -> list[ProbeQuestion]:
    """The questions of a `kind` probe at `turn` (1-based), numbered q1, q2, ...; equal
    questions once, serving every check that needs them (module docstring)."""
    order: list[tuple[str, AnswerKind, tuple[str, ...]]] = []
    paths: dict[tuple[str, AnswerKind, tuple[str, ...]], list[str]] = {}
    for path, check in check_paths(case, turn):
        for key in question_for(case, turn, check, kind):
            if key not in paths:
                order.append(key)
                paths[key] = []
            if path not in paths[key]:
                paths[key].append(path)
    return [
        ProbeQuestion(f"q{i + 1}", text, answer, tuple(paths[(text, answer, options)]), options)
        for i, (text, answer, options) in enumerate(order)
    ]


# --- prompts ---------------------------------------------------------------------------------


def _lines(questions: Sequence[ProbeQuestion]) -> str:
    return "\n".join(f"{q.qid}: {q.text}" for q in questions)


def _example(questions: Sequence[ProbeQuestion]) -> str:
    return "{" + ", ".join(f'"{q.qid}": ...' for q in questions) + "}"


def _howto() -> str:
    return ANSWER_HOWTO.replace("{colors}", ", ".join(COLOR_NAMES))


def knows_prompt(request: str, questions: Sequence[ProbeQuestion]) -> str:
    """The knows message: the request text, then the questions about what it asks for."""
    return (
        f"{request}\n\n{KNOWS_INTRO}\n{_howto()}\nQuestions:\n{_lines(questions)}\n\n"
        + REPLY_FORMAT.format(example=_example(questions))
    )


def sees_prompt(questions: Sequence[ProbeQuestion]) -> str:
    """The sees message: the judge's questions about the image just drawn."""
    return f"{SEES_INTRO}\n{_howto()}\nQuestions:\n{_lines(questions)}\n\n" + REPLY_FORMAT.format(
        example=_example(questions)
    )


def _property(q: ProbeQuestion) -> dict[str, Any]:
    unsure = {"type": "string", "enum": [UNSURE]}
    if q.answer == "count":
        return {"anyOf": [{"type": "integer", "minimum": 0}, unsure]}
    if q.answer == "yesno":
        return {"type": "string", "enum": list(YES_NO)}
    if q.answer == "color":
        return {"type": "string", "enum": list(COLOR_ANSWERS)}
    if q.answer == "text":
        return {"type": "string"}
    items = {"type": "string", "enum": list(q.options)}
    return {"anyOf": [{"type": "array", "items": items, "minItems": 1}, unsure]}


def answer_schema(questions: Sequence[ProbeQuestion]) -> dict[str, Any]:
    """The JSON schema of a reply: one required property per question, nothing else."""
    return {
        "type": "object",
        "properties": {q.qid: _property(q) for q in questions},
        "required": [q.qid for q in questions],
        "additionalProperties": False,
    }


def question_records(questions: Sequence[ProbeQuestion]) -> list[ProbeQuestionRecord]:
    """The questions as the run log stores them."""
    return [
        ProbeQuestionRecord(
            qid=q.qid, text=q.text, answer=q.answer, paths=list(q.paths), options=list(q.options)
        )
        for q in questions
    ]


# --- the reply -------------------------------------------------------------------------------

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def _short(raw: object) -> str:
    text = json.dumps(raw)
    return text if len(text) <= 40 else text[:37] + "..."


def _value(q: ProbeQuestion, raw: object) -> ProbeAnswer:
    """One answer in canonical form; ProbeReplyError says why it is not one."""
    if isinstance(raw, str) and raw.strip().lower() == UNSURE and q.answer != "text":
        return UNSURE
    bad = f"{q.qid} is {_short(raw)}"
    if q.answer == "count":
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        raise ProbeReplyError(f"{bad}, not a whole number >= 0")
    if q.answer == "text":
        if isinstance(raw, str):
            return raw
        raise ProbeReplyError(f"{bad}, not a text")
    if q.answer == "parts":
        return _parts(q, raw, bad)
    if not isinstance(raw, str):
        raise ProbeReplyError(f"{bad}, not a word")
    word = raw.strip().lower()
    if q.answer == "yesno":
        if word in YES_NO:
            return word
        raise ProbeReplyError(f"{bad}, not yes, no or unsure")
    if word in COLOR_ANSWERS:
        return word
    try:
        return canonical_color_name(word)
    except ValueError:
        raise ProbeReplyError(f"{bad}, not a palette colour") from None


def _parts(q: ProbeQuestion, raw: object, bad: str) -> list[str]:
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise ProbeReplyError(f"{bad}, not a non-empty list of the offered words")
    offered = {o.lower(): o for o in q.options}
    out: list[str] = []
    for item in raw:
        word = offered.get(item.strip().lower())
        if word is None:
            raise ProbeReplyError(f"{q.qid} names {_short(item)}, not one of the offered words")
        if word not in out:
            out.append(word)
    if NOTHING in out and len(out) > 1:
        raise ProbeReplyError(f'{q.qid} gives "{NOTHING}" together with other words')
    return out


def read_answers(text: str, questions: Sequence[ProbeQuestion]) -> dict[str, ProbeAnswer]:
    """Every question's answer, by qid, read strictly from a reply's text.

    Raises:
        ProbeReplyError: not one JSON object, a missing or an extra key, or an answer of
            the wrong type or outside the allowed words (one line saying which).
    """
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ProbeReplyError(f"the reply is not JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict):
        raise ProbeReplyError(f"the reply is JSON but not an object ({type(data).__name__})")
    keys = [q.qid for q in questions]
    missing = [k for k in keys if k not in data]
    if missing:
        raise ProbeReplyError(f"the reply has no answer to {', '.join(missing)}")
    extra = [str(k) for k in data if k not in keys]
    if extra:
        raise ProbeReplyError(f"the reply has unexpected keys: {', '.join(extra)}")
    return {q.qid: _value(q, data[q.qid]) for q in questions}
