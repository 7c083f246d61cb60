"""Fine-grained editing precision: synthetic source scenes with exact boxes.

Every case attaches a `source` scene and checks locality (`unchanged` outside the parts
or objects the request may touch).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

from uniprobe.cases.checks import (
    Absent,
    Color,
    Count,
    Expectation,
    Position,
    Present,
    Relation,
    Text,
    Unchanged,
)
from uniprobe.cases.generate.common import (
    ANIMALS,
    COLORS,
    FRUITS,
    RELATION_WORDS,
    THINGS,
    TINTABLE,
    amount,
    article,
    case,
    glyph,
    number,
    present_all,
    row,
    slug,
    source_image,
    words,
)
from uniprobe.cases.schema import Case, Family, Turn
from uniprobe.scenes.spec import Band, SceneObject
from uniprobe.scenes.vocabulary import plural

__all__ = [
    "add_at_place",
    "change_nothing_else",
    "count_edit",
    "laterality",
    "move",
    "part_edit",
    "predicate_removal",
    "referring_recolor",
    "similar_replacement",
    "text_edit",
]

E: Family = "editing"


class _Edit(NamedTuple):
    """One edit request on a source scene."""

    user: str
    expect: list[Expectation]
    description: str
    objects: list[SceneObject]
    bands: tuple[Band, ...] = ()


def _numbered(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{j + 1}" for j in range(n)]


def _outside(*parts: str) -> Unchanged:
    """Nothing but these scene parts of the source may change."""
    return Unchanged(against="source", outside=parts)


def _locally(obj: str) -> Unchanged:
    """Nothing but the boxes of this object (in either image) may change."""
    return Unchanged(against="source", outside_objects=(obj,))


def _sky_and_grass(horizon: float) -> tuple[Band, Band]:
    return Band(kind="sky", top=0, bottom=horizon), Band(kind="grass", top=horizon, bottom=1)


def _edit_case(subtype: str, n: int, label: str, edit: _Edit) -> Case:
    """A one-turn case: the request, sent with its `source` scene."""
    turns = [Turn(user=edit.user, attach=("source",), expect=tuple(edit.expect))]
    images = source_image(edit.objects, edit.bands)
    return case(E, subtype, n, label, edit.description, turns, images=images)


SELECTS = ("leftmost", "rightmost", "middle", "largest", "smallest", "topmost", "bottommost")
SELECT_WORDS = {
    "leftmost": "the leftmost",
    "rightmost": "the rightmost",
    "middle": "the middle",
    "largest": "the biggest",
    "smallest": "the smallest",
    "topmost": "the highest",
    "bottommost": "the lowest",
}


def _three(rng: random.Random, obj: str, sel: str) -> tuple[list[SceneObject], str]:
    """Three of a kind told apart by `sel`, and the part id of the one it picks."""
    parts = _numbered(slug(obj), 3)
    if sel in ("largest", "smallest"):
        sizes = rng.sample([70, 95, 125], 3)
        objects = [glyph(obj, 90 + 165 * j, 256, sizes[j], part=parts[j]) for j in range(3)]
        return objects, parts[sizes.index(max(sizes) if sel == "largest" else min(sizes))]
    if sel in ("topmost", "bottommost"):
        ys = rng.sample([110, 256, 400], 3)
        objects = [glyph(obj, 110 + 145 * j, ys[j], 90, part=parts[j]) for j in range(3)]
        return objects, parts[ys.index(min(ys) if sel == "topmost" else max(ys))]
    objects = row([obj] * 3, 256, 100, x0=100, x1=412, parts=parts)
    return objects, parts[("leftmost", "middle", "rightmost").index(sel)]


def referring_recolor(rng: random.Random) -> Iterator[Case]:
    """Recolour the one of three picked by place or size ('the leftmost', 'the biggest')."""
    kinds = words("apple car balloon cup star hat kite umbrella ball gift book bus")
    for i in range(12):
        obj = rng.choice(kinds)
        sel = SELECTS[i % len(SELECTS)]
        color = rng.choice([c for c in COLORS if c not in ("red", "brown")])
        objects, target = _three(rng, obj, sel)
        which = SELECT_WORDS[sel]
        expect: list[Expectation] = [
            Color(object=obj, select=sel, equals=color),
            Count(object=obj, equals=3),
            _outside(target),
        ]
        edit = _Edit(
            f"Make {which} {obj} {color}.",
            expect,
            f"Three {plural(obj)}; only {which} one turns {color}.",
            objects,
        )
        yield _edit_case("referring_recolor", i + 1, f"{sel}_{slug(obj)}", edit)


def _remove_red(rng: random.Random) -> _Edit:
    obj = rng.choice(["car", "balloon", "cup", "umbrella", "ball", "hat"])
    other = rng.choice(["blue", "green", "yellow"])
    pattern = rng.choice(
        [["red", other, "red", other], [other, "red", "red", other, "red"], ["red", other, other]]
    )
    parts = _numbered(slug(obj), len(pattern))
    red = [p for p, c in zip(parts, pattern, strict=True) if c == "red"]
    return _Edit(
        f"Remove every red {obj}.",
        [
            Count(object=obj, equals=len(pattern) - len(red)),
            Color(object=obj, equals=other),
            _outside(*red),
        ],
        f"Only the red {plural(obj)} go; the {other} ones stay.",
        row([obj] * len(pattern), 256, 80, parts=parts, colors=pattern),
    )


def _remove_animals(rng: random.Random) -> _Edit:
    animals = rng.sample(ANIMALS, 2)
    fruits = rng.sample(FRUITS, 2)
    kinds = [animals[0], fruits[0], animals[1], fruits[1]]
    rng.shuffle(kinds)
    parts = _numbered("o", 4)
    gone = [p for p, k in zip(parts, kinds, strict=True) if k in animals]
    return _Edit(
        rng.choice(["Remove all the animals.", "Take every animal out of the picture."]),
        [Absent(object="animal"), Count(object="fruit", equals=2), _outside(*gone)],
        "Animals go, fruit stays.",
        row(kinds, 256, 90, parts=parts),
    )


def _remove_fruit(rng: random.Random) -> _Edit:
    things = rng.sample(["car", "ball", "cup", "book", "key", "hat", "gift"], 2)
    fruits = rng.sample(FRUITS, 3)
    kinds = [fruits[0], things[0], fruits[1], things[1], fruits[2]]
    rng.shuffle(kinds)
    parts = _numbered("o", 5)
    gone = [p for p, k in zip(parts, kinds, strict=True) if k in fruits]
    return _Edit(
        "Remove every piece of fruit.",
        [
            Absent(object="fruit"),
            Count(object=things[0], equals=1),
            Count(object=things[1], equals=1),
            _outside(*gone),
        ],
        "Fruit goes, everything else stays.",
        row(kinds, 256, 76, parts=parts),
    )


def _remove_seated(rng: random.Random) -> _Edit:
    x = rng.choice([170, 200])
    objects = [
        glyph("couch", x, 330, 250, part="couch"),
        glyph("seated person", x - 52, 292, 84, part="seated1"),
        glyph("seated person", x + 34, 292, 84, part="seated2"),
        glyph(rng.choice(["man", "woman"]), 370, 300, 250, part="standing1"),
        glyph(rng.choice(["man", "woman"]), 460, 300, 250, part="standing2"),
    ]
    return _Edit(
        rng.choice(
            ["Remove anyone sitting in the image.", "Remove the people who are sitting down."]
        ),
        [
            Count(object="seated person", equals=0),
            Count(object="standing person", equals=2),
            *present_all("couch"),
            _outside("seated1", "seated2"),
        ],
        "Only the seated people go; the standing ones stay untouched.",
        objects,
    )


def predicate_removal(rng: random.Random) -> Iterator[Case]:
    """Remove what a predicate picks: every red one, the animals, the fruit, anyone sitting."""
    kinds = (
        ("red", _remove_red),
        ("animals", _remove_animals),
        ("fruit", _remove_fruit),
        ("sitting", _remove_seated),
    )
    for i in range(12):
        label, remove = kinds[i % 4]
        yield _edit_case("predicate_removal", i + 1, label, remove(rng))


SWAPS = (
    ("lemon", "lime"),
    ("apple", "peach"),
    ("dog", "cat"),
    ("car", "truck"),
    ("duck", "chicken"),
    ("cup", "candle"),
    ("horse", "zebra"),
    ("ball", "balloon"),
    ("pear", "apple"),
    ("bus", "car"),
    ("cat", "rabbit"),
    ("tulip", "sunflower"),
)


def _replace_marked(rng: random.Random, old: str, new: str) -> _Edit:
    """One among three of the same kind, told apart by colour."""
    mark, other = rng.sample(["blue", "green", "purple", "pink", "orange"], 2)
    pos = rng.randrange(3)
    colors = [mark if j == pos else other for j in range(3)]
    parts = _numbered(slug(old), 3)
    return _Edit(
        f"Replace the {mark} {old} with {article(new)}.",
        [
            Count(object=old, equals=2),
            Color(object=old, equals=other),
            Count(object=new, equals=1),
            _outside(parts[pos]),
        ],
        f"Of three {plural(old)}, only the {mark} one becomes {article(new)}.",
        row([old] * 3, 256, 110, x0=100, x1=412, parts=parts, colors=colors),
    )


def _replace_among_others(rng: random.Random, old: str, new: str) -> _Edit:
    kinds = rng.sample([w for w in FRUITS + THINGS[:12] if w not in (old, new)], 3)
    pos = rng.randrange(4)
    kinds.insert(pos, old)
    parts = _numbered("o", 4)
    return _Edit(
        f"Replace the {old} by {article(new)}.",
        [Absent(object=old), Count(object=new, equals=1), _outside(parts[pos])],
        f"The {old} becomes {article(new)}; nothing else changes.",
        row(kinds, 256, 86, parts=parts),
    )


def similar_replacement(rng: random.Random) -> Iterator[Case]:
    """Replace one object by a similar one (lemon -> lime), among look-alikes or others."""
    for i, (old, new) in enumerate(SWAPS):
        replace = _replace_marked if i % 2 == 0 else _replace_among_others
        yield _edit_case("similar_replacement", i + 1, slug(old, new), replace(rng, old, new))


def count_edit(rng: random.Random) -> Iterator[Case]:
    """'Make it exactly three birds'."""
    for i in range(12):
        obj = rng.choice(["bird", "apple", "star", "balloon", "fish", "duck", "cookie", "tulip"])
        have = rng.choice([2, 3, 4, 5])
        want = rng.choice([w for w in (1, 2, 3, 4, 5) if w != have])
        landmark = rng.choice(["house", "tree", "sun", "cloud"])
        objects = row([obj] * have, 330, 70, x0=60, x1=452, parts=_numbered(slug(obj), have))
        objects.append(glyph(landmark, 256, 120, 110, part="landmark"))
        asks = [  # both are worded (two draws) before one is picked
            f"Make it exactly {amount(rng, want, obj)}.",
            f"Change the number of {plural(obj)} to {number(rng, want)}.",
        ]
        edit = _Edit(
            rng.choice(asks),
            [Count(object=obj, equals=want), *present_all(landmark), _locally(obj)],
            f"{have} {plural(obj)} become exactly {want}.",
            objects,
        )
        yield _edit_case("count_edit", i + 1, f"{slug(obj)}_{have}_to_{want}", edit)


def _move(rng: random.Random, a: str, b: str, to_side: bool) -> _Edit:
    if to_side:
        side = rng.choice(["left", "right"])
        xa = 400 if side == "left" else 112
        objects = [glyph(a, xa, 200, 110, part="mover"), glyph(b, 256, 400, 110, part="stay")]
        user = f"Move the {a} to the {side} side of the image."
        where: Expectation = Position(object=a, place=side)
    else:
        rel = rng.choice(["above", "below"])
        ya = 400 if rel == "above" else 112
        objects = [glyph(a, 120, ya, 100, part="mover"), glyph(b, 380, 256, 110, part="stay")]
        user = f"Move the {a} so that it is {rel} the {b}."
        where = Relation(subject=a, relation=rel, object=b)
    return _Edit(
        user, [where, Count(object=a, equals=1), _locally(a)], f"Only the {a} moves.", objects
    )


def move(rng: random.Random) -> Iterator[Case]:
    """Move one object to a side of the frame or above/below another."""
    for i in range(12):
        a, b = rng.sample([*ANIMALS, "car", "ball", "tree", "house"], 2)
        yield _edit_case("move", i + 1, slug(a), _move(rng, a, b, i % 2 == 0))


CORNERS = ("top_left", "top_right", "bottom_left", "bottom_right")


def add_at_place(rng: random.Random) -> Iterator[Case]:
    """Add an object in a named corner (6) or relative to the object there (6)."""
    for i in range(12):
        new = rng.choice(["balloon", "sun", "star", "kite", "bird", "cloud", "moon", "ball"])
        base = rng.choice(["house", "tree", "car", "dog", "cat", "bus"])
        if i % 2 == 0:
            place = CORNERS[(i // 2) % 4]
            user = f"Add {article(new)} in the {place.replace('_', ' ')} corner."
            where: Expectation = Position(object=new, place=place)
        else:
            rel = rng.choice(["left_of", "right_of", "above"])
            user = f"Add {article(new)} {RELATION_WORDS[rel]} the {base}."
            where = Relation(subject=new, relation=rel, object=base)
        edit = _Edit(
            user,
            [Count(object=new, equals=1), where, _locally(new)],
            f"{article(new).capitalize()} is added at a named place; nothing else changes.",
            [glyph(base, 256, 256, 130, part="base")],
        )
        yield _edit_case("add_at_place", i + 1, slug(new), edit)


SIGN_WORDS = words("OPEN CLOSED SALE EXIT HOTEL BAKERY PARK CAFE MUSEUM GARAGE LIBRARY MARKET")


def _signpost(text: str, side: str, side_x: float) -> list[SceneObject]:
    return [
        SceneObject(id="sign", shape="rect", x=256, y=200, w=280, h=100, color="white"),
        SceneObject(id="sign_text", shape="text", text=text, x=256, y=200, size=48),
        SceneObject(id="post", shape="rect", x=256, y=330, w=16, h=160, color="brown"),
        glyph(side, side_x, 400, 100, part="side"),
    ]


def text_edit(rng: random.Random) -> Iterator[Case]:
    """Change the word on a sign; nothing else."""
    for i in range(12):
        old, new = rng.sample(SIGN_WORDS, 2)
        side, side_x = rng.choice([("tree", 90), ("car", 420)])
        user = rng.choice(
            [
                f"Change the text on the sign to {new}.",
                f"The sign should say {new} instead of {old}.",
            ]
        )
        edit = _Edit(
            user,
            [Text(equals=new), *present_all(side), _outside("sign")],
            f"The sign reads {old}; it must read {new} and nothing else may change.",
            _signpost(old, side, side_x),
            _sky_and_grass(0.8),
        )
        yield _edit_case("text_edit", i + 1, f"{old.lower()}_{new.lower()}", edit)


def _building(floors: int) -> list[SceneObject]:
    """Floors `floor1` (ground) up, three windows each, and a `door`."""
    h, bottom = (70 if floors > 4 else 80), 420
    ys = [bottom - h / 2 - f * h for f in range(floors)]
    color = "#b9b4aa"
    objects = [
        SceneObject(id=f"floor{f + 1}", shape="rect", x=256, y=y, w=260, h=h, color=color)
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


ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}


def _part(rng: random.Random, floors: int, mode: int) -> tuple[str, str]:
    """A part of the building and how the request names it."""
    if mode == 0:
        k = rng.randint(2, floors)
        return f"floor{k}", f"the {ORDINAL[k]} floor"
    if mode == 1:
        return f"floor{floors}", "the top floor"
    if mode == 2:
        return "floor1", "the ground floor"
    return "door", "the door"


def part_edit(rng: random.Random) -> Iterator[Case]:
    """Recolour one floor (counted from the ground) or the door of a building."""
    for i in range(12):
        floors = rng.choice([3, 4, 5])
        color = rng.choice(["pink", "blue", "green", "yellow", "purple", "orange"])
        part, named = _part(rng, floors, i % 4)
        other = "floor2" if part != "floor2" else "floor1"
        expect: list[Expectation] = [
            Color(part=part, equals=color),
            Color(part=other, equals="gray"),
            _outside(part),
        ]
        user = rng.choice([f"Make {named} {color}.", f"Paint {named} {color}."])
        description = (
            f"A {floors}-storey building; only {named} turns {color} (floors counted from the "
            "ground)."
        )
        edit = _Edit(user, expect, description, _building(floors), _sky_and_grass(0.82))
        yield _edit_case("part_edit", i + 1, f"{part}_{color}", edit)


def _person_holding(person: str, obj: str, x: float) -> list[SceneObject]:
    """A person facing us; their right hand is on the viewer's left."""
    return [
        glyph(person, 256, 262, 380, part="person"),
        glyph(obj, x, 300, 72, part="held"),
        SceneObject(id="right_hand", shape="region", x=170, y=300, w=120, h=150),
        SceneObject(id="left_hand", shape="region", x=342, y=300, w=120, h=150),
    ]


