"""Checks of a case that need more than one field: references between turns, images, parts.

Also the limits no single field shows (see `uniprobe.cases.limits`): the objects the count
checks of one canvas ask for together, the size of synthetic scenes (objects, bands,
positions and sizes finite and on the canvas), and the case image files themselves.

What `uniprobe cases validate` adds to loading, across cases and for real judges:

- errors (the expected outcome would be wrong, or a metric meaningless):
  `vocabulary_problems` (a word the reference world cannot draw or see),
  `hypernym_problems` (a check on a word such as 'bird' in a case whose scenes, prompts
  or other checks hold a duck it does not mean: a real judge counts the duck as a bird;
  see `uniprobe.scenes.vocabulary.INCLUDES`), `group_problems` (a contrast group with one
  member, or members of different family/subtype);
- warnings (harmless to scoring, but the case says something that no longer applies):
  `literal_warnings` (`literal: true` on `unchanged`/`same_as`: locality failures are
  tagged over_edit, never literal; and a check that contradicts a literal value of its
  turn, so it is not literal-applicable: the literal reading leaves it out, see
  `uniprobe.cases.literal`).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterator, Sequence
from functools import cache
from pathlib import Path

from uniprobe.cases.checks import (
    Absent,
    Check,
    Color,
    Comparison,
    Count,
    CountOf,
    Position,
    Present,
    Relation,
    SameAs,
    Unchanged,
)
from uniprobe.cases.images import image_file_problem
from uniprobe.cases.limits import MAX_BANDS, MAX_CANVAS_OBJECTS, MAX_COUNT, MAX_SCENE_OBJECTS
from uniprobe.cases.literal import literal_conflicts
from uniprobe.cases.schema import Case
from uniprobe.errors import Problem, did_you_mean
from uniprobe.scenes.spec import SceneSpec
from uniprobe.scenes.vocabulary import INCLUDES, hyponyms, known_words, plural, try_resolve

__all__ = [
    "group_problems",
    "hypernym_problems",
    "literal_warnings",
    "reference_scene",
    "semantic_problems",
    "vocabulary_problems",
]


def reference_scene(
    case: Case, turn: int, against: int | str | None = None
) -> tuple[str | None, SceneSpec | None]:
    """The scene whose part ids a check at `turn` refers to: the named image for a string
    `against`, else the image attached most recently at or before `turn`."""
    if isinstance(against, str):
        src = case.images.get(against)
        return against, (src.scene if src else None)
    for t in range(turn, 0, -1):
        attached = case.turns[t - 1].attach
        if attached:
            name = attached[-1]
            src = case.images.get(name)
            return name, (src.scene if src else None)
    return None, None


def _earlier(turn: int) -> str:
    if turn <= 1:
        return "there is none before turn 1"
    return "1" if turn == 2 else f"1..{turn - 1}"


def semantic_problems(case: Case, base_dir: Path) -> list[Problem]:
    """Problems no single field shows: unknown turns, images, parts, missing files."""
    origin = case.origin
    file = origin.file if origin else None
    problems: list[Problem] = []

    def add(path: tuple[str | int, ...], message: str) -> None:
        line = origin.line_of(path) if origin else None
        problems.append(Problem(message, file, line, case.id, ".".join(map(str, path))))

    n = len(case.turns)
    for name, src in case.images.items():
        if src.file is not None:
            image_file = base_dir / src.file
            problem = image_file_problem(image_file) if image_file.is_file() else None
            if not image_file.is_file():
                add(("images", name, "file"), f"file not found: {image_file}")
            elif problem is not None:
                add(("images", name, "file"), f"{src.file} {problem}")
        elif src.scene is not None:
            for where, message in _scene_problems(src.scene):
                add(("images", name, "scene", *where), message)
    for turn_no, total in _canvas_objects(case).items():
        if total > MAX_CANVAS_OBJECTS.value:
            add(
                ("turns", turn_no - 1, "expect"),
                f"the count checks on turn {turn_no}'s canvas ask for {total} objects together;"
                f" {MAX_CANVAS_OBJECTS.message()}",
            )
    for t, turn in enumerate(case.turns):
        for i, name in enumerate(turn.attach):
            if name not in case.images:
                add(
                    ("turns", t, "attach", i),
                    f"no image '{name}' in this case{did_you_mean(name, case.images)}",
                )
    for turn_no, path, check in case.leaves():
        eff = check.turn or turn_no
        ref = check.turn
        if ref is not None:
            if ref > n:
                plural = "s" if n != 1 else ""
                add((*path, "turn"), f"turn {ref} does not exist (the case has {n} turn{plural})")
                continue
            if ref > turn_no:
                add(
                    (*path, "turn"),
                    f"turn {ref} comes after this one (turn {turn_no}); checks look back only",
                )
                continue
        matches = check.matches if isinstance(check, Count) else None
        if matches is not None and not 1 <= matches.turn < eff:
            add(
                (*path, "matches", "turn"),
                f"matches turn {matches.turn}: must be an earlier turn ({_earlier(eff)})",
            )
            continue
        if matches is not None:
            problem = _matches_problem(case, matches)
            if problem is not None:
                add((*path, "matches"), problem)
                continue
        against = check.against if isinstance(check, Comparison) else None
        if against is not None:
            if isinstance(against, int) and not 1 <= against < eff:
                add(
                    (*path, "against"),
                    f"against turn {against}: must be an earlier turn ({_earlier(eff)})",
                )
                continue
            if isinstance(against, str) and against not in case.images:
                add(
                    (*path, "against"),
                    f"no image '{against}' in this case{did_you_mean(against, case.images)}",
                )
                continue
        parts = check.parts()
        if not parts:
            continue
        image, scene = reference_scene(case, eff, against if isinstance(against, str) else None)
        if scene is None:
            what = (
                f"image '{image}' is a file"
                if image
                else f"no image is attached at or before turn {eff}"
            )
            add(path, f"part '{parts[0]}' needs a scene image ({what})")
            continue
        ids = [o.id for o in scene.objects if o.id]
        for part in parts:
            if part not in ids:
                add(
                    path,
                    f"no part '{part}' in image '{image}'{did_you_mean(part, ids)}"
                    f" (parts: {', '.join(ids) or 'none'})",
                )
    return problems


def vocabulary_problems(
    cases: Sequence[Case], kinds: Collection[str] | None = None
) -> list[Problem]:
    """Object words the reference world cannot draw or see, in checks of `kinds` (None:
    every check). A reference model reads every check (it draws what they ask); the
    reference judge reads only the kinds a policy routes to it, so a suite judged by a
    VLM may name a word the reference world lacks."""
    problems = []
    for case in cases:
        origin = case.origin
        for _, path, check in case.leaves():
            if kinds is not None and check.kind not in kinds:
                continue
            for word in check.words():
                if try_resolve(word) is None:
                    problems.append(
                        Problem(
                            f"object '{word}' is not in the reference vocabulary"
                            f"{did_you_mean(word.lower(), known_words())}",
                            origin.file if origin else None,
                            origin.line_of(path) if origin else None,
                            case.id,
                            ".".join(map(str, path)),
                        )
                    )
    return problems


def _declared_most(case: Case, turn: int, word: str) -> int | None:
    """The most objects `word` the count checks on turn `turn`'s canvas allow, if any says."""
    bounds = [
        check.equals if check.equals is not None else check.at_most
        for t, _, check in case.leaves()
        if isinstance(check, Count) and (check.turn or t) == turn and check.object == word
    ]
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def _matches_problem(case: Case, matches: CountOf) -> str | None:
    """A `matches` must ask for a known, bounded number: the canvas it counts declares
    how many of its object it holds at most, and times that plus `plus` is a count."""
    most = _declared_most(case, matches.turn, matches.object)
    if most is None:
        return (
            f"turn {matches.turn} has no count of '{matches.object}' with equals or at_most,"
            " so how many this asks for is unbounded; add one"
        )
    asked = matches.expected(most)
    if asked > MAX_COUNT.value:
        return f"asks for up to {asked} objects ({most} x {matches.times} + {matches.plus}); " + (
            MAX_COUNT.message("a count must be at most")
        )
    return None


