"""Who has answered what, kept in memory and updated label by label (never rescanned).

The annotation server asks two things on every request: where an annotator stands
(their latest label per item, the canvases they finished) and which canvas to show them
next. Both are answered from indexes that each new label row updates in a few
dictionary operations:

* per annotator: their latest label per item (the latest by time, then row id, as
  `LabelStore.latest` counts it: an imported older row changes nothing), how many items
  of each canvas they answered, and the canvases they finished;
* per item: how many annotators answered it;
* per canvas: how many annotators finished it and how many labels its items have, kept
  in one list sorted by (finished by, labels, run order): the order canvases are offered.

The next canvas for an annotator is the first one in that list they have not finished
and did not skip (or, when they skipped everything left, the first they have not
finished). Labels on items that are not in this run count towards the annotator's
labels but touch no canvas.

A `Tally` is not thread-safe by itself; its owner serialises access.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from uniprobe.annotate.items import CanvasGroup
from uniprobe.store.labels.db import Vote
from uniprobe.store.labels.label import LabelValue

__all__ = ["Progress", "Tally"]


@dataclass(frozen=True)
class Progress:
    """Where one annotator stands."""

    done: int
    """Canvases they finished."""
    total: int
    """Canvases in the run."""
    labels: int
    """Items they labelled."""

    def as_dict(self) -> dict[str, int]:
        """As the page reads it."""
        return {"done": self.done, "total": self.total, "labels": self.labels}


@dataclass
class _Answer:
    label: LabelValue
    created: str
    id: int


_Place = tuple[int, int, int]
"""(annotators who finished the canvas, labels on its items, run order)."""


class Tally:
    """Indexes of the labels on a run's canvases (see the module docstring)."""

    def __init__(self, groups: Sequence[CanvasGroup]) -> None:
        self._ids = [g.id for g in groups]
        self._size = [len({it.key for it in g.items}) for g in groups]
        self._groups_of: dict[str, list[int]] = {}
        for n, group in enumerate(groups):
            for key in {it.key for it in group.items}:
                self._groups_of.setdefault(key, []).append(n)
        self._places: list[_Place] = [(0, 0, n) for n in range(len(groups))]
        self._place = list(self._places)
        self._latest: dict[str, dict[str, _Answer]] = {}
        self._answered: dict[str, Counter[int]] = {}
        self._finished: dict[str, set[int]] = {}

    def add(self, votes: Iterable[Vote]) -> None:
        """Count label rows (in any order; a row counted before is ignored)."""
        for vote in votes:
            self._add(vote)

    def _add(self, vote: Vote) -> None:
        mine = self._latest.setdefault(vote.annotator, {})
        before = mine.get(vote.item)
        if before is not None and (vote.created, vote.id) <= (before.created, before.id):
            return  # an older answer (imported) or one counted already
        mine[vote.item] = _Answer(vote.label, vote.created, vote.id)
        if before is not None:
            return  # a changed mind: the same annotators answered the same items
        answered = self._answered.setdefault(vote.annotator, Counter())
        finished = self._finished.setdefault(vote.annotator, set())
        for n in self._groups_of.get(vote.item, ()):
            answered[n] += 1
            now_finished = answered[n] == self._size[n]
            if now_finished:
                finished.add(n)
            self._move(n, int(now_finished), 1)

    def _move(self, n: int, finished: int, labels: int) -> None:
        old = self._place[n]
        del self._places[bisect_left(self._places, old)]
        new = (old[0] + finished, old[1] + labels, n)
        insort(self._places, new)
        self._place[n] = new

    def progress(self, annotator: str) -> Progress:
        """How far `annotator` is."""
        done = len(self._finished.get(annotator, ()))
        return Progress(done, len(self._ids), len(self._latest.get(annotator, {})))

    def mine(self, annotator: str, items: Iterable[str]) -> dict[str, LabelValue]:
        """`annotator`'s latest label on each of `items` they answered."""
        answers = self._latest.get(annotator, {})
        return {key: answers[key].label for key in items if key in answers}

    def labels_of(self, annotator: str) -> Mapping[str, LabelValue]:
        """Every latest label of `annotator`, by item (a copy)."""
        return {key: a.label for key, a in self._latest.get(annotator, {}).items()}

    def next_canvas(self, annotator: str, skipped: Collection[str] = ()) -> str | None:
        """The canvas to offer `annotator` next (see the module docstring); None when they
        finished every canvas."""
        finished = self._finished.get(annotator, set())
        first: str | None = None
        for _, _, n in self._places:
            if n in finished:
                continue
            gid = self._ids[n]
            if gid not in skipped:
                return gid
            if first is None:
                first = gid
        return first

    def todo(self, annotator: str) -> list[str]:
        """Every canvas `annotator` has not finished, in the order they are offered."""
        finished = self._finished.get(annotator, set())
        return [self._ids[n] for _, _, n in self._places if n not in finished]
