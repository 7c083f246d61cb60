"""The vocabulary of the synthetic world: which words name which things, and how they look.

A *concept* is one kind of thing the reference world can draw and see: a glyph
concept is drawn as an OpenMoji glyph (dolphin, zebra, car), a backdrop concept as
a band of ground or sky behind the objects (water, road, desert). Words in cases
("dolphins", "alligator", "people") resolve to a `Term`: the set of concepts the
word covers, so "animals" counts dogs and cats alike and "alligator" is a crocodile.

Hypernyms: a real judge (a person, a VLM) counts a duck as a bird, a palm tree as a tree
and a sunflower as a flower, while the reference world draws one glyph for "bird".
`INCLUDES` declares, for such words, the concepts a judge counts under them; it is data
for people and for `uniprobe cases validate` (which flags a case that counts "bird"
while it shows a duck it does not mean), and it does NOT change what a word resolves to:
a 'bird' count in the reference world still counts the bird glyph only. `hyponyms(word)`
reads it, with the members of category words ("animal", "fruit") and what they include.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Literal

from uniprobe.errors import did_you_mean

__all__ = [
    "BACKDROPS",
    "CONCEPTS",
    "INCLUDES",
    "Concept",
    "Term",
    "UnknownWordError",
    "concept",
    "glyph_concepts",
    "hyponyms",
    "known_words",
    "plural",
    "resolve",
    "try_resolve",
]

Render = Literal["glyph", "backdrop"]


@dataclass(frozen=True)
class Concept:
    """One drawable, detectable kind of thing."""

    name: str
    render: Render
    glyph: str = ""
    synonyms: tuple[str, ...] = ()
    plurals: tuple[str, ...] = ()
    is_a: tuple[str, ...] = ()


def _g(name: str, glyph: str, *syn: str, plurals: tuple[str, ...] = (), is_a: str = "") -> Concept:
    return Concept(name, "glyph", glyph, syn, plurals, tuple(x for x in is_a.split(",") if x))


_VS = "\ufe0f"
CONCEPTS: tuple[Concept, ...] = (
    # animals
    _g("dog", "\U0001f415", "puppy", is_a="animal"),
    _g("cat", "\U0001f408", "kitten", is_a="animal"),
    _g("bird", "\U0001f426", "sparrow", is_a="animal"),
    _g("dolphin", "\U0001f42c", is_a="animal"),
    _g("zebra", "\U0001f993", is_a="animal"),
    _g("horse", "\U0001f40e", "pony", is_a="animal"),
    _g("lion", "\U0001f981", plurals=("lions",), is_a="animal"),
    _g("monkey", "\U0001f412", "ape", is_a="animal"),
    _g("shark", "\U0001f988", is_a="animal"),
    _g("crocodile", "\U0001f40a", "alligator", "croc", is_a="animal"),
    _g("fish", "\U0001f41f", plurals=("fish", "fishes"), is_a="animal"),
    _g("cow", "\U0001f404", is_a="animal"),
    _g("pig", "\U0001f416", is_a="animal"),
    _g("sheep", "\U0001f411", "lamb", plurals=("sheep",), is_a="animal"),
    _g("rabbit", "\U0001f407", "bunny", is_a="animal"),
    _g("elephant", "\U0001f418", is_a="animal"),
    _g("giraffe", "\U0001f992", is_a="animal"),
    _g("turtle", "\U0001f422", "tortoise", is_a="animal"),
    _g("duck", "\U0001f986", is_a="animal"),
    _g("chicken", "\U0001f414", "hen", is_a="animal"),
    _g("spider", "\U0001f577" + _VS, is_a="animal"),
    _g("butterfly", "\U0001f98b", is_a="animal"),
    _g("snail", "\U0001f40c", is_a="animal"),
    _g("penguin", "\U0001f427", is_a="animal"),
    _g("mouse", "\U0001f401", plurals=("mice",), is_a="animal"),
    _g("camel", "\U0001f42a", is_a="animal"),
    _g("whale", "\U0001f40b", is_a="animal"),
    _g("octopus", "\U0001f419", plurals=("octopuses", "octopi"), is_a="animal"),
    _g("crab", "\U0001f980", is_a="animal"),
    _g("snake", "\U0001f40d", is_a="animal"),
    _g("flamingo", "\U0001f9a9", is_a="animal"),
    # fruit and food
    _g("apple", "\U0001f34e", is_a="fruit,food"),
    _g("banana", "\U0001f34c", is_a="fruit,food"),
    _g("orange", "\U0001f34a", "tangerine", is_a="fruit,food"),
    _g("lemon", "\U0001f34b", is_a="fruit,food"),
    _g("lime", "\U0001f34b\u200d\U0001f7e9", is_a="fruit,food"),
    _g("watermelon", "\U0001f349", is_a="fruit,food"),
    _g("strawberry", "\U0001f353", is_a="fruit,food"),
    _g("pear", "\U0001f350", is_a="fruit,food"),
    _g("cherry", "\U0001f352", is_a="fruit,food"),
    _g("grapes", "\U0001f347", "grape", "bunch of grapes", plurals=("grapes",), is_a="fruit,food"),
    _g("pineapple", "\U0001f34d", is_a="fruit,food"),
    _g("peach", "\U0001f351", is_a="fruit,food"),
    _g("tomato", "\U0001f345", plurals=("tomatoes",), is_a="food"),
    _g("carrot", "\U0001f955", is_a="food"),
    _g("mushroom", "\U0001f344", is_a="food"),
    _g("ice cream", "\U0001f366", "ice-cream", "ice cream cone", is_a="food"),
    _g("cake", "\U0001f370", is_a="food"),
    _g("pizza", "\U0001f355", is_a="food"),
    _g("cookie", "\U0001f36a", is_a="food"),
    _g("donut", "\U0001f369", "doughnut", is_a="food"),
    _g("cup", "\u2615", "coffee", "mug", is_a="object"),
    # people
    _g(
        "man",
        "\U0001f9cd\u200d\u2642" + _VS,
        "boy",
        "gentleman",
        plurals=("men", "boys"),
        is_a="person,standing person",
    ),
    _g(
        "woman",
        "\U0001f9cd\u200d\u2640" + _VS,
        "girl",
        "lady",
        plurals=("women", "girls", "ladies"),
        is_a="person,standing person",
    ),
    _g(
        "seated person",
        "\U0001f9d8",
        "sitting person",
        "person sitting",
        plurals=("seated people", "sitting people", "people sitting"),
        is_a="person",
    ),
    _g("runner", "\U0001f3c3", "running person", "jogger", is_a="person"),
    # vehicles
    _g("car", "\U0001f697", "automobile", is_a="vehicle"),
    _g("bus", "\U0001f68c", plurals=("buses",), is_a="vehicle"),
    _g("bicycle", "\U0001f6b2", "bike", is_a="vehicle"),
    _g("truck", "\U0001f69a", "lorry", is_a="vehicle"),
    _g("sailboat", "\u26f5", "boat", "sailing boat", is_a="vehicle"),
    _g("airplane", "\u2708" + _VS, "plane", "aeroplane", is_a="vehicle"),
    _g("rocket", "\U0001f680", is_a="vehicle"),
    # plants and nature
    _g("tree", "\U0001f333", is_a="plant"),
    _g("pine tree", "\U0001f332", "fir tree", "christmas tree", is_a="plant"),
    _g("palm tree", "\U0001f334", "palm", is_a="plant"),
    _g("tulip", "\U0001f337", "flower", is_a="plant"),
    _g("sunflower", "\U0001f33b", is_a="plant"),
    _g("cactus", "\U0001f335", plurals=("cacti", "cactuses"), is_a="plant"),
    _g("mountain", "\u26f0" + _VS, "hill"),
    _g("sun", "\u2600" + _VS),
    _g("moon", "\U0001f319", "crescent moon"),
    _g("cloud", "\u2601" + _VS),
    _g("star", "\u2b50"),
    _g("rainbow", "\U0001f308"),
    _g("snowman", "\u26c4", plurals=("snowmen",)),
    # things
    _g("house", "\U0001f3e0", "home", is_a="building"),
    _g("umbrella", "\u2602" + _VS),
    _g("ball", "\u26bd", "football", "soccer ball"),
    _g("chair", "\U0001fa91"),
    _g("couch", "\U0001f6cb" + _VS, "sofa", plurals=("couches",)),
    _g("book", "\U0001f4d5"),
    _g("key", "\U0001f511"),
    _g("balloon", "\U0001f388"),
    _g("gift", "\U0001f381", "present", "gift box"),
    _g("hat", "\U0001f3a9", "top hat"),
    _g("candle", "\U0001f56f" + _VS),
    _g("kite", "\U0001fa81"),
    _g("teddy bear", "\U0001f9f8", "teddy"),
    # backdrops: bands of ground, water or sky behind the objects
    Concept("sky", "backdrop"),
    Concept("water", "backdrop", synonyms=("ocean", "sea", "river", "lake", "pond")),
    Concept("road", "backdrop", synonyms=("street", "highway")),
    Concept("desert", "backdrop", synonyms=("dunes",)),
    Concept("beach", "backdrop", synonyms=("sand", "seashore", "shore"), plurals=("beaches",)),
    Concept("grass", "backdrop", synonyms=("field", "meadow", "lawn"), plurals=("grass",)),
    Concept("snow", "backdrop", plurals=("snow",)),
    # added for hglobal
    _g("kangaroo", "\U0001f998", is_a="animal"),
)

INCLUDES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # word -> the concepts a real judge counts under it beyond what the word resolves to
        # here. Keys are words as cases write them (singular); values are concept names.
        "bird": ("duck", "chicken", "penguin", "flamingo"),
        "tree": ("pine tree", "palm tree"),
        "flower": ("tulip", "sunflower"),  # 'flower' resolves to the tulip glyph
        # Ambiguous to a judge (a VLM mostly says no, a person may say yes): declared so that
        # cases keep them apart rather than depend on the answer.
        "fish": ("shark",),
        "fruit": ("tomato",),
    }
)
"""What a word includes for a real judge (hypernym -> hyponyms); see the module docstring.
Category words ("animal", "vehicle", "person") include their members without being listed."""

BACKDROPS: tuple[str, ...] = tuple(c.name for c in CONCEPTS if c.render == "backdrop")
_BY_NAME = {c.name: c for c in CONCEPTS}


def glyph_concepts() -> tuple[Concept, ...]:
    """Every concept drawn as a glyph (what the reference judge looks for)."""
    return tuple(c for c in CONCEPTS if c.render == "glyph")


@dataclass(frozen=True)
class Term:
    """What a word in a case means in the synthetic world."""

    word: str
    name: str
    concepts: frozenset[str]
    render: Render

    @property
    def is_category(self) -> bool:
        """True for words such as 'animal' or 'person' that cover several concepts."""
        return self.concepts != frozenset({self.name})


class UnknownWordError(ValueError):
    """A word the reference vocabulary cannot draw or see."""


def _plural_forms(word: str) -> set[str]:
    head, _, last = word.rpartition(" ")
    prefix = f"{head} " if head else ""
    if re.search(r"(s|x|z|ch|sh)$", last):
        forms = {last + "es"}
    elif re.search(r"[^aeiou]y$", last):
        forms = {last[:-1] + "ies"}
    else:
        forms = {last + "s"}
    return {prefix + f for f in forms}


@cache
def _lexicon() -> dict[str, Term]:
    lex: dict[str, Term] = {}
    categories: dict[str, set[str]] = {}
    for c in CONCEPTS:
        for cat in c.is_a:
            categories.setdefault(cat, set()).add(c.name)
    for cat, members in categories.items():
        if cat in _BY_NAME:  # a concept that is also a category covers itself too
            members.add(cat)
        term = Term(cat, cat, frozenset(members), "glyph")
        for w in {cat, *_plural_forms(cat)}:
            lex[w] = term
    lex["people"] = lex["persons"] = lex["person"]
    lex["standing people"] = lex["standing person"]
    lex["animals"] = lex["animal"]
    for c in CONCEPTS:
        term = Term(c.name, c.name, frozenset({c.name}), c.render)
        words = {c.name, *c.synonyms}
        forms = set(words) | set(c.plurals)
        if not c.plurals:
            for w in words:
                forms |= _plural_forms(w)
        for w in forms:
            lex.setdefault(w, term)
    return lex


_ARTICLES = re.compile(r"^(a|an|the|some|any)\s+")


def _normalize(word: str) -> str:
    w = re.sub(r"\s+", " ", word.strip().lower())
    return _ARTICLES.sub("", w)


def try_resolve(word: str) -> Term | None:
    """The term a word names, or None if the vocabulary does not know it."""
    return _lexicon().get(_normalize(word))


def resolve(word: str) -> Term:
    """The term a word names; `UnknownWordError` (with a suggestion) if unknown."""
    term = try_resolve(word)
    if term is None:
        norm = _normalize(word)
        raise UnknownWordError(
            f"'{word}' is not in the reference vocabulary{did_you_mean(norm, _lexicon())}"
        )
    return term


_IRREGULAR = {"person": "people", "standing person": "standing people"}


def plural(word: str) -> str:
    """The plural of an object word, for people to read ('bird' -> 'birds', 'mouse' ->
    'mice'); a word that is already plural ('dolphins', 'people') stays as it is."""
    w = _normalize(word)
    if w in _IRREGULAR.values():
        return w
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    known = _BY_NAME.get(w)
    if known is not None and known.plurals:
        return known.plurals[0]
    term = _lexicon().get(w)
    if term is not None and w != term.name:
        named = _BY_NAME.get(term.name)
        if w not in (named.synonyms if named else ()):
            return w  # a plural form the vocabulary knows
    return min(_plural_forms(w))


@cache
def _includes_by_form() -> dict[str, frozenset[str]]:
    """Every written form (singular and plural) of an `INCLUDES` key -> what it includes."""
    out: dict[str, frozenset[str]] = {}
    for word, names in INCLUDES.items():
        named = _BY_NAME.get(word)
        forms = {word, *_plural_forms(word), *(named.plurals if named else ())}
        for form in forms:
            out[form] = frozenset(names)
    return out


def hyponyms(word: str) -> frozenset[str]:
    """The concepts a real judge counts as `word` (names of concepts): what `INCLUDES`
    declares for it, the members of a category word, and, in turn, what those include.

    `hyponyms("birds") == {"duck", "chicken", "penguin", "flamingo"}`; a word that
    includes nothing ("duck", "sparrow") gives an empty set. `UnknownWordError` if the
    vocabulary does not know the word.
    """
    term = resolve(word)
    found = set(_includes_by_form().get(_normalize(word), frozenset()))
    if term.is_category:
        found |= term.concepts
    todo = list(found)
    while todo:
        for name in INCLUDES.get(todo.pop(), ()):
            if name not in found:
                found.add(name)
                todo.append(name)
    return frozenset(found)


def known_words() -> list[str]:
    """Every word (with plurals and synonyms) the vocabulary resolves."""
    return sorted(_lexicon())


def concept(name: str) -> Concept:
    """The concept with this canonical name."""
    return _BY_NAME[name]
