"""What the three families' builders share: word pools, wording, typed case parts, YAML.

A builder is a function of a seeded `random.Random` that yields `Case` objects. Every
random draw is part of the suite: reordering two draws, or renaming a builder (its name
seeds its generator), changes the cases it writes.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import yaml

from uniprobe.cases.checks import Check, Conditional, Expectation, Present, check_to_dict
from uniprobe.cases.schema import Case, Family, ImageSource, Turn
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import plural

__all__ = [
    "ANIMALS",
    "COLORS",
    "COUNTABLE",
    "FRUITS",
    "HEADER",
    "OPPOSITE",
    "RELATION_WORDS",
    "THINGS",
    "TINTABLE",
    "WORDS",
    "Builder",
    "amount",
    "article",
    "case",
    "case_document",
    "case_yaml",
    "glyph",
    "number",
    "present_all",
    "row",
    "seeded",
    "slug",
    "source_image",
    "turn",
    "words",
]

Builder = Callable[[random.Random], Iterator[Case]]
"""Yields one subtype's cases from a generator seeded by the builder's name."""


def seeded(builder: Builder, seed: int = 0) -> random.Random:
    """The random generator a builder draws from, seeded by the suite seed and the
    builder's name: stable across runs. Seed 0 is the published `core`; any other seed
    gives an equivalent suite (same design and counts; new objects, numbers, frames)."""
    return random.Random(f"uniprobe-core-{seed}-{builder.__name__}")


def words(text: str) -> tuple[str, ...]:
    """A word pool written as one string ('apple bird fish')."""
    return tuple(text.split())


COUNTABLE = words(
    "apple bird fish star balloon car duck cat dog tree cup ball cookie butterfly turtle "
    "rabbit strawberry mushroom tulip kite snail pear"
)
ANIMALS = words(
    "dog cat bird rabbit duck turtle horse cow pig sheep elephant giraffe penguin camel "
    "snail chicken"
)
FRUITS = words("apple banana orange lemon pear cherry strawberry peach watermelon pineapple grapes")
THINGS = (
    *words(
        "car bus bicycle truck sailboat house umbrella ball chair book balloon gift hat "
        "candle kite cup cake tree cactus tulip sunflower rocket"
    ),
    "teddy bear",
)
TINTABLE = words("car balloon cup umbrella hat kite book gift ball bus star truck")
"""Objects whose glyphs take a tint well (colour checks)."""
COLORS = words("red orange yellow green blue purple pink brown")

WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight"}
OPPOSITE = {
    "left": "right",
    "right": "left",
    "above": "below",
    "below": "above",
    "top": "bottom",
    "bottom": "top",
    "left_of": "right_of",
    "right_of": "left_of",
}
RELATION_WORDS = {
    "left_of": "to the left of",
    "right_of": "to the right of",
    "above": "above",
    "below": "below",
}


def article(word: str) -> str:
    """'a dog', 'an apple'."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def number(rng: random.Random, n: int) -> str:
    """A number as a digit or a word (one draw)."""
    return WORDS[n] if rng.random() < 0.5 else str(n)


def amount(rng: random.Random, n: int, word: str) -> str:
    """'three dogs', '2 dogs', 'one dog' (one draw)."""
    return f"{number(rng, n)} {plural(word) if n > 1 else word}"


def slug(*parts: object) -> str:
    """Parts of a case id label: 'teddy bear', 'cup' -> 'teddy-bear_cup'."""
    return "_".join(str(p).replace(" ", "-") for p in parts)


# --- cases and turns ------------------------------------------------------------------

_SHORT: dict[Family, str] = {
    "global_instruction": "global",
    "editing": "edit",
    "post_generation": "post",
}


def case(
    family: Family,
    subtype: str,
    n: int,
    label: str,
    description: str,
    turns: Sequence[Turn],
    *,
    images: Mapping[str, ImageSource] | None = None,
    tags: Sequence[str] = (),
    group: str | None = None,
) -> Case:
    """A core case with the id `core.<family>.<subtype>.<nn>.<label>` (nn: `n`, two digits).

    Six positional arguments, in id-then-content order, keep the builders' many calls short.
    """
    return Case(
        id=f"core.{_SHORT[family]}.{subtype}.{n:02d}.{label}",
        family=family,
        subtype=subtype,
        source="core",
        description=description,
        images=dict(images or {}),
        turns=tuple(turns),
        tags=tuple(tags),
        group=group,
    )


