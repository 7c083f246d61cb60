"""The reference generators' planner: from a turn's checks to a scene that meets them.

* **Oracle.** `reference/oracle` draws what the checks ask for, deciding conditions on
  its own earlier scenes, and edits minimally: an edit starts from the canvas it edits,
  removes what must go (edit targets first), puts new objects into freed places (taking
  their size and look), and lays out anything else in free space, deterministically.
* **Literal.** `reference/literal` draws the literal reading *whole*
  (`uniprobe.cases.literal`): each check's literal value, each conditional's literal
  branch, and the plain checks both readings share. A plain check that contradicts a
  literal value of its turn (`color: {object: cat}` next to `count: {object: cat,
  literal: 0}`) is not literal-applicable: the literal reference ignores it and draws
  the literal reading (`literal_conflicts` lists such checks for `cases validate`).
* **Always act.** The literal reference is the "always-act" strategy: in an edit turn it
  carries out the literal request and also redraws every glyph it was not asked to
  touch a little elsewhere and at another size (each by its own deterministic jitter,
  like a model that regenerates the whole picture), so `unchanged` checks fail
  (`over_edit`); it never keeps a canvas as it is (`same_as` is not part of its reading).
* **Words or a picture.** A turn is answered in words (no image) when what would be
  drawn is what already stands (the image the judges would look at anyway: nothing to
  change), or when it is empty and either nothing stands or what stands already meets
  the turn (an off-topic request). When the right answer is an empty scene the
  standing canvas does not meet ("remove every cat" from a picture of only cats), the
  planner draws it: an empty canvas, or the backdrop that remains.
* **Several attached images.** A turn that attaches two or more images edits the one
  attached last, the image the judges read the turn's parts on and compare with
  (`uniprobe.cases.validate.reference_scene`, the engine's pre-edit canvas); the others
  lend objects: a new object of a kind an earlier attached image shows is taken from it
  (its kind and colour), in attachment order ("put the hat of the first picture to
  the right of the cake in the second").
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

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
    SameAs,
    Style,
    Text,
    Unchanged,
)
from uniprobe.cases.literal import literal_reading
from uniprobe.cases.schema import Case
from uniprobe.cases.validate import reference_scene
from uniprobe.errors import UsageError
from uniprobe.scenes.colors import name_color, parse_color
from uniprobe.scenes.geometry import Box, center, contains, in_place, overlaps, relation_holds
from uniprobe.scenes.render import glyph_unit_size, natural_color
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec
from uniprobe.scenes.vocabulary import Term, resolve

__all__ = ["Planner", "spec_box"]

Leaf = Check


def spec_box(obj: SceneObject) -> Box:
    """Approximate box of an object from its spec (exact for primitives and regions)."""
    if obj.shape == "glyph" and obj.concept and obj.size:
        uw, uh = glyph_unit_size(obj.concept)
        w, h = obj.size * uw / max(uw, uh), obj.size * uh / max(uw, uh)
    elif obj.shape == "text" and obj.text and obj.size:
        w, h = 0.6 * obj.size * len(obj.text), obj.size
    else:
        w, h = obj.w or 0, obj.h or 0
    return (round(obj.x - w / 2), round(obj.y - h / 2), round(obj.x + w / 2), round(obj.y + h / 2))


# --- scene state ------------------------------------------------------------------------


@dataclass
class _State:
    """A scene being edited."""

    width: int
    height: int
    background: str
    bands: list[Band]
    objects: list[SceneObject]
    grayscale: bool
    fresh: set[int] = field(default_factory=set)  # indexes of objects added this turn
    freed: list[SceneObject] = field(default_factory=list)  # objects removed this turn
    donors: list[SceneObject] = field(default_factory=list)  # from a second attached image

    @classmethod
    def of(cls, spec: SceneSpec) -> _State:
        return cls(
            spec.width,
            spec.height,
            spec.background,
            list(spec.bands),
            list(spec.objects),
            spec.grayscale,
        )

    def spec(self) -> SceneSpec:
        return SceneSpec(
            width=self.width,
            height=self.height,
            background=self.background,
            bands=tuple(self.bands),
            objects=tuple(self.objects),
            grayscale=self.grayscale,
        )

    def instances(self, term: Term, within: Box | None) -> list[int]:
        return [
            i
            for i, o in enumerate(self.objects)
            if o.concept in term.concepts
            and (within is None or contains(within, center(spec_box(o))))
        ]


def _backdrop_present(state: _State, name: str) -> bool:
    return any(b.kind == name for b in state.bands)


# --- the planner ---------------------------------------------------------------------------


class Planner:
    """Plans every turn of one case for one epoch (memoised, deterministic)."""

    def __init__(self, case: Case, *, literal: bool, seed: int, size: int = 512) -> None:
        self.case, self.literal, self.seed, self.size = case, literal, seed, size
        self._scenes: dict[int, SceneSpec | None] = {}

    # canvases -------------------------------------------------------------------------
    def scene(self, turn: int) -> SceneSpec | None:
        """The scene drawn at `turn` (1-based), or None for a text-only reply."""
        if turn not in self._scenes:
            self._scenes[turn] = self._plan(turn)
        return self._scenes[turn]

    def canvas(self, turn: int) -> SceneSpec | None:
        """The latest image in the conversation after `turn` (drawn or attached)."""
        for t in range(turn, 0, -1):
            drawn = self.scene(t)
            if drawn is not None:
                return drawn
            attached = self._attached(t)
            if attached:
                return attached[-1]
        return None

    def _attached(self, turn: int) -> list[SceneSpec]:
        """The scenes `turn` attaches, in order."""
        out = []
        for name in self.case.turns[turn - 1].attach:
            src = self.case.images[name]
            if src.scene is None:
                raise UsageError(
                    f"case {self.case.id}: reference models need scene images, "
                    f"but image '{name}' is a file"
                )
            out.append(src.scene)
        return out

    def _standing(self, turn: int) -> SceneSpec | None:
        """What the judges look at if `turn` is answered in words (the canvas rule: the
        image it attaches last, else the latest earlier image)."""
        attached = self._attached(turn)
        if attached:
            return attached[-1]
        return self.canvas(turn - 1) if turn > 1 else None

    def _parts(self, turn: int, against: str | None = None) -> dict[str, Box]:
        _, scene = reference_scene(self.case, turn, against)
        if scene is None:
            return {}
        return {o.id: spec_box(o) for o in scene.objects if o.id}

    # planning -------------------------------------------------------------------------
    def _plan(self, turn: int) -> SceneSpec | None:
        spec = self.case.turns[turn - 1]
        if not spec.expect:
            return None
        base = self._base(turn)
        decided = [  # conditionals decided on the canvas (the literal one takes its branch)
            e
            for e in spec.expect
            if isinstance(e, Conditional) and not (self.literal and e.literal is not None)
        ]
        given = [e for e in spec.expect if not any(e is d for d in decided)]
        checks = self._reading(given, turn)
        final = self._apply(turn, base, checks)
        chosen: list[Expectation] = []
        for cond in decided:
            chosen.extend(self._branch(turn, cond, final))
        if chosen:
            checks = self._reading([*given, *chosen], turn)
            final = self._apply(turn, base, checks)
        if self.literal and spec.is_edit:
            final = self._relayout(turn, base, final, checks)
        return self._answer(turn, final, checks)

    def _answer(self, turn: int, final: SceneSpec, checks: list[Leaf]) -> SceneSpec | None:
        """The scene to draw, or None to answer in words: when it would show what already
        stands, or when it is empty and either nothing stands or what stands already meets
        the turn (an off-topic request). An empty scene that the standing canvas does not
        meet (every cat removed) is drawn: an empty canvas, or the remaining backdrop."""
        standing = self._standing(turn)
        if final == standing:
            return None
        if final.objects or final.bands:
            return final
        if standing is None or self._apply(turn, standing, checks) == standing:
            return None
        return final

    def _base(self, turn: int) -> SceneSpec:
        """The canvas a turn starts from: the image it attaches last (earlier ones only
        lend objects, see `_donors`), else for an edit the latest canvas, else a blank."""
        attached = self._attached(turn)
        if attached:
            return attached[-1]
        if self.case.turns[turn - 1].is_edit and turn > 1:
            previous = self.canvas(turn - 1)
            if previous is not None:
                return previous
        return SceneSpec(width=self.size, height=self.size)

    def _donors(self, turn: int) -> list[SceneObject]:
        """Objects of the images attached before the last, which new objects of their
        kind are taken from (a multi-image turn: "put the hat of the first picture...")."""
        return [o for scene in self._attached(turn)[:-1] for o in scene.objects if o.concept]

    def _reading(self, checks: Sequence[Expectation], turn: int) -> list[Leaf]:
        """The checks as this planner reads them: the oracle every leaf as written, the
        literal reference its literal reading (`uniprobe.cases.literal`); counts that match
        an earlier canvas resolved against the planner's own earlier scene."""
        if self.literal:
            leaves = literal_reading(checks, turn=turn).checks
        else:
            leaves = [c for c in checks if not isinstance(c, Conditional)]
        out: list[Leaf] = []
        for c in leaves:
            if isinstance(c, Count) and c.matches is not None:
                c = Count(object=c.object, equals=max(0, self._matched(c, turn)), within=c.within)
            out.append(c)
        return out

    def _matched(self, check: Count, turn: int) -> int:
        """The count a `matches` check asks for, from its own scene of the named turn."""
        assert check.matches is not None
        ref = check.matches
        scene = self.canvas(ref.turn) or SceneSpec(width=self.size, height=self.size)
        return ref.expected(len(_State.of(scene).instances(resolve(ref.object), None)))

    def _branch(self, turn: int, cond: Conditional, current: SceneSpec) -> Sequence[Check]:
        """The branch the condition selects on the planner's own canvas."""
        when = cond.when
        target = when.turn if when.turn is not None and when.turn != turn else None
        scene = self.canvas(target) if target is not None else current
        return cond.branch(self._holds(when, scene, self._parts(turn)))

    def _holds(self, check: Check, scene: SceneSpec | None, parts: dict[str, Box]) -> bool:
        """Evaluate a condition on one of its own scenes (symbolically: it drew them)."""
        state = _State.of(scene or SceneSpec(width=self.size, height=self.size))
        if isinstance(check, Present | Absent | Count):
            term = resolve(check.object)
            if term.render == "backdrop":
                n = int(_backdrop_present(state, term.name))
            else:
                within = parts.get(check.within) if check.within else None
                n = len(state.instances(term, within))
            if isinstance(check, Present):
                return n > 0
            if isinstance(check, Absent):
                return n == 0
            if check.matches is not None:
                scene_ref = self.canvas(check.matches.turn)
                state_ref = _State.of(scene_ref or SceneSpec(width=self.size, height=self.size))
                ref = len(state_ref.instances(resolve(check.matches.object), None))
                return check.accepts(n, ref)
            return check.accepts(n)
        if isinstance(check, Color) and check.object:
            idx = state.instances(resolve(check.object), None)
            return bool(idx) and all(state.objects[i].color == check.equals for i in idx)
        if isinstance(check, Relation | Position):
            return _layout_holds(state, check)
        raise UsageError(f"the reference planner cannot use a '{check.kind}' check as a condition")

    def _apply(self, turn: int, base: SceneSpec, checks: list[Leaf]) -> SceneSpec:
        for c in checks:
            if isinstance(c, SameAs) and not self.literal:
                ref = c.against
                if isinstance(ref, int):
                    return self.canvas(ref) or base
                src = self.case.images[ref].scene
                return src if src is not None else base
        rng = random.Random(self.seed * 1009 + turn)
        state = _State.of(base)
        state.donors = self._donors(turn)
        parts = self._parts(turn)
        edit_targets = {p for c in checks if isinstance(c, Unchanged) for p in c.outside}
        for c in checks:
            if isinstance(c, Style):
                state.grayscale = c.equals == "grayscale"
        _plan_backdrops(state, checks)
        _plan_counts(state, checks, parts, edit_targets, rng)
        _plan_colors(state, checks, parts)
        _plan_layout(state, checks, rng)
        _plan_text(state, checks, rng)
        return state.spec()

    def _relayout(
        self, turn: int, base: SceneSpec, final: SceneSpec, checks: list[Leaf]
    ) -> SceneSpec:
        """Always act, no care for what should stay: in an edit, the literal reference
        redraws every glyph it was not asked to touch (still as in `base`) a little
        elsewhere and at another size, each by its own deterministic jitter, like a model
        that regenerates the whole picture; so `unchanged` checks fail (`over_edit`). A
        jittered object keeps which of the parts this turn's checks look in (`within`, a
        colour's `part`) hold its centre, comes no closer to any other object,
        stays on the canvas and keeps this turn's positions and relations true. The
        horizon moves too: every edge between two backdrop bands shifts a little."""
        rng = random.Random(self.seed * 7919 + turn)
        state = _State.of(final)
        kept = set(base.objects)
        named = {p for c in checks for p in c.parts() if not isinstance(c, Unchanged)}
        parts = [box for name, box in self._parts(turn).items() if name in named]
        layout = [c for c in checks if isinstance(c, Position | Relation)]
        for i, obj in enumerate(state.objects):
            if obj.shape == "glyph" and obj in kept:
                _jitter(state, i, parts, layout, rng)
        state.bands = _shift_bands(state.bands, rng)
        return state.spec()


