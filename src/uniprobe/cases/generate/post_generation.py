"""Post-generation reasoning: conditions judged on what was drawn, retractions, references.

Design, stated once for the family (this module and `post_dialogue`):

* Turn 1's checks are `role: setup` (the first image drew what was asked); the
  follow-up's checks are probes.
* Every condition case has a twin in a contrast group (`group`): the same turn 1 and
  the same wording of the action, with a condition that holds and one that does not, so
  acting regardless (`reference/literal`) and never acting each fail the group.
* Conditions are judged on the drawn image (`turn: 1`, or the canvas after an edit).
  `assumed` is the value the words of the dialogue imply, None when they leave it open:
  `condition_unasked` asks about what turn 1 left free (how many, which colour, what
  setting: water, a road); its twins are complementary conditions over one check, so
  whatever the model drew, one member acts and the other does not.
* Every random choice (objects, numbers, colours, wordings) comes from the builder's
  `rng`; wordings are hand-written tables picked with `rng.choice`.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from uniprobe.cases.checks import Absent, Check, Color, Count, Present, Relation
from uniprobe.cases.generate.common import (
    OPPOSITE,
    RELATION_WORDS,
    TINTABLE,
    case,
    slug,
    turn,
)
from uniprobe.cases.generate.common import article as a_
from uniprobe.cases.generate.post_common import (
    ANIMALS,
    COUNT_REQUESTS,
    COUNTED,
    THINGS,
    Clause,
    action_for,
    added_pair,
    amount,
    colors,
    comparison,
    conditional,
    lower_first,
    number,
    setup,
    truth,
)
from uniprobe.cases.generate.post_dialogue import (
    arithmetic,
    back_reference,
    false_premise,
    retraction,
)
from uniprobe.cases.schema import Case, Family, Turn
from uniprobe.scenes.vocabulary import plural

__all__ = [
    "arithmetic",
    "back_reference",
    "condition_after_edit",
    "condition_color",
    "condition_count",
    "condition_presence",
    "condition_relation",
    "condition_unasked",
    "false_premise",
    "retraction",
]

P: Family = "post_generation"
GROUPS = 13
"""Contrast groups per condition subtype (two cases each: 26 cases)."""

SCENE_REQUESTS = (
    "Draw {list}.",
    "Please draw {list}.",
    "Make a picture of {list}.",
    "Can you draw {list}?",
    "I'd like a picture with {list}.",
    "Sketch {list}, please.",
    "Show me {list} together.",
)
VAGUE_REQUESTS = (
    "Draw a few {objs}.",
    "Draw some {objs}.",
    "Draw several {objs}.",
    "Draw a small group of {objs}.",
    "Draw a handful of {objs}.",
)
COLOR_REQUESTS = (
    "Draw {co}.",
    "Please draw {o} that is {c}.",
    "Make a picture of {co}.",
    "Can you draw {co}?",
    "Paint {co}.",
    "Show me {co} on a plain background.",
)
RELATION_REQUESTS = (
    "Draw {a} {rel} {b}.",
    "Draw {b}, with {a} {rel} it.",
    "Please draw {a} and put it {rel} {b}.",
    "Make a picture with {a} {rel} {b}.",
    "Show {a} {rel} {b}.",
    "Can you draw {a} {rel} {b}?",
)
PRESENT_CLAUSES = (
    "there is {x} in the picture",
    "you drew {x}",
    "the image has {x} in it",
    "the picture shows {x}",
)
ABSENT_CLAUSES = (
    "there is no {o} in the picture",
    "the picture has no {o} in it",
    "you did not draw {x}",
)
COLOR_CLAUSES = ("the {o} is {c}", "the {o} you drew is {c}", "the {o} in the picture is {c}")
NOT_COLOR_CLAUSES = ("the {o} is not {c}", "the {o} is any colour but {c}")
CONNECTORS = ("Then,", "After that,", "Once that is done,", "Next,")


def _listed(objs: list[str]) -> str:
    """'a dog and a cat', 'a dog, a cat and a kite'."""
    named = [a_(o) for o in objs]
    return ", ".join(named[:-1]) + " and " + named[-1]


@dataclass(frozen=True)
class Twin:
    """One member of a contrast group."""

    clause: Clause
    label: str
    """The case id's label."""
    assumed: bool | None
    """The value of `clause.when` the dialogue's words imply (None: left open)."""
    holds: bool | None
    """Whether the worded condition holds on the reference canvas (None: unknown)."""


