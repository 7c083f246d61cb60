"""The server's label indexes agree with a full rescan, whatever order labels come in."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from annotate_helpers import groups_of, paper_run

from uniprobe.annotate.app import Annotation
from uniprobe.annotate.items import CanvasGroup
from uniprobe.annotate.tally import Tally
from uniprobe.store.labels.db import LabelStore, Vote
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label, LabelValue
from uniprobe.store.rundir import RunDir

PEOPLE = ["ada", "bob", "cy", "dee"]
VALUES: list[LabelValue] = ["pass", "fail", "cant_tell"]


def _rescan(
    groups: list[CanvasGroup], votes: list[Vote], annotator: str
) -> tuple[list[str], dict[str, LabelValue]]:
    """The order and the labels as the server computed them before it kept indexes."""
    last: dict[tuple[str, str], Vote] = {}
    for v in sorted(votes, key=lambda v: (v.created, v.id)):
        last[(v.item, v.annotator)] = v
    latest = list(last.values())
    mine = {v.item: v.label for v in latest if v.annotator == annotator}
    per_item = Counter(v.item for v in latest)
    people: dict[str, set[str]] = {}
    for v in latest:
        people.setdefault(v.annotator, set()).add(v.item)
    finished_by = {
        g.id: sum({it.key for it in g.items} <= done for done in people.values()) for g in groups
    }
    order = {g.id: n for n, g in enumerate(groups)}
    todo = [g for g in groups if not {it.key for it in g.items} <= mine.keys()]
    todo.sort(
        key=lambda g: (finished_by[g.id], sum(per_item[it.key] for it in g.items), order[g.id])
    )
    return [g.id for g in todo], mine


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_tally_gives_the_order_and_labels_a_rescan_gives(
    tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    groups = groups_of(paper_run(tmp_path_factory), policy=None)
    keys = [*sorted({it.key for g in groups for it in g.items}), "f" * 24]  # one not in the run
    rng = random.Random(seed)
    votes: list[Vote] = []
    tally = Tally(groups)
    for n in range(1, 400):
        # times out of order: an import of older labels must not override newer ones
        when = f"2026-01-01T10:{rng.randrange(60):02d}:00.000+00:00"
        vote = Vote(n, rng.choice(keys), rng.choice(PEOPLE), rng.choice(VALUES), when)
        votes.append(vote)
        tally.add([vote])
        if n % 37 == 0:
            for person in PEOPLE:
                todo, mine = _rescan(groups, votes, person)
                assert tally.todo(person) == todo
                assert tally.labels_of(person) == mine
                progress = tally.progress(person)
                assert (progress.done, progress.labels) == (len(groups) - len(todo), len(mine))
                assert tally.next_canvas(person) == (todo[0] if todo else None)
                assert tally.next_canvas(person, set(todo[:3])) == (
                    todo[3] if len(todo) > 3 else (todo[0] if todo else None)
                )
    tally.add(votes[:50])  # rows counted before change nothing
    assert tally.todo("ada") == _rescan(groups, votes, "ada")[0]


def test_labels_written_by_another_process_count_on_the_next_request(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    run = paper_run(tmp_path_factory)
    groups = groups_of(run, policy=None)
    store = LabelStore(tmp_path / "labels.sqlite")
    annotation = Annotation(RunDir.open(run), groups, store, refresh=0)
    first, progress = annotation.next_for("ada")
    assert first is not None and progress == {"done": 0, "total": 20, "labels": 0}
    other = LabelStore(store.path)  # as `uniprobe labels import` would
    for it in groups[0].items:
        other.add(it.label("ada", "pass"))
    canvas, progress = annotation.next_for("ada")
    assert progress == {"done": 1, "total": 20, "labels": len(groups[0].items)}
    assert canvas is not None and canvas["id"] != groups[0].id


def test_concurrent_labels_share_commits_and_each_gets_its_own_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LabelStore(tmp_path / "labels.sqlite")
    check = {"count": {"object": "dog", "equals": 1}}
    commits = 0
    write = store._write

    def counting(*args: object) -> object:
        nonlocal commits
        commits += 1
        return write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "_write", counting)
    got: list[Label] = []
    lock = threading.Lock()

    def annotate(person: int) -> None:
        for n in range(10):
            image = f"{person:02d}{n:02d}".ljust(64, "a")
            label = Label(
                item=item_key(image, check),
                case_id="c",
                epoch=0,
                turn=1,
                path="turns.0.expect.0",
                kind="count",
                check=check,
                image_sha256=image,
                annotator=f"p{person}",
                label="pass",
                created="2026-01-01T10:00:00+00:00",
            )
            stored = store.add(label)
            with lock:
                got.append(stored)

    threads = [threading.Thread(target=annotate, args=(p,)) for p in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored_rows = {(lb.id, lb.annotator, lb.item) for lb in store.labels()}
    assert {(lb.id, lb.annotator, lb.item) for lb in got} == stored_rows
    assert len(stored_rows) == 320
    assert commits < 320  # some labels shared a commit


def test_rows_of_other_processes_are_read_at_most_every_refresh_seconds(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    run = paper_run(tmp_path_factory)
    groups = groups_of(run, policy=None)
    store = LabelStore(tmp_path / "labels.sqlite")
    annotation = Annotation(RunDir.open(run), groups, store, refresh=0.3)
    assert annotation.progress("ada")["labels"] == 0
    LabelStore(store.path).add(groups[0].items[0].label("ada", "pass"))
    assert annotation.progress("ada")["labels"] == 0  # not looked yet
    own = store.add(groups[1].items[0].label("ada", "fail"))
    annotation.count(own)
    assert annotation.progress("ada")["labels"] == 1  # its own label counts at once
    time.sleep(0.35)
    assert annotation.progress("ada")["labels"] == 2
