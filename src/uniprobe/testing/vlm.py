"""A fake vision-language model that answers the VLM judge's questions from pixels.

It reads a request the way a model reads the judge's prompt: the numbered question
lines ("q1: How many instances of "dog" are there?"), parsed with the judge's own
question templates (`uniprobe.scoring.questions`), and the image(s) of the
request (Chat Completions `image_url` data URLs or Gemini `inlineData`). It answers
from what the synthetic scene shows, as `uniprobe.scenes.perceive` reads it: counts,
presence, colours and boxes of glyphs, backdrops, relations and positions from box
centres (the rules of the reference judge), and, for two images, a pixel diff outside
the excluded regions and objects (the rules of the pixels judge). Of a case's own
`ask` questions it understands one form, "Is there a <object> in the image?". A
question it cannot read or answer gets "unsure".

Then, with probability `error_rate` per question (a seeded RNG, drawn per request from
the request's content, so answers do not depend on request order), it answers wrongly:
a count off by one (never below 0), yes for no and no for yes, another palette colour.

Use one instance as both handlers of a `FakeServer`:

    vlm = FakeVlm(error_rate=0.1, seed=1)
    with FakeServer(chat_handler=vlm, json_handler=vlm) as fake: ...

`mode` makes it misbehave for tests: "malformed" (JSON cut in half), "refusal",
"missing" (the last question left out).
"""

from __future__ import annotations

import io
import json
import random
import re
import string
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

from uniprobe.hashing import sha256_parts
from uniprobe.scenes.colors import COLOR_NAMES
from uniprobe.scenes.geometry import Box
from uniprobe.scenes.perceive import BACKDROP_MIN_SHARE, Detection, perceive
from uniprobe.scenes.vocabulary import Term, try_resolve
from uniprobe.scoring.boxes import all_at, dominant, inside, relation_between, select
from uniprobe.scoring.imaging import GRAY_MAX_COLORFUL, align, changed_mask, colorful_share
from uniprobe.scoring.questions import (
    COLOR_SELECT_TEMPLATE,
    COLOR_TEMPLATE,
    COUNT_TEMPLATE,
    DIFFERENCE_TEMPLATE,
    OBJECT_EXCLUSION,
    PART_COLOR_TEMPLATE,
    PLACE_PHRASES,
    POSITION_TEMPLATE,
    PRESENCE_TEMPLATE,
    REGION_TEMPLATE,
    RELATION_PHRASES,
    RELATION_TEMPLATE,
    SAME_TEMPLATE,
    STYLE_TEMPLATE,
    VERIFY_TEMPLATE,
    Value,
)
from uniprobe.testing._handlers import Refusal
from uniprobe.testing._wire import decode_b64, decode_data_url
from uniprobe.testing.faults import Fault

__all__ = ["Asked", "FakeVlm", "FakeVlmMode", "perceived_answer"]

FakeVlmMode = Literal["answer", "malformed", "refusal", "missing"]

# A perfect fake VLM sees what the reference world's own measurements see: the default
# thresholds of the pixels judge (tests check they are equal) and of the perception.
_MARGIN = 6
_PIXEL_THRESHOLD = 24
_MAX_CHANGED = 0.01
_MAX_CHANGED_SAME = 0.005
_QUESTION_LINE = re.compile(r"^(q\d+): (.+)$", re.MULTILINE)
_WORD = r'[^"]+'


