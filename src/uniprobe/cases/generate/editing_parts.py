"""Editing: words on a sign, parts of a building, the hand that holds, change nothing else.

The shared design is in `editing_common`. Here the candidates the literal reading
confuses are a sign's other word (it rewrites the whole sign), the building's other
floors (it paints them too), the hand on the viewer's side (it reads left and right
from the viewer, although the prompt says the person faces us), and the other object
of the same kind (it changes both).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from difflib import SequenceMatcher

from uniprobe.cases.checks import Absent, Color, Count, Expectation, Present, Text
from uniprobe.cases.generate.common import article, glyph, slug, words
from uniprobe.cases.generate.editing_common import (
    Edit,
    Frames,
    edit_case,
    numbered,
    outside,
    region,
    sky_and_grass,
    unique_cases,
)
from uniprobe.cases.schema import Case
from uniprobe.scenes.spec import SceneObject
from uniprobe.scenes.vocabulary import plural

__all__ = ["change_nothing_else", "laterality", "part_edit", "text_edit"]

PALETTE = words("red orange yellow green blue purple pink")

# --- text_edit ------------------------------------------------------------------------

SIGN_WORDS = words(
    "CAFE ROMA PARK HOTEL BAKERY OPEN CLOSED SALE EXIT MUSEUM GARAGE MARKET CITY NORTH "
    "SOUTH BOOKS PIZZA TOYS"
)
TEXT_FRAMES = {
    "replace": (
        "Change the word {old} on the sign to {new}.",
        "On the sign, replace {old} with {new}.",
        "The sign should say {new} where it now says {old}.",
        "Swap the word {old} for {new} on the sign.",
        "Correct the sign: {old} should read {new}.",
        "Keep the sign, but its word {old} becomes {new}.",
        "Could the sign show {new} in place of {old}?",
    ),
    "after": (
        "Add the word {new} after {w} on the sign.",
        "Write {new} after {w} on the sign.",
        "Put the word {new} on the sign, right after {w}.",
        "Let the sign read {w} followed by {new}.",
    ),
    "before": (
        "Add the word {new} in front of {w} on the sign.",
        "Write {new} before {w} on the sign.",
        "The sign needs the word {new} ahead of {w}.",
        "Put {new} on the sign so that it comes first, then {w}.",
    ),
}
"""Wordings per text edit; words are quoted (the sentence frame masks quoted words)."""


def _sign(text: str, side: str, side_x: float) -> list[SceneObject]:
    return [
        SceneObject(id="sign", shape="rect", x=256, y=200, w=420, h=100, color="white"),
        SceneObject(id="sign_text", shape="text", text=text, x=256, y=200, size=40),
        SceneObject(id="post", shape="rect", x=256, y=330, w=16, h=160, color="brown"),
        glyph(side, side_x, 410, 100, part="side"),
    ]


def _q(word: str) -> str:
    return f"'{word}'"


def _sign_texts(kind: str, second: bool, a: str, b: str, c: str) -> tuple[str, str, str]:
    """The sign before, after, and as the literal reading leaves it (only the word named)."""
    if kind == "replace":
        return (f"{a} {b}", f"{a} {c}", c) if second else (f"{b} {a}", f"{c} {a}", c)
    return (a, f"{a} {c}", c) if kind == "after" else (a, f"{c} {a}", c)


def _alike(x: str, y: str) -> float:
    """How alike two texts read (the OCR judge accepts a match from 0.8)."""
    return SequenceMatcher(None, x.lower(), y.lower()).ratio()


def text_edit(rng: random.Random) -> Iterator[Case]:
    """Replace one word of a two-word sign (either word), or add a word after or before
    the one it shows; the literal reading makes the sign say only the word the request
    names. (No removals: the reference planner keeps a text that contains the words
    asked for, so it cannot draw 'OPEN' from 'OPEN LATE'.)"""
    frames = {k: Frames(rng, v) for k, v in TEXT_FRAMES.items()}
    kinds = ("replace", "after", "replace", "before")

    def make(i: int, n: int) -> list[Case]:
        kind = kinds[i % 4]
        while True:  # OCR matches fuzzily: the three readings must not look alike
            a, b, c = rng.sample(SIGN_WORDS, 3)
            before, after, literal = _sign_texts(kind, i % 8 < 4, a, b, c)
            if _alike(before, after) < 0.7 and _alike(after, literal) < 0.75:
                break
        side, side_x = rng.choice([("tree", 90), ("car", 420), ("bicycle", 420), ("cat", 90)])
        if kind == "replace":
            user = frames[kind].say(old=_q(b), new=_q(c))
        else:
            user = frames[kind].say(new=_q(c), w=_q(a))
        expect: list[Expectation] = [
            Text(equals=after, literal=literal),
            Present(object=side),
            outside("sign"),
        ]
        description = f"The sign reads {before}; it must read {after} and nothing else changes."
        edit = Edit(user, expect, description, _sign(before, side, side_x), sky_and_grass(0.8))
        return [edit_case("text_edit", n, f"{kind}_{a.lower()}_{c.lower()}", edit)]

    return unique_cases(make)


# --- part_edit ------------------------------------------------------------------------

PART_FRAMES = (
    "Make {t} {c}.",
    "Paint {t} {c}.",
    "Colour {t} {c}; the rest of the building stays as it is.",
    "Give {t} a coat of {c} paint.",
    "Could {t} be {c}?",
    "Change {t} to {c}.",
    "Repaint {t} {c}, nothing else.",
    "I want {t} painted {c}.",
    "Turn {t} {c}.",
    "Use {c} for {t}.",
)
STOREY = {2: "second", 3: "third", 4: "fourth"}


def _building(floors: int) -> list[SceneObject]:
    """Floors `floor1` (ground) up, three windows each, and a `door`."""
    h, bottom = (70 if floors > 4 else 80), 420
    ys = [bottom - h / 2 - f * h for f in range(floors)]
    objects = [
        SceneObject(id=f"floor{f + 1}", shape="rect", x=256, y=y, w=260, h=h, color="#b9b4aa")
        for f, y in enumerate(ys)
    ]
    for f, y in enumerate(ys):
        for x in (176, 256, 336):
            if f > 0 or x != 256:
                objects.append(SceneObject(shape="rect", x=x, y=y, w=40, h=36, color="#bfe3f7"))
    objects.append(
        SceneObject(id="door", shape="rect", x=256, y=bottom - 22, w=44, h=44, color="#7c4e28")
    )
    return objects


def _part(rng: random.Random, floors: int, mode: int) -> tuple[str, str]:
    """A part of the building and how the request names it (storeys counted from the
    ground, said so wherever a number is used: no UK/US floor numbering)."""
    if mode == 0:
        k = rng.randint(2, floors - 1)
        return f"floor{k}", rng.choice(
            [
                f"the {STOREY[k]} storey (the ground floor being the first)",
                f"the {STOREY[k]} level from the street (street level counts as the first)",
            ]
        )
    if mode == 1:
        return f"floor{floors}", rng.choice(["the top floor", "the highest floor"])
    if mode == 2:
        return "floor1", rng.choice(["the ground floor", "the floor at street level"])
    if mode == 3:
        return f"floor{floors - 1}", "the floor just below the top floor"
    if mode == 4:
        return "floor2", "the floor directly above the ground floor"
    return "door", rng.choice(["the door", "the front door"])


def part_edit(rng: random.Random) -> Iterator[Case]:
    """Recolour one floor (named from the ground or the top) or the door of a building;
    the literal reading paints the neighbouring floors too."""
    frames = Frames(rng, PART_FRAMES)

    def make(i: int, n: int) -> list[Case]:
        floors = rng.choice([3, 4, 5])
        color = rng.choice(["pink", "blue", "green", "yellow", "purple", "orange"])
        part, named = _part(rng, floors, i % 6)
        if part == "door":
            others = ["floor1"]
        else:
            k = int(part.removeprefix("floor"))
            others = [f"floor{j}" for j in (k - 1, k + 1) if 1 <= j <= floors]
        expect: list[Expectation] = [
            Color(part=part, equals=color),
            *[Color(part=o, equals="gray", literal=color) for o in others],
            outside(part),
        ]
        description = f"A {floors}-storey building; only {named} turns {color}."
        edit = Edit(
            frames.say(t=named, c=color),
            expect,
            description,
            _building(floors),
            sky_and_grass(0.82),
        )
        return [edit_case("part_edit", n, f"{part}_{floors}_{color}", edit)]

    return unique_cases(make)


# --- laterality -----------------------------------------------------------------------

FACING = (
    "The {p} in this picture is facing us.",
    "The {p} faces the viewer.",
    "We see the {p} from the front.",
)
HOLD = (
    "Put the {o} in {pr} {h} hand.",
    "Make the {p} hold the {o} in {pr} {h} hand.",
    "Move the {o} to {pr} {h} hand.",
    "{Pr} {h} hand should hold the {o}.",
    "Have the {p} carry the {o} with {pr} {h} hand.",
    "Give the {o} to the {p}'s {h} hand.",
    "The {o} belongs in {pr} {h} hand.",
    "Place the {o} in the {p}'s {h} hand.",
    "Can the {p} hold the {o} in {pr} {h} hand?",
    "I want the {o} in {pr} {h} hand.",
)
HELD = ("ice cream", "balloon", "cup", "umbrella", "tulip", "book", "apple", "candle")
HAND_X = {"image_left": 136.0, "image_right": 376.0}


def _holding(person: str, obj: str, where: str) -> list[SceneObject]:
    """A person facing us holding `obj` in the hand on the image's `where` side."""
    return [
        glyph(person, 256, 262, 380, part="person"),
        glyph(obj, HAND_X[where], 300, 64, part="held"),
        region("image_left", HAND_X["image_left"], 300, 120, 150),
        region("image_right", HAND_X["image_right"], 300, 120, 150),
    ]


