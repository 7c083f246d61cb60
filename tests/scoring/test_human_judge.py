"""The human judge: people's labels as verdicts, through `uniprobe score RUN --judge human`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

import uniprobe
from uniprobe.annotate.items import CanvasGroup, Item, canvases
from uniprobe.cases.checks import Count, Present
from uniprobe.cases.schema import Case
from uniprobe.hashing import sha256_bytes
from uniprobe.scoring.judge import Canvas, JudgeContext
from uniprobe.scoring.judges.human import HumanJudge
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.label import LabelValue
from uniprobe.store.records import ImageRef, Verdict
from uniprobe.store.rundir import RunDir


@pytest.fixture(scope="module")
def unscored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("human")
    suite = uniprobe.load_suite("paper")
    [result] = uniprobe.run(suite, ["reference/literal"], out=out, score=False)
    return result.path


@pytest.fixture()
def run(unscored: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(unscored, tmp_path / unscored.name))


def _tree(run: Path) -> dict[str, str]:
    """sha256 of every file but the scores and the label file."""
    return {
        str(p.relative_to(run)): sha256_bytes(p.read_bytes())
        for p in sorted(run.rglob("*"))
        if p.is_file() and "scores" not in p.parts and not p.name.startswith("labels.sqlite")
    }


def _item(groups: list[CanvasGroup], case: str, path: str) -> Item:
    for group in groups:
        for item in group.items:
            if (item.case_id, item.path) == (case, path):
                return item
    raise AssertionError(f"no item {case} {path}")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uniprobe.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def _verdicts(run: Path, case: str) -> dict[str, Verdict]:
    rec = RunDir.open(run).scores("human")[f"{case}#0"]
    out: dict[str, Verdict] = {}
    todo = list(rec.verdicts)
    while todo:
        v = todo.pop(0)
        out[v.path] = v
        todo.extend(v.children)
    return out


DOLPHINS = "paper.global.numeric.add3.dolphins"
DOG_CAT = "paper.global.spatial_reversal.dog_cat"
HORSE = "paper.edit.reflection_only.horse_lion"
ZEBRAS = "paper.post.condition_visual_fact.zebras_water"


def test_score_with_the_human_judge_reads_the_labels_and_touches_no_sample(run: Path) -> None:
    groups = canvases(RunDir.open(run), uniprobe.suite_of_run(run))
    store = LabelStore(labels_path(run))
    given: list[tuple[str, str, str, LabelValue]] = [
        (DOLPHINS, "turns.1.expect.0", "ada", "pass"),
        (DOLPHINS, "turns.1.expect.0", "bob", "pass"),
        (DOG_CAT, "turns.1.expect.0", "ada", "fail"),
        (DOG_CAT, "turns.1.expect.1", "ada", "pass"),
        (DOG_CAT, "turns.1.expect.1", "bob", "fail"),
        (HORSE, "turns.0.expect.4", "ada", "pass"),  # unchanged against the case image 'lake'
        (ZEBRAS, "turns.0.expect.1", "ada", "pass"),  # "is there water?" on turn 1's image
    ]
    for n, (case, path, who, value) in enumerate(given):
        label = _item(groups, case, path).label(who, value, created=f"2026-01-01T00:00:0{n}Z")
        store.add(label)
    before = _tree(run)

    done = _cli("score", str(run), "--judge", "human")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"scored 15 sample(s) in {run} (scores/human.jsonl)"
    assert _tree(run) == before
    assert RunDir.open(run).policies() == ["human"]

    dolphins = _verdicts(run, DOLPHINS)
    count = dolphins["turns.1.expect.0"]
    assert (count.status, count.judge) == ("pass", "human@1")
    assert count.reason == "2 of 2 annotator(s) say pass (2 pass)"
    assert count.evidence["labels"] == [
        {"annotator": "ada", "label": "pass", "created": "2026-01-01T00:00:00.000+00:00"},
        {"annotator": "bob", "label": "pass", "created": "2026-01-01T00:00:01.000+00:00"},
    ]
    ocean = dolphins["turns.1.expect.1"]
    assert (ocean.status, ocean.reason, ocean.evidence["labels"]) == (
        "unknown",
        "no human labels",
        [],
    )
    dog_cat = _verdicts(run, DOG_CAT)
    assert dog_cat["turns.1.expect.0"].status == "fail"
    split = dog_cat["turns.1.expect.1"]
    assert (split.status, split.reason) == ("unknown", "annotators are split (1 fail, 1 pass)")
    assert _verdicts(run, HORSE)["turns.0.expect.4"].status == "pass"
    zebras = _verdicts(run, ZEBRAS)
    assert zebras["turns.1.expect.0.when"].status == "pass"  # the same question, any turn
    assert zebras["turns.1.expect.0"].reason.startswith("condition holds")

    # bob changes his mind: scoring again re-reads the labels, no --force needed
    store.add(_item(groups, DOG_CAT, "turns.1.expect.1").label("bob", "pass"))
    again = _cli("score", str(run), "--judge", "human")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"scored 15 sample(s) in {run} (scores/human.jsonl)"
    assert _verdicts(run, DOG_CAT)["turns.1.expect.1"].status == "pass"
    assert len(RunDir.open(run).scores("human")) == 15
    assert _tree(run) == before


def test_the_human_judge_needs_a_label_file(tmp_path: Path) -> None:
    case = Case.model_validate(
        {"id": "h", "family": "editing", "subtype": "s", "turns": [{"user": "u"}]}
    )
    ref = ImageRef(sha256="c" * 64, width=4, height=4)
    ctx = JudgeContext(case, 1, Canvas(1, Image.new("RGB", (4, 4)), ref, drawn=True), {}, {}, None)
    assert HumanJudge().decide(Present(object="dog"), ctx).reason == (
        "no label file: score a run folder or set human.labels"
    )
    no_ref = JudgeContext(case, 1, Canvas(1, Image.new("RGB", (4, 4)), None, True), {}, {}, None)
    judge = HumanJudge({"labels": tmp_path / "labels.sqlite"})
    assert judge.decide(Present(object="dog"), no_ref).status == "unknown"
    result = judge.decide(Count(object="dog", equals=2), ctx)
    assert (result.status, result.reason) == ("unknown", "no human labels")
    assert not (tmp_path / "labels.sqlite").exists()
