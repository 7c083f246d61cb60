"""Checks of a case that need more than one field: references between turns, images, parts."""

from __future__ import annotations

from pathlib import Path

from uniprobe.cases.checks import Comparison, Count
from uniprobe.cases.schema import Case
from uniprobe.errors import Problem, did_you_mean
from uniprobe.scenes.spec import SceneSpec
from uniprobe.scenes.vocabulary import known_words, try_resolve

__all__ = ["reference_scene", "semantic_problems", "vocabulary_problems"]


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
        if src.file is not None and not (base_dir / src.file).is_file():
            add(("images", name, "file"), f"file not found: {base_dir / src.file}")
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


def vocabulary_problems(cases: list[Case] | tuple[Case, ...]) -> list[Problem]:
    """Object words the reference world cannot draw or see (needed by reference models
    and the reference judge)."""
    problems = []
    for case in cases:
        origin = case.origin
        for _, path, check in case.leaves():
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