def _twins(
    subtype: str,
    g: int,
    first: Turn,
    members: list[Twin],
    *,
    rng: random.Random,
    used: tuple[str, ...],
    edit: tuple[str, list[Check]] | None = None,
    tags: tuple[str, ...] = (),
    describe: str,
) -> Iterator[Case]:
    """A contrast group: the same turn 1 and action wording, one case per twin."""
    action = action_for(rng, [t.clause for t in members])
    x, y = added_pair(rng, *used)
    connector = rng.choice(CONNECTORS)
    for j, twin in enumerate(members):
        text, cond = conditional(twin.clause, action, x, y, assumed=twin.assumed)
        if edit is not None:
            text = f"{edit[0]} {connector} {lower_first(text)}"
        state = {None: "is unknown", True: "holds", False: "does not hold"}[twin.holds]
        where = "the reference drawing" if twin.assumed is None else "the drawn image"
        yield case(
            P,
            subtype,
            2 * g + j + 1,
            twin.label,
            f"{describe} '{twin.clause.text}' {state} on {where}.",
            [first, turn(text, *(edit[1] if edit else []), cond, edit=True)],
            tags=[*tags, *truth(twin.holds)],
            group=f"post.{subtype}.{g + 1:02d}",
        )


def _first(user: str, *checks: Check) -> Turn:
    """Turn 1: a request and its setup checks."""
    return turn(user, *setup(*checks))


# --- presence ---------------------------------------------------------------------------


def _presence_twin(rng: random.Random, value: bool, objs: list[str], other: str) -> Twin:
    """'there is a dog' (holds when drawn) or 'there is no dog' (holds when not)."""
    if rng.random() < 0.6:
        target = rng.choice(objs) if value else other
        text = rng.choice(PRESENT_CLAUSES).format(x=a_(target))
        when: Check = Present(object=target, turn=1)
    else:
        target = other if value else rng.choice(objs)
        text = rng.choice(ABSENT_CLAUSES).format(o=target, x=a_(target))
        when = Absent(object=target, turn=1)
    assumed = (target in objs) == isinstance(when, Present)
    return Twin(Clause(text, when), f"{slug(target)}_{_word(value)}", assumed, value)


def _word(value: bool) -> str:
    return "holds" if value else "fails"


def condition_presence(rng: random.Random) -> Iterator[Case]:
    """'If there is a dog in the picture, add a ball': one twin names a drawn object, the
    other one that was not drawn (worded positively or negatively)."""
    pool = [*ANIMALS, *THINGS]
    for g in range(GROUPS):
        objs = rng.sample(pool, 3 if g % 3 == 0 else 2)
        other = rng.choice([w for w in pool if w not in objs])
        listed = _listed(objs)
        first = _first(
            rng.choice(SCENE_REQUESTS).format(list=listed), *(Present(object=o) for o in objs)
        )
        twins = [_presence_twin(rng, v, objs, other) for v in (True, False)]
        yield from _twins(
            "condition_presence",
            g,
            first,
            twins,
            rng=rng,
            used=(*objs, other),
            describe=f"The first image shows {listed};",
        )


# --- counts -----------------------------------------------------------------------------

HOWS = ("more", "least", "fewer", "most", "exactly")


