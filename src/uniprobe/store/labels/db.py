"""Human labels beside the run log: `RUN/labels.sqlite` (never in samples or scores).

One row per label: the item it answers (`keys.item_key`), where it was seen (case,
epoch, turn, check path), the check, the images, who gave it, what, and when. Rows are
only ever added: an annotator who changes their mind adds a row and their latest one
counts (`LabelStore.latest`), so the history stays. The file is SQLite in WAL mode;
every write is one short transaction on its own connection, so a killed process never
leaves half a label, and several processes (the annotation server, `uniprobe labels
import`) can write at once. Reading a run that has no label file creates nothing.

`LabelStore.add` returns only once the label is committed and synced (`synchronous=full`).
`add` and `votes_after` (the annotation server's calls) keep one connection each open
between calls: closing the last connection to a WAL file checkpoints it and deletes the
WAL, three more syncs per label. A kept connection is reopened when the file it opened
was removed or replaced.
Labels added at the same time from several threads of one process share a commit (a
group commit: the first waiting thread writes everyone's labels in one transaction), so
32 annotators labelling at once cost one disk sync, not 32. `votes_after(row_id)` reads
the rows added since a row id, in id order (ids grow in commit order), which is how the
annotation server keeps its in-memory index in step with the file, whoever writes it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uniprobe.errors import RunDirError
from uniprobe.store.labels.files import ExportFormat, format_labels, read_label_file
from uniprobe.store.labels.label import COLUMNS, Label, LabelValue, now_iso
from uniprobe.store.rundir import atomic_write

__all__ = [
    "LABELS_FILE",
    "ExportFormat",
    "Imported",
    "Label",
    "LabelStore",
    "LabelValue",
    "Vote",
    "labels_path",
    "now_iso",
]

LABELS_FILE = "labels.sqlite"
"""The label file's name in a run folder."""
SCHEMA_VERSION = 1
_SCHEMA = """
create table if not exists labels (
    id integer primary key autoincrement,
    item text not null,
    case_id text not null,
    epoch integer not null,
    turn integer not null,
    path text not null,
    kind text not null,
    check_json text not null,
    image_sha256 text,
    reference_sha256 text,
    annotator text not null,
    label text not null check (label in ('pass', 'fail', 'cant_tell')),
    created text not null
);
create index if not exists labels_by_item on labels (item, annotator);
"""
_SELECT = (
    "select id, item, case_id, epoch, turn, path, kind, check_json, image_sha256, "
    "reference_sha256, annotator, label, created from labels"
)


def labels_path(run: str | Path) -> Path:
    """Where a run's labels are: `RUN/labels.sqlite`."""
    return Path(run) / LABELS_FILE


@dataclass(frozen=True)
class Imported:
    """What an import did."""

    added: int
    """Rows added."""
    skipped: int
    """Rows already in the label file (same item, annotator, label and time)."""


@dataclass(frozen=True)
class Vote:
    """The part of a label row an index of who answered what needs."""

    id: int
    """Row id (grows in commit order)."""
    item: str
    """The item answered."""
    annotator: str
    """Who answered."""
    label: LabelValue
    """pass, fail or cant_tell."""
    created: str
    """When, in UTC ISO 8601 with milliseconds (sorts as text)."""


