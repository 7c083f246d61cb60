"""Post-generation dialogue: retractions, false premises, back references, arithmetic.

Design (see `post_generation` for the family): turn 1's checks (and any later turn that
only draws what a reference needs) are `role: setup`; every probe has a concrete
`literal:` value, so the literal reading draws something the case rejects: the retracted
request carried out, the false premise's action done, the most recent object of the
category drawn, or the number the words name. A false premise has a true-premise twin
(same scene, same action) in a group, so neither refusing nor acting passes the group.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from uniprobe.cases.checks import Absent, Check, Color, Count, CountOf, Present
from uniprobe.cases.generate.common import COLORS, TINTABLE, article, case, slug, turn, words
from uniprobe.cases.generate.post_common import (
    ADDED,
    ANIMALS,
    COUNT_REQUESTS,
    COUNTED,
    THINGS,
    amount,
    colors,
    number,
    setup,
)
from uniprobe.cases.schema import Case, Family, Turn
from uniprobe.scenes.render import natural_color
from uniprobe.scenes.vocabulary import plural

__all__ = ["arithmetic", "back_reference", "false_premise", "retraction"]

P: Family = "post_generation"
CASES = 26
"""Cases per subtype (false_premise: 13 groups of two)."""


# --- retraction ---------------------------------------------------------------------------

RETRACT = (
    "Ignore my last sentence.",
    "Scratch that.",
    "Never mind, forget what I just said.",
    "Actually, no, don't do that.",
    "On second thought, don't.",
    "Wait, cancel that.",
    "Forget that last request.",
    "Sorry, I take that back.",
    "Hmm, no, leave that out.",
    "Let's not do that after all.",
)
"""Ways to retract the sentence just before (10 hand-written)."""

Retraction = tuple[list[Turn], str]
"""A retraction case's turns and description."""


def _recolor_kept(rng: random.Random, drop: str) -> Retraction:
    obj = rng.choice(TINTABLE)
    c1, c2 = colors(rng, obj, 2)
    extra = rng.choice([w for w in ADDED if w != obj])
    asked = rng.choice(
        [
            f"Change the colour of the {obj} to {c2}. {drop} Put {article(extra)} next to it.",
            f"Make the {obj} {c2}. {drop} Add {article(extra)} instead.",
            f"Paint the {obj} {c2}. {drop} Just draw {article(extra)} beside it.",
        ]
    )
    turns = [
        turn(f"Draw {article(f'{c1} {obj}')}.", *setup(Color(object=obj, equals=c1))),
        turn(asked, Color(object=obj, equals=c1, literal=c2), Present(object=extra), edit=True),
    ]
    return turns, f"The recolour to {c2} is retracted; the {extra} is still added."


def _add_swapped(rng: random.Random, drop: str) -> Retraction:
    obj = rng.choice([*ANIMALS, *THINGS])
    x, y = rng.sample([w for w in ADDED if w != obj], 2)
    asked = rng.choice(
        [
            f"Add {article(x)} to the picture. {drop} Add {article(y)} instead.",
            f"Put {article(x)} next to the {obj}. {drop} I want {article(y)} there.",
            f"Draw {article(x)} in the corner. {drop} Draw {article(y)} instead.",
        ]
    )
    turns = [
        turn(f"Draw {article(obj)}.", *setup(Present(object=obj))),
        turn(
            asked,
            Absent(object=x, literal=True),
            Present(object=y),
            Present(object=obj),
            edit=True,
        ),
    ]
    return turns, f"Adding {article(x)} is retracted; {article(y)} is added instead."


def _count_kept(rng: random.Random, drop: str) -> Retraction:
    obj = rng.choice(COUNTED)
    n, more = rng.randint(1, 5), rng.randint(1, 4)
    extra = rng.choice([w for w in ADDED if w != obj])
    m = number(rng, more)
    asked = rng.choice(
        [
            f"Add {m} more {obj if more == 1 else plural(obj)}. {drop} "
            f"Instead, add {article(extra)}.",
            f"Double the {plural(obj)}. {drop} Add {article(extra)} to the picture.",
        ]
    )
    literal = 2 * n if asked.startswith("Double") else n + more
    turns = [
        turn(
            rng.choice(COUNT_REQUESTS).format(amount=amount(rng, n, obj)),
            *setup(Count(object=obj, equals=n)),
        ),
        turn(
            asked,
            Count(object=obj, equals=n, literal=literal),
            Present(object=extra),
            edit=True,
        ),
    ]
    return turns, f"Changing the number of {plural(obj)} is retracted; the {extra} is added."