def _count_twin(rng: random.Random, obj: str, n: int, value: bool) -> Twin:
    """A comparison with a drawn count n that holds (or fails) by `value`."""
    while True:
        how, k = rng.choice(HOWS), rng.randint(1, 10)
        if how == "fewer" and k < 2:
            continue
        text, check = comparison(rng, obj, how, k)
        if check.accepts(n) == value:
            return Twin(Clause(text, check), f"{slug(obj)}_{how}{k}_{_word(value)}", value, value)


def _vague_twins(rng: random.Random, obj: str) -> list[Twin]:
    """Complementary comparisons ('more than 3' / 'at most 3') on a count turn 1 leaves
    open, decided by one check; the reference draws two."""
    how, other = rng.choice([("more", "most"), ("least", "fewer")])
    k = rng.randint(2, 4)
    text, check = comparison(rng, obj, how, k)
    rest, _ = comparison(rng, obj, other, k)
    return [
        Twin(Clause(text, check), f"{slug(obj)}_{how}{k}", None, check.accepts(2)),
        Twin(
            Clause(rest, check, negated=True), f"{slug(obj)}_{other}{k}", None, not check.accepts(2)
        ),
    ]


def condition_count(rng: random.Random) -> Iterator[Case]:
    """'If there are more than three apples, add a sun': twins with a comparison that
    holds and one that fails on the drawn count; every third group draws 'a few'."""
    for g in range(GROUPS):
        obj = rng.choice(COUNTED)
        if g % 3 == 2:
            first = _first(
                rng.choice(VAGUE_REQUESTS).format(objs=plural(obj)), Count(object=obj, at_least=2)
            )
            twins = _vague_twins(rng, obj)
            describe = f"Turn 1 leaves the number of {plural(obj)} open;"
        else:
            n = rng.randint(2, 8)
            first = _first(
                rng.choice(COUNT_REQUESTS).format(amount=amount(rng, n, obj)),
                Count(object=obj, equals=n),
            )
            twins = [_count_twin(rng, obj, n, v) for v in (True, False)]
            describe = f"{n} {plural(obj)} are drawn;"
        yield from _twins(
            "condition_count", g, first, twins, rng=rng, used=(obj,), describe=describe
        )


# --- colours ----------------------------------------------------------------------------


def _color_twin(rng: random.Random, obj: str, drawn: str, wrong: str, value: bool) -> Twin:
    """'the car is red' (holds when red was drawn) or 'the car is not blue'."""
    if rng.random() < 0.6:
        c = drawn if value else wrong
        text = rng.choice(COLOR_CLAUSES).format(o=obj, c=c)
        clause = Clause(text, Color(object=obj, equals=c, turn=1))
    else:
        c = wrong if value else drawn
        text = rng.choice(NOT_COLOR_CLAUSES).format(o=obj, c=c)
        clause = Clause(text, Color(object=obj, equals=c, turn=1), negated=True)
    return Twin(clause, f"{slug(obj)}_{c}_{_word(value)}", c == drawn, value)


def condition_color(rng: random.Random) -> Iterator[Case]:
    """'If the car is red, add a tree; otherwise add a house', the car drawn in a colour
    turn 1 names (never the glyph's own colour)."""
    for g in range(GROUPS):
        obj = rng.choice(TINTABLE)
        drawn, wrong = colors(rng, obj, 2)
        first = _first(
            rng.choice(COLOR_REQUESTS).format(co=a_(f"{drawn} {obj}"), o=a_(obj), c=drawn),
            Color(object=obj, equals=drawn),
        )
        twins = [_color_twin(rng, obj, drawn, wrong, v) for v in (True, False)]
        yield from _twins(
            "condition_color",
            g,
            first,
            twins,
            rng=rng,
            used=(obj,),
            describe=f"A {drawn} {obj} is drawn;",
        )


# --- relations --------------------------------------------------------------------------

_MIRROR = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}


