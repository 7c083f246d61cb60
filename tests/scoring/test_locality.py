"""Edit locality that survives re-rendering: the `aligned` metric of the pixels judge."""

from __future__ import annotations

import asyncio
import random

import numpy as np
import pytest
from PIL import Image

from uniprobe.cases.checks import SameAs, Unchanged
from uniprobe.cases.schema import Case
from uniprobe.scenes.render import render_scene
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.scoring.calibrate import LocalityRow, calibrate_locality
from uniprobe.scoring.judge import Canvas, JudgeContext, JudgeResult
from uniprobe.scoring.judges.pixels import PixelsJudge
from uniprobe.scoring.locality_truth import (
    CHANGES,
    PRESERVING,
    LocalityItem,
    locality_set,
    rerender,
)

CASE = Case.model_validate(
    {"id": "loc", "family": "editing", "subtype": "s", "turns": [{"user": "u"}]}
)
SCENE = SceneSpec(
    objects=(
        SceneObject(id="dog", kind="dog", x=130, y=200, size=120),
        SceneObject(id="cat", kind="cat", x=380, y=200, size=120, color="orange"),
        SceneObject(id="wall", shape="rect", x=256, y=420, w=300, h=80, color="gray"),
    )
)


@pytest.fixture(scope="module")
def items() -> list[LocalityItem]:
    return locality_set(8, seed=0)


@pytest.fixture(scope="module")
def rows(items: list[LocalityItem]) -> dict[str, LocalityRow]:
    return asyncio.run(calibrate_locality(PixelsJudge(), items))


def _judge(
    check: Unchanged | SameAs, canvas: Image.Image, reference: Image.Image, **options: object
) -> JudgeResult:
    parts = {o.id: o.box for o in render_scene(SCENE).objects if o.id}
    refs = {"turn:1": Canvas(1, reference, None, drawn=True)}
    ctx = JudgeContext(CASE, 2, Canvas(2, canvas, None, drawn=True), refs, parts, (512, 512))
    return PixelsJudge(options).decide(check, ctx)


def test_the_set_has_every_perturbation(rows: dict[str, LocalityRow]) -> None:
    changes = {*CHANGES, *(f"{c}+rerender" for c in CHANGES)}
    assert set(rows) == {*PRESERVING, *changes}
    assert all(rows[p].expect == "pass" for p in PRESERVING)
    assert all(rows[c].expect == "fail" for c in changes)


@pytest.mark.parametrize("name", [pytest.param(p, id=p) for p in PRESERVING])
def test_each_rerender_passes(rows: dict[str, LocalityRow], name: str) -> None:
    row = rows[name]
    assert row.items >= 8 and row.unknown == 0
    assert row.rate is not None and row.rate >= 0.95, row.wrong


@pytest.mark.parametrize(
    "name",
    [pytest.param(c, id=c) for c in CHANGES]
    + [pytest.param(f"{c}+rerender", id=f"{c}+rerender") for c in CHANGES],
)
def test_each_real_change_fails(rows: dict[str, LocalityRow], name: str) -> None:
    row = rows[name]
    assert row.items >= 7 and row.unknown == 0
    assert row.rate is not None and row.rate >= 0.95, row.wrong


def test_the_strict_metric_fails_rerenders_the_aligned_one_passes(
    items: list[LocalityItem],
) -> None:
    # the point of the aligned metric: today's pixel rule calls a re-render an over-edit
    strict = asyncio.run(calibrate_locality(PixelsJudge({"metric": "pixels"}), items))
    for name in ("shift", "crop", "rerender"):
        assert (strict[name].rate or 0.0) < 0.5, name
    for name in CHANGES:
        assert (strict[name].rate or 0.0) >= 0.95, name


def test_a_crop_is_registered_and_the_alignment_recorded() -> None:
    before = render_scene(SCENE).image
    crop = before.crop((8, 4, 500, 496)).resize((512, 512), Image.Resampling.BICUBIC)
    verdict = _judge(Unchanged(against=1, outside=("cat",)), crop, before)
    assert verdict.status == "pass", verdict.reason
    aligned = verdict.evidence["aligned"]
    reg = aligned["registration"]
    assert reg["method"] == "ecc-affine" and reg["quality"] > 0.9
    (sx, _, tx), (_, sy, ty) = reg["matrix"]
    # reference -> canvas: x' = (x - 8) * 512 / 492
    assert sx == pytest.approx(512 / 492, abs=0.01) and sy == pytest.approx(512 / 492, abs=0.01)
    assert tx == pytest.approx(-8 * 512 / 492, abs=1.5) and ty == pytest.approx(
        -4 * 512 / 492, abs=1.5
    )
    assert aligned["out_of_frame_share"] > 0
    assert len(aligned["color_fit"]) == 3
    assert verdict.evidence["metric"] == "aligned" and verdict.evidence["changed_share"] > 0.01
    strict = _judge(Unchanged(against=1, outside=("cat",)), crop, before, metric="pixels")
    assert strict.status == "fail"