def turn(user: str, *expect: Expectation, edit: bool | None = None) -> Turn:
    """One user message and the checks on the canvas after it."""
    return Turn(user=user, edit=edit, expect=expect)


def present_all(*objects: str) -> list[Expectation]:
    """A `present` check for each word."""
    return [Present(object=o) for o in objects]


# --- synthetic source scenes ----------------------------------------------------------


def glyph(
    kind: str,
    x: float,
    y: float,
    size: float,
    *,
    part: str | None = None,
    color: str | None = None,
) -> SceneObject:
    """A vocabulary glyph centred at (x, y), its larger side `size` pixels (0.1 px grid)."""
    return SceneObject(
        id=part, kind=kind, x=round(x, 1), y=round(y, 1), size=round(size, 1), color=color
    )


def row(
    kinds: Sequence[str],
    y: float,
    size: float,
    *,
    x0: float = 70,
    x1: float = 442,
    parts: Sequence[str] | None = None,
    colors: Sequence[str] | None = None,
) -> list[SceneObject]:
    """Glyphs evenly spaced from x0 to x1 (one alone is centred)."""
    if len(kinds) > 1:
        xs = [x0 + (x1 - x0) * j / (len(kinds) - 1) for j in range(len(kinds))]
    else:
        xs = [256]
    return [
        glyph(
            kind,
            x,
            y,
            size,
            part=parts[j] if parts else None,
            color=colors[j] if colors else None,
        )
        for j, (kind, x) in enumerate(zip(kinds, xs, strict=True))
    ]


def source_image(
    objects: Iterable[SceneObject], bands: Iterable[Band] = ()
) -> dict[str, ImageSource]:
    """The case's `source` image: a synthetic scene."""
    return {"source": ImageSource(scene=SceneSpec(bands=tuple(bands), objects=tuple(objects)))}


# --- YAML -----------------------------------------------------------------------------

HEADER = (
    "# Generated by python -m uniprobe.cases.generate -- edit the generator, not this file.\n"
    "# The `core` suite of uniprobe: see CARD.md in this folder.\n"
)
_CASE_KEYS = (
    "id",
    "family",
    "subtype",
    "source",
    "group",
    "description",
    "images",
    "turns",
    "tags",
)


class _Dumper(yaml.SafeDumper):
    """Block style for cases, flow style for leaves; whole-number floats as integers."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


def _float(dumper: yaml.SafeDumper, data: float) -> yaml.ScalarNode:
    if data.is_integer():
        return dumper.represent_int(int(data))
    return dumper.represent_float(data)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(float, _float)


def _leaf(check: Check) -> dict[str, object]:
    """A check's one-key mapping, the canvas it looks at (`turn`) written last."""
    ((kind, body),) = check_to_dict(check).items()
    if "turn" in body:
        body["turn"] = body.pop("turn")
    return {kind: body}


def _expectation(exp: Expectation) -> dict[str, object]:
    if not isinstance(exp, Conditional):
        return _leaf(exp)
    doc = check_to_dict(exp)
    doc["when"] = _leaf(exp.when)
    for key, branch in (("then", exp.then), ("else", exp.else_)):
        if branch:
            doc[key] = [_leaf(c) for c in branch]
    return doc


def _turn(t: Turn) -> dict[str, object]:
    doc: dict[str, object] = t.model_dump(mode="json", exclude_defaults=True, exclude={"expect"})
    if t.expect:
        doc["expect"] = [_expectation(e) for e in t.expect]
    return doc


def case_document(c: Case) -> dict[str, object]:
    """`Case.to_dict()` in reading order, with its `source` written out even if default."""
    doc = c.to_dict()
    doc["source"] = c.source
    doc["turns"] = [_turn(t) for t in c.turns]
    rank = {key: i for i, key in enumerate(_CASE_KEYS)}
    return {key: doc[key] for key in sorted(doc, key=lambda k: rank.get(k, len(rank)))}


def case_yaml(cases: Iterable[Case]) -> str:
    """A suite file: the header, then each case as a one-item YAML list, blank-line apart."""
    body = "\n".join(
        yaml.dump(
            [case_document(c)],
            Dumper=_Dumper,
            sort_keys=False,
            width=100,
            allow_unicode=True,
            default_flow_style=None,
        )
        for c in cases
    )
    return HEADER + "\n" + body