def laterality(rng: random.Random) -> Iterator[Case]:
    """'Put it in her right hand' of a person the prompt says faces us: her right hand is
    on the image's left. Each group pairs the case that needs the move with its twin whose
    object is already in that hand (nothing to change). The literal reading takes left
    and right from the viewer; a constant strategy passes at most one member of a group."""
    facing, hold = Frames(rng, FACING), Frames(rng, HOLD)

    def make(i: int, n: int) -> list[Case]:
        person, obj = rng.choice(["man", "woman"]), rng.choice(HELD)
        hand = ("right", "left")[i % 2]
        target = "image_left" if hand == "right" else "image_right"
        other = "image_right" if hand == "right" else "image_left"
        pronoun = "his" if person == "man" else "her"
        user = " ".join(
            [
                facing.say(p=person),
                hold.say(p=person, o=obj, pr=pronoun, Pr=pronoun.capitalize(), h=hand),
            ]
        )
        expect: list[Expectation] = [
            Present(object=obj, within=target, literal=True),
            Absent(object=obj, within=other, literal=True),
            Count(object=obj, equals=1),
            outside("image_left", "image_right"),
        ]
        group = f"laterality.{slug(person, obj, hand)}.{n:02d}"
        out = []
        for k, start in enumerate((other, target)):
            moves = start == other
            description = (
                f"The {person} faces us, so {pronoun} {hand} hand is on the image's "
                f"{target.removeprefix('image_')}; the {obj} "
                + ("must move there." if moves else "is already there: nothing changes.")
            )
            edit = Edit(user, expect, description, _holding(person, obj, start))
            label = slug(person, obj, hand, "move" if moves else "stay")
            out.append(edit_case("laterality", n + k, label, edit, group=group))
        return out

    return unique_cases(make)