def test_colour_drift_is_fitted_per_channel() -> None:
    before = render_scene(SCENE).image
    x = np.asarray(before).astype(np.float64) / 255
    x = x**1.15 * np.array([1.1, 0.9, 1.1]) + np.array([10.0, -10.0, 10.0]) / 255
    drifted = Image.fromarray(np.clip(x * 255 + 0.5, 0, 255).astype(np.uint8))
    verdict = _judge(SameAs(against=1), drifted, before)
    assert verdict.status == "pass", verdict.reason
    assert verdict.evidence["changed_share"] > 0.01  # the strict rule would fail it
    gains = [g for g, _ in verdict.evidence["aligned"]["color_fit"]]
    assert all(0.65 <= g <= 1.35 for g in gains) and gains != [1.0, 1.0, 1.0]


def test_a_flat_image_falls_back_to_no_warp_and_names_why() -> None:
    gray = Image.new("RGB", (512, 512), (128, 128, 128))
    lighter = Image.new("RGB", (512, 512), (160, 160, 160))
    verdict = _judge(SameAs(against=1), lighter, gray)
    reg = verdict.evidence["aligned"]["registration"]
    assert reg["method"] == "none" and reg["matrix"] == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    assert "ecc-affine" in reg["note"] and "orb-affine" in reg["note"]
    assert verdict.status == "pass"  # a brightness shift, fitted as an offset


def test_a_real_change_after_a_rerender_fails_where_it_is() -> None:
    before = render_scene(SCENE).image
    cat_moved = SCENE.objects[1].model_copy(update={"y": 330.0, "x": 420.0})
    after = render_scene(
        SCENE.model_copy(update={"objects": (SCENE.objects[0], cat_moved, SCENE.objects[2])})
    ).image
    shifted, _ = rerender(after, "rerender", random.Random(1))
    verdict = _judge(Unchanged(against=1, outside=("dog",)), shifted, before)
    assert verdict.status == "fail"
    x0, y0, _, _ = verdict.evidence["aligned"]["changed_box"]
    assert x0 >= 300 and y0 >= 120  # the cat, where it was and where it went


def test_identical_pixels_skip_the_alignment() -> None:
    before = render_scene(SCENE).image
    verdict = _judge(SameAs(against=1), before.copy(), before)
    assert verdict.status == "pass"
    assert verdict.evidence["aligned"] == {"registration": None, "reason": "pixels already agree"}


@pytest.mark.parametrize("metric", ["pixels", "changed_share"])
def test_the_pixels_metric_is_the_strict_rule(items: list[LocalityItem], metric: str) -> None:
    judge = PixelsJudge({"metric": metric})
    for item in items[:40]:
        refs = {"turn:1": Canvas(1, item.reference, None, drawn=True)}
        parts = {"edit": item.excluded} if item.excluded else {}
        ctx = JudgeContext(
            CASE, 2, Canvas(2, item.image, None, drawn=True), refs, parts, (512, 512)
        )
        verdict = judge.decide(item.check, ctx)
        share = verdict.evidence["changed_share"]
        assert verdict.status == ("pass" if share <= 0.01 else "fail")
        assert "aligned" not in verdict.evidence
        assert verdict.reason.endswith("changed (limit 1.0%)")


def test_the_strict_rule_on_an_exact_edit_is_unchanged() -> None:
    # same verdicts, both metrics, on exact renders: the cat recoloured
    before = render_scene(SCENE).image
    cat = SCENE.objects[1].model_copy(update={"color": "blue"})
    after = render_scene(
        SCENE.model_copy(update={"objects": (SCENE.objects[0], cat, SCENE.objects[2])})
    ).image
    for metric in ("aligned", "pixels"):
        ok = _judge(Unchanged(against=1, outside=("cat",)), after, before, metric=metric)
        bad = _judge(Unchanged(against=1, outside=("dog",)), after, before, metric=metric)
        assert (ok.status, bad.status) == ("pass", "fail"), metric
        assert np.isclose(ok.evidence["changed_share"], 0.0)
