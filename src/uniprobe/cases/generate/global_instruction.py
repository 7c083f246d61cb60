"""Global instruction adherence: a rule given first must govern the later requests.

Design (every subtype, every seed):

* **A rule, then requests.** The rule turn has no checks (a model answers it in words);
  each later request carries the checks. Every probe check names its *literal reading*
  (`literal:` — the said number, the said colour or side, `absent: {X, literal: true}`
  for the word a literal reading draws), and the literal values of one turn are
  drawable together, so `reference/literal` fails every case on a canvas it drew.
* **Groups** (contrast sets) where one member alone could be passed by a constant
  strategy: topic_restriction (an in-topic and an off-topic request under the same rule:
  refusing passes the off-topic one only), exclusion (a request with the excluded
  category and one without), rule_revoked (a request under a rule, and the same request
  after the rule is revoked), rule_exception (the excepted and a non-excepted request).
  A group passes when all its members pass; its members share the rule turn.
* **Roles.** context_distance's unrelated turns carry `filler` checks; the test request
  is the probe. The same rules are tested at distances 0, 2 and 5.
* **No hypernym counting:** object pools leave out 'bird', 'flower' and other words that
  include another word of the pool; counts stay at most 10.

Wordings live in `rules.py`; the four newer subtypes (conflicting_rules, rule_exception,
long_rule, knowledge_rule) in `global_more.py`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

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
from uniprobe.cases.generate import rules as R
from uniprobe.cases.generate.common import (
    COLORS,
    OPPOSITE,
    TINTABLE,
    article,
    case,
    slug,
    turn,
    words,
)
from uniprobe.cases.schema import Case, Family, Turn
from uniprobe.scenes.render import natural_color
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
N_CASES = 26
"""Cases per subtype (13 groups of 2 where grouped)."""

COUNT_POOL = words(
    "apple fish star balloon car duck cat dog tree cup ball cookie butterfly turtle rabbit "
    "strawberry mushroom tulip kite snail pear cherry donut gift candle hat book"
)
"""Countable objects (no hypernym of another: no 'bird', no 'flower')."""
PLACE_POOL = words(
    "dog cat rabbit duck turtle horse cow pig sheep elephant giraffe camel snail apple banana "
    "pear cherry strawberry watermelon pineapple car ball house tree cup book"
)
"""Objects for directions."""
_NUMBER_WORDS = words("zero one two three four five six seven eight nine ten")


# --- small helpers ------------------------------------------------------------------------


def number(rng: random.Random, n: int) -> str:
    """n as a word or a digit (one draw); 0..10."""
    return _NUMBER_WORDS[n] if rng.random() < 0.5 else str(n)


def amount(rng: random.Random, n: int, word: str) -> str:
    """'three dogs', '2 dogs', 'a dog' (one draw when n > 1)."""
    return f"{number(rng, n)} {plural(word)}" if n > 1 else article(word)


def counted(rng: random.Random, n: int, word: str) -> str:
    """'one dog', '1 dog', 'three dogs': always a number (where a rule changes numbers,
    'a dog' would leave it unclear whether the rule applies)."""
    return f"{number(rng, n)} {plural(word) if n > 1 else word}"


def ask(rng: random.Random, x: str, where: str = "", wordings: Sequence[str] = R.ASK_COUNT) -> str:
    """A request for `x` (with a setting phrase) in one of the hand-written wordings."""
    return rng.choice(wordings).format(x=x, s=where)


def setting(rng: random.Random) -> tuple[str, list[Expectation]]:
    """A setting phrase and the backdrop check it brings (if any)."""
    phrase, backdrop = rng.choice(R.BACKDROP_SETTINGS)
    return phrase, [Present(object=backdrop)] if backdrop else []


def apply(op: str, k: int, n: int) -> int:
    """What a numeric rule makes of n."""
    return n + k if op == "add" else n - k if op == "subtract" else 2 * n


def operand(rng: random.Random, op: str, k: int, *, top: int = 10) -> int:
    """A said number (1..8) that the rule turns into a different count in 1..top."""
    ok = [n for n in range(1, 9) if 1 <= apply(op, k, n) <= top and apply(op, k, n) != n]
    return rng.choice(ok)


def numeric_rule(rng: random.Random, op: str) -> tuple[str, int]:
    """A numeric rule's wording and its k (2 for 'double')."""
    k = 2 if op == "double" else rng.choice([1, 2, 3])
    return rng.choice(R.NUMERIC_RULES[op]).format(k=k), k


