"""A check evaluated on what the model *said*, not on an image: pure functions, no pixels.

The stated answer is the answer to the check's own question (`uniprobe.probes.questions`);
the rules mirror the judges':

* count: the number is accepted by the check (`equals`, `at_least`/`at_most`; a
  `matches` count is compared with the expected count given from outside);
* present / absent: "yes" passes present, "no" passes absent;
* relation / position: "yes" passes; style: "yes" means grayscale; ask: the answer is
  the expected one; colour: the stated colour is the expected palette name;
* text: compared as the OCR judge compares (lower case, letters and digits, single
  spaces): `contains` looks for it, `equals` needs all of it;
* unchanged / same_as, knows (a list of what may change): passes when everything named
  is excluded by the check ("nothing" names nothing); sees (is there any difference
  outside the excluded parts?): "no" passes.

"unsure", no answer, or an answer of the wrong shape decides nothing (None).
"""

from __future__ import annotations

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
)
from uniprobe.probes.questions import NOTHING, UNSURE
from uniprobe.scoring.judges.ocr import normalize_text
from uniprobe.store.records import ProbeAnswer, ProbeKind

__all__ = ["holds"]


def _yes(answer: ProbeAnswer) -> bool | None:
    return {"yes": True, "no": False}.get(answer) if isinstance(answer, str) else None


def _count(check: Count, answer: ProbeAnswer, expected: int | None) -> bool | None:
    if not isinstance(answer, int) or isinstance(answer, bool):
        return None
    if check.matches is not None:
        return None if expected is None else answer == expected
    return check.accepts(answer)


def _text(check: Text, answer: ProbeAnswer) -> bool | None:
    if not isinstance(answer, str):
        return None
    said = normalize_text(answer)
    if check.contains is not None:
        return normalize_text(check.contains) in said
    return said == normalize_text(check.equals or "")


def _compared(check: Unchanged | SameAs, answer: ProbeAnswer, kind: ProbeKind) -> bool | None:
    if kind == "sees":
        changed = _yes(answer)
        return None if changed is None else not changed
    if not isinstance(answer, list):
        return None
    excluded = {*check.outside, *check.outside_objects} if isinstance(check, Unchanged) else set()
    return all(word == NOTHING or word in excluded for word in answer)


def holds(
    check: Check, answer: ProbeAnswer, kind: ProbeKind, *, expected: int | None = None
) -> bool | None:
    """Whether `check` holds on the stated `answer` to its question in a `kind` probe
    (module docstring); None when the answer decides nothing. `expected`: the count a
    `matches` check asks for (what the earlier image shows, times and plus)."""
    if answer is None or answer == UNSURE:
        return None
    if isinstance(check, Count):
        return _count(check, answer, expected)
    if isinstance(check, Unchanged | SameAs):
        return _compared(check, answer, kind)
    if isinstance(check, Text):
        return _text(check, answer)
    if isinstance(check, Color):
        return None if not isinstance(answer, str) else answer == check.equals
    if isinstance(check, Ask):
        return None if _yes(answer) is None else answer == check.expect
    yes = _yes(answer)
    if yes is None:
        return None
    if isinstance(check, Absent):
        return not yes
    if isinstance(check, Style):
        return yes == (check.equals == "grayscale")
    assert isinstance(check, Present | Relation | Position)
    return yes
