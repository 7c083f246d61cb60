"""Global instruction adherence, continued: rules that conflict, have exceptions, last
long, or need knowledge. The design (literal readings, groups) is the one stated in
`global_instruction`.

* conflicting_rules: a rule, then one that overrides it; the later one wins. The
  literal reading is the said value (a colour or number named in the request), or the
  first rule's value when the request names none.
* rule_exception: a general rule with an exception; each group holds the excepted
  request (drawn as said) and a non-excepted one (the rule applies).
* long_rule: one rule, then 10 to 12 simple requests, each of which the rule governs.
* knowledge_rule: a word stands for a thing named by world knowledge ("the largest land
  animal"); the literal reading draws the word.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

from uniprobe.cases.checks import Color, Count, Expectation, Position, Style, Text
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
from uniprobe.cases.generate.global_instruction import (
    COUNT_POOL,
    N_CASES,
    PLACE_POOL,
    G,
    amount,
    apply,
    ask,
    color_rule,
    counted,
    grouped,
    hues,
    numeric_rule,
    operand,
    substituted,
    word_rule,
)
from uniprobe.cases.schema import Case, Turn
from uniprobe.scenes.render import natural_color
from uniprobe.scenes.vocabulary import plural

__all__ = ["conflicting_rules", "knowledge_rule", "long_rule", "rule_exception"]


# --- conflicting rules ------------------------------------------------------------------


def _conflict(rng: random.Random, kind: str) -> tuple[str, str, Turn, str]:
    """(first rule, overriding rule, the request, a label) of one kind."""
    first_rule, second_rule = rng.choice(R.OVERRIDES[kind])
    obj = rng.choice(TINTABLE)
    if kind == "color":
        said, first, meant = hues(rng, 3, obj)
        check: list[Expectation] = [Color(object=obj, equals=meant, literal=said)]
        request = ask(rng, f"{article(said)} {obj}")
    elif kind == "global":
        said, first, meant = "", *hues(rng, 2, obj)
        check = [Color(object=obj, equals=meant, literal=first)]
        request = ask(rng, article(obj))
    elif kind == "numeric":
        k1, k2 = rng.choice([1, 2, 3]), rng.choice([1, 2])
        n = operand(rng, "subtract", k2)
        said, first, meant = str(n), str(n + k1), str(n - k2)
        check = [Count(object=obj, equals=n - k2, literal=n)]
        request = ask(rng, counted(rng, n, obj))
        return (
            first_rule.format(k1=k1),
            second_rule.format(k1=k1, k2=k2),
            turn(request, *check),
            f"sub{k2}_{slug(obj)}",
        )
    elif kind == "word":
        said, first, meant = rng.sample(PLACE_POOL[:13], 3)
        obj = said
        check = substituted(said, meant, 1)
        request = ask(rng, article(said))
    else:
        first, meant = rng.sample(["left", "right"], 2)
        said = ""
        check = [Position(object=obj, place=meant, literal=first)]
        request = ask(rng, article(obj))
    fields = {"said": said, "first": first, "meant": meant, "side": first}
    return (
        first_rule.format(**fields),
        second_rule.format(**fields),
        turn(request, *check),
        f"{meant}_{slug(obj)}",
    )


def conflicting_rules(rng: random.Random) -> Iterator[Case]:
    """A rule, then a later rule that overrides it (said outright or implied), a request."""
    seen: set[str] = set()
    i = 0
    while i < N_CASES:
        kind = ("color", "global", "numeric", "word", "side")[i % 5]
        first, second, request, label = _conflict(rng, kind)
        key = repr((first, second, request))
        if key in seen:
            continue
        seen.add(key)
        i += 1
        turns = [turn(first), turn(second), request]
        description = f"Two {kind} rules conflict; the later one overrides the first."
        yield case(G, "conflicting_rules", i, f"{kind}_{label}", description, turns, tags=[kind])


# --- exceptions --------------------------------------------------------------------------

CATEGORIES = {
    "animals": words("dog cat rabbit horse cow pig sheep"),
    "fruit": words("apple pear banana cherry strawberry"),
    "vehicles": words("car bus truck bicycle"),
}
OTHERS = words("cup ball balloon star kite hat book gift")
"""Objects of no category above: the non-excepted member of a group."""


def _exception_words(rng: random.Random, pool: tuple[str, ...]) -> tuple[str, str, str]:
    """(exception phrase, an excepted object, a non-excepted object)."""
    if pool is TINTABLE or rng.random() < 0.5:
        excepted, other = rng.sample(pool, 2)
        return plural(excepted), excepted, other
    category = rng.choice(sorted(CATEGORIES))
    return category, rng.choice(CATEGORIES[category]), rng.choice(OTHERS)


def _exception(rng: random.Random, kind: str) -> tuple[str, Turn, Turn, str, str]:
    """(rule, excepted request, non-excepted request, excepted, other) of one kind."""
    pool = TINTABLE if kind == "color" else COUNT_POOL if kind != "side" else PLACE_POOL
    exc, excepted, other = _exception_words(rng, pool)
    wording = rng.choice(R.EXCEPTION_RULES[kind])
    if kind in ("double", "add"):
        op = kind
        k = 2 if op == "double" else rng.choice([1, 2, 3])
        n = operand(rng, op, k)
        rule = wording.format(k=k, exc=exc)
        a = turn(ask(rng, counted(rng, n, excepted)), Count(object=excepted, equals=n))
        b_check = Count(object=other, equals=apply(op, k, n), literal=n)
        b = turn(ask(rng, counted(rng, n, other)), b_check)
    elif kind == "color":
        said, meant = hues(rng, 2, excepted, other)
        rule = wording.format(said=said, meant=meant, exc=exc)
        a = turn(ask(rng, f"{article(said)} {excepted}"), Color(object=excepted, equals=said))
        b_color = Color(object=other, equals=meant, literal=said)
        b = turn(ask(rng, f"{article(said)} {other}"), b_color)
    else:
        said = rng.choice(["left", "right"])
        rule = wording.format(exc=exc)
        where = f" on the {said} side of the image"
        a = turn(ask(rng, article(excepted), where), Position(object=excepted, place=said))
        b_place = Position(object=other, place=OPPOSITE[said], literal=said)
        b = turn(ask(rng, article(other), where), b_place)
    return rule, a, b, excepted, other


def rule_exception(rng: random.Random) -> Iterator[Case]:
    """A rule with an exception; each group: the excepted and a non-excepted request."""
    for g in range(1, N_CASES // 2 + 1):
        kind = ("double", "color", "add", "side")[g % 4]
        rule, a, b, excepted, other = _exception(rng, kind)
        first = turn(rule)
        yield from grouped(
            "rule_exception",
            g,
            [
                (
                    f"excepted_{slug(excepted)}",
                    f"The {excepted} is excepted from the {kind} rule: drawn as asked.",
                    [first, a],
                    ["excepted"],
                ),
                (
                    f"ruled_{slug(other)}",
                    f"The {other} is not excepted: the {kind} rule applies; the literal "
                    "reading draws it as asked.",
                    [first, b],
                    ["ruled"],
                ),
            ],
        )


# --- one rule over many requests ------------------------------------------------------

Request = Callable[[random.Random], Turn]


def _long(rng: random.Random, kind: str) -> tuple[str, Request]:
    """The rule of `kind` and a maker of the requests it governs."""
    if kind in ("add", "subtract", "double"):
        rule, k = numeric_rule(rng, kind)

        def numeric(r: random.Random) -> Turn:
            obj, n = r.choice(COUNT_POOL), operand(r, kind, k)
            return turn(
                ask(r, counted(r, n, obj)), Count(object=obj, equals=apply(kind, k, n), literal=n)
            )

        return rule, numeric
    if kind == "color":
        said, meant = rng.sample(COLORS, 2)
        plain = [o for o in TINTABLE if natural_color(o) not in (said, meant)]

        def colored(r: random.Random) -> Turn:
            obj = r.choice(plain)
            return turn(
                ask(r, f"{article(said)} {obj}"), Color(object=obj, equals=meant, literal=said)
            )

        return color_rule(rng, said, meant), colored
    if kind == "side":

        def placed(r: random.Random) -> Turn:
            obj, said = r.choice(PLACE_POOL), r.choice(["left", "right"])
            check = Position(object=obj, place=OPPOSITE[said], literal=said)
            return turn(ask(r, article(obj), f" on the {said} side"), check)

        return rng.choice(R.H_RULES), placed
    if kind == "word":
        said, meant = rng.choice(R.SUBSTITUTIONS)

        def coded(r: random.Random) -> Turn:
            n = r.choice([1, 1, 2, 3])
            return turn(ask(r, amount(r, n, said)), *substituted(said, meant, n))

        return word_rule(rng, said, meant), coded
    if kind == "gray":

        def gray(r: random.Random) -> Turn:
            obj = r.choice(R.COLORFUL)
            return turn(
                ask(r, article(obj)),
                Style(equals="grayscale", literal="color"),
                Count(object=obj, equals=1),
            )

        return rng.choice(R.GRAY_RULES), gray
    quoted = rng.choice(R.TEXT_WORDS)

    def labelled(r: random.Random) -> Turn:
        obj = r.choice(R.COLORFUL)
        return turn(
            ask(r, article(obj)),
            Text(contains=quoted.strip("'"), literal=""),
            Count(object=obj, equals=1),
        )

    return rng.choice(R.TEXT_RULES).format(w=quoted), labelled


def long_rule(rng: random.Random) -> Iterator[Case]:
    """One rule, then 10 to 12 requests, each governed by it (every check a probe)."""
    kinds = ("add", "color", "side", "word", "gray", "subtract", "text", "double")
    for i in range(N_CASES):
        kind = kinds[i % len(kinds)]
        rule, request = _long(rng, kind)
        turns = [turn(rule), *(request(rng) for _ in range(rng.choice([10, 11, 12])))]
        description = f"A {kind} rule must hold over {len(turns) - 1} later requests."
        yield case(G, "long_rule", i + 1, kind, description, turns, tags=[kind])


# --- knowledge ----------------------------------------------------------------------------


def knowledge_rule(rng: random.Random) -> Iterator[Case]:
    """'Whenever I ask for a cup, draw the largest land animal': the elephant, no cup."""
    for i, (desc, answer) in enumerate(rng.sample(R.KNOWLEDGE, N_CASES)):
        decoy = rng.choice(R.DECOYS)
        rule = rng.choice(R.KNOWLEDGE_RULES).format(decoy=decoy, a_decoy=article(decoy), desc=desc)
        n = rng.choice([1, 1, 2, 3])
        where = rng.choice(["", " on a white background", " for me", " in the middle of the image"])
        request = turn(ask(rng, amount(rng, n, decoy), where), *substituted(decoy, answer, n))
        description = (
            f"'{decoy}' stands for {desc} ({answer}); the literal reading draws the {decoy}."
        )
        yield case(
            G, "knowledge_rule", i + 1, slug(answer, decoy), description, [turn(rule), request]
        )