def _removal_kept(rng: random.Random, drop: str) -> Retraction:
    a, b = rng.sample([*ANIMALS, *THINGS], 2)
    extra = rng.choice([w for w in ADDED if w not in (a, b)])
    asked = rng.choice(
        [
            f"Remove the {a}. {drop} Add {article(extra)} instead.",
            f"Erase the {a}. {drop} Put {article(extra)} above the {b}.",
            f"Take the {a} away. {drop} Just add {article(extra)}.",
        ]
    )
    turns = [
        turn(f"Draw {article(a)} and {article(b)}.", *setup(Present(object=a), Present(object=b))),
        turn(
            asked,
            Count(object=a, equals=1, literal=0),
            Present(object=extra),
            Present(object=b),
            edit=True,
        ),
    ]
    return turns, f"Removing the {a} is retracted; {article(extra)} is added."


def _corrected(rng: random.Random, drop: str) -> Retraction:
    obj = rng.choice(TINTABLE)
    c1, c2, c3 = colors(rng, obj, 3)
    asked = rng.choice(
        [
            f"Make the {obj} {c2}. {drop} Make it {c3}.",
            f"Paint the {obj} {c2}. {drop} I'd like it {c3}.",
        ]
    )
    turns = [
        turn(f"Draw {article(f'{c1} {obj}')}.", *setup(Color(object=obj, equals=c1))),
        turn(asked, Color(object=obj, equals=c3, literal=c2), edit=True),
    ]
    return turns, f"The {c2} is retracted in favour of {c3}."


RETRACTIONS: tuple[Callable[[random.Random, str], Retraction], ...] = (
    _recolor_kept,
    _add_swapped,
    _count_kept,
    _removal_kept,
    _corrected,
)


def retraction(rng: random.Random) -> Iterator[Case]:
    """A request retracted in the same message, with something else still to do, so
    doing nothing fails too; the literal reading carries out the retracted request."""
    for i in range(CASES):
        kind = RETRACTIONS[i % len(RETRACTIONS)]
        turns, description = kind(rng, rng.choice(RETRACT))
        label = kind.__name__.lstrip("_")
        yield case(P, "retraction", i + 1, label, description, turns, tags=[label])


# --- false premise --------------------------------------------------------------------------

PREMISES = (
    ("the earth is flat", "the earth is round"),
    ("the sun rises in the west", "the sun rises in the east"),
    ("two plus two equals five", "two plus two equals four"),
    ("ice is hot", "ice is cold"),
    ("a week has ten days", "a week has seven days"),
    ("a triangle has four sides", "a triangle has three sides"),
    ("fire is cold", "fire is hot"),
    ("a year has five months", "a year has twelve months"),
    ("Paris is the capital of Italy", "Paris is the capital of France"),
    ("ten is smaller than three", "ten is larger than three"),
    ("people have three legs", "people have two legs"),
    ("Monday comes after Tuesday", "Monday comes before Tuesday"),
    ("a minute has a hundred seconds", "a minute has sixty seconds"),
    ("a square has five corners", "a square has four corners"),
    ("an hour is longer than a day", "a day is longer than an hour"),
    ("December is the first month of the year", "January is the first month of the year"),
)
"""(false, true) premises about the world, no drawable object named in them."""
PREMISE_FORMS = (
    "If {p}, {act}.",
    "{Act}, but only if {p}.",
    "Only if {p}, {act}.",
    "Provided that {p}, {act}.",
    "If it is true that {p}, {act}.",
    "In case {p}, {act}.",
    "{Act} on one condition: that {p}.",
    "Should it turn out that {p}, {act}.",
)


@dataclass(frozen=True)
class PremiseAct:
    """An action under a premise: its words and the checks if done / if not done."""

    words: str
    done: tuple[Check, ...]
    kept: tuple[Check, ...]


def _premise_act(rng: random.Random, kind: int, a: str, b: str, c1: str) -> PremiseAct:
    """Replace, add, remove or recolour (turn 1 drew one `a`, coloured `c1`, and one `b`)."""
    pool = [w for w in [*ANIMALS, *ADDED] if w not in (a, b)]
    c = rng.choice(pool)
    kept_a = Count(object=a, equals=1, literal=0)
    if kind == 0:
        return PremiseAct(
            f"replace the {a} with {article(c)}",
            (Absent(object=a), Present(object=c), Present(object=b)),
            (kept_a, Absent(object=c, literal=True), Present(object=b)),
        )
    if kind == 1:
        return PremiseAct(
            f"add {article(c)} next to the {b}",
            (Present(object=c), Present(object=a), Present(object=b)),
            (Absent(object=c, literal=True), Present(object=a), Present(object=b)),
        )
    if kind == 2:
        return PremiseAct(
            f"remove the {a}",
            (Absent(object=a), Present(object=b)),
            (kept_a, Present(object=b)),
        )
    c2 = rng.choice([x for x in COLORS if x not in (c1, natural_color(a))])
    return PremiseAct(
        f"make the {a} {c2}",
        (Color(object=a, equals=c2), Present(object=b)),
        (Color(object=a, equals=c1, literal=c2), Present(object=b)),
    )