# --- positions and relations -----------------------------------------------------------------


def _layout_holds(state: _State, check: Relation | Position) -> bool:
    """Whether a position or relation holds in a planned state (centres of its specs)."""
    if isinstance(check, Position):
        idx = state.instances(resolve(check.object), None)
        return bool(idx) and all(
            in_place(center(spec_box(state.objects[i])), check.place, (state.width, state.height))
            for i in idx
        )
    subj = state.instances(resolve(check.subject), None)
    obj = state.instances(resolve(check.object), None)
    return bool(subj and obj) and all(
        relation_holds(
            center(spec_box(state.objects[s])),
            center(spec_box(state.objects[o])),
            check.relation,
        )
        for s in subj
        for o in obj
    )


# --- backdrops ------------------------------------------------------------------------------


def _plan_backdrops(state: _State, checks: Sequence[Leaf]) -> None:
    wanted: list[str] = []
    unwanted: set[str] = set()
    for c in checks:
        if isinstance(c, Present | Absent | Count):
            term = resolve(c.object)
            if term.render != "backdrop":
                continue
            present = isinstance(c, Present) or (isinstance(c, Count) and c.accepts(1))
            (wanted.append if present else unwanted.add)(term.name)
    have = {b.kind for b in state.bands}
    if set(wanted) <= have and not unwanted & have:
        return  # already as asked: an edit leaves the backdrop alone
    grounds = [b.kind for b in state.bands if b.kind != "sky" and b.kind not in unwanted]
    for w in wanted:
        if w not in grounds and w != "sky":
            grounds.append(w)
    sky = ("sky" in wanted or any(b.kind == "sky" for b in state.bands) or bool(grounds)) and (
        "sky" not in unwanted
    )
    top = 0.45 if sky else 0.0
    bands = [Band(kind="sky", top=0.0, bottom=top)] if sky and grounds else []
    if sky and not grounds:
        bands = [Band(kind="sky", top=0.0, bottom=1.0)]
    step = (1.0 - top) / max(1, len(grounds))
    for i, g in enumerate(grounds):
        bands.append(
            Band(
                kind=g,
                top=round(top + i * step, 4),
                bottom=round(top + (i + 1) * step, 4) if i < len(grounds) - 1 else 1.0,
            )
        )
    state.bands = bands


