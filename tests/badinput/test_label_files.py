"""Bad label files (`uniprobe labels import RUN FILE`): one line naming the file, the line
and the field; exit 2; the run's label file is neither made nor changed.

The good rows are labels of real items of a run of a two-case suite, as `labels export`
writes them; each test breaks a copy in one way.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from harness import refuse

import uniprobe
from conftest import TINY_SUITE
from uniprobe.annotate.items import canvases
from uniprobe.store.labels.files import format_labels
from uniprobe.store.labels.label import Label
from uniprobe.store.rundir import RunDir

Row = dict[str, object]


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Label]]:
    """A run of the tiny suite and two valid labels of its items."""
    base = tmp_path_factory.mktemp("labelled")
    suite = base / "tiny.yaml"
    suite.write_text(TINY_SUITE, encoding="utf-8")
    [result] = uniprobe.run(suite, ["reference/oracle"], out=base / "runs")
    groups = canvases(RunDir.open(result.path), uniprobe.suite_of_run(result.path))
    items = [item for group in groups for item in group.items]
    labels = [
        items[0].label("ada", "pass", created="2026-12-01T10:00:00Z"),
        items[1].label("bob", "fail", created="2026-12-01T10:00:01Z"),
    ]
    return result.path, labels


def _rows(labels: list[Label]) -> list[Row]:
    return [lb.model_dump(mode="json") for lb in labels]


def _csv(rows: list[Row], columns: list[str] | None = None) -> bytes:
    columns = columns or list(rows[0])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = {**row, "check": json.dumps(row["check"], sort_keys=True)}
        writer.writerow(["" if cells.get(c) is None else cells.get(c) for c in columns])
    return buf.getvalue().encode("utf-8")


def _jsonl(rows: list[Row]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


def _change(**fields: object) -> Callable[[list[Row]], list[Row]]:
    """The second row with `fields` changed."""
    return lambda rows: [rows[0], {**rows[1], **fields}]


Break = Callable[[list[Label]], bytes]


def _csv_with(change: Callable[[list[Row]], list[Row]]) -> Break:
    return lambda labels: _csv(change(_rows(labels)))


def _jsonl_with(change: Callable[[list[Row]], list[Row]]) -> Break:
    return lambda labels: _jsonl(change(_rows(labels)))


def _text(text: str) -> Break:
    return lambda _: text.encode("utf-8")


def _good_csv(edit: Callable[[bytes], bytes]) -> Break:
    return lambda labels: edit(_csv(_rows(labels)))


FILES = [
    # (suffix, how to break the file, what the line says after "error: FILE")
    pytest.param(
        ".csv",
        _csv_with(_change(case_id="tiny.numeric.bird")),
        ":3: case_id: the run has no case 'tiny.numeric.bird'; did you mean 'tiny.numeric.birds'?",
        id="unknown-case",
    ),
    pytest.param(
        ".csv",
        _csv_with(_change(epoch=4)),
        ":3: epoch: the run has epochs 0 to 0, not 4",
        id="unknown-epoch",
    ),
    pytest.param(".csv", _csv_with(_change(turn=7)), ":3: turn: case ", id="unknown-turn"),
    pytest.param(
        ".csv",
        _csv_with(_change(path="turns.1.expect.9")),
        ":3: path: turn ",
        id="unknown-path",
    ),
    pytest.param(
        ".csv", _csv_with(_change(kind="color")), ":3: kind: the check at ", id="wrong-kind"
    ),
    pytest.param(
        ".csv",
        _csv_with(_change(label="yes")),
        ":3: label: Input should be 'pass', 'fail' or 'cant_tell'",
        id="bad-value",
    ),
    pytest.param(
        ".csv",
        _csv_with(_change(epoch=-1)),
        ":3: epoch: Input should be greater than or equal to 0",
        id="negative-epoch",
    ),
    pytest.param(
        ".csv",
        _csv_with(_change(created="2026-12-01 10:00")),
        ":3: created: the time needs a UTC offset",
        id="naive-time",
    ),
    pytest.param(
        ".csv",
        _csv_with(_change(annotator="x" * 65)),
        ":3: annotator: String should have at most 64 characters",
        id="long-annotator",
    ),
    pytest.param(".csv", _csv_with(_change(check={"count": {}})), ":3: item: ", id="changed-check"),
    pytest.param(
        ".csv",
        lambda labels: _csv(_rows(labels), [c for c in _rows(labels)[0] if c != "annotator"]),
        ":1: annotator: missing column",
        id="missing-column",
    ),
    pytest.param(
        ".csv",
        lambda labels: _csv(_rows(labels), [*_rows(labels)[0], "note"]),
        ":1: note: unknown column",
        id="unknown-column",
    ),
    pytest.param(
        ".csv",
        lambda labels: _csv(_rows(labels), [*_rows(labels)[0], "label"]),
        ":1: label: column twice",
        id="column-twice",
    ),
    pytest.param(
        ".csv",
        _good_csv(lambda data: data + b"a,b,c\n"),
        ":4: 3 cells for 13 columns",
        id="short-row",
    ),
    pytest.param(
        ".csv",
        _good_csv(lambda data: data.replace(b'"{', b'"{{', 1)),
        ":2: check: not JSON",
        id="check-not-json",
    ),
    pytest.param(
        ".csv",
        _good_csv(lambda data: data.replace(b"ada", b"a\x00a")),
        ":2: annotator: an annotator name cannot hold control characters",
        id="nul-byte",
    ),
    pytest.param(
        ".csv",
        _good_csv(lambda data: data + b'"' + b"x" * 200_000 + b'"\n'),
        ":4: not CSV: field larger than field limit (131072)",
        id="huge-cell",
    ),
    pytest.param(
        ".csv",
        _good_csv(lambda data: data.replace(b"\n", b"\n\xe9", 1)),
        ":2:1: not UTF-8 text (byte 0xe9); save the file as UTF-8",
        id="latin-1",
    ),
    pytest.param(
        ".csv",
        lambda labels: _csv(_rows(labels)).decode("utf-8").encode("utf-16"),
        ":1:1: not UTF-8 text (byte 0xff) (it looks like UTF-16)",
        id="utf-16",
    ),
    pytest.param(".csv", _text(""), ": empty; a label file has a header line", id="empty"),
    pytest.param(
        ".jsonl",
        _jsonl_with(_change(case_id="nope")),
        ":2: case_id: the run has no case 'nope'",
        id="jsonl-unknown-case",
    ),
    pytest.param(
        ".jsonl",
        lambda labels: _jsonl(_rows(labels)) + b"{'item': 1}\n",
        ":3: not JSON: Expecting property name enclosed in double quotes",
        id="jsonl-not-json",
    ),
    pytest.param(
        ".jsonl",
        lambda labels: _jsonl(_rows(labels)) + b"[1, 2]\n",
        ":3: expected a JSON object",
        id="jsonl-array",
    ),
    pytest.param(
        ".jsonl",
        lambda labels: _jsonl(_rows(labels)) + b"[" * 100_000 + b"\n",
        ":3: JSON nested too deeply",
        id="jsonl-deep",
    ),
    pytest.param(
        ".jsonl",
        _jsonl_with(_change(turn="second")),
        ":2: turn: Input should be a valid integer",
        id="jsonl-turn-words",
    ),
]


@pytest.mark.parametrize(("suffix", "damage", "expected"), FILES)
def test_a_bad_label_file_is_one_located_line(
    good: tuple[Path, list[Label]],
    tmp_path: Path,
    suffix: str,
    damage: Break,
    expected: str,
) -> None:
    run = shutil.copytree(good[0], tmp_path / "run")
    (tmp_path / f"labels{suffix}").write_bytes(damage(good[1]))
    line = refuse(tmp_path, "labels", "import", "run", f"labels{suffix}")
    assert line.startswith(f"error: labels{suffix}{expected}"), line
    assert not (run / "labels.sqlite").exists()


def test_the_good_files_are_accepted(good: tuple[Path, list[Label]], tmp_path: Path) -> None:
    """The corpus breaks files that import: both formats of the same rows are good."""
    run = shutil.copytree(good[0], tmp_path / "run")
    assert format_labels(good[1], "csv").encode("utf-8") == _csv(_rows(good[1]))
    for fmt, data in (("csv", _csv(_rows(good[1]))), ("jsonl", _jsonl(_rows(good[1])))):
        (tmp_path / f"labels.{fmt}").write_bytes(data)
        done = uniprobe.import_labels(run, tmp_path / f"labels.{fmt}")
        assert (done.added + done.skipped, done.skipped) == (2, 2 if fmt == "jsonl" else 0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("adir", "error: adir: a folder, not a label file", id="folder"),
        pytest.param("labels.cvs", "error: labels.cvs: no such label file", id="missing"),
    ],
)
def test_a_label_path_that_is_not_a_file(
    good: tuple[Path, list[Label]], tmp_path: Path, name: str, expected: str
) -> None:
    shutil.copytree(good[0], tmp_path / "run")
    (tmp_path / "adir").mkdir()
    assert refuse(tmp_path, "labels", "import", "run", name) == expected