def false_premise(rng: random.Random) -> Iterator[Case]:
    """'If the earth is flat, replace the dog with a cat' (nothing changes) beside its
    twin 'If the earth is round, ...' (it does): same scene, same action, one group."""
    for g, (false, true) in enumerate(rng.sample(PREMISES, CASES // 2)):
        kind = g % 4
        a = rng.choice(TINTABLE) if kind == 3 else rng.choice([*ANIMALS, *THINGS])
        b = rng.choice([w for w in [*ANIMALS, *THINGS] if w != a])
        (c1,) = colors(rng, a, 1)
        drawn = article(f"{c1} {a}") if kind == 3 else article(a)
        first_checks = [Color(object=a, equals=c1) if kind == 3 else Present(object=a)]
        first = turn(f"Draw {drawn} and {article(b)}.", *setup(*first_checks, Present(object=b)))
        act = _premise_act(rng, kind, a, b, c1)
        form = rng.choice(PREMISE_FORMS)
        for j, (premise, holds) in enumerate(((false, False), (true, True))):
            text = form.format(p=premise, act=act.words, Act=act.words[0].upper() + act.words[1:])
            checks = act.done if holds else act.kept
            label = f"{slug(a)}_{'true' if holds else 'false'}"
            outcome = "true, so it is done" if holds else "false, so nothing changes"
            description = f"'{premise}' is {outcome}."
            yield case(
                P,
                "false_premise",
                2 * g + j + 1,
                label,
                description,
                [first, turn(text, *checks, edit=True)],
                tags=["true_premise" if holds else "false_premise"],
                group=f"post.false_premise.{g + 1:02d}",
            )


# --- back reference -------------------------------------------------------------------------

CATEGORIES = {
    "animal": ANIMALS,
    "fruit": words("apple banana orange lemon pear cherry strawberry peach watermelon pineapple"),
    "vehicle": words("car bus bicycle truck sailboat rocket airplane"),
}
"""Category words used in the prompts only (checks name the specific objects)."""
RECALLS = (
    "Draw the {cat} you drew {ord} again, next to {c}.",
    "Now draw the {cat} from my {ord} request beside {c}.",
    "Bring back the {cat} from the {ord} picture and put {c} next to it.",
    "Draw the {ord} {cat} again, this time with {c}.",
    "I liked the {cat} in the {ord} image better: draw it again next to {c}.",
    "Draw the {cat} from the {ord} picture once more, with {c} beside it.",
    "Please repeat the {ord} {cat} you drew, and add {c} next to it.",
    "Show me the {ord} {cat} again, next to {c}.",
)
"""Ways to point back at an earlier picture by its order (8 hand-written)."""
DRAW_FIRST = ("Draw {x}.", "Please draw {x}.", "Can you draw {x}?")
DRAW_NEXT = ("Draw {x}.", "Now draw {x}.", "Next, draw {x}.", "And now {x}, please.")
"""The earlier requests of a back reference (the first one, and later ones)."""
BESIDE_RECALLS = (
    "Draw the {cat} that was next to the {x} again, beside {c}.",
    "Draw again the {cat} that stood beside the {x}, now with {c}.",
    "Remember the {cat} next to the {x}? Draw it once more with {c}.",
)
"""Ways to point back at an earlier picture by what was in it (3 hand-written)."""


def back_reference(rng: random.Random) -> Iterator[Case]:
    """'Draw the animal you drew first again': the one meant is never the most recent of
    its category, which is what the literal (most recent) reading draws."""
    cats = list(CATEGORIES)
    for i in range(CASES):
        cat = cats[i % 3]
        shape = i % 4
        a1, a2, a3 = rng.sample(CATEGORIES[cat], 3)
        other_cat = rng.choice([k for k in cats if k != cat])
        o = rng.choice(CATEGORIES[other_cat])
        x, y, c = rng.sample(words("tree house sun cloud umbrella kite moon star gift"), 3)
        drawn: list[tuple[str, ...]]
        if shape == 0:  # a1, a2: the first
            drawn, wanted, latest, ordinal = [(a1,), (a2,)], a1, a2, "first"
        elif shape == 1:  # a1, o, a2: the first of the category
            drawn, wanted, latest, ordinal = [(a1,), (o,), (a2,)], a1, a2, "first"
        elif shape == 2:  # a1, a2, a3: the second
            drawn, wanted, latest, ordinal = [(a1,), (a2,), (a3,)], a2, a3, "second"
        else:  # a1 beside x, a2 beside y: the one beside x
            drawn, wanted, latest, ordinal = [(a1, x), (a2, y)], a1, a2, ""
        earlier = [
            turn(
                rng.choice(DRAW_NEXT if t else DRAW_FIRST).format(
                    x=" next to ".join(article(w) for w in objs)
                ),
                *setup(*(Present(object=w) for w in objs)),
            )
            for t, objs in enumerate(drawn)
        ]
        if ordinal:
            ask = rng.choice(RECALLS).format(cat=cat, ord=ordinal, c=article(c))
        else:
            ask = rng.choice(BESIDE_RECALLS).format(cat=cat, x=x, c=article(c))
        last = turn(
            ask, Present(object=wanted), Absent(object=latest, literal=True), Present(object=c)
        )
        description = f"'The {cat}' meant is the {wanted}, not the most recent one, the {latest}."
        label = f"{cat}_{ordinal or 'beside'}_{slug(wanted)}"
        yield case(P, "back_reference", i + 1, label, description, [*earlier, last])


# --- arithmetic -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """'Add {k} more {bs} than there are {as_}': b = a * times + plus, where times and
    plus may be the drawn k; the literal reading adds the number the words name."""

    text: str
    times: int | None
    """None: k."""
    plus: int | None
    """None: k; negative: -k."""
    literal: int | None
    """None: k."""


OPERATIONS = (
    Operation("Add {k} more {kb} than there are {as_}.", 1, None, None),
    Operation("Add twice as many {bs} as there are {as_}.", 2, 0, 2),
    Operation("Add three times as many {bs} as there are {as_}.", 3, 0, 3),
    Operation("Add {k} fewer {kb} than there are {as_}.", 1, -1, None),
    Operation("Add one {b} for every {a}.", 1, 0, 1),
    Operation("Add two {bs} for each {a}.", 2, 0, 2),
    Operation("For every {a} in the picture, add {k} {kb}.", None, 0, None),
    Operation("Add as many {bs} as there are {as_}, plus {k}.", 1, None, None),
    Operation("Draw one {b} next to each {a}.", 1, 0, 1),
    Operation("Add enough {bs} that there is one more {b} than there are {as_}.", 1, 1, 1),
    Operation("Put in {k} {kb} more than the number of {as_}.", 1, None, None),
)
"""How a count is asked relative to what was drawn (11 hand-written)."""


def _expected(op: Operation, k: int) -> tuple[int, int, int]:
    """(times, plus, literal) of an operation for a drawn k."""
    times = k if op.times is None else op.times
    plus = k if op.plus is None else (-k if op.plus == -1 else op.plus)
    literal = k if op.literal is None else op.literal
    return times, plus, literal


def arithmetic(rng: random.Random) -> Iterator[Case]:
    """'Add two more ducks than there are trees' (as drawn); the literal reading adds the
    number the words name (two ducks)."""
    pool = words("tree house apple star cloud car cup ball duck balloon fish cookie kite")
    for i in range(CASES):
        op = OPERATIONS[i % len(OPERATIONS)]
        a, b = rng.sample(pool, 2)
        while True:
            n, k = rng.randint(1, 5), rng.randint(1, 3)
            times, plus, literal = _expected(op, k)
            want = n * times + plus
            if 1 <= want <= 10 and want != literal:
                break
        kb = b if k == 1 else plural(b)
        text = op.text.format(k=number(rng, k), kb=kb, b=b, bs=plural(b), a=a, as_=plural(a))
        matches = CountOf(object=a, turn=1, times=times, plus=plus)
        turns = [
            turn(
                rng.choice(COUNT_REQUESTS).format(amount=amount(rng, n, a)),
                *setup(Count(object=a, equals=n)),
            ),
            turn(
                text,
                Count(object=b, matches=matches, literal=literal),
                Count(object=a, matches=CountOf(object=a, turn=1)),
                edit=True,
            ),
        ]
        description = (
            f"{want} {plural(b)}: {n} {plural(a) if n > 1 else a} as drawn, then the rule."
        )
        yield case(P, "arithmetic", i + 1, f"{slug(a, b)}_{n}_{want}", description, turns)
