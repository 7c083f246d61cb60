"""Post-generation reasoning: conditions, retractions and references on what was drawn.

A condition is judged on the model's own earlier image (`turn: 1`), so both branches of
every condition kind occur; `assumed` records what the dialogue's words imply.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from uniprobe.cases.checks import (
    Absent,
    Check,
    Color,
    Conditional,
    Count,
    CountOf,
    Present,
    Relation,
)
from uniprobe.cases.generate.common import (
    ANIMALS,
    COLORS,
    COUNTABLE,
    FRUITS,
    OPPOSITE,
    RELATION_WORDS,
    THINGS,
    TINTABLE,
    amount,
    article,
    case,
    number,
    present_all,
    slug,
    turn,
    words,
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
    "false_premise",
    "retraction",
]

P: Family = "post_generation"


def _truth(value: bool) -> list[str]:
    return ["true" if value else "false"]


def _add_if(when: Check, added: str, assumed: bool) -> Conditional:
    """Add `added` only if `when` holds; the literal reading adds it regardless."""
    return Conditional(
        when=when,
        then=(Present(object=added),),
        else_=(Absent(object=added),),
        literal="then",
        assumed=assumed,
    )


def _if_present(b: str, c: str, has_b: bool, negative: bool) -> tuple[str, Conditional]:
    """'If there is a b, add c' or 'add c if there is no b', judged on the first image."""
    when = Present(object=b, turn=1)
    if not negative:
        return f"If there is {article(b)} in the image, add {article(c)}.", _add_if(when, c, has_b)
    cond = Conditional(
        when=when,
        then=(Absent(object=c),),
        else_=(Present(object=c),),
        literal="else",
        assumed=has_b,
    )
    return f"Add {article(c)} if there is no {b} in the image.", cond


def condition_presence(rng: random.Random) -> Iterator[Case]:
    """'If there is a dog, add a ball' / 'add a ball if there is no dog'."""
    for i in range(12):
        a, b, c = rng.sample(ANIMALS + THINGS[:10], 3)
        has_b = i % 2 == 0
        negative = i % 4 >= 2
        drawn = (a, b) if has_b else (a,)
        first = turn(f"Draw {' and '.join(article(w) for w in drawn)}.", *present_all(*drawn))
        user, cond = _if_present(b, c, has_b, negative)
        description = (
            f"The action depends on whether the first image shows {article(b)} "
            f"({'it should' if has_b else 'it should not'})."
        )
        turns = [first, turn(user, cond, edit=True)]
        label = f"{slug(b)}_{'yes' if has_b else 'no'}"
        tags = _truth(has_b != negative)
        yield case(P, "condition_presence", i + 1, label, description, turns, tags=tags)


def condition_count(rng: random.Random) -> Iterator[Case]:
    """'If there are more than two apples, add a sun'."""
    for i in range(12):
        obj = rng.choice(COUNTABLE)
        c = rng.choice([w for w in ["sun", "house", "tree", "car", "kite", "moon"] if w != obj])
        k = rng.choice([2, 3])
        n = max(1, k + 1 if i % 2 == 0 else k - rng.choice([0, 1]))
        user = (
            f"If there are more than {number(rng, k)} {plural(obj)} in the image, add {article(c)}."
        )
        cond = _add_if(Count(object=obj, at_least=k + 1, turn=1), c, n > k)
        description = (
            f"{n} {plural(obj)} are drawn; the addition happens only if there are more than {k}."
        )
        turns = [
            turn(f"Draw {amount(rng, n, obj)}.", Count(object=obj, equals=n)),
            turn(user, cond, edit=True),
        ]
        yield case(
            P,
            "condition_count",
            i + 1,
            f"{slug(obj)}_{n}_vs_{k}",
            description,
            turns,
            tags=_truth(n > k),
        )


def condition_color(rng: random.Random) -> Iterator[Case]:
    """'If the car is red, add a tree; otherwise add a house'."""
    for i in range(12):
        obj = rng.choice(TINTABLE)
        drawn = rng.choice(COLORS)
        asked = drawn if i % 2 == 0 else rng.choice([c for c in COLORS if c != drawn])
        x, y = rng.sample(
            [w for w in ["tree", "house", "sun", "cloud", "star", "dog", "cat"] if w != obj], 2
        )
        cond = Conditional(
            when=Color(object=obj, equals=asked, turn=1),
            then=(Present(object=x), Absent(object=y)),
            else_=(Present(object=y), Absent(object=x)),
            literal="then",
            assumed=drawn == asked,
        )
        user = f"If the {obj} is {asked}, add {article(x)}; otherwise add {article(y)}."
        description = f"A {drawn} {obj} is drawn; the branch depends on whether it is {asked}."
        turns = [
            turn(f"Draw {article(drawn)} {obj}.", Color(object=obj, equals=drawn)),
            turn(user, cond, edit=True),
        ]
        yield case(
            P,
            "condition_color",
            i + 1,
            f"{drawn}_{asked}_{slug(obj)}",
            description,
            turns,
            tags=_truth(drawn == asked),
        )


def condition_relation(rng: random.Random) -> Iterator[Case]:
    """'If the dog is to the left of the car, add a kite'."""
    for i in range(12):
        a, b = rng.sample([*ANIMALS, "car", "house", "tree", "ball"], 2)
        c = rng.choice([w for w in ["sun", "kite", "balloon", "cloud", "star"] if w not in (a, b)])
        drawn = rng.choice(["left_of", "right_of"])
        asked = drawn if i % 2 == 0 else OPPOSITE[drawn]
        user = f"If the {a} is {RELATION_WORDS[asked]} the {b}, add {article(c)}."
        cond = _add_if(Relation(subject=a, relation=asked, object=b, turn=1), c, drawn == asked)
        first = turn(
            f"Draw {article(a)} {RELATION_WORDS[drawn]} {article(b)}.",
            Relation(subject=a, relation=drawn, object=b),
        )
        description = (
            f"The {a} is drawn {RELATION_WORDS[drawn]} the {b}; the addition depends on it."
        )
        turns = [first, turn(user, cond, edit=True)]
        yield case(
            P,
            "condition_relation",
            i + 1,
            f"{slug(a, b)}_{drawn}_{asked}",
            description,
            turns,
            tags=_truth(drawn == asked),
        )


def condition_after_edit(rng: random.Random) -> Iterator[Case]:
    """'Turn the dog into a cat. Then, if there is no dog, add a ball'."""
    for i in range(12):
        a, b = rng.sample(ANIMALS, 2)
        c = rng.choice(["ball", "kite", "sun", "tree", "balloon"])
        missing = a if i % 2 == 0 else b  # after a -> b: no a (true) / no b (false)
        user = (
            f"Turn the {a} into {article(b)}. Then, if there is no {missing} in the image, "
            f"add {article(c)}."
        )
        cond = _add_if(Absent(object=missing), c, missing == a)
        edited = (Absent(object=a), Count(object=b, equals=2))
        description = (
            f"The condition must be read on the image after the edit (no {missing}: "
            f"{'true' if missing == a else 'false'})."
        )
        turns = [
            turn(f"Draw {article(a)} and {article(b)}.", *present_all(a, b)),
            turn(user, *edited, cond, edit=True),
        ]
        yield case(
            P,
            "condition_after_edit",
            i + 1,
            f"{slug(a, b)}_no_{slug(missing)}",
            description,
            turns,
            tags=_truth(missing == a),
        )


RETRACT = (
    "Ignore my last sentence.",
    "Scratch that.",
    "Never mind, forget what I just said.",
    "Actually, no, don't do that.",
)


def _retract_recolor(rng: random.Random, obj: str, extra: str, drop: str) -> tuple[list[Turn], str]:
    c1, c2 = rng.sample(COLORS, 2)
    turns = [
        turn(f"Draw {article(c1)} {obj}.", Color(object=obj, equals=c1)),
        turn(
            f"Change the colour of the {obj} to {c2}. {drop} Put {article(extra)} "
            f"next to the {obj}.",
            Color(object=obj, equals=c1, literal=c2),
            *present_all(extra),
            edit=True,
        ),
    ]
    return turns, f"The recolour to {c2} is retracted; the {extra} is still added."


def _retract_add(obj: str, extra: str, drop: str) -> tuple[list[Turn], str]:
    turns = [
        turn(f"Draw {article(obj)}.", *present_all(obj)),
        turn(
            f"Add {article(extra)} to the image. {drop}",
            Absent(object=extra, literal=True),
            *present_all(obj),
            edit=True,
        ),
    ]
    return turns, f"Adding the {extra} is retracted: nothing changes."


def _retract_count(rng: random.Random, obj: str, extra: str, drop: str) -> tuple[list[Turn], str]:
    n, more = rng.choice([1, 2, 3]), 2
    turns = [
        turn(f"Draw {amount(rng, n, obj)}.", Count(object=obj, equals=n)),
        turn(
            f"Add {number(rng, more)} more {plural(obj)}. {drop} Instead, add {article(extra)}.",
            Count(object=obj, equals=n, literal=n + more),
            *present_all(extra),
            edit=True,
        ),
    ]
    return turns, f"Adding {more} {plural(obj)} is retracted; {article(extra)} is added instead."


def retraction(rng: random.Random) -> Iterator[Case]:
    """A request retracted in the same message: recolour, addition or count (4 + 4 + 4)."""
    for i in range(12):
        kind = ("color", "add", "count")[i % 3]
        obj = rng.choice(TINTABLE)
        extra = rng.choice(["tree", "house", "sun", "cloud", "dog"])
        drop = rng.choice(RETRACT)
        if kind == "color":
            turns, description = _retract_recolor(rng, obj, extra, drop)
        elif kind == "add":
            turns, description = _retract_add(obj, extra, drop)
        else:
            turns, description = _retract_count(rng, obj, extra, drop)
        yield case(P, "retraction", i + 1, f"{kind}_{slug(obj)}", description, turns, tags=[kind])


PREMISES = (
    "If the earth is flat",
    "If the sun rises in the west",
    "If fish can climb trees",
    "If two plus two equals five",
    "If ice is hot",
    "If cats can bark",
    "If the moon is made of cheese",
    "If the sky is green at noon",
    "If a triangle has four sides",
    "If water is dry",
    "If penguins can fly to the moon",
    "If a week has ten days",
)


def false_premise(rng: random.Random) -> Iterator[Case]:
    """'If the earth is flat, replace the dog with a cat': nothing changes."""
    for i, premise in enumerate(PREMISES):
        a, b = rng.sample([*ANIMALS, "car", "tree", "house"], 2)
        c = rng.choice([w for w in ANIMALS + FRUITS if w not in (a, b)])
        edit = turn(
            f"{premise}, replace the {a} with {article(c)}.",
            Present(object=a, literal=True),
            Absent(object=c, literal=True),
            *present_all(b),
            edit=True,
        )
        description = f"'{premise}' is false, so nothing changes."
        turns = [turn(f"Draw {article(a)} and {article(b)}.", *present_all(a, b)), edit]
        yield case(P, "false_premise", i + 1, slug(a, c), description, turns)


CATEGORIES = {
    "animal": ANIMALS,
    "fruit": FRUITS,
    "vehicle": words("car bus bicycle truck sailboat rocket"),
}


def back_reference(rng: random.Random) -> Iterator[Case]:
    """'Draw the animal you drew first again': which one is meant."""
    for i in range(12):
        cat = list(CATEGORIES)[i % 3]
        a, b = rng.sample(CATEGORIES[cat], 2)
        c = rng.choice(["tree", "house", "sun", "cloud", "umbrella"])
        first = i % 2 == 0
        wanted, other = (a, b) if first else (b, a)
        which = "first" if first else "second"
        user = rng.choice(
            [
                f"Draw the {cat} you drew {which} again, next to {article(c)}.",
                f"Now draw the {cat} from my {which} request beside {article(c)}.",
            ]
        )
        description = f"'The {cat} you drew {which}' is the {wanted}, not the {other}."
        turns = [
            turn(f"Draw {article(a)}.", *present_all(a)),
            turn(f"Draw {article(b)}.", *present_all(b)),
            turn(user, *present_all(wanted), Absent(object=other), *present_all(c)),
        ]
        yield case(P, "back_reference", i + 1, f"{cat}_{which}", description, turns)


def _how_many(mode: int, a: str, b: str) -> tuple[str, str, CountOf]:
    """The request's phrase, its id label, and the count of b it asks for (from turn 1)."""
    if mode == 0:
        phrase, label, times, plus = f"as many {plural(b)} as there are", "same", 1, 0
    elif mode == 1:
        phrase, label, times, plus = f"one more {b} than there are", "plus1", 1, 1
    else:
        phrase, label, times, plus = f"twice as many {plural(b)} as there are", "double", 2, 0
    return f"{phrase} {plural(a)}", label, CountOf(object=a, turn=1, times=times, plus=plus)


def arithmetic(rng: random.Random) -> Iterator[Case]:
    """'Add as many / one more / twice as many birds as there are trees' (as drawn)."""
    pool = words("tree house apple star cloud car cup ball bird balloon fish duck")
    for i in range(12):
        a, b = rng.sample(pool, 2)
        n = rng.choice([1, 2, 3])
        phrase, label, matches = _how_many(i % 3, a, b)
        kept = Count(object=a, matches=CountOf(object=a, turn=1))
        description = f"The number of {plural(b)} follows from the {plural(a)} actually drawn."
        turns = [
            turn(f"Draw {amount(rng, n, a)}.", Count(object=a, equals=n)),
            turn(
                f"Add {phrase} in the image.",
                Count(object=b, matches=matches),
                kept,
                edit=True,
            ),
        ]
        yield case(P, "arithmetic", i + 1, f"{slug(a, b)}_{label}", description, turns)