def laterality(rng: random.Random) -> Iterator[Case]:
    """'Hold it in his left hand': the person's left, not the viewer's (no random draws)."""
    held = ("ice cream", "balloon", "cup", "umbrella", "key", "tulip")
    for i in range(12):
        person = "man" if i % 2 == 0 else "woman"
        obj = held[i % len(held)]
        to_left = i < 6  # to the person's left hand (the viewer's right)
        target, start = ("left_hand", "right_hand") if to_left else ("right_hand", "left_hand")
        pronoun = "his" if person == "man" else "her"
        hand = "left" if to_left else "right"
        expect: list[Expectation] = [
            Count(object=obj, equals=1),
            Present(object=obj, within=target, literal=True),
            Absent(object=obj, within=start, literal=True),
            _outside("right_hand", "left_hand"),
        ]
        edit = _Edit(
            f"Make the {person} hold the {obj} with {pronoun} {hand} hand.",
            expect,
            f"The {person} faces us, so {pronoun} {hand} hand is on the viewer's "
            f"{'right' if to_left else 'left'}; the viewer-centred (literal) reading "
            "leaves the object where it is.",
            _person_holding(person, obj, 170 if to_left else 342),
        )
        yield _edit_case("laterality", i + 1, f"{person}_{slug(obj)}_{hand}", edit)


