"""The literal reading of a turn, drawn whole, and the checks that contradict it.

The **literal reading** of a turn is what a model that follows the words literally
draws (`reference/literal` draws exactly this):

* a check with a `literal:` value contributes its literal variant;
* a conditional with `literal: then|else` contributes that branch, each of its checks
  by its literal variant when it names one (its condition is not drawn);
* `unchanged`/`same_as` checks marked `literal: true` are left out: under the literal
  reading they simply fail;
* every other check (no literal value) is shared by both readings and applies as it
  is, **unless it contradicts a literal value of the turn**: then it is not
  literal-applicable, and the literal reading leaves it out, so the reading is drawn
  whole (that check fails on the literal canvas, as it must).

Two checks **contradict** each other when no canvas satisfies both:

* counts: each presence, absence and count check bounds how many instances of a word
  a scope (the canvas, or one part) shows, and a colour, position or relation check
  needs its objects to exist. When every instance of one word is an instance of
  another (the same word, or a hyponym: cat ⊂ animal) and its scope lies in the
  other's, its lower bound may not exceed the other's upper bound (`count cat … literal:
  0` next to `color: {object: cat}`);
* colours of the same part, or of the same object word (the same instance pick), or of
  a word and every instance of a word that includes it, that differ; any colour other
  than gray, black or white on a grayscale canvas;
* positions of nested words whose places do not overlap (left and right; top_left and
  bottom);
* relations of the same pair that oppose each other (left_of and right_of, or the pair
  swapped with the same relation);
* texts: exact texts that differ, an exact text that lacks a text another check needs,
  or "no text" next to any text;
* styles that differ.

Checks judged on another turn's canvas (`turn:`), counts that `matches` another canvas
and `ask` checks never contradict (the reading cannot know them in advance).
A case should have no contradiction (V2: the literal reading must be drawable whole);
`literal_conflicts` lists each one for `cases validate`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from uniprobe.cases.checks import (
    Absent,
    Check,
    Color,
    Conditional,
    Count,
    Expectation,
    Position,
    Present,
    Relation,
    Style,
    Text,
)
from uniprobe.cases.schema import Case
from uniprobe.scenes.vocabulary import Term, try_resolve

__all__ = ["LiteralItem", "LiteralReading", "contradiction", "literal_conflicts", "literal_reading"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class LiteralItem:
    """One check of a turn as the literal reading applies it."""

    path: Path
    """Where the written check is (`("turns", 1, "expect", 0, "count")`, as `Case.leaves`)."""
    check: Check
    """The check drawn: the literal variant of a check with a literal value, else itself."""
    literal: bool
    """True if it comes from a literal value (a variant or a conditional's literal branch)."""


@dataclass(frozen=True)
class LiteralReading:
    """A turn's literal reading: what is drawn, and what is left out and why."""

    applied: tuple[LiteralItem, ...]
    """The checks the literal reading draws, in the turn's order."""
    ignored: tuple[tuple[LiteralItem, LiteralItem, str], ...]
    """(plain check left out, the literal item it contradicts, why)."""
    contradictions: tuple[tuple[LiteralItem, LiteralItem, str], ...]
    """Two literal values that contradict each other (both stay; a case bug)."""

    @property
    def checks(self) -> list[Check]:
        """The applied checks alone."""
        return [item.check for item in self.applied]


def _items(expectations: Sequence[Expectation], path: Path) -> Iterator[LiteralItem]:
    for i, exp in enumerate(expectations):
        here = (*path, i)
        if isinstance(exp, Conditional):
            if exp.literal is None:
                continue  # decided on the canvas, not by the words
            name = "then" if exp.literal == "then" else "else"
            for j, c in enumerate(exp.branch(exp.literal == "then")):
                variant = c.literal_variant()
                yield LiteralItem((*here, name, j, c.kind), variant or c, literal=True)
            continue
        if exp.literal_negates:
            continue
        variant = exp.literal_variant()
        yield LiteralItem((*here, exp.kind), variant or exp, literal=variant is not None)


def literal_reading(
    expectations: Sequence[Expectation], *, turn: int | None = None, path: Path = ()
) -> LiteralReading:
    """The literal reading of a turn's expectations (see the module docstring).

    `turn` (1-based) names the turn they belong to, so checks judged on another turn's
    canvas are not compared; `path` prefixes the items' paths (e.g. `("turns", 1,
    "expect")`).
    """
    items = list(_items(expectations, path))
    literal = [it for it in items if it.literal]
    applied: list[LiteralItem] = []
    ignored: list[tuple[LiteralItem, LiteralItem, str]] = []
    contradictions: list[tuple[LiteralItem, LiteralItem, str]] = []
    for it in items:
        clash = None
        for lit in literal:
            if lit is it or not (_here(it.check, turn) and _here(lit.check, turn)):
                continue
            why = contradiction(lit.check, it.check)
            if why is None:
                continue
            if not it.literal:
                clash = (it, lit, why)
                break
            if items.index(lit) < items.index(it):
                contradictions.append((lit, it, why))
        if clash is None:
            applied.append(it)
        else:
            ignored.append(clash)
    return LiteralReading(tuple(applied), tuple(ignored), tuple(contradictions))


def literal_conflicts(case: Case) -> list[tuple[int, Path, str]]:
    """(turn 1-based, path of the check, message) for every check of `case` that
    contradicts a literal value of its turn, so the literal reading cannot be drawn whole.

    A plain check is reported as not literal-applicable; two literal values that
    contradict each other are reported at the later one.
    """
    out: list[tuple[int, Path, str]] = []
    for t, spec in enumerate(case.turns):
        reading = literal_reading(spec.expect, turn=t + 1, path=("turns", t, "expect"))
        for plain, lit, why in reading.ignored:
            out.append(
                (
                    t + 1,
                    plain.path,
                    f"{plain.check.kind} check is not literal-applicable: it contradicts the"
                    f" literal value at {_dotted(lit.path)} ({why}); the literal reading"
                    " leaves it out",
                )
            )
        for first, second, why in reading.contradictions:
            out.append(
                (
                    t + 1,
                    second.path,
                    f"literal value contradicts the literal value at {_dotted(first.path)}"
                    f" ({why}): the literal reading cannot be drawn whole",
                )
            )
    return out


def _dotted(path: Path) -> str:
    return ".".join(map(str, path))


def _here(check: Check, turn: int | None) -> bool:
    return check.turn is None or turn is None or check.turn == turn


# --- contradictions ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Bound:
    """How many instances of `word` the scope `within` (None: the canvas) may show."""

    word: str
    term: Term
    within: str | None
    lo: int
    hi: int | None


def _bounds(check: Check) -> list[_Bound]:
    """The count bounds a check sets (an object it colours, places or relates exists)."""
    spans: list[tuple[str, str | None, int, int | None]] = []
    if isinstance(check, Present):
        spans.append((check.object, check.within, 1, None))
    elif isinstance(check, Absent):
        spans.append((check.object, check.within, 0, 0))
    elif isinstance(check, Count) and check.matches is None:
        lo = check.equals if check.equals is not None else (check.at_least or 0)
        hi = check.equals if check.equals is not None else check.at_most
        spans.append((check.object, check.within, lo, hi))
    elif isinstance(check, Color | Position) and check.object:
        spans.append((check.object, None, 1, None))
    elif isinstance(check, Relation):
        spans += [(check.subject, None, 1, None), (check.object, None, 1, None)]
    out = []
    for word, within, lo, hi in spans:
        term = try_resolve(word)
        if term is not None:
            out.append(_Bound(word, term, within, lo, hi))
    return out


def _includes(outer: Term, inner: Term) -> bool:
    """Every instance of `inner` is an instance of `outer`."""
    return inner.concepts <= outer.concepts


def _bound_clash(a: _Bound, b: _Bound) -> str | None:
    for big, small in ((a, b), (b, a)):
        nested = big.within is None or big.within == small.within
        if not (_includes(big.term, small.term) and nested) or big.hi is None:
            continue
        if small.lo > big.hi:
            where = f" within {small.within}" if small.within else ""
            return f"at least {small.lo} {small.word}{where} but at most {big.hi} {big.word}" + (
                f" within {big.within}" if big.within else ""
            )
    return None


_GRAYS = frozenset({"gray", "black", "white"})
_PLACES: dict[str, tuple[float, float, float, float]] = {
    "left": (0, 0.5, 0, 1),
    "right": (0.5, 1, 0, 1),
    "top": (0, 1, 0, 0.5),
    "bottom": (0, 1, 0.5, 1),
    "center": (1 / 3, 2 / 3, 1 / 3, 2 / 3),
    "top_left": (0, 0.5, 0, 0.5),
    "top_right": (0.5, 1, 0, 0.5),
    "bottom_left": (0, 0.5, 0.5, 1),
    "bottom_right": (0.5, 1, 0.5, 1),
}
"""Where a `position` place puts a centre (fractions of the frame; see `in_place`)."""
_OPPOSITE = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}


