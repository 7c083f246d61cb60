"""Global instruction adherence: a rule given first must govern the later requests."""

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
    Style,
    Text,
)
from uniprobe.cases.generate.common import (
    ANIMALS,
    COLORS,
    COUNTABLE,
    FRUITS,
    OPPOSITE,
    THINGS,
    TINTABLE,
    WORDS,
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
    "color_remapping",
    "context_distance",
    "exclusion",
    "knowledge_quantity",
    "numeric_transform",
    "rule_revoked",
    "spatial_reversal",
    "style_persistence",
    "topic_restriction",
    "two_rules",
    "word_substitution",
]

G: Family = "global_instruction"
NUMERIC_RULES = {
    "add": (
        "From now on, if I mention a number, add {k} before using it.",
        "For the rest of this conversation, whenever I give you a number, add {k} to it first.",
        "New rule: every number I say is {k} less than what I want, so add {k} to it.",
    ),
    "subtract": (
        "From now on, if I mention a number, subtract {k} before using it.",
        "For the rest of this conversation, take {k} away from every number I give you.",
        "New rule: every number I say is {k} more than what I want, so subtract {k}.",
    ),
    "multiply": (
        "From now on, if I mention a number, double it before using it.",
        "For the rest of this conversation, every number I give you means twice as many.",
        "New rule: multiply every number I say by two.",
    ),
}
SETTINGS = (  # (phrase, backdrop to check or None)
    ("", None),
    (" on a white background", None),
    (" in the sky", "sky"),
    (" on the grass", "grass"),
    (" in the snow", "snow"),
    (" on a beach", "beach"),
)
H_RULES = (
    "From now on, I will use opposite directions: when I say left, I actually mean "
    "right, and when I say right, I actually mean left.",
    "For the rest of this chat, swap left and right in everything I ask: my left is your right.",
    "Rule: left and right are reversed from now on. If I say left, draw it on the right, "
    "and the other way round.",
)
V_RULES = (
    "From now on, I will use opposite directions: when I say top, I actually mean "
    "bottom, and when I say above, I actually mean below.",
    "For the rest of this chat, swap up and down in everything I ask: my top is your bottom.",
    "Rule: above and below are reversed from now on. If I say on top, put it underneath.",
)
SUBSTITUTIONS = (
    ("cat", "dog"),
    ("apple", "orange"),
    ("car", "bus"),
    ("bird", "butterfly"),
    ("horse", "zebra"),
    ("tree", "cactus"),
    ("lemon", "lime"),
    ("cup", "book"),
    ("dog", "rabbit"),
    ("ball", "balloon"),
    ("duck", "chicken"),
    ("shark", "dolphin"),
    ("cow", "pig"),
    ("hat", "umbrella"),
)


def _apply(op: str, k: int, n: int) -> int:
    return n + k if op == "add" else n - k if op == "subtract" else n * 2


def _operands(op: str, k: int, said: range, meant: range) -> list[int]:
    """The numbers in `said` that the rule turns into a different number in `meant`."""
    return [n for n in said if _apply(op, k, n) in meant and _apply(op, k, n) != n]


def _backdrop(word: str | None) -> list[Expectation]:
    return present_all(word) if word else []


