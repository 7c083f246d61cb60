"""Label files: every label as CSV or JSON lines, and reading them back, all or nothing.

CSV has a header of `label.COLUMNS`, the check as JSON in its cell, empty cells for
missing values; JSONL has one `Label` object a line.

CSV cells are safe to open in a spreadsheet (OWASP's rule against formula injection): a
text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with
a single quote in front (`'=HYPERLINK(...)`), and so is a text cell that already starts
with a quote, so that reading strips exactly one leading quote from a text cell and gets
the text back. The rule is for text cells only: numbers we write (`epoch`, `turn`, `id`)
are written as numbers. Reading validates every row
before anything is stored: the first bad one is a `LabelFileError` naming the file,
the line and the field, e.g. `labels.csv:4: label: Input should be 'pass', 'fail' or
'cant_tell'`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from uniprobe.errors import LabelFileError, Problem, UsageError
from uniprobe.store.labels.label import COLUMNS, Label

__all__ = ["ExportFormat", "format_labels", "neutralise", "read_label_file"]

ExportFormat = Literal["csv", "jsonl"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may run as a formula at the start of a cell (OWASP)."""
_QUOTE = "'"


def neutralise(cell: str | int | float) -> str | int | float:
    """A CSV cell a spreadsheet shows as text: a text cell starting with a formula
    character (or with the quote itself) gets a quote in front; numbers stay numbers."""
    if isinstance(cell, str) and cell.startswith((*FORMULA_STARTS, _QUOTE)):
        return _QUOTE + cell
    return cell


def _restore(cell: str) -> str:
    """The text `neutralise` quoted (one leading quote off)."""
    return cell[1:] if cell.startswith(_QUOTE) else cell


def format_labels(labels: Sequence[Label], fmt: ExportFormat) -> str:
    """Labels as CSV (a header of `COLUMNS`, the check as JSON) or as JSON lines."""
    if fmt == "jsonl":
        return "".join(lb.model_dump_json() + "\n" for lb in labels)
    if fmt != "csv":
        raise UsageError(f"unknown label format '{fmt}': use csv or jsonl")
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for lb in labels:
        data = lb.model_dump(mode="json")
        data["check"] = json.dumps(lb.check, sort_keys=True, ensure_ascii=False)
        writer.writerow(["" if data[c] is None else neutralise(data[c]) for c in COLUMNS])
    return buf.getvalue()


def read_label_file(path: Path) -> list[Label]:
    """Every label of a CSV or JSONL file, or `LabelFileError` for the first bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelFileError(f"{path}: cannot read: {exc}") from None
    jsonl = path.suffix.lower() in (".jsonl", ".json") or text.lstrip().startswith("{")
    rows = _jsonl_rows(path, text) if jsonl else _csv_rows(path, text)
    labels = []
    for line, data in rows:
        data.pop("id", None)  # ids belong to the file the rows came from
        try:
            labels.append(Label.model_validate(data))
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if not field:  # a whole-row check names its field as "field: message"
                field, _, message = message.partition(": ")
            raise LabelFileError(str(Problem(message, path, line, loc=field))) from None
    return labels


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LabelFileError(str(Problem(f"not JSON: {exc.msg}", path, number))) from None
        if not isinstance(data, dict):
            raise LabelFileError(str(Problem("expected a JSON object", path, number)))
        yield number, data


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return
    missing = [c for c in COLUMNS if c != "id" and c not in header]
    if missing:
        raise LabelFileError(str(Problem("missing column", path, 1, loc=missing[0])))
    start = reader.line_num + 1
    for row in reader:
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise LabelFileError(
                str(Problem(f"{len(row)} cells for {len(header)} columns", path, line))
            )
        cells = zip(header, row, strict=True)
        data: dict[str, Any] = {k: (_restore(v) if v != "" else None) for k, v in cells}
        try:
            data["check"] = json.loads(data["check"] or "")
        except json.JSONDecodeError as exc:
            raise LabelFileError(
                str(Problem(f"not JSON: {exc.msg}", path, line, loc="check"))
            ) from None
        yield line, data
