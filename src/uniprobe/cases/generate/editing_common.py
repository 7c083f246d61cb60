"""What the editing builders share: the one-turn edit, locality, regions, wordings, dedup.

The design every editing case follows (stated once, here):

* The source image is a synthetic scene with exact part ids, attached to turn 1; its
  checks are `probe` checks (the model did not draw the source).
* Every edit asks for a visible change, so returning the source (unchanged, never-act),
  a text answer or a refusal fails it.
* Every edit names its target with a referring expression (the LEFT cup, the RED cars,
  the word 'ROMA' on the sign, the hat FROM THE FIRST PICTURE) over a scene that holds
  2+ candidates; the literal reading applies the edit to every candidate, and a check
  on a candidate that must stay names that reading in `literal:` (the new colour, a
  count of 0, ...). So `reference/literal` draws a real misreading that a check catches.
* Every case keeps an `unchanged` check of the untouched region against the source
  (never `literal`: a locality failure is `over_edit`).
* Wordings are hand-written tables; `Frames` walks a table in an order drawn from the
  builder's generator, so each subtype uses every wording of its table.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

from uniprobe.cases.checks import Expectation, Unchanged
from uniprobe.cases.generate.common import case, slug
from uniprobe.cases.schema import Case, Family, ImageSource, Turn
from uniprobe.scenes.spec import Band, SceneObject, SceneSpec

__all__ = [
    "CASES",
    "E",
    "Edit",
    "Frames",
    "edit_case",
    "numbered",
    "outside",
    "region",
    "scene_image",
    "sky_and_grass",
    "unique_cases",
]

E: Family = "editing"
CASES = 26
"""Cases per editing subtype (issue 12: at least 24)."""


class Edit(NamedTuple):
    """One edit request on a source scene."""

    user: str
    expect: list[Expectation]
    description: str
    objects: list[SceneObject]
    bands: tuple[Band, ...] = ()


class Frames:
    """A table of hand-written wordings, used in an order drawn once from `rng`: the
    first len(table) picks are all different, so a subtype uses every wording."""

    def __init__(self, rng: random.Random, table: Sequence[str]) -> None:
        self._table = rng.sample(list(table), len(table))
        self._next = 0

    def say(self, **fields: object) -> str:
        """The next wording, filled in (a sentence starts with a capital)."""
        text = self._table[self._next % len(self._table)].format(**fields)
        self._next += 1
        return text[0].upper() + text[1:]


def numbered(prefix: str, n: int) -> list[str]:
    """Part ids 'cup1', 'cup2', ..."""
    return [f"{slug(prefix)}{j + 1}" for j in range(n)]


def outside(*parts: str, against: str = "source", objects: tuple[str, ...] = ()) -> Unchanged:
    """Nothing but these scene parts of `against` (and the boxes of these object words, in
    either image: a replacement's glyph may overflow the part it replaces) may change."""
    return Unchanged(against=against, outside=parts, outside_objects=objects)


def region(part: str, x: float, y: float, w: float, h: float) -> SceneObject:
    """An invisible scene part (a place checks can name)."""
    return SceneObject(id=part, shape="region", x=x, y=y, w=w, h=h)


def sky_and_grass(horizon: float) -> tuple[Band, Band]:
    """A sky above a lawn, split at `horizon` (a fraction of the height)."""
    return Band(kind="sky", top=0, bottom=horizon), Band(kind="grass", top=horizon, bottom=1)


def scene_image(objects: Sequence[SceneObject], bands: Sequence[Band] = ()) -> ImageSource:
    """A synthetic scene image."""
    return ImageSource(scene=SceneSpec(bands=tuple(bands), objects=tuple(objects)))


def edit_case(subtype: str, n: int, label: str, edit: Edit, *, group: str | None = None) -> Case:
    """A one-turn case: the request, sent with its `source` scene."""
    turns = [Turn(user=edit.user, attach=("source",), expect=tuple(edit.expect))]
    images = {"source": scene_image(edit.objects, edit.bands)}
    return case(E, subtype, n, label, edit.description, turns, images=images, group=group)


def unique_cases(
    make: Callable[[int, int], list[Case]], count: int = CASES, tries: int = 400
) -> Iterator[Case]:
    """Cases from `make(i, n)` (draft i = 0, 1, ...; its first case numbered n) until
    `count` are yielded, skipping a draft whose images, turns and checks repeat an earlier
    case's (a group is kept or skipped whole), so ids stay dense and no case repeats."""
    seen: set[str] = set()
    done = 0
    for i in range(tries):
        batch = make(i, done + 1)
        keys = [_key(c) for c in batch]
        if any(k in seen for k in keys) or len(set(keys)) < len(keys):
            continue
        seen.update(keys)
        yield from batch
        done += len(batch)
        if done >= count:
            return
    raise RuntimeError(f"only {done} distinct cases after {tries} tries")


def _key(c: Case) -> str:
    doc = c.to_dict()
    return repr((doc.get("images"), doc.get("turns")))
