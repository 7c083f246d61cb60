"""What the post-generation builders share: word pools, setup checks, and conditions.

A condition case asks for an action that depends on what an image shows. It is written
as a `Clause` (the words of the condition and the check that decides it) inside an
`Action` (a hand-written wording with its branches: add x, add y, or nothing). A clause
may be worded as the negation of its check ("the kite is not green" is decided by
`color: green`): its branches are then swapped, so every wording is decided by one
check on the drawn image.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from uniprobe.cases.checks import Absent, Check, Conditional, Count, Expectation, Present
from uniprobe.cases.generate.common import COLORS, article, words
from uniprobe.scenes.render import natural_color
from uniprobe.scenes.vocabulary import plural

__all__ = [
    "ACTIONS",
    "ADDED",
    "ANIMALS",
    "COUNTED",
    "COUNT_REQUESTS",
    "NUMBER_WORDS",
    "THINGS",
    "Action",
    "Clause",
    "action_for",
    "added_pair",
    "amount",
    "colors",
    "comparison",
    "conditional",
    "lower_first",
    "number",
    "setup",
    "truth",
]

ANIMALS = words(
    "dog cat rabbit duck turtle horse cow pig sheep elephant giraffe penguin camel snail "
    "lion monkey zebra"
)
"""Animals of the scenes: no `bird` (a judge counts ducks and penguins as birds)."""
THINGS = words("car bus bicycle truck sailboat umbrella ball chair book gift hat cake cup")
"""Things of the scenes."""
COUNTED = words(
    "apple fish star balloon car duck cat dog cup ball cookie butterfly turtle rabbit "
    "strawberry mushroom kite snail pear"
)
"""Objects that are counted (small glyphs that stay legible ten at a time)."""
ADDED = words("sun moon star cloud kite balloon house umbrella gift hat rainbow snowman tree")
"""What an action adds to a picture."""

COUNT_REQUESTS = (
    "Draw {amount}.",
    "Please draw {amount}.",
    "Make a picture with {amount} in it.",
    "Can you draw {amount}?",
    "Show me {amount}.",
    "I need a drawing of {amount}.",
)
"""How a number of things is asked for (6 hand-written)."""

NUMBER_WORDS = {
    **{1: "one", 2: "two", 3: "three", 4: "four", 5: "five"},
    **{6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"},
}


def number(rng: random.Random, n: int) -> str:
    """A number from 1 to 10 as a word or a digit (one draw)."""
    return NUMBER_WORDS[n] if rng.random() < 0.5 else str(n)


def amount(rng: random.Random, n: int, word: str) -> str:
    """'three dogs', '2 dogs', 'one dog' (one draw)."""
    return f"{number(rng, n)} {plural(word) if n != 1 else word}"


@cache
def _natural(obj: str) -> str:
    return natural_color(obj)


def colors(rng: random.Random, obj: str, k: int) -> list[str]:
    """k distinct colours (one draw), none the glyph's own: an untinted glyph already
    shows it, and the reference planner reads an untinted glyph as no colour."""
    return rng.sample([c for c in COLORS if c != _natural(obj)], k)


def lower_first(text: str) -> str:
    """'If there is' -> 'if there is' (to follow 'Then,')."""
    return text[0].lower() + text[1:]


def setup(*checks: Check) -> list[Expectation]:
    """The checks with `role: setup`: an earlier image drew what was asked."""
    return [c.model_copy(update={"role": "setup"}) for c in checks]


def truth(value: bool | None) -> list[str]:
    """A case's tag for the value of its condition on the reference canvas."""
    return [] if value is None else ["holds" if value else "fails"]


def added_pair(rng: random.Random, *used: str) -> tuple[str, str]:
    """Two things an action may add, neither already in the dialogue."""
    x, y = rng.sample([w for w in ADDED if w not in used], 2)
    return x, y


# --- count comparisons --------------------------------------------------------------------


