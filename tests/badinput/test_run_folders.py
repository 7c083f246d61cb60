"""The bad-input corpus, run folders: every damaged run, score or report input gets one
located `error:` line (the file, the line or the sample) that says how to repair, exit 2,
no traceback, and nothing on disk changed.

One run of the tiny suite (two cases, two epochs, on the literal reference) is made per
module; each input damages a copy of it in its own folder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from harness import invoke, refuse

import uniprobe
from conftest import TINY_SUITE

RUN = "tiny-reference-literal"
SUITE = (
    TINY_SUITE
    + """
- id: tiny.edit.lake
  family: editing
  subtype: reflection_only
  source: core
  images:
    lake:
      scene:
        bands: [{kind: sky, top: 0.0, bottom: 0.53}, {kind: water, top: 0.53, bottom: 1.0}]
        objects:
          - {id: horse, kind: horse, x: 256, y: 176, size: 200}
  turns:
    - user: "Add a lion beside the horse."
      attach: [lake]
      expect:
        - present: {object: lion}
        - unchanged: {against: lake, outside: [horse]}
"""
)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished, scored run (its suite file beside it, in `made.parent.parent`)."""
    root = tmp_path_factory.mktemp("made")
    suite = root / "tiny.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    [result] = uniprobe.run(
        uniprobe.load_suite(suite), ["reference/literal"], out=root / "r", epochs=2
    )
    return result.path


@pytest.fixture()
def run(made: Path, tmp_path: Path) -> Path:
    """A copy of the made run, to damage: `tmp_path/RUN`."""
    copy = tmp_path / RUN
    shutil.copytree(made, copy)
    return copy


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _set_line(path: Path, index: int, data: bytes) -> None:
    lines = _lines(path)
    lines[index] = data
    path.write_bytes(b"".join(lines))


def _manifest(run: Path, change: Callable[[dict[str, Any]], object]) -> None:
    path = run / "manifest.json"
    data = json.loads(path.read_bytes())
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _first_image(run: Path, case: str = "") -> tuple[Path, str]:
    """The first image a sample's reply holds (of a case starting `case`), and its key."""
    for raw in _lines(run / "samples.jsonl"):
        sample = json.loads(raw)
        if not sample["case_id"].startswith(case):
            continue
        for turn in sample["turns"]:
            reply = turn.get("reply") or {}
            for image in reply.get("images", []):
                key = f"{sample['case_id']}#{sample['epoch']}"
                return run / "images" / f"{image['sha256']}.png", key
    raise AssertionError("the run has no image")


def _score_lines(run: Path) -> Path:
    return run / "scores" / "reference.jsonl"


# --- not a run folder -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["score", "summary", "report"])
def test_a_folder_that_is_not_a_run(tmp_path: Path, command: str) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.png").write_bytes(b"not mine")
    line = refuse(tmp_path, command, "photos")
    assert line == "error: photos is not a run directory (no manifest.json)"


def test_a_path_that_does_not_exist(tmp_path: Path) -> None:
    line = refuse(tmp_path, "summary", "nowhere")
    assert line == "error: nowhere is not a run directory (no manifest.json)"


def test_a_file_named_as_a_run(tmp_path: Path) -> None:
    (tmp_path / "run.txt").write_text("hello", encoding="utf-8")
    assert "run.txt is not a run directory" in refuse(tmp_path, "score", "run.txt")


def test_a_manifest_that_is_a_folder(run: Path) -> None:
    (run / "manifest.json").unlink()
    (run / "manifest.json").mkdir()
    line = refuse(run.parent, "summary", RUN)
    assert line == f"error: {RUN} is not a run directory (no manifest.json)"


