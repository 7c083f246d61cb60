"""Acceptance: the paper suite on both references, end to end, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

import uniprobe
from uniprobe.cases.literal import literal_conflicts
from uniprobe.store.records import ScoreRecord
from uniprobe.store.rundir import RunDir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("paper")
    results = uniprobe.run("paper", ["reference/oracle", "reference/literal"], out=out)
    return {r.model.split("/")[1]: r.path for r in results}


def _scores(path: Path) -> dict[str, ScoreRecord]:
    return {s.case_id: s for s in RunDir.open(path).scores("reference").values()}


def test_the_oracle_passes_the_paper_suite(runs: dict[str, Path]) -> None:
    summary = uniprobe.summary(runs["oracle"])
    assert summary.overall.samples == 15
    assert summary.overall.strict_accuracy.value is not None
    assert summary.overall.strict_accuracy.value >= 0.95
    failed = {c: s.outcome for c, s in _scores(runs["oracle"]).items() if s.outcome != "pass"}
    assert failed == {}


def test_the_literal_reference_fails_where_the_literal_reading_differs(
    runs: dict[str, Path],
) -> None:
    suite = uniprobe.load_suite("paper")
    scores = _scores(runs["literal"])
    literal_failures = {
        case_id
        for case_id, s in scores.items()
        if s.outcome == "fail"
        and any("literal" in v.tags for v in s.verdicts if v.status == "fail")
    }
    global_cases = {c.id for c in suite.cases if c.family == "global_instruction"}
    post_cases = {c.id for c in suite.cases if c.family == "post_generation"}
    assert global_cases <= literal_failures
    assert post_cases <= literal_failures
    # editing cases with a literal reading (laterality, reflection) fail as literal
    assert {c for c in literal_failures if c.startswith("paper.edit.")} == {
        "paper.edit.laterality.ice_cream",
        "paper.edit.reflection_only.horse_lion",
    }
    summary = uniprobe.summary(runs["literal"])
    assert summary.families["global_instruction"].strict_accuracy.value == 0.0
    assert summary.families["global_instruction"].literal_failure_rate.value == 1.0


def _locality(scores: dict[str, ScoreRecord]) -> dict[str, tuple[str, tuple[str, ...]]]:
    return {
        case_id: (v.status, tuple(v.tags))
        for case_id, s in scores.items()
        for v in s.verdicts
        if v.kind == "unchanged"
    }


def test_the_literal_reference_redraws_what_edits_should_keep(runs: dict[str, Path]) -> None:
    """Always act: every locality check of the literal reference fails as an over-edit
    (never literal); the oracle's pass."""
    literal = _locality(_scores(runs["literal"]))
    assert literal == {
        "paper.edit.predicate_removal.seated_people": ("fail", ("over_edit",)),
        "paper.edit.part_recolor.second_floor": ("fail", ("over_edit",)),
        "paper.edit.similar_object_replacement.lemon_lime": ("fail", ("over_edit",)),
        "paper.edit.laterality.ice_cream": ("fail", ("over_edit",)),
        "paper.edit.reflection_only.horse_lion": ("fail", ("over_edit",)),
    }
    assert set(_locality(_scores(runs["oracle"])).values()) == {("pass", ())}
    # the literal reading itself is drawn whole: the lemon did become a lime
    lime = _scores(runs["literal"])["paper.edit.similar_object_replacement.lemon_lime"]
    assert [(v.kind, v.status) for v in lime.verdicts] == [
        ("absent", "pass"),
        ("count", "pass"),
        ("count", "pass"),
        ("unchanged", "fail"),
    ]


def test_the_paper_suite_draws_its_literal_readings_whole() -> None:
    assert [
        (c.id, literal_conflicts(c))
        for c in uniprobe.load_suite("paper").cases
        if literal_conflicts(c)
    ] == []


def test_multi_step_is_judged_on_what_can_be_seen(runs: dict[str, Path]) -> None:
    verdict = next(
        v
        for v in _scores(runs["literal"])["paper.post.multi_step_condition.zebras_lion"].verdicts
        if v.kind == "conditional"
    )
    assert (verdict.status, verdict.tags) == ("fail", ["wrong_branch", "literal"])
    assert verdict.evidence["condition"] is False  # the water is still there


def test_conditionals_of_the_literal_reference_take_the_wrong_branch(runs: dict[str, Path]) -> None:
    scores = _scores(runs["literal"])
    verdict = next(
        v
        for v in scores["paper.post.condition_visual_fact.zebras_water"].verdicts
        if v.kind == "conditional"
    )
    assert verdict.status == "fail"
    assert verdict.tags == ["wrong_branch", "literal"]
    assert verdict.evidence["condition"] is True


def test_the_report_of_both_runs_opens_from_disk(runs: dict[str, Path], tmp_path: Path) -> None:
    path = uniprobe.report([runs["oracle"], runs["literal"]], out=tmp_path / "r" / "report")
    assert path == tmp_path / "r" / "report" / "index.html"
    html = path.read_text(encoding="utf-8")
    assert "Leaderboard" in html and "OpenMoji" in html
    data = (path.parent / "data" / "chunk-0000.js").read_text(encoding="utf-8")
    for case in uniprobe.load_suite("paper").cases:
        assert data.count(f'"case":"{case.id}"') == 2  # once per run
    assert len(list((path.parent / "heatmaps").glob("*.png"))) >= 5  # every edit's locality