def _change_one(
    rng: random.Random, target: str, kinds: list[str], recolor: bool
) -> tuple[str, list[Expectation]]:
    """Recolour `target`, or turn it into something not in the scene."""
    if recolor:
        color = rng.choice(["blue", "green", "purple", "pink"])
        user = f"Make the {target} {color} and change nothing else."
        return user, [Color(object=target, equals=color)]
    new = rng.choice([w for w in ("star", "ball", "cup", "key", "hat", "gift") if w not in kinds])
    user = f"Turn the {target} into {article(new)}. Leave everything else exactly as it is."
    return user, [Absent(object=target), Count(object=new, equals=1)]


def change_nothing_else(rng: random.Random) -> Iterator[Case]:
    """One object changes; the request says to keep the rest."""
    for i in range(12):
        kinds = rng.sample([w for w in THINGS + FRUITS if w not in ("house", "teddy bear")], 4)
        parts = _numbered("o", 4)
        t = rng.randrange(4)
        target = kinds[t]
        recolor = i % 2 == 0 and target in (*TINTABLE, "apple", "cup", "ball")
        user, expect = _change_one(rng, target, kinds, recolor)
        keep = [Count(object=k, equals=1) for j, k in enumerate(kinds) if j != t][:2]
        edit = _Edit(
            user,
            [*expect, *keep, _outside(parts[t])],
            "One object changes; the request says to keep the rest.",
            row(kinds, 256, 90, parts=parts),
        )
        yield _edit_case("change_nothing_else", i + 1, slug(target), edit)