# --- the manifest ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b'{"run_id": "x", ', "Expecting property name", id="cut-json"),
        pytest.param(b"[1, 2, 3]", "expected a JSON object, got list", id="array"),
        pytest.param(b'{"run_id": "\xff"}', "not UTF-8", id="not-utf8"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deep"),
        pytest.param(b'{"schema_version": 99}', "written by a newer uniprobe", id="newer"),
        pytest.param(b'{"schema_version": "1"}', "schema_version must be", id="version-str"),
        pytest.param(b"", "Expecting value", id="empty"),
    ],
)
def test_a_damaged_manifest(run: Path, data: bytes, says: str) -> None:
    (run / "manifest.json").write_bytes(data)
    line = refuse(run.parent, "summary", RUN)
    assert line.startswith(f"error: {RUN}/manifest.json: unreadable manifest: ")
    assert says in line
    assert line.endswith(
        "restore it from a backup (a manifest cannot be rebuilt) or make the run again"
    )


def test_a_manifest_missing_a_field(run: Path) -> None:
    _manifest(run, lambda m: m.pop("suite"))
    line = refuse(run.parent, "score", RUN, "--force")
    assert line.startswith(
        f"error: {RUN}/manifest.json: unreadable manifest: suite: Field required"
    )


# --- images ----------------------------------------------------------------------------------


def test_a_missing_image(run: Path) -> None:
    image, key = _first_image(run)
    image.unlink()
    line = refuse(run.parent, "score", RUN, "--force")
    assert line == (
        f"error: {RUN}/images/{image.name}: missing (an image of sample {key}); restore the "
        "file from a backup, or delete the sample's line in samples.jsonl and re-run "
        "`uniprobe run --resume`"
    )


def test_a_truncated_image(run: Path) -> None:
    image, key = _first_image(run)
    image.write_bytes(image.read_bytes()[:200])
    line = refuse(run.parent, "score", RUN, "--force")
    assert line.startswith(f"error: {RUN}/images/{image.name}: damaged (an image of sample {key})")
    assert "do not match their hash (200 bytes)" in line


def test_a_damaged_image_stops_a_report(run: Path) -> None:
    image, _ = _first_image(run, "tiny.edit.lake")  # its heat-map decodes it
    image.write_bytes(image.read_bytes()[:300])
    line = refuse(run.parent, "report", RUN, "--out", "rep")
    assert line.startswith(f"error: {RUN}/images/{image.name}: not a readable image (")
    assert line.endswith("re-run `uniprobe run --resume`")


def test_an_image_that_is_a_folder(run: Path) -> None:
    image, key = _first_image(run)
    image.unlink()
    image.mkdir()
    line = refuse(run.parent, "score", RUN, "--force")
    assert line.startswith(
        f"error: {RUN}/images/{image.name}: cannot read (an image of sample {key})"
    )


# --- samples ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b'{"case_id": "tiny\n', "Invalid control character", id="cut-line"),
        pytest.param(b"\x00" * 64 + b"\n", "not UTF-8", id="zeros"),
        pytest.param(b"\xc3\x28 bad utf-8\n", "not UTF-8", id="not-utf8"),
        pytest.param(b"[1, 2]\n", "expected a JSON object, got list", id="array"),
        pytest.param(b'{"case_id": "x"}\n', "epoch: Field required", id="fields"),
        pytest.param(b"[" * 50_000 + b"\n", "nested too deeply", id="deep"),
    ],
)
def test_a_damaged_sample_line(run: Path, data: bytes, says: str) -> None:
    _set_line(run / "samples.jsonl", 1, data)
    line = refuse(run.parent, "score", RUN, "--force")
    assert line.startswith(f"error: {RUN}/samples.jsonl:2: unreadable record: ")
    assert says in line
    assert line.endswith(
        "delete that line (or restore the file) and re-run `uniprobe run --resume` to hold "
        "the sample again"
    )