def _relation_twin(rng: random.Random, a: str, b: str, drawn: str, value: bool) -> Twin:
    """'the dog is left of the cat', its mirror 'the cat is right of the dog', or 'the dog
    is not left of the cat', holding (or not) by `value`."""
    form = rng.choice(["plain", "plain", "mirror", "not"])
    r = drawn if value != (form == "not") else OPPOSITE[drawn]
    if form == "mirror":
        text = f"the {b} is {RELATION_WORDS[_MIRROR[r]]} the {a}"
        when = Relation(subject=b, relation=_MIRROR[r], object=a, turn=1)
    else:
        text = f"the {a} is {'not ' if form == 'not' else ''}{RELATION_WORDS[r]} the {b}"
        when = Relation(subject=a, relation=r, object=b, turn=1)
    clause = Clause(text, when, negated=form == "not")
    return Twin(clause, f"{slug(a, b)}_{r}_{_word(value)}", r == drawn, value)


def condition_relation(rng: random.Random) -> Iterator[Case]:
    """'If the dog is to the left of the cat, add a kite', the layout named by turn 1."""
    pool = [*ANIMALS, "car", "house", "tree", "ball", "bus", "umbrella"]
    for g in range(GROUPS):
        a, b = rng.sample(pool, 2)
        drawn = rng.choice(["left_of", "right_of", "above", "below"])
        request = rng.choice(RELATION_REQUESTS).format(a=a_(a), b=a_(b), rel=RELATION_WORDS[drawn])
        first = _first(request, Relation(subject=a, relation=drawn, object=b))
        twins = [_relation_twin(rng, a, b, drawn, v) for v in (True, False)]
        yield from _twins(
            "condition_relation",
            g,
            first,
            twins,
            rng=rng,
            used=(a, b),
            describe=f"The {a} is drawn {RELATION_WORDS[drawn]} the {b};",
        )


# --- conditions after an edit -------------------------------------------------------------

REPLACE_WORDS = ("Turn the {a} into {c}.", "Replace the {a} with {c}.", "Swap the {a} for {c}.")
REMOVE_WORDS = ("Remove the {a}.", "Take the {a} out of the picture.", "Erase the {a}.")
ADD_WORDS = ("Add {m} more {objs}.", "Draw {m} more {objs} next to them.")
RECOLOR_WORDS = ("Make the {a} {c}.", "Paint the {a} {c}.", "Change the colour of the {a} to {c}.")

Edit = tuple[Turn, str, list[Check], list[tuple[Clause, bool]], tuple[str, ...], str]
"""Turn 1, the edit's words, its checks, (clause, value) pairs, objects used, description."""


def _edit_replace(rng: random.Random, pool: list[str]) -> Edit:
    a, b, c = rng.sample(pool, 3)
    first = _first(f"Draw {_listed([a, b])}.", Present(object=a), Present(object=b))
    words = rng.choice(REPLACE_WORDS).format(a=a, c=a_(c))
    checks: list[Check] = [Absent(object=a), Present(object=c), Present(object=b)]
    clauses = [
        (Clause(f"there is no {a} any more", Absent(object=a)), True),
        (Clause(f"there is {a_(c)} in the picture now", Present(object=c)), True),
        (Clause(f"there is still {a_(a)} in the picture", Present(object=a)), False),
        (Clause(f"there is no {c} in the picture", Absent(object=c)), False),
    ]
    return first, words, checks, clauses, (a, b, c), f"The {a} becomes {a_(c)};"


def _edit_remove(rng: random.Random, pool: list[str]) -> Edit:
    a, b = rng.sample(pool, 2)
    first = _first(f"Draw {_listed([a, b])}.", Present(object=a), Present(object=b))
    words = rng.choice(REMOVE_WORDS).format(a=a)
    checks: list[Check] = [Absent(object=a), Present(object=b)]
    clauses = [
        (Clause(f"the {a} is gone", Absent(object=a)), True),
        (Clause(f"the {b} is still there", Present(object=b)), True),
        (Clause(f"there is still {a_(a)} in the picture", Present(object=a)), False),
        (Clause(f"the {b} is gone too", Absent(object=b)), False),
    ]
    return first, words, checks, clauses, (a, b), f"The {a} is removed;"


