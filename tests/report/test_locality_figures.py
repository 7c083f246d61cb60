"""The report's locality figures are the measure the verdicts were decided on: after
alignment and colour matching where the pixels judge aligned, the strict share kept beside."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from uniprobe.cases.checks import Unchanged
from uniprobe.cases.schema import Case
from uniprobe.report.evidence import Heatmaps, boxes_of, heatmap
from uniprobe.report.locality import Alignment, measure_of
from uniprobe.scenes.render import render_scene
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.scoring.judge import Canvas, JudgeContext, JudgeResult
from uniprobe.scoring.judges.pixels import PixelsJudge
from uniprobe.scoring.locality_truth import rerender

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
CHECK = Unchanged.model_validate({"against": 1, "outside": ["cat"]})


def _judge(canvas: Image.Image, reference: Image.Image) -> JudgeResult:
    parts = {o.id: o.box for o in render_scene(SCENE).objects if o.id}
    refs = {"turn:1": Canvas(1, reference, None, drawn=True)}
    ctx = JudgeContext(CASE, 2, Canvas(2, canvas, None, drawn=True), refs, parts, (512, 512))
    return PixelsJudge().decide(CHECK, ctx)


def _source() -> Image.Image:
    return render_scene(SCENE).image.convert("RGB")


def _red(image: Image.Image) -> float:
    """Share of a heat-map's pixels drawn red-to-yellow (a change above the threshold)."""
    heat = np.asarray(image).astype(int)
    return float(((heat[..., 0] > 200) & (heat[..., 2] < 40)).mean())


def test_a_rerendered_frame_is_measured_after_alignment_and_its_heatmap_stays_pale() -> None:
    source = _source()
    canvas, drawn = rerender(source, "rerender", random.Random(3))
    result = _judge(canvas, source)
    assert result.status == "pass", result.reason
    m = measure_of(result.evidence)
    assert m.aligned and m.alignment is not None
    assert m.changed_share == result.evidence["aligned"]["changed_share"]
    assert m.strict_changed_share == result.evidence["changed_share"]
    assert m.changed_share is not None and m.strict_changed_share is not None
    assert m.changed_share <= 0.002 < 0.05 < m.strict_changed_share, drawn
    assert m.ssim == result.evidence["aligned"]["ssim"]
    assert m.alignment.matrix == tuple(
        tuple(row) for row in result.evidence["aligned"]["registration"]["matrix"]
    )
    assert m.alignment.color_threshold == 48 and m.alignment.blur_sigma == 1.5
    # strict: the re-render is red all over; as judged: hardly anything
    assert _red(heatmap(source, canvas)) > 0.05
    assert _red(heatmap(source, canvas, m.alignment)) < 0.002
    # no changed box is drawn when nothing changed after alignment
    assert result.evidence["changed_box"] is not None
    assert result.evidence["aligned"]["changed_box"] is None
    assert [b for b in boxes_of(result.evidence).get(None, []) if b["role"] == "changed"] == []


def test_a_real_change_is_red_where_it_is_after_alignment() -> None:
    source = _source()
    changed = source.copy()
    ImageDraw.Draw(changed).rectangle((40, 40, 100, 100), fill=(20, 120, 240))
    canvas, _ = rerender(changed, "rerender", random.Random(3))
    result = _judge(canvas, source)
    assert result.status == "fail", result.reason
    m = measure_of(result.evidence)
    assert m.aligned and m.alignment is not None and m.changed_box is not None
    x0, y0, x1, y1 = m.changed_box
    assert abs(x0 - 40) <= 6 and abs(y0 - 40) <= 6 and abs(x1 - 101) <= 6 and abs(y1 - 101) <= 6
    [box] = [b for b in boxes_of(result.evidence)[None] if b["role"] == "changed"]
    assert box["box"] == m.changed_box
    heat = np.asarray(heatmap(source, canvas, m.alignment)).astype(int)
    red = (heat[..., 0] > 200) & (heat[..., 2] < 40)
    assert red[50:90, 50:90].mean() > 0.9  # the square
    assert red.mean() < 0.03  # and little else


def test_verdicts_without_alignment_keep_the_strict_measure() -> None:
    strict = {"changed_share": 0.05, "ssim": 0.8, "changed_box": [1, 2, 3, 4]}
    agreed = {**strict, "metric": "aligned", "aligned": {"registration": None, "reason": "x"}}
    for evidence in (strict, {**strict, "metric": "pixels"}, agreed):
        m = measure_of(evidence)
        assert (m.changed_share, m.strict_changed_share, m.ssim) == (0.05, 0.05, 0.8)
        assert (m.changed_box, m.aligned, m.alignment) == ([1.0, 2.0, 3.0, 4.0], False, None)
    vlm = measure_of({"answer": "no"})
    assert (vlm.changed_share, vlm.ssim, vlm.changed_box) == (None, None, None)


def test_aligned_heatmaps_are_cached_apart_from_strict_ones(tmp_path: Any) -> None:
    source = _source()
    canvas, _ = rerender(source, "rerender", random.Random(3))
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    source.save(a)
    canvas.save(b)
    how = Alignment(((1.0, 0.0, 1.0), (0.0, 1.0, 0.0)), ((1.0, 0.0),) * 3, 1.5, 48)
    maps = Heatmaps(tmp_path / "heat")
    strict = maps.request(("aa", a), ("bb", b))
    aligned = maps.request(("aa", a), ("bb", b), how)
    assert strict == "aa-bb.png"
    assert aligned.startswith("aa-bb-a") and aligned.endswith(".png") and aligned != strict
    assert maps.request(("aa", a), ("bb", b), how) == aligned
    assert maps.flush() == 2