def test_a_damaged_sample_line_stops_a_resume(run: Path) -> None:
    # Its own folder (not the pytest root, where other tests' files may still change).
    base = run.parent / "base"
    (base / "runs").mkdir(parents=True)
    moved = Path(shutil.move(run, base / "runs" / RUN))
    _set_line(moved / "samples.jsonl", 2, b"garbage\n")
    (base / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    line = refuse(
        base,
        "run",
        "-m",
        "reference/literal",
        "--suite",
        "tiny.yaml",
        "--epochs",
        "2",
        "--out",
        "runs",
        "--resume",
    )
    assert line.startswith(f"error: runs/{RUN}/samples.jsonl:3: unreadable record:")


def test_a_damaged_sample_line_stops_a_report(run: Path) -> None:
    _set_line(run / "samples.jsonl", 0, b"{]\n")
    line = refuse(run.parent, "report", RUN, "--out", "rep")
    assert line.startswith(f"error: {RUN}/samples.jsonl:1: unreadable record:")


# --- scores ----------------------------------------------------------------------------------


def test_a_damaged_score_line(run: Path) -> None:
    _set_line(_score_lines(run), 1, b'{"case_id": 3}\n')
    line = refuse(run.parent, "summary", RUN)
    assert line.startswith(f"error: {RUN}/scores/reference.jsonl:2: unreadable record: ")
    assert line.endswith("re-score with `uniprobe score RUN --force` (the samples are untouched)")


def test_a_damaged_score_line_stops_a_report(run: Path) -> None:
    _set_line(_score_lines(run), 0, b"\x00\x00\x00\n")
    line = refuse(run.parent, "report", RUN, "--out", "rep")
    assert line.startswith(f"error: {RUN}/scores/reference.jsonl:1: unreadable record: ")


def test_a_damaged_score_line_stops_the_agreement(run: Path) -> None:
    _set_line(_score_lines(run), 0, b"nonsense\n")
    line = refuse(run.parent, "labels", "stats", RUN)
    assert "reference.jsonl:1: unreadable record:" in line


def test_a_score_filed_under_another_policy(run: Path) -> None:
    data = json.loads(_lines(_score_lines(run))[2])
    data["policy"] = "vlm"
    _set_line(_score_lines(run), 2, json.dumps(data).encode() + b"\n")
    line = refuse(run.parent, "summary", RUN)
    assert line.startswith(
        f"error: {RUN}/scores/reference.jsonl:3: a score of policy 'vlm', not 'reference'"
    )


def test_scores_of_samples_the_run_does_not_hold(run: Path) -> None:
    (run / "samples.jsonl").write_bytes(b"".join(_lines(run / "samples.jsonl")[:1]))
    line = refuse(run.parent, "summary", RUN)
    assert line.startswith(
        f"error: {RUN}/scores/reference.jsonl: 5 score(s) of samples the run does not hold"
    )
    assert line.endswith(f"or re-score with `uniprobe score {RUN} --force`")


def test_a_scores_file_that_is_a_folder(run: Path) -> None:
    _score_lines(run).unlink()
    _score_lines(run).mkdir()
    line = refuse(run.parent, "summary", RUN)
    assert line == f"error: {RUN}/scores/reference.jsonl: cannot read: Is a directory"


def test_scores_of_a_policy_the_run_does_not_have(run: Path) -> None:
    line = refuse(run.parent, "summary", RUN, "--judge", "vlm")
    assert line == (
        f"error: {RUN} has no scores under policy 'vlm' (it has: reference); "
        f"run `uniprobe score {RUN} --judge vlm`"
    )


def test_a_run_never_scored(run: Path) -> None:
    shutil.rmtree(run / "scores")
    line = refuse(run.parent, "summary", RUN)
    assert (
        line == f"error: {RUN} has no scores under policy 'reference'; run `uniprobe score {RUN}`"
    )


# --- runs with nothing to summarise ------------------------------------------------------------


def test_a_run_stopped_before_its_first_sample(run: Path) -> None:
    (run / "samples.jsonl").write_bytes(b"")
    shutil.rmtree(run / "scores")
    line = refuse(run.parent, "summary", RUN)
    assert line == (
        f"error: {RUN} holds no samples yet (stopped before its first sample finished); "
        "continue it with `uniprobe run ... --resume`"
    )


def test_the_run_of_an_empty_suite(run: Path) -> None:
    _manifest(run, lambda m: m["suite"].update(cases=0))
    (run / "samples.jsonl").unlink()
    shutil.rmtree(run / "scores")
    line = refuse(run.parent, "summary", RUN)
    assert line == (
        f"error: {RUN}: suite 'tiny' has no cases, so the run holds nothing to summarise; "
        "add cases to the suite and make a new run"
    )


# --- the suite copy ------------------------------------------------------------------------------


def _only_the_copy(run: Path) -> None:
    """Make the kept copy the only way to the suite (its file gone, no built-in of its name)."""
    _manifest(run, lambda m: m["suite"].update(path=None, name="tiny-gone"))
    copy = json.loads((run / "suite.json").read_bytes())
    copy["name"] = "tiny-gone"
    (run / "suite.json").write_text(json.dumps(copy), encoding="utf-8")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        pytest.param(b'{"name": "tiny-gone", "cases": [', "Expecting value", id="cut"),
        pytest.param(b'{"name": "tiny-gone"}', "missing 'cases'", id="no-cases"),
        pytest.param(b'"a string"', "expected a JSON object, got str", id="string"),
        pytest.param(b'{"name": "tiny-gone", "cases": [{"id": 1}]}', "id: ", id="bad-case"),
        pytest.param(b'{"name": "tiny-gone", "cases": 7}', "not iterable", id="cases-int"),
    ],
)
def test_a_damaged_suite_copy(run: Path, data: bytes, says: str) -> None:
    _only_the_copy(run)
    (run / "suite.json").write_bytes(data)
    line = refuse(run.parent, "score", RUN, "--force")
    assert line.startswith(f"error: {RUN}/suite.json: damaged suite copy (")
    assert says in line
    assert line.endswith(
        "restore it from a backup, or put the suite's files back where the run loaded them"
    )