# --- counts ---------------------------------------------------------------------------------


@dataclass
class _Target:
    term: Term
    within: str | None
    lo: int = 0
    hi: int | None = None


def _targets(checks: Sequence[Leaf]) -> list[_Target]:
    out: dict[tuple[str, str | None], _Target] = {}
    for c in checks:  # an object placed, related or coloured must exist
        words = (
            [c.subject, c.object]
            if isinstance(c, Relation)
            else ([c.object] if isinstance(c, Position | Color) and c.object else [])
        )
        for w in words:
            term = resolve(w)
            out.setdefault((term.name, None), _Target(term, None)).lo = 1
    for c in checks:
        if not isinstance(c, Present | Absent | Count):
            continue
        term = resolve(c.object)
        if term.render == "backdrop":
            continue
        t = out.setdefault((term.name, c.within), _Target(term, c.within))
        if isinstance(c, Present):
            t.lo = max(t.lo, 1)
        elif isinstance(c, Absent):
            t.hi = 0
        else:
            lo = c.equals if c.equals is not None else (c.at_least or 0)
            hi = c.equals if c.equals is not None else c.at_most
            t.lo = max(t.lo, lo)
            t.hi = hi if t.hi is None or hi is None else min(t.hi, hi)
            if t.hi is None and hi is not None:
                t.hi = hi
    # within-part targets first, then single concepts, then categories
    return sorted(out.values(), key=lambda t: (t.within is None, t.term.is_category))


