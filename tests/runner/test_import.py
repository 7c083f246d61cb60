"""Bring your own images: a folder of answers becomes a scored run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import uniprobe
from uniprobe.store.rundir import RunDir

SUITE = "paper"


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The oracle's answers to the paper suite, laid out as `uniprobe cases prompts` asks."""
    base = tmp_path_factory.mktemp("answers")
    [result] = uniprobe.run(SUITE, ["reference/oracle"], out=base / "runs", score=False)
    run = RunDir.open(result.path)
    folder = base / "answers"
    for sample in run.samples().values():
        for turn in sample.turns:
            assert turn.reply is not None
            target = folder / sample.case_id / f"turn-{turn.index}"
            target.parent.mkdir(parents=True, exist_ok=True)
            if turn.reply.images:
                shutil.copy(run.image_path(turn.reply.images[-1]), target.with_suffix(".png"))
            elif turn.reply.text:
                target.with_suffix(".txt").write_text(turn.reply.text)
    return folder


def test_imported_answers_score_like_the_run_they_came_from(answers: Path, tmp_path: Path) -> None:
    result, plan = uniprobe.import_run(
        answers,
        SUITE,
        model="import/oracle-copy",
        out=tmp_path,
        policy="reference",
        images="synthetic",
    )
    assert plan.missing == [] and plan.unexpected == []
    assert result.path == tmp_path / "paper-import-oracle-copy"
    summary = uniprobe.summary(result.path)
    assert summary.protocol == "imported"
    assert summary.overall.strict_accuracy.value == 1.0
    manifest = RunDir.open(result.path).manifest()
    assert manifest.model.options == {
        "imported_from": str(answers.resolve()),
        "images": "synthetic",
    }
    # a text answer is a text reply, not an image
    topic = RunDir.open(result.path).samples()["paper.global.topic_restriction.monkey#0"]
    assert topic.turns[1].reply is not None and topic.turns[1].reply.images == []
    assert topic.turns[1].reply.text


def _damaged(answers: Path, tmp_path: Path) -> tuple[Path, str, str]:
    folder = tmp_path / "answers"
    shutil.copytree(answers, folder)
    missing = "paper.global.numeric.add3.dolphins/turn-2"
    (folder / f"{missing}.png").unlink()
    (folder / "paper.global.numeric.add3.dolphins" / "final.png").write_bytes(b"x")
    return folder, missing, "paper.global.numeric.add3.dolphins/final.png"


def test_missing_and_unexpected_files_are_named_and_nothing_is_written(
    answers: Path, tmp_path: Path
) -> None:
    folder, missing, extra = _damaged(answers, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "uniprobe.cli",
            "import",
            str(folder),
            "--suite",
            SUITE,
            "--model",
            "import/x",
            "--judge",
            "reference",
            "--images",
            "synthetic",
            "--out",
            str(tmp_path / "runs"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert f"missing answer: {missing}{{.png,.jpg,.jpeg,.webp,.txt}}" in done.stderr
    assert f"unexpected file: {extra}" in done.stderr
    assert "use --allow-missing" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_allow_missing_records_no_image_and_lists_what_was_not_imported(
    answers: Path, tmp_path: Path
) -> None:
    folder, missing, extra = _damaged(answers, tmp_path)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "uniprobe.cli",
            "import",
            str(folder),
            "--suite",
            SUITE,
            "--model",
            "import/x",
            "--judge",
            "reference",
            "--images",
            "synthetic",
            "--out",
            str(tmp_path / "runs"),
            "--allow-missing",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"not imported: {extra}" in done.stderr
    assert "missing (recorded as no image): " + missing in done.stderr
    run = RunDir.open(tmp_path / "runs" / "paper-import-x")
    sample = run.samples()["paper.global.numeric.add3.dolphins#0"]
    assert sample.turns[1].reply is not None
    assert sample.turns[1].reply.images == [] and sample.turns[1].reply.raw_meta == {
        "missing": True
    }
    score = run.scores("reference")["paper.global.numeric.add3.dolphins#0"]
    assert score.outcome == "fail"
    assert all("no_image" in v.tags for v in score.verdicts if v.status == "fail")
