"""Editing: chains of edits, edits across two images, and counts that change (up to ten).

The shared design is in `editing_common`. A chain's every turn edits the previous
canvas and keeps cumulative locality: outside every part edited so far, the canvas
still equals the source. A two-image edit takes an object from the first picture into
the second (the one edited, attached last); the literal reading pastes the first
picture's other object too. A count edit adds or takes away k; the literal reading
draws k in all.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

from uniprobe.cases.checks import Absent, Color, Count, Expectation, Unchanged
from uniprobe.cases.generate.common import (
    ANIMALS,
    amount,
    article,
    case,
    glyph,
    number,
    row,
    slug,
    words,
)
from uniprobe.cases.generate.editing_common import (
    E,
    Edit,
    Frames,
    edit_case,
    numbered,
    outside,
    region,
    scene_image,
    unique_cases,
)
from uniprobe.cases.schema import Case, Turn
from uniprobe.scenes.spec import SceneObject
from uniprobe.scenes.vocabulary import plural

__all__ = ["count_change", "count_to_ten", "edit_chain", "multi_image"]

PALETTE = words("red orange yellow green blue purple pink")
TINTED = words("cup car balloon umbrella hat kite book gift ball bus star truck")

# --- counts ------------------------------------------------------------------------------

ADD_MORE = (
    "Add {km}.",
    "Put {km} in the picture.",
    "Draw {km} next to the others.",
    "Could you add {amt} to the ones already there?",
    "Increase the number of {os} by {k}.",
    "Add {amt} to the group, please.",
    "I need {km} here.",
)
TAKE_AWAY = (
    "Remove {k} of the {os}.",
    "Take away {amt}.",
    "Delete {k} of the {os} and keep the rest.",
    "Reduce the number of {os} by {k}.",
    "Take {amt} out of the picture.",
    "Get rid of {k} of the {os}.",
)
COUNTED = words("apple star balloon cookie tulip cup ball strawberry mushroom kite fish cherry")
LANDMARKS = words("sun house cloud moon rainbow")


def counted_scene(obj: str, have: int, landmark: str) -> list[SceneObject]:
    """`have` (1-10) objects in one or two rows under a landmark."""
    parts = numbered(obj, have)
    if have <= 5:
        objects = row([obj] * have, 360, 72, x0=70, x1=442, parts=parts)
    else:
        top = (have + 1) // 2
        objects = row([obj] * top, 300, 64, x0=60, x1=452, parts=parts[:top])
        objects += row([obj] * (have - top), 420, 64, x0=60, x1=452, parts=parts[top:])
    return [*objects, glyph(landmark, 256, 120, 110, part="landmark")]


def _steps(result: int, adding: bool) -> list[int]:
    """How many (1-4) may be added or taken away to reach `result` from 1-10 objects, the
    literal reading (that many in all) differing from both the result and the start."""
    have = {k: result - k if adding else result + k for k in range(1, 5)}
    return [k for k, h in have.items() if k not in (result, h) and 1 <= h <= 10]


def count_change(rng: random.Random, subtype: str, lo: int, hi: int) -> Iterator[Case]:
    """Add or remove k of a kind so that the result lies in lo..hi; the literal reading
    draws k (the number said, read as the total)."""
    frames = (Frames(rng, ADD_MORE), Frames(rng, TAKE_AWAY))

    def make(i: int, n: int) -> list[Case]:
        obj, landmark = rng.choice(COUNTED), rng.choice(LANDMARKS)
        result = rng.randint(lo, hi)
        adding = i % 2 == 0
        options = _steps(result, adding)
        if not options:
            adding = not adding
            options = _steps(result, adding)
        k = rng.choice(options)
        have = result - k if adding else result + k
        say = frames[0 if adding else 1].say
        km = f"{number(rng, k)} more {plural(obj) if k > 1 else obj}"
        user = say(amt=amount(rng, k, obj), km=km, k=number(rng, k), os=plural(obj))
        expect: list[Expectation] = [
            Count(object=obj, equals=result, literal=k),
            Count(object=landmark, equals=1),
            Unchanged(against="source", outside_objects=(obj,)),
        ]
        verb = "added" if adding else "removed"
        description = f"{have} {plural(obj)}; {k} {verb} make {result} (not {k} in all)."
        edit = Edit(user, expect, description, counted_scene(obj, have, landmark))
        return [edit_case(subtype, n, f"{slug(obj)}_{have}_to_{result}", edit)]

    return unique_cases(make)


def count_to_ten(rng: random.Random) -> Iterator[Case]:
    """Add or take away some of a kind, results 6-10 ('add three more apples' to 5 -> 8)."""
    return count_change(rng, "count_to_ten", 6, 10)


# --- edit_chain -----------------------------------------------------------------------

CHAIN_FRAMES = {
    "recolor": (
        "make the {s} {k} {c}.",
        "paint the {s} {k} {c}.",
        "the {s} {k} should turn {c}.",
    ),
    "remove": (
        "remove the {s} {k}.",
        "take away the {s} {k}.",
        "delete the {s} {k}.",
    ),
    "replace": (
        "turn the {s} {k} into {a}.",
        "replace the {s} {k} with {a}.",
        "swap the {s} {k} for {a}.",
    ),
    "add": (
        "add {a} to the right of the {s} {k}.",
        "put {a} just right of the {s} {k}.",
        "draw {a} on the right side of the {s} {k}.",
    ),
}
"""Wordings per edit of a chain; {s} is left or right, {k} the row's kind. A later turn
starts with one of THEN."""
THEN = ("Now ", "Next, ", "Then ", "After that, ", "And now ")
ROW_KINDS = (*TINTED, *words("apple pear dog cat duck rabbit cake house tree cactus"))
INTO = words("star candle teddy-bear chair mushroom snail turtle")
ADDED = words("sun moon cloud butterfly kite balloon rainbow")


class _Op(NamedTuple):
    """One edit of a chain: its wording, its checks, the part it edits."""

    user: str
    expect: list[Expectation]
    part: str


def _chain_op(
    rng: random.Random, frames: dict[str, Frames], kind: str, k: str, y: float, used: set[str]
) -> tuple[_Op, list[SceneObject]]:
    """An edit of one row (two `k` at x 110 and 300, centred at `y`) and the row's objects."""
    j = rng.randrange(2)
    side, sel, keep = (
        ("left", "leftmost", "rightmost") if j == 0 else ("right", "rightmost", "leftmost")
    )
    parts = numbered(f"{k}_", 2)
    old = rng.choice(PALETTE) if kind == "recolor" else None
    objects = [
        glyph(k, x, y, 64, part=p, color=old) for x, p in zip((110, 300), parts, strict=True)
    ]
    if kind == "recolor":
        assert old is not None
        new = rng.choice([c for c in PALETTE if c != old])
        user = frames[kind].say(s=side, k=k, c=new)
        expect: list[Expectation] = [
            Color(object=k, select=sel, equals=new),
            Color(object=k, select=keep, equals=old, literal=new),
        ]
        return _Op(user, expect, parts[j]), objects
    if kind == "remove":
        user = frames[kind].say(s=side, k=k)
        return _Op(user, [Count(object=k, equals=1, literal=0)], parts[j]), objects
    pool = INTO if kind == "replace" else ADDED
    new = rng.choice([w.replace("-", " ") for w in pool if w.replace("-", " ") not in used])
    used.add(new)
    user = frames[kind].say(s=side, k=k, a=article(new))
    if kind == "replace":
        expect = [Count(object=k, equals=1, literal=0), Count(object=new, equals=1, literal=2)]
        return _Op(user, expect, parts[j]), objects
    spot, other = f"spot_{slug(k)}", f"other_spot_{slug(k)}"
    objects += [region(spot, (205, 395)[j], y, 80, 80), region(other, (205, 395)[1 - j], y, 80, 80)]
    expect = [
        Count(object=new, within=spot, equals=1),
        Count(object=new, within=other, equals=0, literal=1),
        Count(object=new, equals=1, literal=2),
    ]
    return _Op(user, expect, spot), objects