def word_rule(rng: random.Random, said: str, meant: str) -> str:
    """'From now on, when I say cat, I mean dog.' in one of its wordings."""
    return rng.choice(R.WORD_RULES).format(
        said=said,
        meant=meant,
        a_said=article(said),
        a_meant=article(meant),
        plural_said=plural(said).capitalize(),
        plural_meant=plural(meant),
    )


def substituted(said: str, meant: str, n: int) -> list[Expectation]:
    """n of the meant thing and none of the said one (the literal reading: n said ones)."""
    return [Count(object=meant, equals=n, literal=0), Count(object=said, equals=0, literal=n)]


def grouped(
    subtype: str,
    g: int,
    members: Sequence[tuple[str, str, list[Turn], Sequence[str]]],
) -> Iterator[Case]:
    """The cases of group g (1-based): (label, description, turns, tags) each."""
    group = f"core.global.{subtype}.g{g:02d}"
    for j, (label, description, turns, tags) in enumerate(members):
        yield case(
            G, subtype, 2 * (g - 1) + j + 1, label, description, turns, tags=tags, group=group
        )


# --- numbers, directions, words, colours ---------------------------------------------------


def numeric_transform(rng: random.Random) -> Iterator[Case]:
    """Add k, subtract k or double every number, then a counted request (9 + 9 + 8)."""
    for i, obj in enumerate(rng.sample(COUNT_POOL, N_CASES)):
        op = ("add", "subtract", "double")[i % 3]
        rule, k = numeric_rule(rng, op)
        n = operand(rng, op, k)
        want = apply(op, k, n)
        where, backdrop = setting(rng)
        expect = [Count(object=obj, equals=want, literal=n), *backdrop]
        description = (
            f"Rule: {op} {k if op != 'double' else ''}. Asked for {n} {plural(obj)}, the "
            f"rule makes it {want}; the literal reading draws {n}."
        )
        turns = [turn(rule), turn(ask(rng, counted(rng, n, obj), where), *expect)]
        label = f"{op}_{slug(obj)}"
        yield case(G, "numeric_transform", i + 1, label, description, turns, tags=[op])


H_IN_FRAME = (
    "Generate an image of {a} and {b} with the {x} on the {side} side of the image.",
    "Draw {a} and {b}; put the {x} on the {side}.",
    "Make a picture of {a} and {b}, the {x} on the {side} half.",
)
H_RELATION = (
    "Draw {a} to the {side} of {b}.",
    "Show {a} standing to the {side} of {b}.",
    "Place {a} on the {side} of {b}.",
)
V_RELATION = (
    "Generate an image of {a} and {b} with the {x} {where} the {y}.",
    "Draw {a} {where} {b}.",
    "Make a picture with {a} placed {where} {b}.",
)
V_POSITION = (
    "Draw {a} at the {place} of the image.",
    "Put {a} near the {place} edge of the picture.",
    "Show {a} in the {place} part of the image.",
)


def _horizontal(rng: random.Random, a: str, b: str, in_frame: bool) -> tuple[str, Expectation]:
    said = rng.choice(["left", "right"])
    if in_frame:
        text = rng.choice(H_IN_FRAME).format(a=article(a), b=article(b), x=a, side=said)
        return text, Position(object=a, place=OPPOSITE[said], literal=said)
    text = rng.choice(H_RELATION).format(a=article(a), b=article(b), side=said)
    meant = OPPOSITE[f"{said}_of"]
    return text, Relation(subject=a, relation=meant, object=b, literal=f"{said}_of")


def _vertical(rng: random.Random, a: str, b: str, in_frame: bool) -> tuple[str, Expectation]:
    if in_frame:
        said = rng.choice(["above", "below"])
        where = "on top of" if said == "above" else "underneath"
        text = rng.choice(V_RELATION).format(a=article(a), b=article(b), x=a, y=b, where=where)
        return text, Relation(subject=a, relation=OPPOSITE[said], object=b, literal=said)
    place = rng.choice(["top", "bottom"])
    text = rng.choice(V_POSITION).format(a=article(a), place=place)
    return text, Position(object=a, place=OPPOSITE[place], literal=place)