def _plan_counts(
    state: _State,
    checks: Sequence[Leaf],
    parts: dict[str, Box],
    edit_targets: set[str],
    rng: random.Random,
) -> None:
    targets = _targets(checks)
    for t in targets:  # removals first, edit targets before others, newest before oldest
        within = parts.get(t.within) if t.within else None
        idx = state.instances(t.term, within)
        if t.hi is not None and len(idx) > t.hi:
            idx.sort(key=lambda i: (state.objects[i].id not in edit_targets, -i))
            for i in sorted(idx[: len(idx) - t.hi], reverse=True):
                state.freed.append(state.objects.pop(i))
    for t in targets:
        within = parts.get(t.within) if t.within else None
        have = len(state.instances(t.term, within))
        for _ in range(max(0, t.lo - have)):
            state.objects.append(_new_object(state, t, within, rng))
            state.fresh.add(len(state.objects) - 1)


MIN_SIZE = 56.0
"""Smallest glyph the planner draws (the reference judge reads glyphs from 40 px)."""


def _fit(kind: str, box: Box) -> float:
    """The size at which a glyph of `kind` fills `box` without leaving it (but never
    smaller than MIN_SIZE, or the box's longer side if that is smaller)."""
    uw, uh = glyph_unit_size(kind)
    w, h = box[2] - box[0], box[3] - box[1]
    fit = min(w / uw, h / uh) * max(uw, uh)
    return round(max(fit, min(MIN_SIZE, max(w, h))), 1)


