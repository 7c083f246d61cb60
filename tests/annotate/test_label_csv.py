"""The labels CSV: text cells that a spreadsheet would run as a formula are quoted."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from uniprobe.store.labels.db import LabelStore
from uniprobe.store.labels.files import format_labels, neutralise, read_label_file
from uniprobe.store.labels.keys import item_key
from uniprobe.store.labels.label import Label

IMAGE = "b" * 64
CHECK = {"count": {"object": "dog", "equals": 2}}

FORMULAS = [
    pytest.param('=HYPERLINK("http://evil.example","x")', id="equals"),
    pytest.param("+1+1", id="plus"),
    pytest.param("-2+3", id="minus"),
    pytest.param("@SUM(1)", id="at"),
    pytest.param("'=1", id="already-quoted"),
]


def _label(annotator: str, case_id: str = "demo.case") -> Label:
    return Label(
        item=item_key(IMAGE, CHECK),
        case_id=case_id,
        epoch=0,
        turn=1,
        path="turns.0.expect.0",
        kind="count",
        check=CHECK,
        image_sha256=IMAGE,
        annotator=annotator,
        label="pass",
        created="2026-01-01T10:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        pytest.param("=1+1", "'=1+1", id="equals"),
        pytest.param("+1", "'+1", id="plus"),
        pytest.param("-1", "'-1", id="minus"),
        pytest.param("@A1", "'@A1", id="at"),
        pytest.param("\t=1", "'\t=1", id="tab"),
        pytest.param("\r=1", "'\r=1", id="carriage-return"),
        pytest.param("'quoted", "''quoted", id="quote"),
        pytest.param("ada", "ada", id="plain"),
        pytest.param("a=b", "a=b", id="inside"),
        pytest.param("", "", id="empty"),
        pytest.param(-0.5, -0.5, id="our-float"),
        pytest.param(-3, -3, id="our-int"),
    ],
)
def test_text_cells_are_neutralised_and_numbers_stay_numbers(
    cell: str | float, written: str | float
) -> None:
    assert neutralise(cell) == written


@pytest.mark.parametrize("name", FORMULAS)
def test_the_export_writes_no_formula_cell(name: str) -> None:
    text = format_labels([_label(name, case_id=f"+{name}")], "csv")
    [header, row] = list(csv.reader(io.StringIO(text)))
    data = dict(zip(header, row, strict=True))
    assert data["annotator"] == "'" + name
    assert data["case_id"] == "'+" + name
    assert data["epoch"] == "0" and data["turn"] == "1"  # numbers are written as numbers
    for cell in row:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell


@pytest.mark.parametrize("name", FORMULAS)
def test_an_exported_csv_imports_back_to_the_same_text(tmp_path: Path, name: str) -> None:
    source = LabelStore(tmp_path / "a.sqlite")
    source.add(_label(name))
    out = tmp_path / "labels.csv"
    source.export("csv", out)
    [back] = read_label_file(out)
    assert back.annotator == name