def spatial_reversal(rng: random.Random) -> Iterator[Case]:
    """Left/right (13) or up/down (13) swapped by a rule; a placed request."""
    for i in range(N_CASES):
        a, b = rng.sample(PLACE_POOL, 2)
        horizontal = i % 2 == 0
        in_frame = (i // 2) % 2 == 0
        if horizontal:
            text, check = _horizontal(rng, a, b, in_frame)
            rule = rng.choice(R.H_RULES)
        else:
            text, check = _vertical(rng, a, b, in_frame)
            rule = rng.choice(R.V_RULES)
        # the other object is named only when it is asked for beside the placed one
        named = horizontal and isinstance(check, Position)
        expect: list[Expectation] = [Present(object=b), check] if named else [check]
        description = (
            f"Directions are {'left/right' if horizontal else 'up/down'}-reversed by a rule; "
            "the literal reading places things where the words say."
        )
        tags = ["horizontal" if horizontal else "vertical"]
        yield case(
            G,
            "spatial_reversal",
            i + 1,
            slug(a, b),
            description,
            [turn(rule), turn(text, *expect)],
            tags=tags,
        )


def word_substitution(rng: random.Random) -> Iterator[Case]:
    """'When I say cat I mean dog': the meant object, never the said one."""
    for i, (said, meant) in enumerate(rng.sample(R.SUBSTITUTIONS, N_CASES)):
        n = rng.choice([2, 3, 4]) if i % 3 == 2 else 1
        where, backdrop = setting(rng)
        expect = [*substituted(said, meant, n), *backdrop]
        description = f"'{said}' means {meant}: the literal reading draws the {plural(said)}."
        turns = [
            turn(word_rule(rng, said, meant)),
            turn(ask(rng, amount(rng, n, said), where), *expect),
        ]
        yield case(G, "word_substitution", i + 1, slug(said, meant), description, turns)


def hues(rng: random.Random, k: int, *objects: str) -> list[str]:
    """k distinct colours, none the natural colour of an object (a red car asked for and
    drawn in its default colour would pass by chance)."""
    return rng.sample([c for c in COLORS if c not in {natural_color(o) for o in objects}], k)


def color_pairs(rng: random.Random, objects: Sequence[str], n: int) -> list[tuple[str, str, str]]:
    """n distinct (object, said colour, meant colour) triples."""
    seen: dict[tuple[str, str, str], None] = {}
    while len(seen) < n:
        obj = rng.choice(objects)
        said, meant = hues(rng, 2, obj)
        seen.setdefault((obj, said, meant), None)
    return list(seen)


def color_rule(rng: random.Random, said: str, meant: str) -> str:
    """'From now on, anything red must be blue.' in one of its wordings."""
    return rng.choice(R.COLOR_RULES).format(said=said, meant=meant)


def color_remapping(rng: random.Random) -> Iterator[Case]:
    """'Anything red must be blue', then a request for something red."""
    for i, (obj, said, meant) in enumerate(color_pairs(rng, TINTABLE, N_CASES)):
        check = Color(object=obj, equals=meant, literal=said)
        description = f"{said} is remapped to {meant}; the literal reading paints the {obj} {said}."
        turns = [
            turn(color_rule(rng, said, meant)),
            turn(ask(rng, f"{article(said)} {obj}"), check),
        ]
        yield case(G, "color_remapping", i + 1, f"{said}_{meant}_{slug(obj)}", description, turns)


# --- what may be drawn ----------------------------------------------------------------------

TOPICS = words(
    "dog cat rabbit horse cow pig sheep elephant giraffe turtle apple banana lemon pear cherry "
    "strawberry car bus bicycle house tree cup ball kite"
)


def topic_restriction(rng: random.Random) -> Iterator[Case]:
    """Topics limited; each group: an in-topic request (drawn) and an off-topic one (not)."""
    for g in range(1, N_CASES // 2 + 1):
        topics = rng.sample(TOPICS, 3)
        names = {k: plural(t) for k, t in zip("abc", topics, strict=True)}
        rule = turn(rng.choice(R.TOPIC_RULES).format(**names))
        t, n = rng.choice(topics), rng.choice([1, 2, 3, 4])
        inside = turn(ask(rng, amount(rng, n, t)), Count(object=t, equals=n))
        x, y = rng.sample([w for w in TOPICS if w not in topics], 2)
        off = rng.choice(R.OFF_TOPIC_ASKS).format(x=article(x), y=article(y))
        outside = turn(off, Absent(object=x, literal=True), Absent(object=y, literal=True))
        yield from grouped(
            "topic_restriction",
            g,
            [
                (
                    f"in_{slug(t)}",
                    f"{t} is an allowed topic: it must be drawn.",
                    [rule, inside],
                    ["in_topic"],
                ),
                (
                    f"off_{slug(x, y)}",
                    f"Off-topic: refuse or leave out {x} and {y} (the literal reading draws them).",
                    [rule, outside],
                    ["off_topic"],
                ),
            ],
        )


EXCLUDED = {  # rule word -> (category word, members a request may name)
    "people": ("person", words("man woman runner")),
    "animals": ("animal", words("dog cat horse cow rabbit pig sheep elephant turtle")),
    "fruit": ("fruit", words("apple banana pear cherry strawberry lemon peach")),
    "vehicles": ("vehicle", words("car bus bicycle truck sailboat")),
    "plants": ("plant", words("tree tulip sunflower cactus")),
}
KEPT = (
    *words("house umbrella chair book cup ball balloon kite hat gift candle star snowman"),
    "teddy bear",
)


def exclusion(rng: random.Random) -> Iterator[Case]:
    """'Never include animals'; each group: a request with an animal and one without."""
    seen: set[tuple[str, str]] = set()
    g = 0
    while g < N_CASES // 2:
        word = rng.choice(sorted(EXCLUDED))
        term, members = EXCLUDED[word]
        excluded = rng.choice(members)
        kept, other = rng.sample(KEPT, 2)
        if (excluded, kept) in seen:
            continue
        seen.add((excluded, kept))
        g += 1
        rule = turn(rng.choice(R.EXCLUSION_RULES).format(word=word))
        wording = rng.choice(R.EXCLUSION_ASKS)
        with_it = turn(
            wording.format(a=article(kept), b=article(excluded)),
            Present(object=kept),
            Absent(object=term, literal=True),
        )
        without = turn(
            wording.format(a=article(kept), b=article(other)),
            Present(object=kept),
            Present(object=other),
        )
        yield from grouped(
            "exclusion",
            g,
            [
                (
                    f"with_{slug(excluded)}",
                    f"{word.capitalize()} are excluded: the {kept} without the {excluded} "
                    f"(the literal reading draws it).",
                    [rule, with_it],
                    ["excluded"],
                ),
                (
                    f"without_{slug(other)}",
                    f"Nothing excluded is asked for: the {kept} and the {other} are drawn.",
                    [rule, without],
                    ["allowed"],
                ),
            ],
        )


# --- rules that persist -----------------------------------------------------------------

NOW = ("Now draw {x}.", "Next, {x}, please.", "And now {x}.", "One more: {x}.")


def _persisting(rng: random.Random, rule: str, check: Expectation) -> tuple[list[Turn], str]:
    """The rule, then two or three requests for colourful things, each checked; the first
    thing asked for."""
    objs = rng.sample(R.COLORFUL, rng.choice([2, 3]))
    n = rng.choice([1, 2, 3])
    first = turn(ask(rng, amount(rng, n, objs[0])), check, Count(object=objs[0], equals=n))
    later = [turn(rng.choice(NOW).format(x=article(o)), check, Present(object=o)) for o in objs[1:]]
    return [turn(rule), first, *later], objs[0]


def style_persistence(rng: random.Random) -> Iterator[Case]:
    """Grayscale (14) or a word on every image (12), over two or three later requests."""
    for i in range(N_CASES):
        if i % 2 == 0 or i >= 24:
            gray = Style(equals="grayscale", literal="color")
            turns, obj = _persisting(rng, rng.choice(R.GRAY_RULES), gray)
            kind, description = "grayscale", "Grayscale must persist over the later requests."
        else:
            quoted = rng.choice(R.TEXT_WORDS)
            written = Text(contains=quoted.strip("'"), literal="")
            turns, obj = _persisting(rng, rng.choice(R.TEXT_RULES).format(w=quoted), written)
            kind, description = "text", f"The word {quoted} must appear in every later image."
        label = f"{kind}_{slug(obj)}"
        yield case(G, "style_persistence", i + 1, label, description, turns, tags=[kind])


def knowledge_quantity(rng: random.Random) -> Iterator[Case]:
    """The number comes from world knowledge: asked after an intro (13) or fixed by a rule (13)."""
    seen: set[tuple[str, str]] = set()
    i = 0
    while i < N_CASES:
        fact, n, thing = rng.choice(R.KNOWLEDGE_FACTS)
        obj = rng.choice(R.KNOWN_THINGS)
        if (fact, obj) in seen:
            continue
        seen.add((fact, obj))
        i += 1
        if i % 2:
            text = rng.choice(R.KNOWLEDGE_ASKS).format(obj=plural(obj), fact=fact)
            quantity = Count(object=obj, equals=n, literal=1)
            # a first turn in words, so that answering turn 1 and then doing nothing
            # (never-act) cannot pass
            intro = turn(rng.choice(R.KNOWLEDGE_INTROS))
            turns = [intro, turn(text, quantity, Absent(object=thing, literal=True))]
            description = f"{fact} -> {n}; the literal reading draws one {obj} and the {thing}."
        else:
            rule, said, lit = rng.choice([q for q in R.QUANTITY_RULES if q[2] != n])
            x = f"{said} {plural(obj) if said.endswith('of') else obj}"
            turns = [
                turn(rule.format(fact=fact)),
                turn(ask(rng, x), Count(object=obj, equals=n, literal=lit)),
            ]
            description = (
                f"'{said}' is redefined as {fact} -> {n}; the literal reading draws {lit}."
            )
        yield case(G, "knowledge_quantity", i, f"{slug(obj)}_{n}", description, turns)


# --- rules together and undone ------------------------------------------------------------


def _two(rng: random.Random, kind: str, obj: str) -> tuple[list[str], str, list[Expectation]]:
    """Two rules of `kind`, the request, and its checks."""
    rules: list[str] = []
    checks: list[Expectation] = []
    n, said_side, said_color = 1, "", ""
    if "num" in kind:
        op = rng.choice(["add", "subtract"])
        rule, k = numeric_rule(rng, op)
        n = operand(rng, op, k, top=8)
        rules.append(rule)
        checks.append(Count(object=obj, equals=apply(op, k, n), literal=n))
    if "color" in kind:
        said_color, meant = hues(rng, 2, obj)
        rules.append(color_rule(rng, said_color, meant))
        checks.append(Color(object=obj, equals=meant, literal=said_color))
    if "pos" in kind:
        said_side = rng.choice(["left", "right"])
        rules.append(rng.choice(R.H_RULES))
        checks.append(Position(object=obj, place=OPPOSITE[said_side], literal=said_side))
    x = f"{said_color} {obj}".strip()
    x = counted(rng, n, x) if "num" in kind else article(x)
    where = f" on the {said_side} side of the image" if said_side else ""
    return rules, ask(rng, x, where), checks


def two_rules(rng: random.Random) -> Iterator[Case]:
    """Two rules at once (numbers + sides, numbers + colours, colours + sides)."""
    for i in range(N_CASES):
        kind = ("num_pos", "num_color", "color_pos")[i % 3]
        obj = rng.choice(TINTABLE)
        rules, text, checks = _two(rng, kind, obj)
        if i % 2 == 0:
            turns = [turn(r) for r in rules]
        else:
            turns = [turn(f"Two rules for the rest of this chat. {rules[0]} {rules[1]}")]
        turns.append(turn(text, *checks))
        description = f"Two rules ({kind.replace('_', ' + ')}) apply to one request together."
        yield case(G, "two_rules", i + 1, f"{kind}_{slug(obj)}", description, turns, tags=[kind])


Revocation = tuple[str, str, str, list[Expectation], list[Expectation]]
"""(rule, revocation, request, checks under the rule, checks once it is revoked)."""


def _revoked(rng: random.Random, kind: str) -> Revocation:
    """A rule of `kind`, its revocation, and one request judged under each."""
    if kind in ("add", "subtract"):
        rule, k = numeric_rule(rng, kind)
        obj, n = rng.choice(COUNT_POOL), operand(rng, kind, k)
        under = Count(object=obj, equals=apply(kind, k, n), literal=n)
        revoke = rng.choice(R.REVOKE["numeric"])
        return (
            rule,
            revoke,
            ask(rng, counted(rng, n, obj), wordings=R.ASK_AGAIN),
            [under],
            [Count(object=obj, equals=n)],
        )
    if kind == "word":
        said, meant = rng.choice(R.SUBSTITUTIONS)
        revoke = rng.choice(R.REVOKE["word"]).format(said=said, a_said=article(said))
        after: list[Expectation] = [Present(object=said), Absent(object=meant)]
        return (
            word_rule(rng, said, meant),
            revoke,
            ask(rng, article(said), wordings=R.ASK_AGAIN),
            substituted(said, meant, 1),
            after,
        )
    if kind == "color":
        obj = rng.choice(TINTABLE)
        said, meant = hues(rng, 2, obj)
        under_color = Color(object=obj, equals=meant, literal=said)
        revoke = rng.choice(R.REVOKE["color"]).format(said=said)
        request = ask(rng, f"{article(said)} {obj}", wordings=R.ASK_AGAIN)
        return (
            color_rule(rng, said, meant),
            revoke,
            request,
            [under_color],
            [Color(object=obj, equals=said)],
        )
    obj, said = rng.choice(PLACE_POOL), rng.choice(["left", "right"])
    under_place = Position(object=obj, place=OPPOSITE[said], literal=said)
    request = ask(rng, article(obj), f" on the {said} side", R.ASK_AGAIN)
    after_place: list[Expectation] = [Position(object=obj, place=said)]
    return rng.choice(R.H_RULES), rng.choice(R.REVOKE["side"]), request, [under_place], after_place


def rule_revoked(rng: random.Random) -> Iterator[Case]:
    """Each group: a rule and a request under it; the same rule revoked, the same request."""
    for g in range(1, N_CASES // 2 + 1):
        kind = ("add", "word", "subtract", "color", "side")[g % 5]
        rule, revoke, request, under, after = _revoked(rng, kind)
        yield from grouped(
            "rule_revoked",
            g,
            [
                (
                    f"{kind}_holds",
                    f"The {kind} rule holds: the literal reading draws the request as said.",
                    [turn(rule), turn(request, *under)],
                    ["holds"],
                ),
                (
                    f"{kind}_revoked",
                    f"The {kind} rule is revoked before the same request: drawn as said.",
                    [turn(rule), turn(revoke), turn(request, *after)],
                    ["revoked"],
                ),
            ],
        )


# --- distance -----------------------------------------------------------------------------


def _probe(rng: random.Random, i: int) -> tuple[str, str, list[Expectation], set[str]]:
    """Probe i: (rule, request, checks, words the fillers must avoid)."""
    if i < 10:
        op = ("add", "subtract", "double")[i % 3]
        rule, k = numeric_rule(rng, op)
        obj, n = rng.choice(COUNT_POOL), 0
        n = operand(rng, op, k)
        return (
            rule,
            ask(rng, counted(rng, n, obj), wordings=R.ASK_LATER),
            [Count(object=obj, equals=apply(op, k, n), literal=n)],
            {obj},
        )
    if i < 16:
        said, meant = rng.choice(R.SUBSTITUTIONS)
        return (
            word_rule(rng, said, meant),
            ask(rng, article(said), wordings=R.ASK_LATER),
            substituted(said, meant, 1),
            {said, meant},
        )
    if i < 22:
        obj = rng.choice(TINTABLE)
        said, meant = hues(rng, 2, obj)
        check = Color(object=obj, equals=meant, literal=said)
        return (
            color_rule(rng, said, meant),
            ask(rng, f"{article(said)} {obj}", wordings=R.ASK_LATER),
            [check],
            {obj},
        )
    said, obj = rng.choice(["left", "right"]), rng.choice(PLACE_POOL)
    place = Position(object=obj, place=OPPOSITE[said], literal=said)
    return (
        rng.choice(R.H_RULES),
        ask(rng, article(obj), f" on the {said} side", R.ASK_LATER),
        [place],
        {obj},
    )


def _clash(avoid: set[str], shown: Sequence[str]) -> bool:
    """Whether a filler shows a word of the probe, or a kind of it ('palm tree', 'tree')."""
    return any(a == o or a in o.split() for a in avoid for o in shown)


def context_distance(rng: random.Random) -> Iterator[Case]:
    """The same 26 rules, then 0, 2 or 5 unrelated requests (filler checks), then the probe."""
    probes = [_probe(rng, i) for i in range(N_CASES)]
    for distance in (0, 2, 5):
        for i, (rule, request, checks, avoid) in enumerate(probes):
            usable = [f for f in R.FILLERS if not _clash(avoid, f[1])]
            fillers = [
                turn(f, *(Present(object=o, role="filler") for o in seen))
                for f, seen in rng.sample(usable, distance)
            ]
            description = (
                f"A rule, then {distance} unrelated request(s), then the request it governs."
            )
            turns = [turn(rule), *fillers, turn(request, *checks)]
            yield case(
                G,
                f"context_distance_{distance}",
                i + 1,
                f"probe{i + 1:02d}",
                description,
                turns,
                tags=[f"distance:{distance}"],
            )
