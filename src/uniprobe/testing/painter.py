"""A literal painter: it draws what the words of a message say, and nothing else.

This is the fake server's "model". It reads the latest user message word by word,
like a model that sees words and no meaning: every object word of the vocabulary
is drawn (even after "no" or "remove"), a number or article just before an object
word is its count ("5 dolphins", "an apple"), a colour word just before an object
word is its tint ("a red car"), and backdrop words ("ocean", "road") become bands.
Rules, conditions and earlier turns are ignored, so what it draws is the literal
reading a benchmark case warns about.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import lru_cache

from uniprobe.hashing import sha256_bytes
from uniprobe.scenes.colors import PALETTE, canonical_color_name
from uniprobe.scenes.geometry import Box
from uniprobe.scenes.render import glyph_unit_size, render_scene, to_png
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import Term, concept, try_resolve

__all__ = ["MAX_OBJECTS", "PLURAL_COUNT", "Mention", "Reading", "blank", "paint", "read"]

MAX_OBJECTS = 12
"""At most this many glyphs are drawn; later mentions get what is left."""
PLURAL_COUNT = 2
"""How many things a plural with no number means ("dolphins")."""

_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "couple": 2,
    "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12,
}  # fmt: skip
_ARTICLES = frozenset({"a", "an"})
_NO_NGRAM_START = frozenset({"a", "an", "the", "some", "any"})
_COLORS = frozenset({*PALETTE, "grey", "violet", "magenta", "gold"})
_NUMBER_REACH = 3
"""A number counts for an object word at most this many words later ("5 small red cats")."""
_COLOR_REACH = 1
"""A colour tints an object word at most this many words later."""


@dataclass(frozen=True)
class Mention:
    """An object the message names: how many, which concept, which tint."""

    concept: str
    count: int
    color: str | None = None


@dataclass(frozen=True)
class Reading:
    """Everything drawable in a message."""

    objects: tuple[Mention, ...]
    backdrops: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when the message names nothing drawable."""
        return not self.objects and not self.backdrops


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+(?:[-'][a-z]+)*|\d+", text.lower())


def _match(tokens: list[str], i: int) -> tuple[Term, int, str] | None:
    if i >= len(tokens) or tokens[i] in _NO_NGRAM_START:
        return None
    for n in (3, 2, 1):
        if i + n > len(tokens):
            continue
        phrase = " ".join(tokens[i : i + n])
        if (term := try_resolve(phrase)) is not None:
            return term, n, phrase
    return None


def _is_plural(term: Term, phrase: str) -> bool:
    if term.is_category:  # "animal" / "animals", "person" / "people"
        return phrase != term.name
    c = concept(term.name)
    return phrase not in (c.name, *c.synonyms)


def _number(token: str) -> int | None:
    if token.isdigit():
        n = int(token)
        return n if n > 0 else None
    return _NUMBERS.get(token)


def read(text: str) -> Reading:
    """What a literal reader finds drawable in a message.

    Args:
        text: The message.

    Returns:
        The object mentions (one per concept and tint, the largest count named)
        and the backdrops, in the order the message names them.
    """
    tokens = _tokens(text)
    counts: dict[tuple[str, str | None], int] = {}
    backdrops: list[str] = []
    number: tuple[int, int, bool] | None = None  # (value, position, from an article)
    color: tuple[str, int] | None = None
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        is_color = tok in _COLORS and _match(tokens, i + 1) is not None
        found = None if is_color else _match(tokens, i)
        if found is None:
            if is_color:
                color = (canonical_color_name(tok), i)
            elif (n := _number(tok)) is not None:
                number = (n, i, tok in _ARTICLES)
            i += 1
            continue
        term, width, phrase = found
        if term.render == "backdrop":
            if term.name not in backdrops:
                backdrops.append(term.name)
        else:
            plural = _is_plural(term, phrase)
            count = PLURAL_COUNT if plural else 1
            near = number is not None and i - number[1] <= _NUMBER_REACH
            if number is not None and near and not (number[2] and plural):
                count = number[0]
            tint = color[0] if color is not None and i - color[1] <= _COLOR_REACH else None
            key = (min(term.concepts), tint)
            counts[key] = max(counts.get(key, 0), count)
        number = color = None
        i += width
    mentions = tuple(Mention(name, n, tint) for (name, tint), n in counts.items())
    return Reading(mentions, tuple(backdrops))


def _bands(backdrops: tuple[str, ...]) -> tuple[Band, ...]:
    ground = [b for b in backdrops if b != "sky"]
    split = 0.35 if ground else 1.0
    bands = [Band(kind="sky", top=0.0, bottom=split)] if "sky" in backdrops else []
    step = (1.0 - split) / max(1, len(ground))
    for k, name in enumerate(ground):
        top = split + k * step
        bottom = 1.0 if k == len(ground) - 1 else split + (k + 1) * step
        bands.append(Band(kind=name, top=round(top, 4), bottom=round(bottom, 4)))
    return tuple(bands)


def _free(box: Box, boxes: list[Box], gap: int) -> bool:
    return all(
        box[2] + gap <= b[0] or b[2] + gap <= box[0] or box[3] + gap <= b[1] or b[3] + gap <= box[1]
        for b in boxes
    )


def _place(
    name: str, side: float, size: int, boxes: list[Box], rng: random.Random
) -> tuple[float, float, Box] | None:
    uw, uh = glyph_unit_size(name)
    w, h = side * uw / max(uw, uh), side * uh / max(uw, uh)
    if w + 4 > size or h + 4 > size:
        return None
    for _ in range(200):
        x = rng.uniform(w / 2 + 2, size - w / 2 - 2)
        y = rng.uniform(h / 2 + 2, size - h / 2 - 2)
        box = (
            round(x - w / 2) - 1,
            round(y - h / 2) - 1,
            round(x + w / 2) + 1,
            round(y + h / 2) + 1,
        )
        if _free(box, boxes, gap=max(6, size // 64)):
            return round(x, 1), round(y, 1), box
    return None


def _layout(reading: Reading, size: int, rng: random.Random) -> list[SceneObject]:
    scale = size / 512
    objects: list[SceneObject] = []
    boxes: list[Box] = []
    for m in reading.objects:
        for _ in range(m.count):
            if len(objects) == MAX_OBJECTS:
                return objects
            side = rng.uniform(80, 130) * scale
            spot = None
            while spot is None and side >= 48 * scale:
                spot = _place(m.concept, side, size, boxes, rng)
                side = side if spot else side * 0.85
            if spot is None:
                continue
            x, y, box = spot
            objects.append(
                SceneObject(kind=m.concept, x=x, y=y, size=round(side, 1), color=m.color)
            )
            boxes.append(box)
    return objects


def _describe(reading: Reading, drawn: list[SceneObject]) -> str:
    parts = []
    for m in reading.objects:
        n = sum(1 for o in drawn if o.kind == m.concept and o.color == m.color)
        tint = f"{m.color} " if m.color else ""
        if n == 1:
            words = tint + m.concept
            parts.append(("an " if words[0] in "aeiou" else "a ") + words)
        elif n > 1:
            parts.append(f"{n} {tint}{_plural(m.concept)}")
    parts.extend(reading.backdrops)
    listed = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return f"Here is an image of {listed}."


def _plural(name: str) -> str:
    c = concept(name)
    if c.plurals:
        return c.plurals[0]
    if name.endswith("s"):
        return name
    if re.search(r"(x|z|ch|sh)$", name):
        return name + "es"
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    return name + "s"


def paint(
    text: str, *, input_image: bytes | None, size: int, seed: int = 0
) -> tuple[bytes | None, str]:
    """Draw the literal reading of a message.

    Args:
        text: The latest user message.
        input_image: The latest image in the conversation (attached or drawn
            earlier), returned unchanged when the message names nothing drawable.
        size: Side of the square canvas in pixels.
        seed: Varies the layout (the n-th image of a request uses seed n).

    Returns:
        PNG bytes (None when there is nothing to draw and no image to return)
        and a short text reply.
    """
    reading = read(text)
    if reading.empty:
        if input_image is not None:
            return input_image, "I left the image unchanged."
        return None, "I can't draw that."
    return _drawn(text, size, seed)


@lru_cache(maxsize=512)
def _drawn(text: str, size: int, seed: int) -> tuple[bytes, str]:
    """The drawing of a message (remembered: a fake serving many requests draws each
    distinct message once, so it costs its clients little CPU on a shared machine)."""
    reading = read(text)
    rng = random.Random(int(sha256_bytes(f"{seed}\x00{text}".encode())[:16], 16))
    objects = _layout(reading, size, rng)
    spec = SceneSpec(
        width=size, height=size, bands=_bands(reading.backdrops), objects=tuple(objects)
    )
    return to_png(render_scene(spec).image), _describe(reading, objects)


def blank(size: int) -> bytes:
    """An empty white canvas (what the Images API returns for a prompt naming nothing)."""
    return to_png(render_scene(SceneSpec(width=size, height=size)).image)
