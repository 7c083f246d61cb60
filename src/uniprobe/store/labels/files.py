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
'cant_tell'`. A file that is not UTF-8, empty, a folder, not CSV (a NUL byte, a cell
over the csv module's limit), with unknown or repeated columns, or JSON nested too
deeply is refused the same way; so is a row for a case, epoch, turn or check the run
does not have (`run_check`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from uniprobe.cases.checks import check_to_dict
from uniprobe.cases.schema import Suite
from uniprobe.config import not_utf8
from uniprobe.errors import LabelFileError, Problem, UsageError, did_you_mean
from uniprobe.store.labels.label import COLUMNS, Label

__all__ = [
    "MAX_FILE_BYTES",
    "ExportFormat",
    "RowCheck",
    "format_labels",
    "neutralise",
    "read_label_file",
    "run_check",
]

ExportFormat = Literal["csv", "jsonl"]
RowCheck = Callable[[Label], "str | None"]
"""Why a valid row does not belong where it is imported ("field: why"), or None."""
MAX_FILE_BYTES = 200_000_000
"""The largest label file read (100,000 labels export to about 60 MB)."""

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


def read_label_file(path: Path, check: RowCheck | None = None) -> list[Label]:
    """Every label of a CSV or JSONL file, or `LabelFileError` for the first bad row.

    The file must be UTF-8 (a byte-order mark allowed), not empty, and at most
    `MAX_FILE_BYTES`; `check` (e.g. `run_check`) may refuse a valid row that does not
    belong where it is imported, as "field: why".
    """
    text = _read(path)
    jsonl = path.suffix.lower() in (".jsonl", ".json") or text.lstrip().startswith("{")
    rows = _jsonl_rows(path, text) if jsonl else _csv_rows(path, text)
    labels = []
    for line, data in rows:
        data.pop("id", None)  # ids belong to the file the rows came from
        try:
            label = Label.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if not field:  # a whole-row check names its field as "field: message"
                field, _, message = message.partition(": ")
            raise LabelFileError(str(Problem(message, path, line, loc=field))) from None
        problem = check(label) if check is not None else None
        if problem is not None:
            field, _, message = problem.partition(": ")
            raise LabelFileError(str(Problem(message, path, line, loc=field)))
        labels.append(label)
    return labels


def run_check(suite: Suite, epochs: int) -> RowCheck:
    """A row check for a run of `suite` with `epochs` epochs: the row's case, epoch, turn
    and check (path, kind and the check itself) must be the run's."""
    cases = {c.id: c for c in suite.cases}

    def check(label: Label) -> str | None:
        case = cases.get(label.case_id)
        if case is None:
            hint = did_you_mean(label.case_id, cases)
            return f"case_id: the run has no case '{label.case_id}'{hint}"
        if label.epoch >= epochs:
            return f"epoch: the run has epochs 0 to {epochs - 1}, not {label.epoch}"
        if label.turn > len(case.turns):
            return f"turn: case {case.id} has {len(case.turns)} turn(s), not {label.turn}"
        turn = [(path, leaf) for t, path, leaf in case.leaves() if t == label.turn]
        leaves = {".".join(map(str, path[:-1])): leaf for path, leaf in turn}
        leaf = leaves.get(label.path)
        if leaf is None:
            hint = did_you_mean(label.path, leaves)
            return f"path: turn {label.turn} of case {case.id} has no check at '{label.path}'{hint}"
        if leaf.kind != label.kind:
            return f"kind: the check at {label.path} is '{leaf.kind}', not '{label.kind}'"
        if json.loads(json.dumps(check_to_dict(leaf))) != label.check:
            return f"check: not the check at {label.path} of case {case.id} (the suite changed?)"
        return None

    return check


def _read(path: Path) -> str:
    if path.is_dir():
        raise LabelFileError(f"{path}: a folder, not a label file")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise LabelFileError(f"{path}: no such label file") from None
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise LabelFileError(f"{path}: larger than {MAX_FILE_BYTES:,} bytes")
    if not raw.strip():
        raise LabelFileError(f"{path}: empty; a label file has a header line or JSON lines")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelFileError(not_utf8(path, raw, exc)) from None


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise LabelFileError(str(Problem(f"not JSON: {exc.msg}", path, number))) from None
        except RecursionError:
            raise LabelFileError(str(Problem("JSON nested too deeply", path, number))) from None
        if not isinstance(data, dict):
            raise LabelFileError(str(Problem("expected a JSON object", path, number)))
        yield number, data


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        yield from _csv_records(path, reader)
    except csv.Error as exc:
        raise LabelFileError(str(Problem(f"not CSV: {exc}", path, reader.line_num))) from None


def _csv_records(path: Path, reader: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    header = next(reader, None)
    if header is None:
        return
    missing = [c for c in COLUMNS if c != "id" and c not in header]
    if missing:
        raise LabelFileError(str(Problem("missing column", path, 1, loc=missing[0])))
    extra = [c for c in header if c not in COLUMNS]
    if extra or len(set(header)) != len(header):
        what = f"unknown column{did_you_mean(extra[0], COLUMNS)}" if extra else "column twice"
        name = extra[0] if extra else next(c for c in header if header.count(c) > 1)
        raise LabelFileError(str(Problem(what, path, 1, loc=name)))
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
        except RecursionError:
            raise LabelFileError(
                str(Problem("JSON nested too deeply", path, line, loc="check"))
            ) from None
        yield line, data