# --- change_nothing_else --------------------------------------------------------------

KEEP_FRAMES = {
    "recolor": (
        "Make the {t} next to the {n} {c} and change nothing else.",
        "Recolour only the {t} beside the {n} {c}; leave everything else exactly as it is.",
        "Paint the {t} that stands next to the {n} {c}. Nothing else should change.",
        "Turn the {t} beside the {n} {c}, without touching anything else.",
        "Keep the picture as it is, except that the {t} next to the {n} becomes {c}.",
        "Change just one thing: the {t} next to the {n} should be {c}.",
    ),
    "replace": (
        "Turn the {t} next to the {n} into {a}. Leave everything else exactly as it is.",
        "Replace the {t} beside the {n} with {a} and change nothing else.",
        "Only the {t} next to the {n} should become {a}; keep the rest untouched.",
        "Swap the {t} next to the {n} for {a}, leaving all else alone.",
        "Make the {t} beside the {n} into {a}. Do not alter anything else.",
        "Change one thing only: the {t} next to the {n} becomes {a}.",
    ),
}
TINTED = words("cup car balloon umbrella hat kite book gift ball bus star truck")
OTHERS = words("apple pear banana house tree candle chair cactus teddy-bear cake")
INTO = words("star ball cup hat gift candle book")


def change_nothing_else(rng: random.Random) -> Iterator[Case]:
    """One of two like objects (the one next to a named neighbour) is recoloured or turned
    into something else; the request says to keep the rest. The literal reading changes
    both."""
    frames = {k: Frames(rng, v) for k, v in KEEP_FRAMES.items()}

    def make(i: int, n: int) -> list[Case]:
        kind = ("recolor", "replace")[i % 2]
        t = rng.choice(TINTED)
        a, b = (w.replace("-", " ") for w in rng.sample(OTHERS, 2))
        kinds = [t, a, b, t]
        parts = numbered(t, 2)
        old = rng.choice(PALETTE)
        tint = old if kind == "recolor" else None
        ids = [parts[0], "o2", "o3", parts[1]]
        objects = [
            glyph(w, 70 + 124 * p, 256, 90, part=ids[p], color=tint if w == t else None)
            for p, w in enumerate(kinds)
        ]
        j = rng.randrange(2)
        sel, keep, neighbour = (
            ("leftmost", "rightmost", a) if j == 0 else ("rightmost", "leftmost", b)
        )
        expect: list[Expectation]
        if kind == "recolor":
            new = rng.choice([c for c in PALETTE if c != old])
            user = frames[kind].say(t=t, n=neighbour, c=new)
            expect = [
                Color(object=t, select=sel, equals=new),
                Color(object=t, select=keep, equals=old, literal=new),
            ]
        else:
            new = rng.choice([w for w in INTO if w not in kinds])
            user = frames[kind].say(t=t, n=neighbour, a=article(new))
            expect = [Count(object=t, equals=1, literal=0), Count(object=new, equals=1, literal=2)]
        brought = (new,) if kind == "replace" else ()
        expect += [
            Count(object=a, equals=1),
            Count(object=b, equals=1),
            outside(parts[j], objects=brought),
        ]
        description = f"Two {plural(t)}; only the one next to the {neighbour} changes."
        edit = Edit(user, expect, description, objects)
        return [edit_case("change_nothing_else", n, slug(kind, t, neighbour), edit)]

    return unique_cases(make)