def _nested(a: str, b: str) -> bool:
    ta, tb = try_resolve(a), try_resolve(b)
    if ta is None or tb is None:
        return a == b
    return _includes(ta, tb) or _includes(tb, ta)


def _color_clash(a: Color, b: Color) -> str | None:
    if a.equals == b.equals:
        return None
    if a.part is not None or b.part is not None:
        same = a.part == b.part
    else:
        assert a.object is not None and b.object is not None
        ta, tb = try_resolve(a.object), try_resolve(b.object)
        if ta is None or tb is None:
            same = a.object == b.object and a.select == b.select
        elif ta.concepts == tb.concepts and a.select == b.select:
            same = True
        else:  # a pick of one word against every instance of a word that includes it
            same = (a.select is None and _includes(ta, tb)) or (
                b.select is None and _includes(tb, ta)
            )
    what = a.part or a.object
    return f"{what} {a.equals} but {b.part or b.object} {b.equals}" if same else None


def _text_clash(a: Text, b: Text) -> str | None:
    def norm(s: str) -> str:
        return " ".join(s.lower().split())

    for x, y in ((a, b), (b, a)):
        if x.equals is None:
            continue
        exact = norm(x.equals)
        needed = norm(y.equals if y.equals is not None else y.contains or "")
        if y.equals is not None and needed != exact:
            return f"text exactly {x.equals!r} but exactly {y.equals!r}"
        if y.contains is not None and needed not in exact:
            return f"text exactly {x.equals!r} but containing {y.contains!r}"
    return None