@cache
def _representative(term_name: str, concepts: frozenset[str]) -> str:
    return term_name if term_name in concepts else sorted(concepts)[0]


def _donor(state: _State, t: _Target) -> SceneObject | None:
    """The first unused object of the turn's other attached images that `t` names."""
    for k, obj in enumerate(state.donors):
        if obj.concept in t.term.concepts:
            return state.donors.pop(k)
    return None


def _new_object(state: _State, t: _Target, within: Box | None, rng: random.Random) -> SceneObject:
    """A new object for target `t`: taken from another attached image if one shows it
    (its kind and colour), put into a freed place if one fits (taking its place's size,
    flip and opacity, and its colour unless lent), else inside `within`, else off-canvas
    for the layout to place."""
    donor = _donor(state, t)
    kind = donor.kind if donor is not None else _representative(t.term.name, t.term.concepts)
    assert kind is not None
    for k, old in enumerate(state.freed):  # take a freed place (and its look) if it fits
        if within is None or contains(within, center(spec_box(old))):
            state.freed.pop(k)
            return SceneObject(
                kind=kind,
                x=old.x,
                y=old.y,
                size=_fit(kind, spec_box(old)),
                flip=old.flip,
                opacity=old.opacity,
                color=donor.color if donor is not None else old.color,
            )
    if within is not None:
        cx, cy = center(within)
        same = [o for o in state.freed if o.concept == resolve(kind).name]
        if same and donor is None:  # the same thing moved to another place: it keeps its look
            old = same[0]
            state.freed.remove(old)
            return old.model_copy(update={"x": cx, "y": cy, "id": None})
        side = round(min(max(40, min(within[2] - within[0], within[3] - within[1]) * 0.8), 140), 1)
        if donor is not None:
            return donor.model_copy(update={"x": cx, "y": cy, "id": None, "size": side})
        return SceneObject(kind=kind, x=cx, y=cy, size=side)
    if donor is not None:  # placed later by the layout, at its own size
        return donor.model_copy(update={"x": -1000, "y": -1000, "id": None})
    # placed later by the layout; start off-canvas so it never blocks a place
    return SceneObject(kind=kind, x=-1000, y=-1000, size=round(rng.uniform(92, 128), 1))