def _pattern(template: str, **groups: str) -> re.Pattern[str]:
    """A regex that matches a template's output, its fields as named groups."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(re.escape(literal))
        if name is not None:
            out.append(f"(?P<{name}>{groups.get(name, '.+?')})")
    return re.compile("^" + "".join(out) + "$")


def _alternatives(words: Any) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SELECTS = ("leftmost", "rightmost", "middle", "topmost", "bottommost", "largest", "smallest")
_NUMBER = r"[\d.]+"
_REGION = _pattern(
    REGION_TEMPLATE, name=_WORD, x0=_NUMBER, x1=_NUMBER, y0=_NUMBER, y1=_NUMBER
).pattern.strip("^$")
_REGION_RE = re.compile(_REGION)
_OBJECT_RE = re.compile(_pattern(OBJECT_EXCLUSION, object=_WORD).pattern.strip("^$"))
_TEMPLATES: dict[str, re.Pattern[str]] = {
    "count": _pattern(COUNT_TEMPLATE, object=_WORD, where=".*"),
    "presence": _pattern(PRESENCE_TEMPLATE, object=_WORD, where=".*"),
    "relation": _pattern(
        RELATION_TEMPLATE,
        subject=_WORD,
        object=_WORD,
        relation=_alternatives(RELATION_PHRASES.values()),
    ),
    "position": _pattern(
        POSITION_TEMPLATE, object=_WORD, place=_alternatives(PLACE_PHRASES.values())
    ),
    "color": _pattern(COLOR_TEMPLATE, object=_WORD),
    "color_select": _pattern(COLOR_SELECT_TEMPLATE, select=_alternatives(_SELECTS), object=_WORD),
    "part_color": _pattern(PART_COLOR_TEMPLATE, region=".+"),
    "style": _pattern(STYLE_TEMPLATE),
    "same": _pattern(SAME_TEMPLATE),
    "difference": _pattern(DIFFERENCE_TEMPLATE, excluded=".+"),
    "verify": _pattern(VERIFY_TEMPLATE, index=r"\d+", object=_WORD),
    # a case's own question (`ask`), in the one form the fake understands
    "ask": re.compile(r"^Is there (?:a|an|any) (?P<object>.+?)(?P<where>) in the image\?$"),
}


@dataclass(frozen=True)
class Asked:
    """One question the fake answered."""

    qid: str
    question: str
    truth: Value | None
    """What the pixels say (None: the fake could not read or answer the question)."""
    given: Value
    """What it answered."""

    @property
    def flipped(self) -> bool:
        """Whether it answered wrongly on purpose."""
        return self.truth is not None and self.given != self.truth


@dataclass(frozen=True)
class _Request:
    text: str
    images: list[Image.Image]


def _read_request(body: dict[str, Any]) -> _Request:
    """The text and images of a Chat Completions or a Gemini generateContent body."""
    texts: list[str] = []
    blobs: list[bytes] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            texts.append(content)
        for part in content if isinstance(content, list) else []:
            if part.get("type") == "text":
                texts.append(str(part.get("text", "")))
            elif part.get("type") == "image_url":
                blobs.append(decode_data_url(str(part["image_url"]["url"])))
    for content in body.get("contents") or []:
        for part in content.get("parts") or [] if isinstance(content, dict) else []:
            if "text" in part:
                texts.append(str(part["text"]))
            blob = part.get("inlineData") or part.get("inline_data")
            if isinstance(blob, dict):
                blobs.append(decode_b64(str(blob.get("data", ""))))
    images = []
    for data in blobs:
        with Image.open(io.BytesIO(data)) as im:
            images.append(im.convert("RGB"))
    return _Request("\n".join(texts), images)


def _box(match: re.Match[str], size: tuple[int, int]) -> Box:
    w, h = size
    x0, x1, y0, y1 = (float(match.group(k)) / 100 for k in ("x0", "x1", "y0", "y1"))
    return (round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))


class _Eye:
    """What the fake sees in the images of one request."""

    def __init__(self, images: list[Image.Image]) -> None:
        self.images = images

    def found(self, term: Term, index: int = 0) -> list[Detection]:
        return perceive(self.images[index]).of(term.concepts)

    def count(self, word: str, where: str) -> int | None:
        term = try_resolve(word)
        if term is None or not self.images:
            return None
        seen = perceive(self.images[0])
        if term.render == "backdrop":
            return int(seen.backdrops.get(term.name, 0.0) >= BACKDROP_MIN_SHARE)
        region = _REGION_RE.search(where)
        within = _box(region, self.images[0].size) if region else None
        return len(inside(seen.of(term.concepts), within))

    def color(self, word: str, how: str | None) -> Value | None:
        term = try_resolve(word)
        if term is None or not self.images:
            return None
        dets = self.found(term)
        if not dets:
            return "none"
        if how is not None:
            dets = [select(dets, how)]
        colors = {d.color for d in dets}
        return colors.pop() if len(colors) == 1 else "mixed"

    def part_color(self, region: str) -> Value | None:
        found = _REGION_RE.search(region)
        if found is None or not self.images:
            return None
        rgb = np.asarray(self.images[0])
        return dominant(rgb, _box(found, self.images[0].size))[0]

    def grayscale(self) -> bool:
        return colorful_share(self.images[0]) <= GRAY_MAX_COLORFUL

    def differs(self, excluded: str | None) -> bool | None:
        """Whether image 2 differs from image 1 outside the excluded regions and objects."""
        if len(self.images) < 2:
            return None
        before = self.images[0]
        after = align(self.images[1], before.size)
        a, b = np.asarray(before), np.asarray(after)
        mask = np.ones(a.shape[:2], bool)
        boxes: list[Box] = []
        for region in _REGION_RE.finditer(excluded or ""):
            boxes.append(_box(region, before.size))
        for word in _OBJECT_RE.finditer(excluded or ""):
            term = try_resolve(word.group("object"))
            if term is None:
                return None
            for image in (before, after):
                boxes.extend(d.box for d in perceive(image).of(term.concepts))
        m = _MARGIN
        for x0, y0, x1, y1 in boxes:
            mask[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m] = False
        changed = changed_mask(a, b, _PIXEL_THRESHOLD)
        compared = int(mask.sum())
        if compared == 0:
            return None
        share = float((changed & mask).sum()) / compared
        return share > (_MAX_CHANGED if excluded else _MAX_CHANGED_SAME)

    def shows(self, index: int, word: str) -> bool | None:
        term = try_resolve(word)
        if term is None or not 1 <= index <= len(self.images):
            return None
        return bool(self.found(term, index - 1))


def _yes(value: bool | None) -> Value | None:
    return None if value is None else ("yes" if value else "no")


def _truth(question: str, eye: _Eye) -> Value | None:
    """The true answer to one question (None: not a question the fake can read)."""
    for name, pattern in _TEMPLATES.items():
        m = pattern.match(question)
        if m is not None:
            return _ANSWERS[name](m, eye)
    return None


def perceived_answer(question: str, images: Sequence[Image.Image]) -> Value | None:
    """The true answer to one of the judge's questions about `images` (RGB; image 1
    first), as the fake sees them; None when it cannot read or answer the question."""
    return _truth(question.strip(), _Eye(list(images)))


def _relation(m: re.Match[str], eye: _Eye) -> Value | None:
    a, b = try_resolve(m.group("subject")), try_resolve(m.group("object"))
    if a is None or b is None or not eye.images:
        return None
    rel = {v: k for k, v in RELATION_PHRASES.items()}[m.group("relation")]
    return _yes(relation_between(eye.found(a), eye.found(b), rel))


def _position(m: re.Match[str], eye: _Eye) -> Value | None:
    term = try_resolve(m.group("object"))
    if term is None or not eye.images:
        return None
    place = {v: k for k, v in PLACE_PHRASES.items()}[m.group("place")]
    return _yes(all_at(eye.found(term), place, eye.images[0].size))


def _presence(m: re.Match[str], eye: _Eye) -> Value | None:
    n = eye.count(m.group("object"), m.group("where"))
    return None if n is None else _yes(n > 0)


_ANSWERS: dict[str, Callable[[re.Match[str], _Eye], Value | None]] = {
    "count": lambda m, eye: eye.count(m.group("object"), m.group("where")),
    "presence": _presence,
    "ask": _presence,
    "relation": _relation,
    "position": _position,
    "color": lambda m, eye: eye.color(m.group("object"), None),
    "color_select": lambda m, eye: eye.color(m.group("object"), m.group("select")),
    "part_color": lambda m, eye: eye.part_color(m.group("region")),
    "style": lambda m, eye: _yes(eye.grayscale()) if eye.images else None,
    "same": lambda m, eye: _yes(eye.differs(None)),
    "difference": lambda m, eye: _yes(eye.differs(m.group("excluded"))),
    "verify": lambda m, eye: _yes(eye.shows(int(m.group("index")), m.group("object"))),
}


def _wrong(truth: Value, rng: random.Random) -> Value:
    """A wrong answer: a count off by one (never negative), the other of yes/no, or
    another palette colour."""
    if isinstance(truth, int):
        return truth + 1 if truth == 0 else truth + rng.choice((-1, 1))
    if truth in ("yes", "no"):
        return "no" if truth == "yes" else "yes"
    return rng.choice([c for c in COLOR_NAMES if c != truth])


class FakeVlm:
    """Answers the VLM judge's questions from the pixels, wrong at `error_rate`.

    Args:
        error_rate: Probability (0..1) that any one answer is wrong on purpose.
        seed: Seed of the wrong answers (with the request's content).
        mode: "answer", or a misbehaviour: "malformed", "refusal", "missing".

    Attributes:
        asked: Every question answered, in order (`Asked.flipped` marks wrong ones).
        mode: May be changed between requests.
    """

    def __init__(
        self, *, error_rate: float = 0.0, seed: int = 0, mode: FakeVlmMode = "answer"
    ) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"error_rate must be within 0..1, not {error_rate}")
        self.error_rate, self.seed, self.mode = error_rate, seed, mode
        self.asked: list[Asked] = []
        self._repeats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def _rng(self, body: dict[str, Any]) -> random.Random:
        """A generator fixed by the seed, the request's content and how often that same
        content was asked before (so repeated samples differ)."""
        key = sha256_parts(
            f"{self.seed}:".encode(), json.dumps(body, sort_keys=True, default=str).encode()
        )
        with self._lock:
            n = self._repeats[key]
            self._repeats[key] += 1
        return random.Random(f"{key}:{n}")

    def __call__(self, body: dict[str, Any]) -> str | Refusal | Fault:
        """Answer one Chat Completions or Gemini generateContent request body."""
        request = _read_request(body)
        questions = _QUESTION_LINE.findall(request.text)
        if not questions:
            return "{}"
        if self.mode == "refusal":
            return Refusal("I'm sorry, but I can't help with analysing this image.")
        rng = self._rng(body)
        answers: dict[str, Value] = {}
        for key, question in questions:
            truth = perceived_answer(question, request.images)
            wrong = rng.random() < self.error_rate
            given: Value = "unsure" if truth is None else truth
            if wrong and truth is not None:
                given = _wrong(truth, rng)
            answers[key] = given
            with self._lock:
                self.asked.append(Asked(key, question.strip(), truth, given))
        if self.mode == "missing":
            answers.pop(questions[-1][0])
        text = json.dumps(answers)
        return text[: len(text) // 2] if self.mode == "malformed" else text