# --- other commands that read run folders, and the repairs the lines name -----------------------


def test_labels_export_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    (tmp_path / "photos").mkdir()
    line = refuse(tmp_path, "labels", "export", "photos", "--out", "labels.csv")
    assert line == "error: photos is not a run directory (no manifest.json)"


def test_a_damaged_line_in_the_scores_being_completed(run: Path) -> None:
    _set_line(_score_lines(run), 1, b"{}\n")
    line = refuse(run.parent, "score", RUN)
    assert line.startswith(f"error: {RUN}/scores/reference.jsonl:2: unreadable record: ")


def _cli_ok(cwd: Path, *args: str) -> str:
    outcome = invoke(cwd, *args, seconds=120)
    assert outcome.status == 0, outcome.stderr
    return outcome.stdout


def test_score_force_repairs_damaged_scores(run: Path, made: Path) -> None:
    _set_line(_score_lines(run), 1, b"\x00\x00\n")
    assert "scored 6 sample(s)" in _cli_ok(run.parent, "score", RUN, "--force")
    fresh = uniprobe.summary(run).model_dump(exclude={"run"})
    assert fresh == uniprobe.summary(made).model_dump(exclude={"run"})


def test_deleting_a_damaged_sample_line_and_resuming_repairs_the_run(run: Path, made: Path) -> None:
    samples = run / "samples.jsonl"
    scores = _score_lines(run)
    held = json.loads(_lines(samples)[1])
    key = (held["case_id"], held["epoch"])
    [at] = [
        i
        for i, r in enumerate(map(json.loads, _lines(scores)))
        if (r["case_id"], r["epoch"]) == key
    ]
    stale = json.loads(_lines(scores)[at])
    stale["outcome"] = "pass" if stale["outcome"] == "fail" else "fail"  # not what it judged
    _set_line(scores, at, json.dumps(stale).encode() + b"\n")
    _set_line(samples, 1, b"garbage\n")
    samples.write_bytes(b"".join(line for line in _lines(samples) if line != b"garbage\n"))
    (run.parent.parent / "tiny.yaml").write_text(SUITE, encoding="utf-8")
    args = ["run", "-m", "reference/literal", "--suite", "tiny.yaml", "--epochs", "2"]
    _cli_ok(run.parent.parent, *args, "--out", run.parent.name, "--resume")
    assert len(_lines(samples)) == 6
    assert uniprobe.summary(run).note is None
    # the stale score of the deleted line went with it: the sample was scored afresh
    again, first = uniprobe.summary(run), uniprobe.summary(made)
    assert (again.overall, again.subtypes) == (first.overall, first.subtypes)
    assert key in {(r["case_id"], r["epoch"]) for r in map(json.loads, _lines(scores))}
