"""What there is to annotate in a real run: leaf checks on their canvases, grouped by canvas."""

from __future__ import annotations

from pathlib import Path

import pytest
from annotate_helpers import find_item, groups_of, paper_run

from uniprobe.annotate.items import leaf_verdicts
from uniprobe.store.labels.keys import item_key
from uniprobe.store.rundir import RunDir


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return paper_run(tmp_path_factory)


def test_every_leaf_verdict_is_an_item_carrying_that_verdict(run: Path) -> None:
    groups = groups_of(run)
    items = {(it.case_id, it.epoch, it.path): it for g in groups for it in g.items}
    asked_elsewhere = []
    for rec in RunDir.open(run).scores("reference").values():
        for verdict in leaf_verdicts(rec.verdicts):
            item = items.get((rec.case_id, rec.epoch, verdict.path))
            if item is None:
                asked_elsewhere.append((rec.case_id, verdict.path))
                continue
            assert (item.kind, item.check, item.verdict) == (
                verdict.kind,
                verdict.check,
                verdict.status,
            )
    # `when: {present: {object: water, turn: 1}}` is turn 1's "is there water?" again
    assert asked_elsewhere == [
        ("paper.post.condition_visual_fact.zebras_water", "turns.1.expect.0.when")
    ]
    assert len(groups) == 20
    assert sum(len(g.items) for g in groups) == 61
    assert len({it.key for g in groups for it in g.items}) == 61


def test_a_condition_on_an_earlier_canvas_is_asked_there_once(run: Path) -> None:
    groups = groups_of(run)
    first, water = find_item(
        groups, "paper.post.condition_visual_fact.zebras_water", "turns.0.expect.1"
    )
    assert first.id == "paper.post.condition_visual_fact.zebras_water:0:1"
    assert [it.path for it in first.items] == ["turns.0.expect.0", "turns.0.expect.1"]
    assert first.image is not None
    when = {"present": {"turn": 1, "object": "water"}}
    assert water.key == item_key(first.image.sha256, when)


def test_conditionals_ask_the_condition_and_both_branches(run: Path) -> None:
    group, _ = find_item(
        groups_of(run), "paper.post.condition_after_edit.dog_cat_beach", "turns.1.expect.2.when"
    )
    assert group.id == "paper.post.condition_after_edit.dog_cat_beach:0:2"
    assert [(it.path, it.question, it.verdict) for it in group.items] == [
        ("turns.1.expect.0", "Is there no dog at all?", "pass"),
        ("turns.1.expect.1", "Are there exactly 2 cats?", "pass"),
        ("turns.1.expect.2.when", "Is there no cat at all?", "fail"),
        ("turns.1.expect.2.then.0", "Is there any beach?", None),  # the branch not taken
        ("turns.1.expect.2.else.0", "Is there no beach at all?", "fail"),
    ]
    assert [t.index for t in group.dialogue] == [1, 2]


def test_the_canvas_follows_the_engine_rule_and_the_dialogue_stops_at_it(run: Path) -> None:
    groups = groups_of(run)
    sample = RunDir.open(run).samples()["paper.edit.laterality.ice_cream#0"]
    group, _ = find_item(groups, "paper.edit.laterality.ice_cream", "turns.0.expect.0")
    # the literal reference always acts: its edit is the canvas, not the attached source
    assert sample.turns[0].reply is not None and sample.turns[0].reply.images
    assert (group.image, group.drawn, group.source) == (sample.turns[0].reply.images[-1], True, 1)
    assert group.note == "The image the model drew in turn 1."

    dolphins, count = find_item(groups, "paper.global.numeric.add3.dolphins", "turns.1.expect.0")
    assert count.question == "Are there exactly 5 dolphins?"
    assert dolphins.note == "The image the model drew in turn 2."
    first, second = dolphins.dialogue
    assert first.user == "From now on, if I mention a number, add 3 before using it."
    assert (first.text, first.images) == ("Understood.", ())
    assert second.images == (dolphins.image,) and count.image == dolphins.image


def test_a_comparison_shows_its_reference_and_outlines_the_named_area(run: Path) -> None:
    groups = groups_of(run)
    sample = RunDir.open(run).samples()["paper.edit.reflection_only.horse_lion#0"]
    _, item = find_item(groups, "paper.edit.reflection_only.horse_lion", "turns.0.expect.5")
    assert (
        item.question
        == "Outside the area 'reflection', is the image unchanged from the source image 'lake'?"
    )
    assert item.reference is not None
    assert item.reference.what == "the source image 'lake'"
    assert item.reference.image == sample.turns[0].attached[0]
    assert item.reference.sha256 == sample.turns[0].attached[0].sha256
    [region] = item.regions
    assert region.name == "reflection"
    left, top, right, bottom = region.box
    assert 0 <= left < right <= 1 and 0.5 <= top < bottom <= 1  # the lower half: the lake
    assert item.key == item_key(
        item.image.sha256 if item.image else None, item.check, item.reference.sha256
    )


def test_a_run_without_scores_gets_the_same_items_without_verdicts(
    run: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    unscored = paper_run(tmp_path_factory, score=False)
    assert RunDir.open(unscored).policies() == []
    plain = groups_of(unscored, policy=None)
    scored = groups_of(run)
    assert [(g.id, [it.key for it in g.items]) for g in plain] == [
        (g.id, [it.key for it in g.items]) for g in scored
    ]
    assert {it.verdict for g in plain for it in g.items} == {None}


def test_an_item_makes_labels_that_name_where_it_was_seen(run: Path) -> None:
    _, item = find_item(groups_of(run), "paper.global.numeric.add3.dolphins", "turns.1.expect.0")
    label = item.label("ada", "fail", created="2026-02-03T04:05:06Z")
    assert label.model_dump() == {
        "id": None,
        "item": item.key,
        "case_id": "paper.global.numeric.add3.dolphins",
        "epoch": 0,
        "turn": 2,
        "path": "turns.1.expect.0",
        "kind": "count",
        "check": {"count": {"object": "dolphin", "equals": 5, "literal": 2}},
        "image_sha256": item.image.sha256 if item.image else None,
        "reference_sha256": None,
        "annotator": "ada",
        "label": "fail",
        "created": "2026-02-03T04:05:06.000+00:00",
    }