def edit_chain(rng: random.Random) -> Iterator[Case]:
    """3-5 edits of one image, one per turn, each on its own row of two like objects; every
    turn checks its edit and that, outside every part edited so far, the source stays."""
    frames = {k: Frames(rng, v) for k, v in CHAIN_FRAMES.items()}

    def make(i: int, n: int) -> list[Case]:
        length = 3 + i % 3
        kinds = [rng.choice(list(CHAIN_FRAMES)) for _ in range(length)]
        used: set[str] = set()
        objects: list[SceneObject] = []
        turns: list[Turn] = []
        edited: list[str] = []
        brought: list[str] = []  # replacements' glyphs may overflow the part they replace
        for t, kind in enumerate(kinds):
            pool = TINTED if kind == "recolor" else ROW_KINDS
            k = rng.choice([w for w in pool if w not in used])
            used.add(k)
            y = 512 * (t + 0.5) / length
            op, row_objects = _chain_op(rng, frames, kind, k, y, used)
            if t > 0:
                then = rng.choice(THEN)
                op = op._replace(user=then + op.user[0].lower() + op.user[1:])
            objects += row_objects
            edited.append(op.part)
            if kind == "replace":
                brought.append(
                    next(
                        c.object
                        for c in op.expect
                        if isinstance(c, Count) and c.equals == 1 and c.object != k
                    )
                )
            expect = (
                *op.expect,
                Unchanged(against="source", outside=tuple(edited), outside_objects=tuple(brought)),
            )
            if t == 0:
                turns.append(Turn(user=op.user, attach=("source",), expect=expect))
            else:
                turns.append(Turn(user=op.user, edit=True, expect=expect))
        description = f"{length} edits in a row ({', '.join(kinds)}); the rest stays as it was."
        images = {"source": scene_image(objects)}
        label = slug(length, *kinds[:2])
        return [case(E, "edit_chain", n, label, description, turns, images=images)]

    return unique_cases(make)


