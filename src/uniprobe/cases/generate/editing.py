"""Fine-grained editing precision: synthetic source scenes with exact parts and boxes.

The design every editing case follows is stated in `editing_common`: a visible change
on a source scene, a target named by a referring expression among 2+ candidates (the
literal reading edits every candidate, and a check on one that must stay says so), and
an `unchanged` check of the untouched region. This module holds the edits of one object
(recolour, remove, replace, count, move, add); `editing_parts` the edits of text, a
building's parts, a held object and "change nothing else"; `editing_chains` the chains
of edits, two-image edits and counts up to ten.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from uniprobe.cases.checks import Color, Count, Expectation
from uniprobe.cases.generate.common import article, glyph, row, slug, words
from uniprobe.cases.generate.editing_chains import (
    count_change,
    count_to_ten,
    edit_chain,
    multi_image,
)
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
from uniprobe.cases.generate.editing_parts import (
    change_nothing_else,
    laterality,
    part_edit,
    text_edit,
)
from uniprobe.cases.schema import Case
from uniprobe.scenes.spec import SceneObject
from uniprobe.scenes.vocabulary import plural

__all__ = [
    "add_at_place",
    "change_nothing_else",
    "count_edit",
    "count_to_ten",
    "edit_chain",
    "laterality",
    "line_up",
    "move",
    "multi_image",
    "part_edit",
    "predicate_removal",
    "referring_recolor",
    "similar_replacement",
    "text_edit",
]

PALETTE = words("red orange yellow green blue purple pink")
"""Tints a glyph takes legibly."""
TINTABLE = words("cup car balloon umbrella hat kite book gift ball bus star truck")

# --- picking one of several by place or size -------------------------------------------

PICKS: dict[str, tuple[str, ...]] = {
    "leftmost": ("the leftmost {o}", "the {o} on the left", "the left {o}"),
    "rightmost": ("the rightmost {o}", "the {o} on the right", "the right {o}"),
    "middle": ("the middle {o}", "the {o} in the middle"),
    "largest": ("the biggest {o}", "the large {o}", "the largest {o}"),
    "smallest": ("the smallest {o}", "the little {o}", "the small {o}"),
    "topmost": ("the highest {o}", "the top {o}", "the {o} at the top"),
    "bottommost": ("the lowest {o}", "the bottom {o}", "the {o} at the bottom"),
}
"""How a request names the instance a `select` picks."""
KEEP = {
    "leftmost": "rightmost",
    "rightmost": "leftmost",
    "middle": "leftmost",
    "largest": "smallest",
    "smallest": "largest",
    "topmost": "bottommost",
    "bottommost": "topmost",
}
"""An instance that must stay, picked so that no other selector also picks the target."""


def line_up(
    rng: random.Random, obj: str, sel: str, n: int, color: str | None = None
) -> tuple[list[SceneObject], str]:
    """`n` (2-3) of a kind told apart by `sel`, and the part id of the one it picks."""
    parts = numbered(obj, n)
    xs = [256.0] if n == 1 else [110 + 292 * j / (n - 1) for j in range(n)]
    if sel in ("largest", "smallest"):
        sizes = rng.sample([66, 92, 124][:n] if n == 3 else [66, 118], n)
        objects = [glyph(obj, xs[j], 256, sizes[j], part=parts[j], color=color) for j in range(n)]
        pick = max(sizes) if sel == "largest" else min(sizes)
        return objects, parts[sizes.index(pick)]
    if sel in ("topmost", "bottommost"):
        ys = rng.sample([110, 256, 400][:n] if n == 3 else [130, 380], n)
        objects = [glyph(obj, xs[j], ys[j], 90, part=parts[j], color=color) for j in range(n)]
        return objects, parts[ys.index(min(ys) if sel == "topmost" else max(ys))]
    colors = [color] * n if color else None
    objects = row([obj] * n, 256, 100, x0=110, x1=402, parts=parts, colors=colors)
    index = {"leftmost": 0, "middle": 1, "rightmost": n - 1}[sel]
    return objects, parts[index]


def _selector(rng: random.Random, n: int) -> str:
    return rng.choice([s for s in PICKS if n == 3 or s != "middle"])


def _named(rng: random.Random, sel: str, obj: str) -> str:
    return rng.choice(PICKS[sel]).format(o=obj)


# --- referring_recolor ----------------------------------------------------------------

RECOLOR = (
    "Make {t} {c}.",
    "Paint {t} {c}.",
    "Change the colour of {t} to {c}.",
    "Recolour {t} {c}, please.",
    "Could you turn {t} {c}?",
    "I'd like {t} to be {c}.",
    "Give {t} a {c} finish.",
    "Colour {t} {c} and keep the others as they are.",
    "Switch {t} over to {c}.",
    "Only {t} should become {c}.",
    "Repaint {t} in {c}.",
    "Can {t} be {c} instead?",
)


def referring_recolor(rng: random.Random) -> Iterator[Case]:
    """Recolour the one of 2-3 like objects a place or size picks ('the left cup'); the
    literal reading recolours every one, so a check on one that must stay catches it."""
    frames = Frames(rng, RECOLOR)

    def make(i: int, n: int) -> list[Case]:
        obj, count = rng.choice(TINTABLE), rng.choice([2, 3])
        sel = _selector(rng, count)
        old, new = rng.sample(PALETTE, 2)
        objects, target = line_up(rng, obj, sel, count, color=old)
        expect: list[Expectation] = [
            Color(object=obj, select=sel, equals=new),
            Color(object=obj, select=KEEP[sel], equals=old, literal=new),
            Count(object=obj, equals=count),
            outside(target),
        ]
        user = frames.say(t=_named(rng, sel, obj), c=new)
        description = f"{count} {old} {plural(obj)}; only the {sel} one turns {new}."
        edit = Edit(user, expect, description, objects)
        return [edit_case("referring_recolor", n, f"{sel}_{slug(obj)}", edit)]

    return unique_cases(make)


# --- predicate_removal ----------------------------------------------------------------

REMOVE_FRAMES = {
    "color": (
        "Remove every {p} {o}.",
        "Take out the {p} {os}.",
        "Get rid of all the {p} {os}, please.",
        "Delete the {p} {os} from the picture.",
    ),
    "size": (
        "Remove the {p} {os}.",
        "Erase every {p} {o}.",
        "Can you take away the {p} {os}?",
    ),
    "row": (
        "Remove the {os} {p}.",
        "Clear away every {o} {p}.",
        "Only the {os} {p} should go.",
    ),
    "side": (
        "Remove all the {os} {p}.",
        "Wipe out the {os} {p} and nothing else.",
        "I don't want the {os} {p} any more.",
    ),
    "sitting": (
        "Remove anyone sitting in the image.",
        "Remove the people who are sitting down.",
        "Take the seated people out of the scene.",
    ),
}
"""Wordings per predicate; {p} is the predicate, {o}/{os} the head noun."""
SIDES = {"row": ("in the top row", "in the bottom row"), "side": ("on the left", "on the right")}


def _colored(rng: random.Random, obj: str) -> tuple[list[SceneObject], list[str], str]:
    """4-5 objects in two colours; the removed ones and the predicate."""
    gone_color, keep_color = rng.sample(PALETTE, 2)
    n = rng.choice([4, 5])
    pattern = [gone_color] * rng.choice([1, 2]) + [keep_color] * 2
    pattern += [rng.choice([gone_color, keep_color]) for _ in range(n - len(pattern))]
    rng.shuffle(pattern)
    parts = numbered(obj, n)
    objects = row([obj] * n, 256, 76, parts=parts, colors=pattern)
    return objects, [p for p, c in zip(parts, pattern, strict=True) if c == gone_color], gone_color


def _sized(rng: random.Random, obj: str) -> tuple[list[SceneObject], list[str], str]:
    """Four objects, small and big; the removed ones and the predicate."""
    k = rng.choice([1, 2])
    small = [True] * k + [False] * (4 - k)
    rng.shuffle(small)
    parts = numbered(obj, 4)
    xs = [70 + 124 * j for j in range(4)]
    objects = [
        glyph(obj, x, 256, 60 if s else 112, part=p)
        for x, s, p in zip(xs, small, parts, strict=True)
    ]
    gone = rng.choice([True, False])
    removed = [p for p, s in zip(parts, small, strict=True) if s == gone]
    return objects, removed, rng.choice(["small", "little"] if gone else ["big", "large"])


def _placed(rng: random.Random, obj: str, how: str) -> tuple[list[SceneObject], list[str], str]:
    """Objects in two rows or on two sides; the removed ones and the predicate."""
    cells = [(x, y) for y in (150, 370) for x in (80, 200, 312, 432)]

    def half(c: int) -> int:
        return c // 4 if how == "row" else int(cells[c][0] > 256)

    chosen: list[int] = []
    while len({half(c) for c in chosen}) < 2:
        chosen = sorted(rng.sample(range(8), rng.choice([4, 5])))
    parts = {c: f"{slug(obj)}{k + 1}" for k, c in enumerate(chosen)}
    objects = [glyph(obj, *cells[c], 84, part=parts[c]) for c in chosen]
    first = rng.choice([0, 1])
    return objects, [parts[c] for c in chosen if half(c) == first], SIDES[how][first]


def _seated(rng: random.Random) -> tuple[list[SceneObject], list[str], int]:
    x = rng.choice([150, 180])
    sit = rng.choice([1, 2])
    objects = [glyph("couch", x, 330, 250, part="couch")]
    seats = [x - 52, x + 34] if sit == 2 else [x]
    objects += [
        glyph("seated person", s, 292, 84, part=f"seated{j + 1}") for j, s in enumerate(seats)
    ]
    stand = rng.choice([1, 2])
    xs = [400] if stand == 1 else [360, 460]
    objects += [
        glyph(rng.choice(["man", "woman"]), sx, 300, 230, part=f"standing{j + 1}")
        for j, sx in enumerate(xs)
    ]
    return objects, [f"seated{j + 1}" for j in range(sit)], stand


def predicate_removal(rng: random.Random) -> Iterator[Case]:
    """Remove what a predicate picks (the red ones, the small ones, the top row, the left
    side, anyone sitting); the literal reading removes every one of the head noun."""
    frames = {k: Frames(rng, v) for k, v in REMOVE_FRAMES.items()}
    kinds = ("color", "size", "row", "side", "sitting")

    def make(i: int, n: int) -> list[Case]:
        kind = kinds[i % len(kinds)]
        if kind == "sitting":
            objects, gone, stand = _seated(rng)
            expect: list[Expectation] = [
                Count(object="person", equals=stand, literal=0),
                Count(object="seated person", equals=0),
                outside(*gone),
            ]
            edit = Edit(frames[kind].say(), expect, "Only the seated people go.", objects)
            return [edit_case("predicate_removal", n, f"sitting_{len(gone)}", edit)]
        obj = rng.choice(TINTABLE if kind == "color" else (*TINTABLE, "apple", "duck", "dog"))
        if kind == "color":
            objects, gone, pred = _colored(rng, obj)
        elif kind == "size":
            objects, gone, pred = _sized(rng, obj)
        else:
            objects, gone, pred = _placed(rng, obj, kind)
        keep = len(objects) - len(gone)
        expect = [Count(object=obj, equals=keep, literal=0), outside(*gone)]
        user = frames[kind].say(p=pred, o=obj, os=plural(obj))
        description = f"Of {len(objects)} {plural(obj)}, only the {pred} ones go; {keep} stay."
        edit = Edit(user, expect, description, objects, sky_and_grass(0.7))
        return [edit_case("predicate_removal", n, f"{kind}_{slug(obj)}", edit)]

    return unique_cases(make)


# --- similar_replacement --------------------------------------------------------------

SWAPS = (
    ("apple", "peach"),
    ("pear", "apple"),
    ("dog", "cat"),
    ("cat", "rabbit"),
    ("car", "truck"),
    ("bus", "truck"),
    ("duck", "chicken"),
    ("horse", "zebra"),
    ("cow", "pig"),
    ("sheep", "cow"),
    ("dolphin", "whale"),
    ("tulip", "sunflower"),
    ("cherry", "strawberry"),
    ("donut", "cookie"),
    ("snail", "turtle"),
    ("mouse", "rabbit"),
    ("camel", "horse"),
    ("penguin", "duck"),
)
"""Look-alike pairs that differ in shape, not only in colour (no lemon -> lime)."""
REPLACE = (
    "Replace {t} with {a}.",
    "Swap {t} for {a}.",
    "Turn {t} into {a}.",
    "Change {t} into {a}.",
    "Put {a} in place of {t}.",
    "Exchange {t} for {a}.",
    "I want {a} instead of {t}.",
    "Substitute {a} for {t}.",
    "Replace {t} by {a}, and leave the other {olds} alone.",
    "Could you change {t} to {a}?",
    "Let {t} become {a}.",
    "Make {t} {a} instead.",
)


def similar_replacement(rng: random.Random) -> Iterator[Case]:
    """Replace the one of 2-3 like objects a place or size picks by a look-alike (apple ->
    peach); the literal reading replaces every one."""
    frames = Frames(rng, REPLACE)

    def make(i: int, n: int) -> list[Case]:
        old, new = rng.choice(SWAPS)
        count = rng.choice([2, 3])
        sel = _selector(rng, count)
        objects, target = line_up(rng, old, sel, count)
        expect: list[Expectation] = [
            Count(object=old, equals=count - 1, literal=0),
            Count(object=new, equals=1, literal=count),
            outside(target, objects=(new,)),
        ]
        user = frames.say(t=_named(rng, sel, old), a=article(new), olds=plural(old))
        description = f"Of {count} {plural(old)}, only the {sel} one becomes {article(new)}."
        edit = Edit(user, expect, description, objects)
        return [edit_case("similar_replacement", n, slug(sel, old, new), edit)]

    return unique_cases(make)


# --- count_edit -----------------------------------------------------------------------


def count_edit(rng: random.Random) -> Iterator[Case]:
    """Add or take away some of a kind, results 1-5 ('add two more apples' to 3 -> 5)."""
    return count_change(rng, "count_edit", 1, 5)


# --- move -----------------------------------------------------------------------------

MOVE = (
    "Move {t} {d}.",
    "Put {t} {d}.",
    "Shift {t} {d}.",
    "Drag {t} {d}, leaving everything else where it is.",
    "Could you move {t} {d}?",
    "Place {t} {d} instead.",
    "Relocate {t} {d}.",
    "I'd like {t} moved {d}.",
    "Take {t} and put it {d}.",
    "Reposition {t} {d}.",
    "Have {t} moved {d}, please.",
)
MOVERS = words("dog cat car ball duck rabbit cup balloon turtle bus pig hat")
DESTINATIONS = (
    ("into the top left corner", 90, 90, 130, 130),
    ("above the {lm}", 190, 265, 110, 110),
    ("to the left of the {lm}", 70, 410, 100, 100),
)
"""Where a mover goes: the wording and the region (x, y, w, h) it must land in; the
landmark stands at (190, 410)."""


def _pair(rng: random.Random, obj: str) -> tuple[list[SceneObject], str, str, str]:
    """Two of a kind on the right, told apart by place or size: objects, the selector,
    the moved part and the part that stays."""
    how = rng.choice(["x", "y", "size"])
    if how == "x":
        spots, sizes, sels = [(320, 200), (440, 200)], [90, 90], ("leftmost", "rightmost")
    elif how == "y":
        spots, sizes, sels = [(380, 120), (380, 330)], [90, 90], ("topmost", "bottommost")
    else:
        spots, sizes, sels = (
            [(330, 220), (440, 220)],
            rng.sample([64, 110], 2),
            ("smallest", "largest"),
        )
    parts = numbered(obj, 2)
    objects = [
        glyph(obj, x, y, s, part=p) for (x, y), s, p in zip(spots, sizes, parts, strict=True)
    ]
    j = rng.randrange(2)
    sel = sels[j] if how != "size" else ("smallest", "largest")[int(sizes[j] > sizes[1 - j])]
    return objects, sel, parts[j], parts[1 - j]


def move(rng: random.Random) -> Iterator[Case]:
    """Move the one of two like objects a place or size picks; the literal reading moves
    both, so the count where the other stood catches it."""
    frames = Frames(rng, MOVE)

    def make(i: int, n: int) -> list[Case]:
        obj = rng.choice(MOVERS)
        landmark = rng.choice(
            [w for w in ("house", "tree", "cactus", "snowman", "chair") if w != obj]
        )
        objects, sel, moved, stays = _pair(rng, obj)
        where, x, y, w, h = DESTINATIONS[i % len(DESTINATIONS)]
        objects += [glyph(landmark, 190, 410, 100, part="landmark"), region("dest", x, y, w, h)]
        expect: list[Expectation] = [
            Count(object=obj, within=moved, equals=0),
            Count(object=obj, within="dest", equals=1, literal=2),
            Count(object=obj, within=stays, equals=1, literal=0),
            outside(moved, "dest"),
        ]
        dest = where.format(lm=landmark)
        user = frames.say(t=_named(rng, sel, obj), d=dest)
        description = f"Two {plural(obj)}; only the {sel} one moves {dest}."
        edit = Edit(user, expect, description, objects)
        return [edit_case("move", n, slug(sel, obj), edit)]

    return unique_cases(make)


# --- add_at_place ---------------------------------------------------------------------

ADD = (
    "Add {a} {r} {t}.",
    "Put {a} {r} {t}.",
    "Draw {a} {r} {t}.",
    "Place {a} {r} {t}.",
    "Could you add {a} {r} {t}?",
    "I'd like {a} {r} {t}.",
    "Insert {a} {r} {t}, nothing else.",
    "Add just one {new} {r} {t}.",
    "Paint {a} {r} {t}.",
    "Let there be {a} {r} {t}.",
    "Please put {a} {r} {t} and leave the rest.",
)
BASES = words("tree house car dog cat bus cup umbrella snowman cactus")
NEW = words("balloon sun star kite cloud moon ball butterfly hat apple")
SPOTS = {
    "above": ("above", 0, -130, 100, 100),
    "below": ("below", 0, 130, 100, 90),
    "left_of": ("to the left of", -105, 0, 90, 100),
    "right_of": ("to the right of", 105, 0, 90, 100),
}
"""A relation: its words and the region (dx, dy from the base, w, h) a new object goes in."""


def add_at_place(rng: random.Random) -> Iterator[Case]:
    """Add an object next to the one of two like objects a place or size picks; the
    literal reading adds one next to each."""
    frames = Frames(rng, ADD)

    def make(i: int, n: int) -> list[Case]:
        base, new = rng.choice(BASES), rng.choice(NEW)
        relation = list(SPOTS)[i % len(SPOTS)]
        said, dx, dy, w, h = SPOTS[relation]
        by_size = rng.random() < 0.4
        sizes = rng.sample([70, 110], 2) if by_size else [100, 100]
        parts = numbered(base, 2)
        objects = [
            glyph(base, x, 300, s, part=p) for x, s, p in zip((150, 362), sizes, parts, strict=True)
        ]
        j = rng.randrange(2)
        if by_size:
            sel = "largest" if sizes[j] > sizes[1 - j] else "smallest"
        else:
            sel = ("leftmost", "rightmost")[j]
        xs = (150, 362)
        objects += [
            region("spot", xs[j] + dx, 300 + dy, w, h),
            region("other_spot", xs[1 - j] + dx, 300 + dy, w, h),
        ]
        expect: list[Expectation] = [
            Count(object=new, within="spot", equals=1),
            Count(object=new, within="other_spot", equals=0, literal=1),
            Count(object=new, equals=1, literal=2),
            outside("spot"),
        ]
        user = frames.say(a=article(new), new=new, r=said, t=_named(rng, sel, base))
        description = f"Two {plural(base)}; {article(new)} goes {said} the {sel} one only."
        edit = Edit(user, expect, description, objects)
        return [edit_case("add_at_place", n, slug(new, relation, sel), edit)]

    return unique_cases(make)