class _Kept:
    """A connection kept open between calls, for one thread at a time (hold `lock`)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._file: tuple[int, int] | None = None

    def get(self, path: Path, connect: Callable[[], sqlite3.Connection]) -> sqlite3.Connection:
        """The connection, reopened if the file at `path` is not the one it opened."""
        if self._db is not None and _identity(path) != self._file:
            self._db.close()
            self._db = None
        if self._db is None:
            self._db = connect()
            self._file = _identity(path)
        return self._db


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_dev, st.st_ino


class LabelStore:
    """The label file at `path` (constructing it touches nothing)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writer = _Kept()
        self._reader = _Kept()
        self._queue_lock = threading.Lock()
        self._queue: list[tuple[Label, Future[int]]] = []

    # connections ----------------------------------------------------------------------
    @contextmanager
    def _write(self, kept: _Kept | None = None) -> Iterator[sqlite3.Connection]:
        """One short write transaction (BEGIN IMMEDIATE ... COMMIT, rolled back on error),
        on the kept connection `kept` (its lock held) or on a connection of its own."""
        if not self.path.parent.is_dir():
            raise RunDirError(f"{self.path.parent} is not a folder")
        with contextlib.ExitStack() as stack:
            if kept is None:
                db = stack.enter_context(closing(self._connect()))
            else:
                db = kept.get(self.path, self._connect)
            db.execute("begin immediate")
            try:
                yield db
            except BaseException:
                if db.in_transaction:
                    db.execute("rollback")
                raise
            db.execute("commit")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            db.execute("pragma journal_mode=wal")
            db.execute("pragma synchronous=full")
            version = db.execute("pragma user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RunDirError(
                    f"{self.path}: written by a newer uniprobe (label schema {version}); "
                    f"this one reads up to {SCHEMA_VERSION}"
                )
            if version < SCHEMA_VERSION:
                db.executescript(_SCHEMA + f"pragma user_version = {SCHEMA_VERSION};")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise RunDirError(f"{self.path}: not a label file: {exc}") from None
        except BaseException:
            db.close()
            raise
        return db

    def _rows(self, where: str = "", args: Sequence[Any] = ()) -> list[Label]:
        if not self.path.is_file():
            return []
        with closing(self._connect()) as db:
            rows = db.execute(f"{_SELECT} {where} order by created, id", tuple(args)).fetchall()
        return [_from_row(r) for r in rows]

    # writing ----------------------------------------------------------------------------
    def add(self, label: Label) -> Label:
        """Store one label, committed and synced before this returns; returns it with its
        row id. Labels added at the same time by other threads share the commit."""
        done: Future[int] = Future()
        with self._queue_lock:
            self._queue.append((label, done))
        with self._writer.lock:
            if not done.done():  # nobody took it into their commit: write the queue
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._commit(batch)
        return label.model_copy(update={"id": done.result()})

    def _commit(self, batch: list[tuple[Label, Future[int]]]) -> None:
        """Write a batch in one transaction; if it fails, each label on its own, so one
        label's error is that label's alone."""
        try:
            with self._write(self._writer) as db:
                ids = [_insert(db, label) for label, _ in batch]
        except Exception as exc:
            if len(batch) == 1:
                batch[0][1].set_exception(exc)
                return
            for one in batch:
                self._commit([one])
            return
        except BaseException as exc:  # interrupted: no waiting thread may wait forever
            for _, done in batch:
                done.set_exception(exc)
            raise
        for (_, done), row_id in zip(batch, ids, strict=True):
            done.set_result(row_id)

    def add_many(self, labels: Iterable[Label]) -> Imported:
        """Store labels in one transaction, skipping those already stored (same item,
        annotator, label and time): all of them or, on an error, none."""
        with self._write() as db:
            seen = {
                (r[0], r[1], r[2], r[3])
                for r in db.execute("select item, annotator, label, created from labels")
            }
            added = skipped = 0
            for label in labels:
                if label.identity() in seen:
                    skipped += 1
                    continue
                seen.add(label.identity())
                _insert(db, label)
                added += 1
        return Imported(added, skipped)

    def import_labels(self, file: str | Path) -> Imported:
        """Add the labels of an exported CSV or JSONL file, all or none.

        Every row is validated first; the first bad one raises `LabelFileError` naming
        the file, line and field, and nothing is stored. Rows already in the label file
        are skipped, so importing a file twice adds nothing the second time.
        """
        return self.add_many(read_label_file(Path(file)))

    # reading ----------------------------------------------------------------------------
    def labels(self, *, item: str | None = None, annotator: str | None = None) -> list[Label]:
        """Every label (history included), oldest first; optionally of one item or annotator."""
        clauses, args = [], []
        for column, value in (("item", item), ("annotator", annotator)):
            if value is not None:
                clauses.append(f"{column} = ?")
                args.append(value)
        return self._rows(f"where {' and '.join(clauses)}" if clauses else "", args)

    def votes_after(self, row_id: int) -> list[Vote]:
        """The rows added after row `row_id`, in id order, without validating them (they
        were validated when written). No label file: none, and nothing is created."""
        if not self.path.is_file():
            return []
        with self._reader.lock:
            rows = (
                self._reader.get(self.path, self._connect)
                .execute(
                    "select id, item, annotator, label, created from labels where id > ? "
                    "order by id",
                    (row_id,),
                )
                .fetchall()
            )
        return [Vote(*row) for row in rows]

    def latest(self) -> list[Label]:
        """The label that counts for each (item, annotator): the latest one given."""
        last: dict[tuple[str, str], Label] = {}
        for label in self._rows():
            last[(label.item, label.annotator)] = label
        return sorted(last.values(), key=lambda lb: (lb.item, lb.annotator))

    def export(self, fmt: ExportFormat, out: str | Path) -> int:
        """Write every label (history included) as CSV or JSONL; returns the row count."""
        rows = self._rows()
        atomic_write(Path(out), format_labels(rows, fmt).encode("utf-8"))
        return len(rows)


def _insert(db: sqlite3.Connection, label: Label) -> int:
    cur = db.execute(
        "insert into labels (item, case_id, epoch, turn, path, kind, check_json, image_sha256, "
        "reference_sha256, annotator, label, created) values (?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            label.item,
            label.case_id,
            label.epoch,
            label.turn,
            label.path,
            label.kind,
            json.dumps(label.check, sort_keys=True, ensure_ascii=False),
            label.image_sha256,
            label.reference_sha256,
            label.annotator,
            label.label,
            label.created,
        ),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def _from_row(row: Sequence[Any]) -> Label:
    data = dict(zip(COLUMNS, row, strict=True))
    data["check"] = json.loads(data["check"])
    return Label.model_validate(data)