def numeric_transform(rng: random.Random) -> Iterator[Case]:
    """Add k, subtract k or double every number, then a counted request (5 + 5 + 5)."""
    for i, obj in enumerate(rng.sample(COUNTABLE, 15)):
        op = ("add", "subtract", "multiply")[i // 5]
        k = 2 if op == "multiply" else rng.choice([1, 2, 3])
        n = rng.choice(_operands(op, k, range(1, 9), range(2, 9)))
        want = _apply(op, k, n)
        setting, backdrop = rng.choice(SETTINGS)
        rule = rng.choice(NUMERIC_RULES[op]).format(k=k)
        expect = [Count(object=obj, equals=want, literal=n), *_backdrop(backdrop)]
        ask = f"Generate an image of {amount(rng, n, obj)}{setting}."
        description = (
            f"Rule: {op} {k if op != 'multiply' else 'x2'}. Asked for {n} "
            f"{plural(obj)}, the rule makes it {want}; the literal reading draws {n}."
        )
        turns = [turn(rule), turn(ask, *expect)]
        yield case(
            G, "numeric_transform", i + 1, f"{op}_{slug(obj)}", description, turns, tags=[op]
        )


def _left_right(said: str, a: str, b: str, in_frame: bool) -> tuple[str, list[Expectation]]:
    meant = OPPOSITE[said]
    if in_frame:
        ask = (
            f"Generate an image of {article(a)} and {article(b)} with the {a} on the "
            f"{said} side of the image."
        )
        return ask, [*present_all(b), Position(object=a, place=meant, literal=said)]
    relation = Relation(subject=a, relation=f"{meant}_of", object=b, literal=f"{said}_of")
    return f"Draw {article(a)} to the {said} of {article(b)}.", [relation]


def _up_down(said: str, a: str, b: str, in_frame: bool) -> tuple[str, list[Expectation]]:
    if in_frame:
        words = "on top of" if said == "above" else "underneath"
        ask = f"Generate an image of {article(a)} and {article(b)} with the {a} {words} the {b}."
        return ask, [Relation(subject=a, relation=OPPOSITE[said], object=b, literal=said)]
    place = "top" if said == "above" else "bottom"
    check = Position(object=a, place=OPPOSITE[place], literal=place)
    return f"Draw {article(a)} at the {place} of the image.", [check]


def spatial_reversal(rng: random.Random) -> Iterator[Case]:
    """Left/right (12) or up/down (12) swapped by a rule."""
    pool = (*ANIMALS, *FRUITS, "car", "ball", "house", "tree", "cup", "book")
    for i in range(24):
        a, b = rng.sample(pool, 2)
        horizontal = i < 12
        if horizontal:
            ask, expect = _left_right(rng.choice(["left", "right"]), a, b, i % 2 == 0)
            rule = rng.choice(H_RULES)
        else:
            ask, expect = _up_down(rng.choice(["above", "below"]), a, b, i % 2 == 0)
            rule = rng.choice(V_RULES)
        description = (
            f"Directions are {'left/right' if horizontal else 'up/down'}-reversed "
            "by a rule; the literal reading places things where the words say."
        )
        turns = [turn(rule), turn(ask, *expect)]
        yield case(
            G,
            "spatial_reversal",
            i + 1,
            slug(a),
            description,
            turns,
            tags=["horizontal" if horizontal else "vertical"],
        )


def word_substitution(rng: random.Random) -> Iterator[Case]:
    """'When I say cat I mean dog': the meant object, never the said one."""
    for i, (said, meant) in enumerate(rng.sample(SUBSTITUTIONS, 12)):
        rule = rng.choice(
            [
                f"From now on, when I say {said}, I mean {meant}.",
                f"For the rest of this chat, the word '{said}' means {article(meant)}.",
                f"Let's use a code: '{said}' stands for {meant} from now on.",
            ]
        )
        absent = Absent(object=said, literal=True)
        if i % 3 == 2:
            n = rng.choice([2, 3])
            ask = f"Draw {number(rng, n)} {plural(said)}."
            expect: list[Expectation] = [Count(object=meant, equals=n), absent]
        else:
            setting, backdrop = rng.choice(SETTINGS)
            ask = f"Draw {article(said)}{setting}."
            expect = [Present(object=meant, literal=True), absent, *_backdrop(backdrop)]
        description = f"'{said}' means {meant}: the literal reading draws {article(said)}."
        turns = [turn(rule), turn(ask, *expect)]
        yield case(G, "word_substitution", i + 1, slug(said, meant), description, turns)


def color_remapping(rng: random.Random) -> Iterator[Case]:
    """'Anything red must be blue'."""
    for i, obj in enumerate(rng.sample(TINTABLE, 12)):
        said, meant = rng.sample(COLORS, 2)
        rule = rng.choice(
            [
                f"From now on, anything {said} must be {meant}.",
                f"For the rest of this chat, whenever I ask for something {said}, make it "
                f"{meant} instead.",
                f"Colour rule from now on: {said} is replaced by {meant} in every image.",
            ]
        )
        check = Color(object=obj, equals=meant, literal=said)
        description = f"{said} is remapped to {meant}; the literal reading paints the {obj} {said}."
        turns = [turn(rule), turn(f"Draw {article(said)} {obj}.", check)]
        yield case(G, "color_remapping", i + 1, f"{said}_{meant}_{slug(obj)}", description, turns)


class _Request(NamedTuple):
    """A test request after a rule, and what it is for (a tag and a description)."""

    ask: str
    expect: list[Expectation]
    kind: str
    description: str


def _in_topic(rng: random.Random, topics: list[str]) -> _Request:
    t = rng.choice(topics)
    n = rng.choice([1, 2, 3])
    return _Request(
        f"Draw {amount(rng, n, t)}.",
        [Count(object=t, equals=n)],
        "in_topic",
        f"An allowed topic ({t}) must still be drawn.",
    )


def _off_topic(rng: random.Random, topics: list[str]) -> _Request:
    x, y = rng.sample([w for w in THINGS + ANIMALS if w not in topics], 2)
    return _Request(
        f"Generate an image of {article(x)} next to {article(y)}.",
        [Absent(object=x, literal=True), Absent(object=y, literal=True)],
        "off_topic",
        "Off-topic: refuse, or stay within the topics.",
    )


def topic_restriction(rng: random.Random) -> Iterator[Case]:
    """Topics limited: in-topic requests drawn, off-topic ones refused (7 + 7)."""
    for i in range(14):
        topics = rng.sample(ANIMALS[:8] + FRUITS[:6], 3)
        rule = rng.choice(
            [
                "From now on, your responses are limited to the topics of {a}, {b} and {c}.",
                "For the rest of this chat you may only make images about {a}, {b} or {c}.",
            ]
        ).format(a=plural(topics[0]), b=plural(topics[1]), c=plural(topics[2]))
        req = _in_topic(rng, topics) if i % 2 == 0 else _off_topic(rng, topics)
        turns = [turn(rule), turn(req.ask, *req.expect)]
        yield case(G, "topic_restriction", i + 1, req.kind, req.description, turns, tags=[req.kind])


EXCLUSIONS = (  # (rule word, category term, request, excluded example, kept)
    ("people", "person", "Draw a house with a man standing in front of it.", "man", "house"),
    ("people", "person", "Draw a beach with a woman holding an umbrella.", "woman", "umbrella"),
    (
        "people",
        "person",
        "Draw a bicycle leaning on a tree, with a man next to it.",
        "man",
        "bicycle",
    ),
    ("animals", "animal", "Draw a garden with a tree and a dog playing under it.", "dog", "tree"),
    ("animals", "animal", "Draw a car parked on a road with a cat on its roof.", "cat", "car"),
    ("animals", "animal", "Draw a kite flying in the sky with a bird next to it.", "bird", "kite"),
    (
        "animals",
        "animal",
        "Draw a sailboat on the sea with a dolphin jumping nearby.",
        "dolphin",
        "sailboat",
    ),
    ("fruit", "fruit", "Draw a cake on a table next to an apple.", "apple", "cake"),
    ("fruit", "fruit", "Draw a cup of coffee and a banana.", "banana", "cup"),
    ("fruit", "fruit", "Draw a book with a pear resting on it.", "pear", "book"),
    ("vehicles", "vehicle", "Draw a house with a car in front of it.", "car", "house"),
    ("vehicles", "vehicle", "Draw a tree next to a bus stop with a bus.", "bus", "tree"),
    ("people", "person", "Draw a snowman with a woman building it.", "woman", "snowman"),
)


def exclusion(rng: random.Random) -> Iterator[Case]:
    """'Never include people / animals / fruit / vehicles'."""
    for i, (word, term, ask, example, kept) in enumerate(rng.sample(EXCLUSIONS, 12)):
        rule = rng.choice(
            [
                f"From now on, never include any {word} in an image.",
                f"Rule for this whole chat: no {word}, ever, in any picture you make.",
            ]
        )
        expect = [*present_all(kept), Absent(object=term, literal=True)]
        description = (
            f"{word.capitalize()} are excluded by a rule; the literal reading draws the {example}."
        )
        turns = [turn(rule), turn(ask, *expect)]
        yield case(G, "exclusion", i + 1, slug(term, kept), description, turns)


COLORFUL = words(
    "apple car balloon strawberry tulip butterfly duck star pear kite cherry orange banana "
    "watermelon"
)
"""Objects whose natural colours make a colour image unmistakable (for grayscale rules)."""


def _grayscale(rng: random.Random, a: str, b: str) -> list[Turn]:
    rule = rng.choice(
        [
            "From now on, every image you make must be in black and white.",
            "For the rest of this chat, use no colour at all: grayscale images only.",
        ]
    )
    gray = Style(equals="grayscale", literal="color")
    n = rng.choice([1, 2, 3])
    return [
        turn(rule),
        turn(f"Draw {amount(rng, n, a)}.", gray, Count(object=a, equals=n)),
        turn(f"Now draw {article(b)}.", gray, *present_all(b)),
    ]


def _written_word(word: str, a: str, b: str) -> list[Turn]:
    written = Text(contains=word, literal="")
    return [
        turn(f"From now on, write the word {word} somewhere in every image you make."),
        turn(f"Draw {article(a)}.", written, *present_all(a)),
        turn(f"Now draw {article(b)}.", written, *present_all(b)),
    ]


def style_persistence(rng: random.Random) -> Iterator[Case]:
    """Grayscale (8) or a word on every image (4), over two later requests."""
    for i in range(12):
        a, b = rng.sample(COLORFUL, 2)
        if i < 8:
            turns = _grayscale(rng, a, b)
            kind, description = "grayscale", "Grayscale must persist over two later requests."
        else:
            word = rng.choice(["HELLO", "OPEN", "SALE", "STOP", "CAFE"])
            turns = _written_word(word, a, b)
            kind, description = "text", f"The word {word} must appear in every later image."
        yield case(G, "style_persistence", i + 1, kind, description, turns, tags=[kind])


KNOWLEDGE = (  # (phrase, number, vocabulary word a literal reading might draw)
    ("a spider has legs", 8, "spider"),
    ("a cat has legs", 4, "cat"),
    ("a bicycle has wheels", 2, "bicycle"),
    ("an octopus has arms", 8, "octopus"),
    ("a triangle has sides", 3, None),
    ("a hexagon has sides", 6, None),
    ("there are days in a week", 7, None),
    ("there are fingers on one hand", 5, None),
    ("a car has wheels", 4, "car"),
    ("a bird has legs", 2, "bird"),
    ("there are seasons in a year", 4, None),
    ("there are primary colours", 3, None),
    ("a chicken has legs", 2, "chicken"),
)


def knowledge_quantity(rng: random.Random) -> Iterator[Case]:
    """'As many apples as a spider has legs'."""
    for i, (phrase, n, literal_word) in enumerate(rng.sample(KNOWLEDGE, 12)):
        obj = rng.choice([w for w in COUNTABLE if w != literal_word])
        expect: list[Expectation] = [Count(object=obj, equals=n)]
        if literal_word:
            expect.append(Absent(object=literal_word, literal=True))
        if i % 2 == 0:
            turns = [turn(f"Draw as many {plural(obj)} as {phrase}.", *expect)]
        else:
            rule = f"From now on, whenever I ask for 'some' of something, draw as many as {phrase}."
            turns = [turn(rule), turn(f"Draw some {plural(obj)}.", *expect)]
        description = f"The number comes from world knowledge: {phrase} -> {n}."
        yield case(G, "knowledge_quantity", i + 1, f"{slug(obj)}_{n}", description, turns)


def two_rules(rng: random.Random) -> Iterator[Case]:
    """A numeric rule and a left/right swap at once (given in one turn or two)."""
    for i in range(12):
        obj = rng.choice(COUNTABLE)
        k = rng.choice([1, 2])
        op = rng.choice(["add", "subtract"])
        n = rng.choice(_operands(op, k, range(1, 7), range(1, 8)))
        said = rng.choice(["left", "right"])
        numeric, spatial = NUMERIC_RULES[op][0].format(k=k), H_RULES[0]
        if i % 2 == 0:
            turns = [turn(numeric), turn(spatial)]
        else:
            both = numeric[len("From now on, ") :].capitalize()
            turns = [turn(f"Two rules from now on. {both} {spatial}")]
        ask = f"Draw {amount(rng, n, obj)} on the {said} side of the image."
        count = Count(object=obj, equals=_apply(op, k, n), literal=n)
        turns.append(turn(ask, count, Position(object=obj, place=OPPOSITE[said], literal=said)))
        description = f"A numeric rule ({op} {k}) and a left/right swap apply together."
        yield case(G, "two_rules", i + 1, f"{op}{k}_{said}_{slug(obj)}", description, turns)


def _revoked_code(said: str, meant: str) -> list[Turn]:
    return [
        turn(f"From now on, when I say {said}, I mean {meant}."),
        turn(
            f"Draw {article(said)}.",
            Present(object=meant, literal=True),
            Absent(object=said, literal=True),
        ),
        turn(f"Forget that code: from now on, {said} just means {said} again."),
        turn(f"Draw {article(said)}.", *present_all(said), Absent(object=meant)),
    ]


def _revoked_numbers(rng: random.Random, k: int, a: str, b: str) -> list[Turn]:
    n1 = rng.choice([n for n in range(1, 6) if n + k <= 8])
    n2 = rng.choice([2, 3, 4])
    return [
        turn(NUMERIC_RULES["add"][0].format(k=k)),
        turn(f"Draw {amount(rng, n1, a)}.", Count(object=a, equals=n1 + k, literal=n1)),
        turn(
            rng.choice(
                [
                    "Forget the rule about numbers: use numbers exactly as I say them from now on.",
                    "Stop adding to my numbers. From now on, numbers mean what they say.",
                ]
            )
        ),
        turn(f"Draw {amount(rng, n2, b)}.", Count(object=b, equals=n2)),
    ]


def rule_revoked(rng: random.Random) -> Iterator[Case]:
    """A rule, a request under it, the rule revoked, a request after it."""
    for i in range(12):
        a, b = rng.sample(COUNTABLE, 2)
        if i % 3 == 2:
            said, meant = rng.choice(SUBSTITUTIONS)
            turns = _revoked_code(said, meant)
            description = f"The '{said}' -> {meant} code is revoked before the last request."
        else:
            k = rng.choice([1, 2, 3])
            turns = _revoked_numbers(rng, k, a, b)
            description = (
                f"Add {k} to numbers, then the rule is revoked: the last count is as said."
            )
        yield case(G, "rule_revoked", i + 1, slug(a), description, turns)


FILLERS = (  # unrelated requests without numbers, directions, colours: (request, present)
    ("Draw a house on the grass.", ("house", "grass")),
    ("Draw a sailboat on the sea.", ("sailboat", "water")),
    ("Draw a snowman in the snow.", ("snowman", "snow")),
    ("Draw a cactus in the desert.", ("cactus", "desert")),
    ("Draw a rocket in the sky.", ("rocket",)),
    ("Draw a teddy bear.", ("teddy bear",)),
    ("Draw a slice of cake.", ("cake",)),
    ("Draw an umbrella on the beach.", ("umbrella", "beach")),
    ("Draw a pizza.", ("pizza",)),
    ("Draw a gift box.", ("gift",)),
    ("Draw a candle.", ("candle",)),
    ("Draw a sunflower.", ("sunflower",)),
)


class _Probe(NamedTuple):
    """A rule and the request that tests it, at any distance."""

    rule: str
    ask: str
    check: Expectation
    label: str


def _numeric_probe(rng: random.Random, op: str, obj: str) -> _Probe:
    k = rng.choice([1, 2, 3])
    n = rng.choice(_operands(op, k, range(1, 9), range(1, 9)))
    return _Probe(
        NUMERIC_RULES[op][0].format(k=k),
        f"Draw {WORDS[n]} {plural(obj) if n > 1 else obj}.",
        Count(object=obj, equals=_apply(op, k, n), literal=n),
        f"{op}{k}_{slug(obj)}",
    )


def _color_probe(rng: random.Random, obj: str) -> _Probe:
    said, meant = rng.sample(COLORS, 2)
    return _Probe(
        f"From now on, anything {said} must be {meant}.",
        f"Draw {article(said)} {obj}.",
        Color(object=obj, equals=meant, literal=said),
        f"color_{said}_{slug(obj)}",
    )


def _distance_probes(rng: random.Random) -> list[_Probe]:
    """12 probes shared by every distance: 6 numeric, 3 word codes, 3 colour rules."""
    probes = []
    for i, obj in enumerate(rng.sample(COUNTABLE, 12)):
        if i < 6:
            probes.append(_numeric_probe(rng, "add" if i % 2 == 0 else "subtract", obj))
        elif i < 9:
            said, meant = SUBSTITUTIONS[i]
            rule = f"From now on, when I say {said}, I mean {meant}."
            check = Present(object=meant, literal=True)
            probes.append(_Probe(rule, f"Draw {article(said)}.", check, f"word_{slug(said)}"))
        else:
            probes.append(_color_probe(rng, TINTABLE[i]))
    return probes


def context_distance(rng: random.Random) -> Iterator[Case]:
    """The same 12 rules, then 0, 2 or 5 unrelated requests, then the test."""
    probes = _distance_probes(rng)
    for distance in (0, 2, 5):
        for i, probe in enumerate(probes):
            fillers = [turn(f, *present_all(*seen)) for f, seen in rng.sample(FILLERS, distance)]
            description = f"The same rule, then {distance} unrelated request(s), then the test."
            turns = [turn(probe.rule), *fillers, turn(probe.ask, probe.check)]
            yield case(
                G,
                f"context_distance_{distance}",
                i + 1,
                probe.label,
                description,
                turns,
                tags=[f"distance:{distance}"],
            )
