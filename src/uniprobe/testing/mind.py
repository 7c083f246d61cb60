"""A fake model's mind for the probes: what it says it will draw, and what it says it drew.

`FakeMind` answers the probe prompts of `uniprobe.probes.questions` (recognised by
`KNOWS_MARKER` and `SEES_MARKER`); any other text-only request gets "I can only draw."
It finds the case the conversation plays by its user messages (turn i's message
contains case turn i's text; the knows message starts with the request; cases that
share their texts are told apart by the images attached), and then:

* **knows** — the answer key is the test's configuration of the fake's beliefs, read
  from the case's checks, not from understanding. `belief="rule"` states each check's
  expected value: a count's `equals` (else `at_least`, else `at_most`; a `matches`
  count is what the earlier image shows, times and plus); "yes" for present, relation,
  position ("no" to a relation's or position's literal question), "no" for absent;
  the colour, the text, grayscale or not, the `ask`'s expected answer; for
  unchanged / same_as the excluded parts and objects (else "nothing").
  `belief="literal"` states the literal value where the check has one (a count's
  `literal`, the other presence, the literal relation/place/colour/text/style/answer)
  and the expected value elsewhere. A question several checks share is answered for
  the first of them that applies; of a conditional, the branch that applies is the
  literal one (`literal`, under `belief="literal"`), else the one the text implies
  (`assumed`), else the one the condition selects on the latest image so far (the
  request's attachments included).
* **sees** — what the latest image in the conversation shows, as the fake VLM's
  perception reads it (`uniprobe.testing.vlm.perceived_answer`; a comparison's image 1
  is the canvas of the turn it names, or the case image); "unsure" where it cannot
  read the question. Text is read as the OCR judge reads it (`tesseract`, the whole
  image; "unsure" without the program). Then, with probability `sees_error_rate` per
  question (a generator seeded by `seed`, the request's content and how often that
  content was asked before), it describes its image wrongly: an answer that flips the
  check's pass/fail relative to the truthful one (yes for no; a count or colour the
  check rejects, or the one it wants). A question no answer can flip (an `at_least 0`
  count, an unreadable question) stays truthful. Every sees answer is kept in
  `described`.
"""

from __future__ import annotations

import io
import json
import random
import re
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

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
from uniprobe.cases.images import case_image_bytes
from uniprobe.cases.schema import Case
from uniprobe.hashing import sha256_bytes, sha256_parts
from uniprobe.probes.questions import (
    COMPARE_PREFIX,
    KNOWS_MARKER,
    NOTHING,
    SEES_MARKER,
    TEXT_QUESTION,
    UNSURE,
    ProbeQuestion,
    check_paths,
    probe_questions,
    question_for,
)
from uniprobe.probes.stated import holds
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scoring.judges.ocr import OcrJudge
from uniprobe.scoring.questions import count_question
from uniprobe.store.records import ProbeAnswer
from uniprobe.testing._mind import Said
from uniprobe.testing.vlm import perceived_answer

__all__ = ["Belief", "Described", "FakeMind"]

Belief = Literal["rule", "literal"]
_COMPARE = re.compile(
    "^"
    + re.escape(COMPARE_PREFIX).replace(re.escape("{against}"), "(?P<against>.+?)")
    + "(?P<q>.+)$"
)
_TURN = re.compile(r"after turn (\d+)")
_IMAGE = re.compile(r'the image "(.+)" you were given')


@dataclass(frozen=True)
class Described:
    """One sees answer the mind gave."""

    qid: str
    question: str
    truth: ProbeAnswer
    """What the image shows ("unsure": the fake cannot read the question)."""
    given: ProbeAnswer
    """What it said."""

    @property
    def flipped(self) -> bool:
        """Whether it described its image wrongly on purpose."""
        return self.given != self.truth


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")


class _Dialogue:
    """The case and turn a request's conversation plays, and its images."""

    def __init__(self, conversation: Sequence[Said], case: Case, turn: int) -> None:
        self.messages, self.case, self.turn = conversation, case, turn
        self._decoded: dict[bytes, Image.Image] = {}

    def canvas(self, turn: int) -> Image.Image | None:
        """The latest image up to the reply to user message `turn` (0: before any)."""
        latest: bytes | None = None
        users = 0
        for said in self.messages:
            if said.role == "user":
                users += 1
                if users > turn:
                    break
            if said.images:
                latest = said.images[-1]
        if latest is None:
            return None
        if latest not in self._decoded:
            self._decoded[latest] = _decode(latest)
        return self._decoded[latest]

    def latest(self) -> Image.Image | None:
        """The latest image of the whole conversation."""
        return self.canvas(len(self.messages))