def _canvas_objects(case: Case) -> Counter[int]:
    """The least number of objects the count checks ask for, summed per canvas (turn);
    the checks of both branches of a conditional are counted, to be safe, and a count
    that `matches` another canvas counts with the most it can ask for."""
    total: Counter[int] = Counter()
    for turn_no, _, check in case.leaves():
        if isinstance(check, Count):
            least = check.equals if check.equals is not None else (check.at_least or 0)
            if check.matches is not None:
                most = _declared_most(case, check.matches.turn, check.matches.object)
                # over MAX_COUNT is reported on the check itself; counted here at the bound
                least = min(max(0, check.matches.expected(most or 0)), MAX_COUNT.value)
            total[check.turn or turn_no] += least
    return total


def _scene_problems(scene: SceneSpec) -> list[tuple[tuple[str | int, ...], str]]:
    """A synthetic scene's objects and bands within limits, placed on its canvas."""
    if len(scene.objects) > MAX_SCENE_OBJECTS.value:
        return [(("objects",), f"has {len(scene.objects)} objects; {MAX_SCENE_OBJECTS.message()}")]
    if len(scene.bands) > MAX_BANDS.value:
        return [(("bands",), f"has {len(scene.bands)} bands; {MAX_BANDS.message()}")]
    out: list[tuple[tuple[str | int, ...], str]] = []
    side = max(scene.width, scene.height)
    for i, obj in enumerate(scene.objects):
        for field, value, high in (("x", obj.x, scene.width), ("y", obj.y, scene.height)):
            if not (math.isfinite(value) and 0 <= value <= high):
                out.append((("objects", i, field), f"{value} is off the canvas (0 to {high})"))
        for field, size in (("size", obj.size), ("w", obj.w), ("h", obj.h)):
            if size is not None and not (math.isfinite(size) and size <= 2 * side):
                out.append(
                    (("objects", i, field), f"{size} is larger than twice the canvas ({2 * side})")
                )
    return out