def _place_clash(a: Position, b: Position) -> str | None:
    if not _nested(a.object, b.object):
        return None
    pa, pb = _PLACES[a.place], _PLACES[b.place]
    apart = pa[1] <= pb[0] or pb[1] <= pa[0] or pa[3] <= pb[2] or pb[3] <= pa[2]
    return f"{a.object} at {a.place} but {b.object} at {b.place}" if apart else None


def _relation_clash(a: Relation, b: Relation) -> str | None:
    same = (a.subject, a.object) == (b.subject, b.object)
    swapped = (a.subject, a.object) == (b.object, b.subject)
    if (same and b.relation == _OPPOSITE[a.relation]) or (swapped and a.relation == b.relation):
        return f"{a.subject} {a.relation} {a.object} but {b.subject} {b.relation} {b.object}"
    return None


def contradiction(a: Check, b: Check) -> str | None:
    """Why no canvas satisfies both checks (see the module docstring), or None."""
    for x in _bounds(a):
        for y in _bounds(b):
            why = _bound_clash(x, y)
            if why is not None:
                return why
    if isinstance(a, Color) and isinstance(b, Color):
        return _color_clash(a, b)
    for s, c in ((a, b), (b, a)):
        gray = isinstance(s, Style) and s.equals == "grayscale"
        if gray and isinstance(c, Color) and c.equals not in _GRAYS:
            return f"a grayscale canvas but {c.part or c.object} {c.equals}"
    if isinstance(a, Style) and isinstance(b, Style) and a.equals != b.equals:
        return f"style {a.equals} but {b.equals}"
    if isinstance(a, Text) and isinstance(b, Text):
        return _text_clash(a, b)
    if isinstance(a, Position) and isinstance(b, Position):
        return _place_clash(a, b)
    if isinstance(a, Relation) and isinstance(b, Relation):
        return _relation_clash(a, b)
    return None
