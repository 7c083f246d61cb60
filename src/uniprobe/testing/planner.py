"""A fake planner: the mind that answers `plan(...)`'s planner prompt on the fake server.

`FakePlanner` reads only the dialogue text of the prompt it is sent (never a case, a
check or a suite) and does what a careful planner does with the global-instruction
rules people give an image model, in the phrasings it has learned:

* numbers: "add 3 to every number", "draw 2 fewer than I say", "double it" (and their
  exceptions: "except for cats"): each number just before an object word is replaced by
  the result, in digits ("2 dolphins" -> "5 dolphins");
* directions: "swap left and right", "mirror my directions", "my top is your bottom":
  the side or height words of a request are reversed; "put everything on the left side":
  every request goes there;
* words and colours: "when I say cat, I mean dog", "anything red must be blue",
  "make everything green": the said object or colour is replaced, the colour added;
* what may be drawn: "never include animals" (objects of the category are left out),
  "only dogs, cats and horses" (off-topic requests are declined: action `none`);
* style: "black and white only", "write the word 'HELLO' in every image": said in the
  instruction (the literal painter draws neither);
* retractions ("forget the number rule", "'cat' means a cat again") and overrides (a
  later rule of a kind replaces the earlier one).

Its world knowledge ("a spider has legs" -> 8, "the largest land animal" -> elephant) is
the fact tables of the case generator (`cases.generate.rules.KNOWLEDGE_FACTS` and
`KNOWLEDGE`): facts a model knows, not what any case checks.

A message that sets a rule is answered with action `none`. Any request is written out
with every learned rule applied; what it does not understand it passes through unchanged
(an honest, partial planner). A request that works on the picture ("add", "remove",
"change", "this image") with a canvas attached is an `edit`; conditions on what the
canvas shows are not resolved. Any other prompt (a probe) goes to the mind given as
`otherwise`, else gets "I can only plan."
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from uniprobe.backends.plan import CANVAS_ATTACHED, PLANNER_PROMPT
from uniprobe.cases.generate.rules import KNOWLEDGE, KNOWLEDGE_FACTS
from uniprobe.scenes.colors import PALETTE
from uniprobe.scenes.vocabulary import Term, plural, try_resolve
from uniprobe.testing._mind import Mind, Said
from uniprobe.testing.painter import read

__all__ = ["FakePlanner", "Rules", "Span", "objects_in"]

_HEAD = PLANNER_PROMPT.split("\n", 1)[0]
_USER = re.compile(r"^Turn \d+\. User(?: \([^)]*\))?: (.*)$", re.MULTILINE)
_COLORS = frozenset({*PALETTE, "grey"})
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*|\d+")
_REVOKE = re.compile(
    r"\b(forget|cancel|cancelled|stop|no more|is over|again|literally|mean what they say|"
    r"as they are|exactly as)\b"
)
_EDIT = re.compile(
    r"\b(add|remove|delete|erase|change|replace|move|recolou?r|this (?:image|picture|photo))\b"
)


@dataclass(frozen=True)
class Span:
    """An object word (or words) of a message: where it is, which concept, its phrase."""

    start: int
    end: int
    term: Term
    phrase: str

    @property
    def plural(self) -> bool:
        """Whether the phrase is a plural form."""
        return self.phrase != self.term.name and self.phrase == plural(self.term.name)


def objects_in(text: str) -> list[Span]:
    """The object words of `text` (lower case), longest match first, backdrops left out."""
    tokens = list(_WORD.finditer(text))
    spans: list[Span] = []
    i = 0
    while i < len(tokens):
        if tokens[i].group() in _COLORS and _resolves(text, tokens, i + 1):
            i += 1
            continue
        for n in (3, 2, 1):
            if i + n > len(tokens) or tokens[i].group() in ("a", "an", "the"):
                continue
            phrase = text[tokens[i].start() : tokens[i + n - 1].end()]
            term = try_resolve(phrase)
            if term is not None and term.render != "backdrop":
                spans.append(Span(tokens[i].start(), tokens[i + n - 1].end(), term, phrase))
                i += n
                break
        else:
            i += 1
    return spans


def _resolves(text: str, tokens: Sequence[re.Match[str]], i: int) -> bool:
    """Whether an object word starts at token i (so a colour word before it is a tint)."""
    return any(
        i + n <= len(tokens)
        and try_resolve(text[tokens[i].start() : tokens[i + n - 1].end()]) is not None
        for n in (1, 2, 3)
    )


def _lead(phrase: str) -> str:
    """The longest run of leading words of `phrase` that names something ('dog from now
    on' -> 'dog'), else the phrase."""
    ws = phrase.split()
    for n in (3, 2, 1):
        if len(ws) >= n and try_resolve(" ".join(ws[:n])) is not None:
            return " ".join(ws[:n])
    return phrase


def _concepts(word: str) -> frozenset[str]:
    term = try_resolve(word.strip())
    return term.concepts if term is not None else frozenset()


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _number(token: str) -> int | None:
    return int(token) if token.isdigit() else _NUMBER_WORDS.get(token)


def _first(patterns: Sequence[str], text: str) -> re.Match[str] | None:
    """The earliest match of any pattern in `text`."""
    found = [m for p in patterns if (m := re.search(p, text))]
    return min(found, key=lambda m: m.start()) if found else None


_ADD = (r"\badd (\d+)", r"increase it by (\d+)")
_SUB = (r"\bsubtract (\d+)", r"take (\d+) away", r"reduce it by (\d+)")
_MORE_FEWER = (r"(\d+) more\b", r"(\d+) (?:fewer|less)\b")
_DOUBLE = (r"\bdoubled?\b", r"\btwice\b", r"multiply [a-z ]*by two")
_EXCEPT = (
    r"except when it counts ([a-z ]+?)\s*[.,;:]",
    r"except (?:for )?([a-z ]+?)\s*[.,;:]",
    r"unless i am asking for ([a-z ]+?)\s*[.,;:]",
    r"([a-z]+) are the exception",
    r"but not for ([a-z ]+?)\s*[.,;:]",
    r"only ([a-z]+) keep their",
    r"one of the ([a-z]+)",
)
_PAIRS = (
    r"when i say '?([a-z ]+?)'?, i mean ([a-z ]+)",
    r"the word '([a-z ]+)' means ([a-z ]+)",
    r"'([a-z ]+)' (?:stands for|is how i say|now means|means) ([a-z ]+)",
    r"whenever i ask for ([a-z ]+?) from now on, draw ([a-z ]+?) instead",
    r"replace every ([a-z ]+?) i ask for with ([a-z ]+)",
    r"read ([a-z]+) as ([a-z]+)",
    r"([a-z]+) are ([a-z]+): draw those",
    r"([a-z]+) = ([a-z]+)",
    r"any ([a-z ]+?) in my messages should be drawn as ([a-z ]+)",
    r"anything ([a-z]+) must be ([a-z]+)",
    r"something ([a-z]+), (?:make|paint) it ([a-z]+)",
    r"([a-z]+) is replaced by ([a-z]+)",
    r"whenever i say ([a-z]+), paint it ([a-z]+)",
    r"no ([a-z]+) any more; use ([a-z]+)",
    r"swap ([a-z]+) for ([a-z]+)",
    r"([a-z]+) (?:just )?means ([a-z ]+)",
    r"my ([a-z]+) is your ([a-z]+)",
    r"call ([a-z]+) from now on should come out ([a-z]+)",
    r"([a-z]+) becomes ([a-z]+)",
    r"paint anything ([a-z]+) ([a-z]+)",
    r"everything i call ([a-z]+) ([a-z]+)",
    r"([a-z]+) is ([a-z]+) again",
)
_GLOBAL_COLOR = (
    r"make everything(?: you draw)? ([a-z]+)",
    r"paint every object ([a-z]+)",
    r"all objects in your images must be ([a-z]+)",
    r"every object should be ([a-z]+)",
)
_EXCLUDE = (
    r"never include any ([a-z]+)",
    r"no ([a-z]+), ever",
    r"leave out ([a-z]+)",
    r"must not show ([a-z]+)",
    r"keep ([a-z]+) out",
    r"any ([a-z]+) i mention must be left out",
    r"^no ([a-z]+) in my images",
    r"scenes without ([a-z]+)",
    r"do not want to see ([a-z]+)",
    r"([a-z]+) never appear",
)
_FIXED_SIDE = (
    r"\b(?:everything|every object|all drawn things|use)\b[a-z ]*? the (left|right) (?:side|half)"
)
_H_SWAP = re.compile(r"\b(swap|opposite|reversed|mirror|as right|your right)\b")
_V_WORDS = re.compile(r"\b(top|above|up and down|upside down|height)\b")
_V_SWAP = re.compile(r"\b(swap|opposite|reversed|flip|as bottom|underneath|goes low)\b")
_QUANTITY_SAID = re.compile(r"(a pair of|a couple of|'one'|a single)")
_AS_MANY = re.compile(r"(?:as many|the same number of) ([a-z ]+?) as (.+)")


def _fact(text: str) -> int | None:
    """The number a fact the planner knows gives ('a spider has legs' -> 8)."""
    return next((n for fact, n, _ in KNOWLEDGE_FACTS if fact in text), None)


def _described(text: str) -> tuple[str, str] | None:
    """A description of a thing the planner knows, in `text`, and the thing."""
    return next(((d, thing) for d, thing in KNOWLEDGE if d.lower() in text), None)


_H_MAP = {"left": "right", "right": "left"}
_V_MAP = {
    "on top of": "underneath",
    "underneath": "on top of",
    "above": "below",
    "below": "above",
    "top": "bottom",
    "bottom": "top",
}


@dataclass
class Rules:
    """The standing rules learned from the dialogue so far (a later rule of a kind
    replaces an earlier one)."""

    numeric: tuple[str, int] | None = None
    numeric_except: frozenset[str] = frozenset()
    h_swap: bool = False
    v_swap: bool = False
    side_except: frozenset[str] = frozenset()
    fixed_side: str | None = None
    words: dict[str, str] = field(default_factory=dict)
    colors: dict[str, str] = field(default_factory=dict)
    color_except: frozenset[str] = frozenset()
    global_color: str | None = None
    excluded: frozenset[str] = frozenset()
    topics: frozenset[str] | None = None
    quantities: dict[str, int] = field(default_factory=dict)
    gray: bool = False
    text: str | None = None

    def learn(self, message: str) -> bool:
        """Learn the rules `message` sets or withdraws; whether it set or withdrew any."""
        learned = False
        for sentence in re.split(r"(?<=[.!])\s+", message.strip()):
            learned = self._sentence(sentence) or learned
        return learned

    def _sentence(self, original: str) -> bool:
        s = original.lower()
        learners: tuple[Callable[[str], bool], ...] = (
            self._quantity,
            self._knowledge,
            self._numeric,
            self._swap,
            self._fixed,
            self._pair,
            self._global_color,
            self._exclusion,
            self._topics,
            self._revoke,
        )
        if any(learn(s) for learn in learners):
            return True
        return self._style(original)

    def _exception(self, s: str) -> frozenset[str]:
        found = _first(_EXCEPT, s)
        return _concepts(found.group(1)) if found else frozenset()

    def _quantity(self, s: str) -> bool:
        said, n = _QUANTITY_SAID.search(s), _fact(s)
        if said is None or n is None or "as many as" not in s:
            return False
        self.quantities[said.group(1).strip("'")] = n
        return True

    def _knowledge(self, s: str) -> bool:
        found = _described(s)
        if found is None:
            return False
        description, thing = found
        at = s.find(description.lower())
        outside = [
            sp
            for sp in objects_in(s)
            if not sp.term.is_category and not at <= sp.start < at + len(description)
        ]
        if not outside:
            return False
        self.words[outside[0].term.name] = thing
        return True

    def _numeric(self, s: str) -> bool:
        if (m := _first(_ADD, s)) is not None:
            self.numeric = ("add", int(m.group(1)))
        elif (m := _first(_SUB, s)) is not None:
            self.numeric = ("subtract", int(m.group(1)))
        elif (m := _first(_MORE_FEWER, s)) is not None:
            more = "more" in m.group(0)
            self.numeric = ("add" if more else "subtract", int(m.group(1)))
        elif _first(_DOUBLE, s) is not None and re.search(r"number|count|many", s):
            self.numeric = ("double", 2)
        else:
            return False
        self.numeric_except = self._exception(s)
        return True

    def _swap(self, s: str) -> bool:
        if _REVOKE.search(s):
            return False
        sides = ("left" in s and "right" in s) or "opposite side" in s or "mirror" in s
        if sides and _H_SWAP.search(s):
            self.h_swap, self.side_except = True, self._exception(s)
            return True
        if _V_WORDS.search(s) and _V_SWAP.search(s):
            self.v_swap = True
            return True
        return False

    def _fixed(self, s: str) -> bool:
        m = re.search(_FIXED_SIDE, s)
        if m is None:
            return False
        self.fixed_side = m.group(1)
        return True

    def _pair(self, s: str) -> bool:
        for pattern in _PAIRS:
            for m in re.finditer(pattern, s):
                said, meant = (re.sub(r"^(?:an?|the) ", "", g.strip()) for g in m.groups())
                if said in _COLORS and meant.split()[:1] and meant.split()[0] in _COLORS:
                    meant = meant.split()[0]
                    self._recolor(said, meant, s)
                    return True
                if self._reword(said, meant):
                    return True
        return False

    def _recolor(self, said: str, meant: str, s: str) -> None:
        if said == meant:
            self.colors.pop(said, None)
        else:
            self.colors = {said: meant}
            self.color_except = self._exception(s)

    def _reword(self, said: str, meant: str) -> bool:
        a, b = try_resolve(_lead(said)), try_resolve(_lead(meant))
        if a is None or b is None or a.is_category or b.is_category:
            return False
        if a.name == b.name:
            self.words.pop(a.name, None)
        else:
            self.words[a.name] = b.name
        return True

    def _global_color(self, s: str) -> bool:
        m = _first(_GLOBAL_COLOR, s)
        if m is None or m.group(1) not in _COLORS:
            return False
        self.global_color = m.group(1)
        return True

    def _exclusion(self, s: str) -> bool:
        m = _first(_EXCLUDE, s)
        if m is None or not (found := _concepts(m.group(1))):
            return False
        self.excluded = self.excluded | found
        return True

    def _topics(self, s: str) -> bool:
        if not re.search(r"\b(only|topics?|subjects?)\b", s):
            return False
        named = frozenset(c for m in read(s).objects for c in _concepts(m.concept))
        if len(named) < 2:
            return False
        self.topics = named
        return True

    def _revoke(self, s: str) -> bool:
        if not _REVOKE.search(s):
            return False
        if re.search(r"\b(numbers?|maths)\b", s):
            self.numeric = None
        elif re.search(r"\b(code|word rule|words)\b", s):
            self.words = {}
        elif re.search(r"\bcolou?rs?\b", s):
            self.colors, self.global_color = {}, None
        elif re.search(r"\b(direction|directions|sides|mirror|left means left)\b", s):
            self.h_swap = self.v_swap = False
            self.fixed_side = None
        else:
            return False
        return True

    def _style(self, original: str) -> bool:
        s = original.lower()
        if re.search(r"black[- ]and[- ]white|grayscale|greyscale|shades of gr[ae]y|no colou?rs", s):
            self.gray = True
            return True
        m = re.search(r"(?:word|text|with) '([^']+)'", original)
        if m is not None:
            self.text = m.group(1)
            return True
        return False

    # --- applying the rules to a request ------------------------------------------------

    def apply(self, request: str) -> tuple[str, str | None]:
        """The request rewritten with every rule applied, and a reason to decline it
        (None: draw it)."""
        text = self._known(self._quantities(self._words(request.strip())))
        text = self._colors(text)
        text = self._numbers(text)
        text, declined = self._allowed(text)
        if declined is not None:
            return text, declined
        text = self._directions(text)
        return self._styled(text), None

    def _quantities(self, text: str) -> str:
        for said, n in self.quantities.items():
            found = re.search(rf"\b{said}( [a-z]+)", text)
            if found is not None:
                thing = _lead(found.group(1).strip())
                text = text.replace(found.group(0), f"{n} {plural(thing)}", 1)
        return text

    def _known(self, text: str) -> str:
        """'as many cups as a spider has legs' -> '8 cups' (the fact's animal not named)."""
        asked = _AS_MANY.search(text.lower())
        if asked is None or (n := _fact(asked.group(2))) is None:
            return text
        return f"Draw {n} {plural(_lead(asked.group(1)))}."

    def _rewrite(self, text: str, edits: list[tuple[int, int, str]]) -> str:
        for start, end, new in sorted(edits, reverse=True):
            text = text[:start] + new + text[end:]
        return text

    def _words(self, text: str) -> str:
        edits = []
        for sp in objects_in(text.lower()):
            meant = self.words.get(sp.term.name)
            if meant is not None:
                edits.append((sp.start, sp.end, plural(meant) if sp.plural else meant))
        text = self._rewrite(text, edits)
        return re.sub(r"\b(a|an) ([a-z])", lambda m: _article(m.group(2)), text)

    def _colors(self, text: str) -> str:
        edits = []
        low = text.lower()
        spans = objects_in(low)
        for m in re.finditer(r"\b[a-z]+\b", low):
            after = next((sp for sp in spans if sp.start > m.start()), None)
            if after is None or low[m.end() : after.start].strip():
                continue
            meant = self.colors.get(m.group())
            if meant is not None and not after.term.concepts & self.color_except:
                edits.append((m.start(), m.end(), meant))
        if self.global_color is not None:
            for sp in spans:
                before = low[: sp.start].split()
                if before and before[-1] in _COLORS:
                    edits.append((sp.start - len(before[-1]) - 1, sp.start - 1, self.global_color))
                else:
                    edits.append((sp.start, sp.start, f"{self.global_color} "))
        return self._rewrite(text, edits)

    def _numbers(self, text: str) -> str:
        if self.numeric is None:
            return text
        op, k = self.numeric
        low = text.lower()
        spans = objects_in(low)
        edits = []
        for m in _WORD.finditer(low):
            n = _number(m.group())
            after = next((sp for sp in spans if sp.start > m.start()), None)
            if n is None or after is None or len(low[m.end() : after.start].split()) > 2:
                continue
            if after.term.concepts & self.numeric_except:
                continue
            want = n + k if op == "add" else n - k if op == "subtract" else 2 * n
            edits.append((m.start(), m.end(), str(want)))
            if want > 1 and not after.plural and not after.term.is_category:
                edits.append((after.start, after.end, plural(after.term.name)))
        return self._rewrite(text, edits)

    def _allowed(self, text: str) -> tuple[str, str | None]:
        reading = read(text)
        keep = [
            m
            for m in reading.objects
            if not _concepts(m.concept) & self.excluded
            and (self.topics is None or _concepts(m.concept) & self.topics)
        ]
        if len(keep) == len(reading.objects):
            return text, None
        if not keep:
            return "", "That is not something you allowed me to draw."
        listed = " and ".join(
            _article(f"{m.color or ''} {m.concept}".strip())
            if m.count == 1
            else f"{m.count} {m.color + ' ' if m.color else ''}{plural(m.concept)}"
            for m in keep
        )
        return f"Draw {listed}.", None

    def _directions(self, text: str) -> str:
        spans = objects_in(text.lower())
        subject = spans[0].term.concepts if spans else frozenset()
        if self.h_swap and not subject & self.side_except:
            text = re.sub(r"\b(left|right)\b", lambda m: _H_MAP[m.group(1)], text)
        if self.v_swap:
            words = "|".join(_V_MAP)
            text = re.sub(rf"\b({words})\b", lambda m: _V_MAP[m.group(1)], text)
        if self.fixed_side is not None:
            side = self.fixed_side
            if re.search(r"\b(left|right)\b", text):
                text = re.sub(r"\b(left|right)\b", side, text)
            else:
                text = text.rstrip(".!?") + f" on the {side} side of the image."
        return text

    def _styled(self, text: str) -> str:
        if self.gray:
            text += " Make the whole image grayscale: black, white and grey only."
        if self.text is not None:
            text += f" Write the word '{self.text}' in the image."
        return text


class FakePlanner:
    """A `Mind` that plans turns for `plan(...)` from the dialogue text alone (see the
    module docstring). Stateless: each prompt carries the whole dialogue.

    Args:
        otherwise: Answers every prompt that is not a planner prompt (a probe's
            question); without it such a prompt gets "I can only plan."
    """

    def __init__(self, otherwise: Mind | None = None) -> None:
        self.otherwise = otherwise

    def answer(
        self, model: str, conversation: Sequence[Said], schema: Mapping[str, Any] | None
    ) -> str:
        """The plan JSON for a planner prompt; anything else goes to `otherwise`."""
        prompt = conversation[-1].text if conversation else ""
        users = _USER.findall(prompt) if prompt.startswith(_HEAD) else []
        if not users:
            if self.otherwise is not None:
                return self.otherwise.answer(model, conversation, schema)
            return "I can only plan."
        rules = Rules()
        for earlier in users[:-1]:
            rules.learn(earlier)
        request = users[-1]
        if rules.learn(request):
            plan = {"action": "none", "instruction": "", "reply": "Understood."}
        else:
            plan = self._plan(rules, request, CANVAS_ATTACHED in prompt)
        return json.dumps(plan)

    def _plan(self, rules: Rules, request: str, has_canvas: bool) -> dict[str, str]:
        instruction, declined = rules.apply(request)
        if declined is not None:
            return {"action": "none", "instruction": "", "reply": declined}
        edit = has_canvas and _EDIT.search(request.lower()) is not None
        action = "edit" if edit else "draw"
        return {"action": action, "instruction": instruction, "reply": "Here it is."}