# --- colours ---------------------------------------------------------------------------------


def _plan_colors(state: _State, checks: Sequence[Leaf], parts: dict[str, Box]) -> None:
    for c in checks:
        if not isinstance(c, Color):
            continue
        if c.part is not None:
            idx = [i for i, o in enumerate(state.objects) if o.id == c.part]
        else:
            assert c.object is not None
            idx = state.instances(resolve(c.object), None)
            if c.select is not None and idx:
                idx = [_select(state, idx, c.select)]
        for i in idx:
            if _color_name(state.objects[i]) != c.equals:
                state.objects[i] = state.objects[i].model_copy(update={"color": c.equals})


def _color_name(obj: SceneObject) -> str | None:
    """The palette name this object is painted in (its natural one for an untinted glyph)."""
    if obj.color is not None:
        return name_color(parse_color(obj.color))
    return natural_color(obj.concept) if obj.concept else None


def _select(state: _State, idx: list[int], how: str) -> int:
    boxes = {i: spec_box(state.objects[i]) for i in idx}
    key = {
        "leftmost": lambda i: center(boxes[i])[0],
        "rightmost": lambda i: -center(boxes[i])[0],
        "topmost": lambda i: center(boxes[i])[1],
        "bottommost": lambda i: -center(boxes[i])[1],
        "largest": lambda i: -(boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]),
        "smallest": lambda i: (boxes[i][2] - boxes[i][0]) * (boxes[i][3] - boxes[i][1]),
    }
    if how == "middle":
        ordered = sorted(idx, key=lambda i: center(boxes[i])[0])
        return ordered[len(ordered) // 2]
    return min(idx, key=key[how])


# --- layout ---------------------------------------------------------------------------------


_HALVES = {
    "left": (0, 0.42, 0, 1),
    "right": (0.58, 1, 0, 1),
    "top": (0, 1, 0, 0.42),
    "bottom": (0, 1, 0.58, 1),
    "center": (0.4, 0.6, 0.4, 0.6),
    "top_left": (0, 0.42, 0, 0.42),
    "top_right": (0.58, 1, 0, 0.42),
    "bottom_left": (0, 0.42, 0.58, 1),
    "bottom_right": (0.58, 1, 0.58, 1),
}
"""Where a centre goes to be safely in a place (fractions of the canvas)."""
_SIDE = {"left_of": "left", "right_of": "right", "above": "top", "below": "bottom"}
_MIRROR = {"left_of": "right_of", "right_of": "left_of", "above": "below", "below": "above"}
_MARGIN = 24.0
"""Pixels between a centre and the centre it must be left of / above / ..."""

Zone = tuple[float, float, float, float]


def _narrow(zone: Zone, frac: tuple[float, float, float, float], state: _State) -> Zone:
    W, H = state.width, state.height
    return (
        max(zone[0], frac[0] * W),
        min(zone[1], frac[1] * W),
        max(zone[2], frac[2] * H),
        min(zone[3], frac[3] * H),
    )


def _beyond(zone: Zone, relation: str, partners: list[tuple[float, float]]) -> Zone:
    """Narrow `zone` to the side of every partner centre that `relation` names."""
    x0, x1, y0, y1 = zone
    if relation == "left_of":
        x1 = min(x1, min(p[0] for p in partners) - _MARGIN)
    elif relation == "right_of":
        x0 = max(x0, max(p[0] for p in partners) + _MARGIN)
    elif relation == "above":
        y1 = min(y1, min(p[1] for p in partners) - _MARGIN)
    else:
        y0 = max(y0, max(p[1] for p in partners) + _MARGIN)
    return x0, x1, y0, y1


def _zone(
    state: _State, i: int, checks: Sequence[Leaf], movable: set[int], *, as_reference: bool = True
) -> Zone:
    """Allowed range of the centre of object i: (x0, x1, y0, y1) in pixels.

    A relation to objects that stay put is read against where they are; between
    objects that are both placed now, each goes to its half of the canvas. Without
    `as_reference`, relations in which object i is the reference are left out (an edit
    moves the subject, not what it is placed against)."""
    zone: Zone = (0.0, float(state.width), 0.0, float(state.height))
    concept = state.objects[i].concept
    for c in checks:
        if isinstance(c, Position) and concept in resolve(c.object).concepts:
            zone = _narrow(zone, _HALVES[c.place], state)
        if not isinstance(c, Relation):
            continue
        relation: str
        if concept in resolve(c.subject).concepts:
            relation, partner_word = c.relation, c.object
        elif as_reference and concept in resolve(c.object).concepts:
            relation, partner_word = _MIRROR[c.relation], c.subject
        else:
            continue
        partners = state.instances(resolve(partner_word), None)
        if partners and not any(p in movable for p in partners):
            centers = [center(spec_box(state.objects[p])) for p in partners]
            zone = _beyond(zone, relation, centers)
        elif i in movable:
            zone = _narrow(zone, _HALVES[_SIDE[relation]], state)
    return zone


def _needs_move(state: _State, i: int, checks: Sequence[Leaf], movable: set[int]) -> bool:
    x0, x1, y0, y1 = _zone(state, i, checks, movable, as_reference=False)
    cx, cy = center(spec_box(state.objects[i]))
    return not (x0 <= cx <= x1 and y0 <= cy <= y1)


def _plan_layout(state: _State, checks: Sequence[Leaf], rng: random.Random) -> None:
    """Place new objects, and move old ones only when a check needs it (edits stay small)."""
    movable = {i for i in state.fresh if state.objects[i].x < -500}
    glyphs = [i for i, o in enumerate(state.objects) if o.shape == "glyph"]
    movable |= {i for i in glyphs if i not in movable and _needs_move(state, i, checks, movable)}
    fixed = [i for i, o in enumerate(state.objects) if i not in movable and o.shape != "region"]
    occupied = [spec_box(state.objects[i]) for i in fixed]
    for i in sorted(movable):
        zone = _zone(state, i, checks, {j for j in movable if j >= i})
        placed = _find_place(state, state.objects[i], zone, occupied, rng)
        state.objects[i] = placed
        occupied.append(spec_box(placed))


def _find_place(
    state: _State,
    obj: SceneObject,
    zone: tuple[float, float, float, float],
    occupied: list[Box],
    rng: random.Random,
) -> SceneObject:
    size: float = obj.size or 100
    while True:
        probe = obj.model_copy(update={"x": 0.0, "y": 0.0, "size": size})
        b = spec_box(probe)
        w, h = b[2] - b[0], b[3] - b[1]
        xs = [
            x
            for x in range(int(w / 2) + 4, int(state.width - w / 2) - 4, 8)
            if zone[0] <= x <= zone[1]
        ]
        ys = [
            y
            for y in range(int(h / 2) + 4, int(state.height - h / 2) - 4, 8)
            if zone[2] <= y <= zone[3]
        ]
        spots = [(x, y) for x in xs for y in ys]
        rng.shuffle(spots)
        for x, y in spots:
            box = (round(x - w / 2), round(y - h / 2), round(x + w / 2), round(y + h / 2))
            if not any(overlaps(box, o, 10) for o in occupied):
                return obj.model_copy(update={"x": float(x), "y": float(y), "size": size})
        if size <= MIN_SIZE:
            x, y = spots[0] if spots else (state.width // 2, state.height // 2)
            return obj.model_copy(update={"x": float(x), "y": float(y), "size": size})
        size = round(size * 0.85, 1)


_BAND_SHIFT = (0.03, 0.06)
"""How far (fractions of the height) the literal reference moves an edge between bands."""
_MIN_BAND = 0.05
"""... keeping every band at least this thick."""


def _shift_bands(bands: list[Band], rng: random.Random) -> list[Band]:
    """The bands with every edge between two of them moved up or down (see
    `Planner._relayout`); an edge that would leave a band too thin stays."""
    edges = sorted({e for b in bands for e in (b.top, b.bottom) if 0 < e < 1})
    moved = dict(zip(edges, edges, strict=True))
    for k, e in enumerate(edges):
        new = round(e + rng.choice((-1, 1)) * rng.uniform(*_BAND_SHIFT), 4)
        below = moved[edges[k - 1]] if k else 0.0
        above = edges[k + 1] if k + 1 < len(edges) else 1.0
        if below + _MIN_BAND <= new <= above - _MIN_BAND:
            moved[e] = new
    return [
        b.model_copy(
            update={"top": moved.get(b.top, b.top), "bottom": moved.get(b.bottom, b.bottom)}
        )
        for b in bands
    ]


def _closeness(a: Box, b: Box, margin: int = 10) -> int:
    """The area two boxes share once grown by `margin` (0 when they keep that far apart)."""
    w = min(a[2], b[2]) - max(a[0], b[0]) + margin
    h = min(a[3], b[3]) - max(a[1], b[1]) + margin
    return max(0, w) * max(0, h)


_JITTER = (24.0, 48.0)
"""How far (pixels) the literal reference moves an object it redraws."""
_RESIZE = ((0.8, 0.9), (1.1, 1.2))
"""... and by how much it shrinks or grows it."""


def _jitter(
    state: _State,
    i: int,
    parts: list[Box],
    layout: Sequence[Position | Relation],
    rng: random.Random,
) -> None:
    """Move and resize object i by a random amount (see `Planner._relayout`); leave it
    where it is if no try keeps the scene's parts, overlaps and layout checks."""
    obj = state.objects[i]
    before = spec_box(obj)
    inside = [contains(p, center(before)) for p in parts]
    others = [spec_box(o) for j, o in enumerate(state.objects) if j != i and o.shape != "region"]
    near = [_closeness(before, o) for o in others]
    held = [c for c in layout if _layout_holds(state, c)]
    for _ in range(60):
        lo, hi = rng.choice(_RESIZE)
        size = max(MIN_SIZE, round((obj.size or 100) * rng.uniform(lo, hi), 1))
        step, angle = rng.uniform(*_JITTER), rng.uniform(0, 2 * math.pi)
        x, y = obj.x + step * math.cos(angle), obj.y + step * math.sin(angle)
        moved = obj.model_copy(update={"x": round(x, 1), "y": round(y, 1), "size": size})
        box = spec_box(moved)
        if box[0] < 0 or box[1] < 0 or box[2] > state.width or box[3] > state.height:
            continue
        if [contains(p, center(box)) for p in parts] != inside:
            continue
        if any(_closeness(box, o) > n for o, n in zip(others, near, strict=True)):
            continue
        state.objects[i] = moved
        if all(_layout_holds(state, c) for c in held):
            return
        state.objects[i] = obj


# --- text ------------------------------------------------------------------------------------


def _plan_text(state: _State, checks: Sequence[Leaf], rng: random.Random) -> None:
    """Write what text checks ask for: rewrite existing text in place, else add a line."""
    for c in checks:
        if not isinstance(c, Text):
            continue
        words = c.contains if c.contains is not None else c.equals
        texts = [i for i, o in enumerate(state.objects) if o.shape == "text"]
        if c.equals is not None:  # exactly this text: keep one text object at most
            for i in sorted(texts[1:], reverse=True):
                state.objects.pop(i)
            texts = texts[:1]
            if not words:
                for i in texts:
                    state.objects.pop(i)
                continue
        assert words is not None
        if any(words.lower() in (state.objects[i].text or "").lower() for i in texts):
            continue
        if texts:
            state.objects[texts[0]] = state.objects[texts[0]].model_copy(update={"text": words})
            continue
        occupied = [spec_box(o) for o in state.objects if o.shape != "region"]
        obj = SceneObject(shape="text", text=words, x=0, y=0, size=40)
        state.objects.append(
            _find_place(state, obj, (0, state.width, 0, state.height), occupied, rng)
        )
