"""The label file: history kept, latest counts, WAL, concurrent writers, export and import."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from uniprobe.errors import LabelFileError
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.files import ExportFormat
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label, LabelValue

IMAGE = "a" * 64
CHECK = {"count": {"object": "dog", "equals": 2, "literal": 1}}


def _label(
    annotator: str = "ada", value: LabelValue = "pass", *, created: str, image: str = IMAGE
) -> Label:
    return Label(
        item=item_key(image, CHECK),
        case_id="demo.case",
        epoch=0,
        turn=1,
        path="turns.0.expect.0",
        kind="count",
        check=CHECK,
        image_sha256=image,
        annotator=annotator,
        label=value,
        created=created,
    )


def _rows(store: LabelStore) -> list[tuple[object, ...]]:
    return [(lb.annotator, lb.label, lb.created, lb.item) for lb in store.labels()]


def test_labels_path_is_beside_the_run_log(tmp_path: Path) -> None:
    assert labels_path(tmp_path) == tmp_path / "labels.sqlite"


def test_relabelling_keeps_history_and_the_latest_label_counts(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "labels.sqlite")
    first = store.add(_label("ada", "pass", created="2026-01-01T10:00:00+00:00"))
    store.add(_label("bob", "cant_tell", created="2026-01-01T10:00:01+00:00"))
    store.add(_label("ada", "fail", created="2026-01-01T11:00:00+01:00"))  # 10:00:00 UTC
    store.add(_label("ada", "fail", created="2026-01-01T10:05:00Z"))
    assert first.id == 1
    assert [(lb.id, lb.annotator, lb.label, lb.created) for lb in store.labels()] == [
        (1, "ada", "pass", "2026-01-01T10:00:00.000+00:00"),
        (3, "ada", "fail", "2026-01-01T10:00:00.000+00:00"),
        (2, "bob", "cant_tell", "2026-01-01T10:00:01.000+00:00"),
        (4, "ada", "fail", "2026-01-01T10:05:00.000+00:00"),
    ]
    assert [(lb.id, lb.annotator, lb.label) for lb in store.latest()] == [
        (4, "ada", "fail"),
        (2, "bob", "cant_tell"),
    ]
    assert [lb.id for lb in store.labels(annotator="bob")] == [2]
    db = sqlite3.connect(store.path)
    assert db.execute("pragma journal_mode").fetchone() == ("wal",)
    db.close()


def test_reading_a_run_without_labels_creates_nothing(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / "labels.sqlite")
    assert store.labels() == [] and store.latest() == []
    assert list(tmp_path.iterdir()) == []


def test_a_bad_label_is_refused_before_it_is_stored(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="is not the key of this row's images and check"):
        Label.model_validate({**_label(created="2026-01-01T00:00:00Z").model_dump(), "item": "x"})
    with pytest.raises(ValueError, match="the time needs a UTC offset"):
        _label(created="2026-01-01T00:00:00")
    assert _label(" ada   lovelace ", created="2026-01-01T00:00:00Z").annotator == "ada lovelace"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "labels.sqlite"
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from test_label_store import _label\n"
        "from uniprobe.store.labels.db import LabelStore\n"
        "s = LabelStore(sys.argv[1])\n"
        "for i in range(40): s.add(_label('proc', created=f'2026-01-01T00:00:{i:02d}Z'))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(path), str(Path(__file__).parent)])

    def write(name: str) -> None:
        store = LabelStore(path)  # one store per writer: each write opens its own connection
        for i in range(40):
            store.add(_label(name, "fail", created=f"2026-01-01T00:01:{i:02d}Z"))

    threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert proc.wait(timeout=120) == 0
    labels = LabelStore(path).labels()
    assert len(labels) == 200
    assert sorted(lb.id for lb in labels if lb.id is not None) == list(range(1, 201))
    assert {lb.annotator for lb in labels} == {"proc", "t0", "t1", "t2", "t3"}
    db = sqlite3.connect(path)
    assert db.execute("pragma integrity_check").fetchone() == ("ok",)
    db.close()


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_then_import_gives_the_same_labels_once(tmp_path: Path, fmt: ExportFormat) -> None:
    source = LabelStore(tmp_path / "a.sqlite")
    source.add(_label("ada", "pass", created="2026-01-01T00:00:00Z"))
    source.add(_label('bob "the, builder"', "fail", created="2026-01-01T00:00:01Z", image="b" * 64))
    source.add(_label("ada", "cant_tell", created="2026-01-01T00:00:02Z"))
    out = tmp_path / f"labels.{fmt}"
    assert source.export(fmt, out) == 3
    if fmt == "jsonl":
        first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
        assert first["check"] == CHECK and first["label"] == "pass" and first["id"] == 1
    else:
        assert out.read_text(encoding="utf-8").splitlines()[0] == (
            "id,item,case_id,epoch,turn,path,kind,check,image_sha256,reference_sha256,"
            "annotator,label,created"
        )
    target = LabelStore(tmp_path / "b.sqlite")
    target.add(_label("eve", "pass", created="2025-12-31T00:00:00Z"))
    done = target.import_labels(out)
    assert (done.added, done.skipped) == (3, 0)
    assert _rows(target)[1:] == _rows(source)
    assert [lb.id for lb in target.labels()] == [1, 2, 3, 4]  # new ids in the new file
    again = target.import_labels(out)
    assert (again.added, again.skipped) == (0, 3)
    assert len(target.labels()) == 4


HEADER = (
    "id,item,case_id,epoch,turn,path,kind,check,image_sha256,reference_sha256,"
    "annotator,label,created"
)


def _csv_row(annotator: str, label: str, second: int = 0) -> str:
    good = _label(created="2026-01-01T00:00:00Z")
    check = json.dumps(CHECK).replace('"', '""')
    return (
        f',{good.item},demo.case,0,1,turns.0.expect.0,count,"{check}",{IMAGE},,'
        f"{annotator},{label},2026-01-01T00:00:0{second}Z"
    )


def _csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


BAD_FILES = [
    pytest.param(
        "labels.csv",
        _csv(_csv_row("zed", "pass"), "", _csv_row("zed", "maybe", 1)),
        "labels.csv:4: label: Input should be 'pass', 'fail' or 'cant_tell'",
        id="csv-bad-label",
    ),
    pytest.param(
        "labels.csv",
        _csv(_csv_row(" ", "pass")),
        "labels.csv:2: annotator: an annotator name needs a visible character",
        id="csv-blank-annotator",
    ),
    pytest.param(
        "labels.csv",
        "item,label\nabc,pass\n",
        "labels.csv:1: case_id: missing column",
        id="csv-missing-column",
    ),
    pytest.param(
        "labels.csv",
        _csv(_csv_row("zed", "pass").replace('""count"":', '""count""')),
        "labels.csv:2: check: not JSON: Expecting ':' delimiter",
        id="csv-bad-check-json",
    ),
    pytest.param(
        "labels.jsonl",
        '{"item": 1}\n',
        "labels.jsonl:1: item: Input should be a valid string",
        id="jsonl-wrong-type",
    ),
    pytest.param(
        "labels.jsonl",
        "\n\n{not json\n",
        "labels.jsonl:3: not JSON: Expecting property name enclosed in double quotes",
        id="jsonl-not-json",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FILES)
def test_a_bad_row_names_file_line_and_field_and_nothing_is_imported(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    store = LabelStore(tmp_path / "labels.sqlite")
    store.add(_label("eve", created="2025-12-31T00:00:00Z"))
    before = _rows(store)
    bad = tmp_path / name
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(LabelFileError) as err:
        store.import_labels(bad)
    assert str(err.value) == f"{tmp_path}/{message}"
    assert "\n" not in str(err.value)
    assert _rows(store) == before


def test_jsonl_rows_are_checked_against_their_item_key(tmp_path: Path) -> None:
    good = _label(created="2026-01-01T00:00:00Z").model_dump(mode="json")
    rows = [good, {**good, "check": {"count": {"object": "cat", "equals": 2}}}, {**good, "x": 1}]
    bad = tmp_path / "labels.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    store = LabelStore(tmp_path / "labels.sqlite")
    with pytest.raises(LabelFileError, match=r"labels\.jsonl:2: item: '[0-9a-f]{24}' is not"):
        store.import_labels(bad)
    bad.write_text(json.dumps(good) + "\n" + json.dumps(rows[2]) + "\n", encoding="utf-8")
    with pytest.raises(LabelFileError, match=r"labels\.jsonl:2: x: Extra inputs are not permitted"):
        store.import_labels(bad)
    assert store.labels() == []