def _problem(case: Case, path: tuple[str | int, ...], message: str) -> Problem:
    origin = case.origin
    return Problem(
        message,
        origin.file if origin else None,
        origin.line_of(path) if origin else None,
        case.id,
        ".".join(map(str, path)) or None,
    )


# --- hypernyms ------------------------------------------------------------------------------

_VERB: dict[type, str] = {
    Count: "counts",
    Present: "looks for",
    Absent: "rules out",
    Relation: "places",
    Position: "places",
    Color: "colours",
}
"""The checks whose object word a judge looks for in the image, and what they do with it."""


def _looked_for(check: Check) -> list[str]:
    """The object words a judge must find to answer this check (none for comparisons)."""
    return check.words() if type(check) in _VERB else []


@cache
def _concept_pattern() -> dict[str, re.Pattern[str]]:
    """Concept name -> a pattern matching every word that names it alone (synonyms and
    plurals; not the category words that cover it)."""
    forms: dict[str, set[str]] = defaultdict(set)
    for word in known_words():
        term = try_resolve(word)
        if term is not None and not term.is_category:
            forms[term.name].add(word)
    return {
        name: re.compile(
            rf"\b(?:{'|'.join(re.escape(w) for w in sorted(ws, key=len, reverse=True))})\b",
            re.IGNORECASE,
        )
        for name, ws in forms.items()
    }


def _held(case: Case) -> Iterator[tuple[str, str]]:
    """(concept name, where the case holds it) for every thing its scenes draw, its
    prompts name or its checks look for (not `absent`, nor counts that allow none)."""
    for name, src in case.images.items():
        for obj in src.scene.objects if src.scene else ():
            term = try_resolve(obj.kind) if obj.kind else None
            if term is not None and not term.is_category:
                yield term.name, f"its scene '{name}' holds"
    patterns = _concept_pattern()
    for t, turn in enumerate(case.turns, start=1):
        for concept, pattern in patterns.items():
            if pattern.search(turn.user):
                yield concept, f"turn {t}'s prompt names"
    for t, _, check in case.leaves():
        if isinstance(check, Absent) or (isinstance(check, Count) and check.accepts(0, 0)):
            continue  # a check that rules the thing out does not put it in the image
        for word in _looked_for(check):
            term = try_resolve(word)
            if term is not None and not term.is_category:
                yield term.name, f"a check of turn {t} looks for"


def _singular(word: str, name: str) -> str:
    """The singular a person writes for `word` ('birds' -> 'bird', 'flowers' -> 'flower')."""
    low = word.strip().lower()
    return next((key for key in INCLUDES if low in (key, plural(key))), name)


def hypernym_problems(cases: Sequence[Case]) -> list[Problem]:
    """Checks whose object word a real judge reads more widely than the reference world:
    'bird' in a case that holds a duck (a scene object, a word of a prompt, another check's
    object) it does not mean. Use the specific word, or keep the hyponyms out."""
    problems = []
    for case in cases:
        held: dict[str, str] = {}
        for concept, where in _held(case):
            held.setdefault(concept, where)
        for _, path, check in case.leaves():
            for word in _looked_for(check):
                term = try_resolve(word)
                if term is None:
                    continue  # reported by vocabulary_problems
                for other in sorted(hyponyms(word) - term.concepts):
                    if other in held:
                        problems.append(
                            _problem(
                                case,
                                path,
                                f"{_VERB[type(check)]} '{word}' but {held[other]} {other}:"
                                f" a judge counts a {other} as a {_singular(word, term.name)}",
                            )
                        )
    return problems


# --- contrast groups ------------------------------------------------------------------------


def group_problems(cases: Sequence[Case]) -> list[Problem]:
    """Contrast groups that cannot work: one member (nothing to contrast), or members of
    another family/subtype than the group's first member (a group is scored within one)."""
    members: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        if case.group is not None:
            members[case.group].append(case)
    problems = []
    for group, found in members.items():
        first = found[0]
        if len(found) == 1:
            problems.append(
                _problem(
                    first,
                    ("group",),
                    f"group '{group}' has one member; a contrast group needs two or more",
                )
            )
        for case in found[1:]:
            if (case.family, case.subtype) != (first.family, first.subtype):
                problems.append(
                    _problem(
                        case,
                        ("group",),
                        f"group '{group}' mixes {case.family}/{case.subtype} with"
                        f" {first.family}/{first.subtype} ({first.id}); a group's members"
                        " share family and subtype",
                    )
                )
    return problems


# --- warnings -------------------------------------------------------------------------------


def literal_warnings(cases: Sequence[Case]) -> list[Problem]:
    """`literal: true` on `unchanged`/`same_as` (such failures are over_edit now, so the
    flag has no effect: remove it), and every check that contradicts a literal value of
    its turn (not literal-applicable: the literal reading leaves it out)."""
    conflicts = [
        _problem(case, path, message)
        for case in cases
        for _, path, message in literal_conflicts(case)
    ]
    return conflicts + [
        _problem(
            case,
            path,
            f"literal: true on {check.kind}: locality failures are over_edit;"
            " literal no longer applies",
        )
        for case in cases
        for _, path, check in case.leaves()
        if isinstance(check, Unchanged | SameAs) and check.literal
    ]
