"""Re-scoring never truncates: a draft beside the old scores, swapped in whole; drafts of
killed writers are removed by the next writer, a live writer's draft is kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_rundir import _line, _manifest, _sample, _score

from uniprobe.errors import RunDirError
from uniprobe.store.rundir import RunDir


@pytest.fixture()
def run(tmp_path: Path) -> RunDir:
    run = RunDir.create(tmp_path / "run", _manifest())
    for key in ("c.one", "c.two"):
        run.append_sample(_sample(key, 0))
        run.append_score(_score(key, 0, "reference"))
    return run


def _drafts(run: RunDir) -> list[str]:
    return sorted(p.name for p in (run.path / "scores").glob(".*.tmp"))


def test_a_draft_replaces_the_old_scores_whole_when_it_ends(run: RunDir) -> None:
    old = run.scores_path("reference").read_bytes()
    with run.draft_scores("reference") as draft:
        draft.append(_score("c.one", 0, "reference", status="fail"))
        assert run.scores_path("reference").read_bytes() == old  # untouched until the end
        assert len(_drafts(run)) == 1
    assert [s.outcome for s in run.scores("reference").values()] == ["fail"]
    assert _drafts(run) == []


def test_a_failed_rescore_leaves_the_old_scores_and_no_draft(run: RunDir) -> None:
    old = run.scores_path("reference").read_bytes()
    with pytest.raises(KeyboardInterrupt), run.draft_scores("reference") as draft:
        draft.append(_score("c.one", 0, "reference", status="fail"))
        raise KeyboardInterrupt
    assert run.scores_path("reference").read_bytes() == old
    assert _drafts(run) == []


def test_the_draft_of_a_killed_writer_is_removed_and_a_live_ones_kept(run: RunDir) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    scores = run.path / "scores"
    (scores / f".reference.jsonl.{dead}-0badcafe.tmp").write_bytes(b"half a fi")
    (scores / f".reference.jsonl.{os.getpid()}-0000beef.tmp").write_bytes(b"")
    (scores / "notes.txt").write_text("mine", encoding="utf-8")
    assert run.remove_stale_drafts() == 1
    assert _drafts(run) == [f".reference.jsonl.{os.getpid()}-0000beef.tmp"]
    assert (scores / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert run.scores("reference").keys() == {"c.one#0", "c.two#0"}


def test_a_score_filed_under_another_policy_is_named_at_its_line(run: RunDir) -> None:
    with run.scores_path("reference").open("ab") as fh:
        fh.write(_line(_score("c.three", 0, "vlm")))
    with pytest.raises(RunDirError) as info:
        run.scores("reference")
    assert str(info.value).startswith(
        f"{run.scores_path('reference')}:3: a score of policy 'vlm', not 'reference'; "
        "re-score with `uniprobe score RUN --force`"
    )


def test_a_damaged_middle_score_line_says_how_to_repair(run: RunDir) -> None:
    path = run.scores_path("reference")
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b'{"case_id": \n' + lines[1])
    with pytest.raises(RunDirError) as info:
        run.scores("reference")
    message = str(info.value)
    assert message.startswith(f"{path}:2: unreadable record: ")
    assert message.endswith(
        "re-score with `uniprobe score RUN --force` (the samples are untouched)"
    )


def test_a_damaged_sample_line_says_how_to_repair(run: RunDir) -> None:
    lines = run.samples_path.read_bytes().splitlines(keepends=True)
    run.samples_path.write_bytes(b"\x00" * 40 + b"\n" + lines[1])
    with pytest.raises(RunDirError) as info:
        run.samples()
    assert str(info.value).startswith(f"{run.samples_path}:1: unreadable record: ")
    assert "re-run `uniprobe run --resume`" in str(info.value)


def test_the_torn_tail_after_a_kill_is_still_skipped(run: RunDir) -> None:
    with run.samples_path.open("ab") as fh:
        fh.write(_line(_sample("c.three", 0))[:50])
    assert list(run.samples()) == ["c.one#0", "c.two#0"]


@pytest.mark.parametrize("version", ["1", None, True, 0, [1]], ids=str)
def test_a_schema_version_that_is_not_a_number_is_refused_at_its_line(
    run: RunDir, version: object
) -> None:
    import json

    data = json.loads(_line(_sample("c.three", 0)))
    data["schema_version"] = version
    with run.samples_path.open("ab") as fh:
        fh.write(json.dumps(data).encode() + b"\n")
    with pytest.raises(RunDirError, match=r":3: unreadable record: schema_version must be"):
        run.samples()