def _edit_add(rng: random.Random, pool: list[str]) -> Edit:
    """n objects, m more: each clause's value differs between before and after the edit."""
    obj = rng.choice(COUNTED)
    n, m = rng.randint(1, 5), rng.randint(2, 4)
    after = n + m
    first = _first(f"Draw {amount(rng, n, obj)}.", Count(object=obj, equals=n))
    words = rng.choice(ADD_WORDS).format(m=number(rng, m), objs=plural(obj))
    options = [("more", rng.randint(n, after - 1)), ("least", rng.randint(n + 1, after))]
    options += [("most", rng.randint(n, after - 1)), ("fewer", rng.randint(n + 1, after))]
    options += [("exactly", after), ("exactly", n)]
    clauses = []
    for how, k in options:
        if how == "fewer" and k < 2:
            continue
        text, check = comparison(rng, obj, how, k, turn=None)
        clauses.append((Clause(text, check), check.accepts(after)))
    described = f"{n} {plural(obj) if n > 1 else obj} become {after};"
    return first, words, [Count(object=obj, equals=after)], clauses, (obj,), described


def _edit_recolor(rng: random.Random, pool: list[str]) -> Edit:
    a = rng.choice(TINTABLE)
    b = rng.choice([w for w in pool if w != a])
    c1, c2 = colors(rng, a, 2)
    first = _first(
        f"Draw {a_(f'{c1} {a}')} and {a_(b)}.", Color(object=a, equals=c1), Present(object=b)
    )
    words = rng.choice(RECOLOR_WORDS).format(a=a, c=c2)
    checks: list[Check] = [Color(object=a, equals=c2), Present(object=b)]
    clauses = [
        (Clause(f"the {a} is {c2}", Color(object=a, equals=c2)), True),
        (Clause(f"the {a} is not {c1}", Color(object=a, equals=c1), negated=True), True),
        (Clause(f"the {a} is still {c1}", Color(object=a, equals=c1)), False),
        (Clause(f"the {a} is not {c2}", Color(object=a, equals=c2), negated=True), False),
    ]
    return first, words, checks, clauses, (a, b), f"The {c1} {a} is painted {c2};"


EDITS: tuple[Callable[[random.Random, list[str]], Edit], ...] = (
    _edit_replace,
    _edit_remove,
    _edit_add,
    _edit_recolor,
)


def condition_after_edit(rng: random.Random) -> Iterator[Case]:
    """'Turn the dog into a cat. Then, if there is no dog, add a ball': the condition is
    read on the image after the edit (after adding, a count flips against turn 1's)."""
    pool = [*ANIMALS, *THINGS]
    for g in range(GROUPS):
        kind = EDITS[g % len(EDITS)]
        first, words, checks, clauses, used, describe = kind(rng, pool)
        twins = []
        for value in (True, False):
            clause = rng.choice([c for c, v in clauses if v == value])
            label = f"{kind.__name__.removeprefix('_edit_')}_{_word(value)}"
            twins.append(Twin(clause, label, value != clause.negated, value))
        yield from _twins(
            "condition_after_edit",
            g,
            first,
            twins,
            rng=rng,
            used=used,
            edit=(words, checks),
            describe=describe,
        )


# --- conditions on what nobody asked for ---------------------------------------------------