def comparison(
    rng: random.Random, obj: str, how: str, k: int, *, turn: int | None = 1, you: bool = False
) -> tuple[str, Count]:
    """'there are more than three apples' and its check; `how`: more, least, fewer, most,
    exactly. With `you`, worded as what the model drew ('you drew more than three apples')."""
    n = number(rng, k)
    noun = obj if k == 1 else plural(obj)
    bound = {
        "more": (f"more than {n} {obj if k == 1 else noun}", {"at_least": k + 1}),
        "least": (f"at least {n} {noun}", {"at_least": k}),
        "fewer": (f"fewer than {n} {noun}", {"at_most": k - 1}),
        "most": (f"at most {n} {noun}", {"at_most": k}),
        "exactly": (f"exactly {n} {noun}", {"equals": k}),
    }
    phrase, limits = bound[how]
    singular = k == 1 and how != "fewer"
    verb = "you drew" if you else f"there {'is' if singular else 'are'}"
    text = f"{verb} {phrase}"
    return text, Count(object=obj, turn=turn, **limits)


# --- conditions and their wordings ----------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """The words of a condition and the check that decides it on an image."""

    text: str
    """'there is a dog in the picture' (follows 'if')."""
    when: Check
    """The check that decides it."""
    negated: bool = False
    """True when the words hold exactly when `when` fails ('the kite is not green')."""


@dataclass(frozen=True)
class Action:
    """A hand-written wording of a conditional request: {cond}, {x} and {y} filled in."""

    text: str
    """The wording: 'If {cond}, add {x}; otherwise add {y}.'"""
    if_true: str
    """What it adds when the worded condition holds: 'x', 'y' or '' (nothing)."""
    if_false: str
    """What it adds when it does not."""
    literal_true: bool = True
    """The branch the literal reading (acting regardless) takes: the worded condition
    holding ('if ...') or not ('unless ...')."""
    negatable: bool = True
    """False when a negative condition would read badly in it ('unless there is no',
    'if you did not ... If not')."""


ACTIONS = (
    Action("If {cond}, add {x}; otherwise add {y}.", "x", "y"),
    Action("If {cond}, put {x} in the picture. If not, put {y} in it.", "x", "y", negatable=False),
    Action("Add {x} if {cond}; if not, add {y} instead.", "x", "y", negatable=False),
    Action("Look at the picture: if {cond}, draw {x} in it, otherwise draw {y}.", "x", "y"),
    Action("Check whether {cond}. If so, add {x}; if not, add {y}.", "x", "y", negatable=False),
    Action("In case {cond}, add {x}; in any other case, add {y}.", "x", "y"),
    Action("If {cond}, add {x}.", "x", ""),
    Action("Add {x}, but only if {cond}.", "x", ""),
    Action("Only if {cond}, draw {x} as well.", "x", ""),
    Action("If {cond}, I'd like {x} added to the picture.", "x", ""),
    Action("Unless {cond}, add {x}.", "", "x", literal_true=False, negatable=False),
    Action("Add {x} unless {cond}.", "", "x", literal_true=False, negatable=False),
    Action(
        "Put {x} in the picture, except if {cond}.", "", "x", literal_true=False, negatable=False
    ),
)
"""How a conditional request is worded (13 hand-written frames)."""


NEGATIVE = re.compile(r"\b(?:no|not|but)\b")
"""Words that make a condition negative in English (whatever check decides it)."""


def action_for(rng: random.Random, clauses: Sequence[Clause]) -> Action:
    """A wording for these clauses (one draw): no 'unless' or 'if not' around a negative."""
    negative = any(NEGATIVE.search(c.text) for c in clauses)
    return rng.choice([a for a in ACTIONS if a.negatable or not negative])


def _branch(adds: str, x: str, y: str, used: Sequence[str]) -> tuple[Check, ...]:
    """What one branch expects: the thing it adds present, the other action object absent."""
    named = {"x": x, "y": y}
    out: list[Check] = [Present(object=named[adds])] if adds else []
    out += [Absent(object=named[k]) for k in used if k != adds]
    return tuple(out)


def conditional(
    clause: Clause, action: Action, x: str, y: str, *, assumed: bool | None
) -> tuple[str, Conditional]:
    """The request's words and its conditional (`assumed`: the value of `clause.when`
    the dialogue's words imply, None when they leave it open)."""
    used = [k for k in ("x", "y") if "{" + k + "}" in action.text]
    worded = {
        True: _branch(action.if_true, x, y, used),
        False: _branch(action.if_false, x, y, used),
    }
    holds = not clause.negated  # the worded condition's value when `when` holds
    literal = "then" if action.literal_true == holds else "else"
    cond = Conditional(
        when=clause.when,
        then=worded[holds],
        else_=worded[not holds],
        literal=literal,
        assumed=assumed,
    )
    text = action.text.format(cond=clause.text, x=article(x), y=article(y))
    return text, cond