# --- multi_image ----------------------------------------------------------------------

TWO_FRAMES = {
    "add": (
        "Put the {x} from the first picture {r} the {l} in the second picture.",
        "Take the {x} out of image 1 and place it {r} the {l} in image 2.",
        "Copy the {x} you see in the first image into the second one, {r} the {l}.",
        "In the second picture, add the {x} from the first picture {r} the {l}.",
        "Bring the {x} from the first picture over to the second, {r} the {l}.",
        "Using the {x} from image one, add it {r} the {l} in image two.",
    ),
    "replace": (
        "Replace the {o} in the second picture with the animal from the first picture.",
        "Swap the {o} in image 2 for the animal shown in image 1.",
        "In the second image, put the animal from the first image where the {o} is.",
        "Take the animal from picture 1 and let it replace the {o} in picture 2.",
        "The {o} in the second photo should become the animal from the first photo.",
    ),
}
MOVED = words("hat balloon cup umbrella kite book gift ball star")
"""Objects taken from the first picture (tinted there: the colour must come along)."""
THINGS = words("chair candle cake house tree cactus car bus")
PLACES = {
    "left_of": ("to the left of", -120, 0),
    "right_of": ("to the right of", 120, 0),
    "above": ("above", 0, -125),
}


def _donor(x: str, y: str, color: str | None) -> list[SceneObject]:
    return [glyph(x, 160, 256, 120, part="wanted", color=color), glyph(y, 352, 256, 110)]


def _two_image_case(
    n: int,
    label: str,
    user: str,
    expect: list[Expectation],
    first: list[SceneObject],
    second: list[SceneObject],
    description: str,
) -> Case:
    turns = [Turn(user=user, attach=("first", "second"), expect=tuple(expect))]
    images = {"first": scene_image(first), "second": scene_image(second)}
    return case(E, "multi_image", n, label, description, turns, images=images)


def multi_image(rng: random.Random) -> Iterator[Case]:
    """Two attached pictures: put an object of the first into the second, or replace an
    animal of the second by the first's animal. The second picture is the one edited
    (attached last); the literal reading pastes the first picture's other object too."""
    frames = {k: Frames(rng, v) for k, v in TWO_FRAMES.items()}

    def make(i: int, n: int) -> list[Case]:
        if i % 2 == 0:
            x = rng.choice(MOVED)
            other, landmark = rng.sample([w for w in THINGS if w != x], 2)
            color = rng.choice(PALETTE)
            place = rng.choice(list(PLACES))
            said, dx, dy = PLACES[place]
            lx, ly = rng.choice([(256, 300), (236, 330), (276, 280)])
            second = [
                glyph(landmark, lx, ly, 110, part="landmark"),
                region("spot", lx + dx, ly + dy, 100, 100),
            ]
            expect: list[Expectation] = [
                Count(object=x, within="spot", equals=1),
                Color(object=x, equals=color),
                Absent(object=other, literal=True),
                outside("spot", against="second"),
            ]
            user = frames["add"].say(x=x, r=said, l=landmark)
            description = f"The {color} {x} of picture 1 goes {said} the {landmark} of picture 2."
            label = slug("add", x, place, landmark)
            return [
                _two_image_case(
                    n, label, user, expect, _donor(x, other, color), second, description
                )
            ]
        z, old = rng.sample([a for a in ANIMALS if a != "bird"], 2)
        other = rng.choice(THINGS)
        rest = rng.sample([w for w in THINGS if w != other], 2)
        kinds = [old, *rest]
        rng.shuffle(kinds)
        parts = ["o1", "o2", "o3"]
        second = row(kinds, 280, 100, x0=100, x1=412, parts=parts)
        expect = [
            Absent(object=old),
            Count(object=z, equals=1),
            Absent(object=other, literal=True),
            outside(parts[kinds.index(old)], against="second", objects=(z,)),
        ]
        user = frames["replace"].say(o=old)
        description = (
            f"The {old} of picture 2 becomes the {z} of picture 1; nothing else comes along."
        )
        label = slug("replace", old, z)
        return [
            _two_image_case(n, label, user, expect, _donor(z, other, None), second, description)
        ]

    return unique_cases(make)