UNASKED_SCENES = (
    "Draw {list}.",
    "Draw a picture of {list}.",
    "Please draw {list} for me.",
    "I'd like a drawing of {list}.",
    "Make an image with {list} in it.",
)
UNASKED_MANY = (
    "Draw some {objs}.",
    "Draw a bunch of {objs}.",
    "Draw a picture full of {objs}.",
    "Make a drawing with {objs} in it.",
)
SETTINGS = (
    ("duck", "water"),
    ("sailboat", "water"),
    ("dolphin", "water"),
    ("camel", "desert"),
    ("car", "road"),
    ("bus", "road"),
    ("truck", "road"),
    ("cow", "grass"),
    ("horse", "grass"),
    ("sheep", "grass"),
    ("bicycle", "road"),
    ("turtle", "beach"),
    ("crab", "beach"),
)
"""Objects and the setting a drawing of them may or may not show (nobody asks for it).
No snow: the reference judge reads white glyphs (penguin, snowman) as drifted snow."""
SETTING_WORDS = {
    "water": ("there is water in the picture", "there is no water in the picture"),
    "desert": ("you put it in a desert", "there is no desert in the picture"),
    "road": ("there is a road in the picture", "you drew no road"),
    "grass": ("there is grass in the picture", "the picture has no grass"),
    "beach": ("there is a sandy beach in the picture", "you drew no beach"),
}
"""A setting present / absent (the absent wording is decided by the same check)."""


UnaskedTwins = tuple[Turn, list[Clause], tuple[str, ...]]
"""Turn 1, complementary clauses decided by one check, and the objects named."""


def _unasked_count(rng: random.Random, pool: list[str]) -> UnaskedTwins:
    obj = rng.choice(COUNTED)
    first = _first(rng.choice(UNASKED_MANY).format(objs=plural(obj)), Present(object=obj))
    k = rng.randint(1, 4)
    text, check = comparison(rng, obj, "more", k, you=True)
    noun = obj if k == 1 else plural(obj)
    rest = rng.choice([f"at most {number(rng, k)} {noun}", f"{number(rng, k)} {noun} or fewer"])
    return first, [Clause(text, check), Clause(f"you drew {rest}", check, negated=True)], (obj,)


def _unasked_color(rng: random.Random, pool: list[str]) -> UnaskedTwins:
    obj = rng.choice(TINTABLE)
    (c,) = colors(rng, obj, 1)
    first = _first(rng.choice(UNASKED_SCENES).format(list=a_(obj)), Present(object=obj))
    when = Color(object=obj, equals=c, turn=1)
    yes = rng.choice([f"the {obj} you drew is {c}", f"you made the {obj} {c}"])
    no = rng.choice([f"the {obj} you drew is not {c}", f"the {obj} is any colour but {c}"])
    return first, [Clause(yes, when), Clause(no, when, negated=True)], (obj,)


def _unasked_setting(rng: random.Random, pool: list[str]) -> UnaskedTwins:
    obj, backdrop = rng.choice(SETTINGS)
    first = _first(rng.choice(UNASKED_SCENES).format(list=a_(obj)), Present(object=obj))
    when = Present(object=backdrop, turn=1)
    yes, no = SETTING_WORDS[backdrop]
    return first, [Clause(yes, when), Clause(no, when, negated=True)], (obj, backdrop)


UNASKED = (_unasked_count, _unasked_color, _unasked_setting)


def condition_unasked(rng: random.Random) -> Iterator[Case]:
    """'Draw some balloons.' then 'If you drew more than three, add a star': conditions on
    what turn 1 left free (how many, which colour, what setting). The twins are complementary
    conditions decided by one check, so whatever was drawn, exactly one twin acts."""
    pool = [*ANIMALS, *THINGS]
    for g in range(GROUPS):
        kind = UNASKED[g % len(UNASKED)]
        first, clauses, used = kind(rng, pool)
        property_ = kind.__name__.removeprefix("_unasked_")
        twins = []
        for j, clause in enumerate(clauses):
            holds = _reference_value(clause)
            twins.append(Twin(clause, f"{slug(*used)}_{property_}_{'ab'[j]}", None, holds))
        yield from _twins(
            "condition_unasked",
            g,
            first,
            twins,
            rng=rng,
            used=used,
            tags=(property_,),
            describe=f"Turn 1 leaves the {property_} open;",
        )


def _reference_value(clause: Clause) -> bool | None:
    """The worded condition's value on the reference canvas: one untinted object, drawn
    on no backdrop."""
    when = clause.when
    value = when.accepts(1) if isinstance(when, Count) else False
    return value != clause.negated