def _matches(case: Case, users: Sequence[str], images: set[str]) -> tuple[bool, bool]:
    """Whether a case's first turns fit the user texts, and the attached images too."""
    n = len(users)
    if n > len(case.turns) or any(case.turns[i].user not in users[i] for i in range(n)):
        return False, False
    names = {name for t in case.turns[:n] for name in t.attach}
    return True, all(sha256_bytes(case_image_bytes(case, name)) in images for name in names)


class FakeMind:
    """Answers knows and sees probes from a set of cases (module docstring).

    Args:
        cases: The cases the fake may be asked about (a suite's `cases`).
        belief: "rule" (states what the checks expect) or "literal" (the literal reading).
        sees_error_rate: Probability (0..1) per sees question of a wrong description.
        seed: Seed of the wrong descriptions (with the request's content).
    """

    def __init__(
        self,
        cases: Iterable[Case],
        *,
        belief: Belief = "rule",
        sees_error_rate: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= sees_error_rate <= 1.0:
            raise ValueError(f"sees_error_rate must be within 0..1, not {sees_error_rate}")
        self.cases = tuple(cases)
        self.belief, self.sees_error_rate, self.seed = belief, sees_error_rate, seed
        self.described: list[Described] = []
        self._repeats: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._ocr = OcrJudge()

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        """The probe answers as one JSON object, or "I can only draw." to anything else."""
        if not conversation or conversation[-1].role != "user":
            return "I can only draw."
        last = conversation[-1].text
        if last.startswith(SEES_MARKER):
            dialogue = self._dialogue(conversation[:-1], None)
            if dialogue is None:
                return "I do not know this conversation."
            return json.dumps(self._sees(dialogue, last, conversation))
        if KNOWS_MARKER in last:
            request = last.split("\n\n" + KNOWS_MARKER)[0]
            dialogue = self._dialogue(conversation, request)
            if dialogue is None:
                return "I do not know this conversation."
            return json.dumps(self._knows(dialogue))
        return "I can only draw."

    def _dialogue(self, messages: Sequence[Said], request: str | None) -> _Dialogue | None:
        """The case whose turns the user messages play (`request`: the text of the last
        user message's turn, when that message is a knows probe holding it)."""
        users = [s.text for s in messages if s.role == "user"]
        if request is not None and users:
            users[-1] = request
        images = {sha256_bytes(data) for s in messages if s.role == "user" for data in s.images}
        found: Case | None = None
        for case in self.cases:
            fits, attached = _matches(case, users, images)
            if fits and attached:
                found = case
                break
            found = found or (case if fits else None)
        if found is None or not users:
            return None
        return _Dialogue(messages, found, len(users))

    # --- knows ----------------------------------------------------------------------------

    def _knows(self, d: _Dialogue) -> dict[str, ProbeAnswer]:
        checks = dict(check_paths(d.case, d.turn))
        applies = self._applying(d)
        out: dict[str, ProbeAnswer] = {}
        for q in probe_questions(d.case, d.turn, "knows"):
            paths = [p for p in q.paths if p in applies] or list(q.paths)
            check = checks[paths[0]]
            which = [t for t, _, _ in question_for(d.case, d.turn, check, "knows")].index(q.text)
            out[q.qid] = self._belief(d, check, literal_question=which == 1)
        return out

    def _applying(self, d: _Dialogue) -> set[str]:
        """Paths of the turn's checks that apply: leaves, and the branch taken."""
        out: set[str] = set()
        for i, exp in enumerate(d.case.turns[d.turn - 1].expect):
            base = f"turns.{d.turn - 1}.expect.{i}"
            if not isinstance(exp, Conditional):
                out.add(base)
                continue
            branch = self._branch(d, exp)
            out.update(f"{base}.{branch}.{j}" for j in range(len(exp.branch(branch == "then"))))
        return out

    def _branch(self, d: _Dialogue, cond: Conditional) -> str:
        if self.belief == "literal" and cond.literal is not None:
            return cond.literal
        if cond.assumed is not None:
            return "then" if cond.assumed else "else"
        image = d.latest()
        [(text, _, _)] = question_for(d.case, d.turn, cond.when, "sees") or [("", "yesno", ())]
        seen = perceived_answer(text, [image]) if image is not None and text else None
        return "else" if holds(cond.when, seen, "sees") is False else "then"

    def _belief(self, d: _Dialogue, check: Check, *, literal_question: bool) -> ProbeAnswer:
        literal = self.belief == "literal" and not check.literal_negates
        variant = check.literal_variant() if literal else None
        if isinstance(check, Relation | Position):
            believed = variant is None
            return "yes" if believed != literal_question else "no"
        return _expected(d, variant or check)

    # --- sees -----------------------------------------------------------------------------

    def _rng(self, conversation: Sequence[Said]) -> random.Random:
        parts = [f"{self.seed}".encode()]
        for s in conversation:
            parts += [s.role.encode(), s.text.encode(), *s.images]
        key = sha256_parts(*parts)
        with self._lock:
            n = self._repeats[key]
            self._repeats[key] += 1
        return random.Random(f"{key}:{n}")

    def _sees(
        self, d: _Dialogue, prompt: str, conversation: Sequence[Said]
    ) -> dict[str, ProbeAnswer]:
        rng = self._rng(conversation)
        checks = dict(check_paths(d.case, d.turn))
        asked = {q.text: q for q in probe_questions(d.case, d.turn, "sees")}
        out: dict[str, ProbeAnswer] = {}
        for qid, text in re.findall(r"^(q\d+): (.+)$", prompt, re.MULTILINE):
            truth = self._perceived(d, text)
            given = truth
            q: ProbeQuestion | None = asked.get(text)
            if rng.random() < self.sees_error_rate and q is not None:
                given = _flip(d, checks[q.paths[0]], truth, rng)
            out[qid] = given
            with self._lock:
                self.described.append(Described(qid, text, truth, given))
        return out

    def _perceived(self, d: _Dialogue, text: str) -> ProbeAnswer:
        latest = d.latest()
        if text == TEXT_QUESTION:
            read = self._ocr.read(latest) if latest is not None else ""
            return read.strip() if isinstance(read, str) else UNSURE
        compare = _COMPARE.match(text)
        if compare is None:
            images = [] if latest is None else [latest]
            answer = perceived_answer(text, images)
        else:
            before = _reference(d, compare.group("against"))
            pair = [] if before is None or latest is None else [before, latest]
            answer = perceived_answer(compare.group("q"), pair) if pair else None
        return UNSURE if answer is None else answer


def _reference(d: _Dialogue, against: str) -> Image.Image | None:
    turn = _TURN.search(against)
    if turn is not None:
        return d.canvas(int(turn.group(1)))
    named = _IMAGE.search(against)
    if named is not None and named.group(1) in d.case.images:
        return _decode(case_image_bytes(d.case, named.group(1)))
    return None


def _count_on(image: Image.Image | None, word: str) -> int:
    if image is None:
        return 0
    seen = perceived_answer(count_question(word).text, [image])
    return seen if isinstance(seen, int) else 0


def _expected(d: _Dialogue, check: Check) -> ProbeAnswer:
    """The value a check expects, as its question's answer."""
    if isinstance(check, Count):
        if check.matches is not None:
            return check.matches.expected(
                _count_on(d.canvas(check.matches.turn), check.matches.object)
            )
        for bound in (check.equals, check.at_least, check.at_most):
            if bound is not None:
                return bound
        return UNSURE
    if isinstance(check, Present | Absent):
        return "yes" if isinstance(check, Present) else "no"
    if isinstance(check, Color):
        return check.equals
    if isinstance(check, Text):
        return check.contains if check.contains is not None else check.equals or ""
    if isinstance(check, Style):
        return "yes" if check.equals == "grayscale" else "no"
    if isinstance(check, Ask):
        return check.expect
    if isinstance(check, Unchanged):
        return [*check.outside, *check.outside_objects] or [NOTHING]
    if isinstance(check, SameAs):
        return [NOTHING]
    return "yes"


def _flip(d: _Dialogue, check: Check, truth: ProbeAnswer, rng: random.Random) -> ProbeAnswer:
    """An answer that turns the check's pass/fail around (the truth when none does)."""
    passes = holds(check, truth, "sees", expected=_wanted(d, check))
    if passes is None:
        return truth
    if truth in ("yes", "no"):
        return "no" if truth == "yes" else "yes"
    if isinstance(check, Color):
        return rng.choice([c for c in COLOR_NAMES if c != check.equals]) if passes else check.equals
    if isinstance(check, Count) and isinstance(truth, int):
        want = _wanted(d, check)
        candidates = [n for n in range(0, max(truth, want or 0, 12) + 2) if n != truth]
        flips = [n for n in candidates if holds(check, n, "sees", expected=want) is not passes]
        return min(flips, key=lambda n: abs(n - truth)) if flips else truth
    return truth


def _wanted(d: _Dialogue, check: Check) -> int | None:
    if isinstance(check, Count) and check.matches is not None:
        return check.matches.expected(_count_on(d.canvas(check.matches.turn), check.matches.object))
    return None
