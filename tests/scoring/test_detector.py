"""The detector judge: decisions from given boxes, and end to end on tiny random detectors.

Random weights make detections arbitrary, so end-to-end tests compare verdicts with the
boxes the judge itself reports (and with a direct `detect` call): the verdict must follow
from the evidence. Thresholds are 0 so that every test sees boxes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from hub_refusals import hub_refusals
from uniprobe.cases.checks import (
    Absent,
    Check,
    Color,
    Count,
    CountOf,
    Position,
    Present,
    Relation,
    Text,
    Unchanged,
)
from uniprobe.cases.schema import Case
from uniprobe.errors import ConfigError
from uniprobe.scenes.render import render_scene
from uniprobe.scenes.spec import SceneObject, SceneSpec
from uniprobe.scoring.boxes import Found, box_color, select
from uniprobe.scoring.judge import Canvas, JudgeContext, JudgeResult, make_judge
from uniprobe.scoring.judges.detector import DEFAULT_MODEL, DetectorJudge, canvas_key, label_of
from uniprobe.store.records import ImageRef

CASE = Case.model_validate(
    {"id": "d", "family": "editing", "subtype": "s", "turns": [{"user": "u"}, {"user": "v"}]}
)
SCENE = SceneSpec(
    width=256,
    height=192,
    objects=(
        SceneObject(id="dog", kind="dog", x=60, y=70, size=60, color="red"),
        SceneObject(id="cat", kind="cat", x=190, y=130, size=60),
        SceneObject(id="wall", shape="rect", x=128, y=170, w=200, h=30, color="blue"),
    ),
)


def _ctx(
    image: Image.Image | None,
    *,
    ref: ImageRef | None = None,
    references: dict[str, Canvas] | None = None,
) -> JudgeContext:
    rendered = render_scene(SCENE)
    parts = {o.id: o.box for o in rendered.objects if o.id}
    return JudgeContext(
        CASE, 2, Canvas(2, image, ref, drawn=True), references or {}, parts, rendered.image.size
    )


def _decide(check: Any, found: dict[str, list[Found]], **kw: Any) -> JudgeResult:
    image = kw.pop("image", render_scene(SCENE).image)
    return DetectorJudge().decide_from(check, _ctx(image, **kw.pop("ctx", {})), found, **kw)


# --- decisions from given boxes (no model) ---------------------------------------------

DOGS = [Found((30, 40, 90, 100), 0.9, "dog"), Found((200, 20, 240, 60), 0.5, "dog")]
CAT = [Found((160, 100, 220, 160), 0.8, "cat")]


@pytest.mark.parametrize(
    ("check", "status", "reason"),
    [
        pytest.param(Count(object="dogs", equals=2), "pass", "found 2 dog(s)", id="count"),
        pytest.param(Count(object="dog", at_least=3), "fail", "found 2 dog(s)", id="too-few"),
        pytest.param(Present(object="cat"), "pass", "found 1 cat", id="present"),
        pytest.param(Absent(object="cat"), "fail", "found 1 cat", id="absent"),
        pytest.param(
            Count(object="dog", equals=1, within="dog"), "pass", "found 1 dog in dog", id="within"
        ),
        pytest.param(
            Relation(subject="cat", relation="below", object="dog"),
            "pass",
            "cat is below dog",
            id="relation",
        ),
        pytest.param(
            Relation(subject="cat", relation="right_of", object="dog"),
            "fail",  # the second dog's centre (220, 40) is right of the cat's (190, 130)
            "cat is not right of dog",
            id="relation-all-pairs",
        ),
        pytest.param(
            Relation(subject="dog", relation="left_of", object="bird"),
            "fail",
            "no bird found",
            id="relation-none",
        ),
        pytest.param(
            Position(object="cat", place="bottom_right"), "pass", "cat is right/bottom", id="pos"
        ),
        pytest.param(Position(object="dog", place="left"), "fail", "dog is top", id="pos-fail"),
        pytest.param(Position(object="bird", place="left"), "fail", "no bird found", id="pos-none"),
    ],
)
def test_decisions_from_given_boxes(check: Any, status: str, reason: str) -> None:
    verdict = _decide(check, {"dog": DOGS, "cat": CAT, "bird": []})
    assert (verdict.status, verdict.reason) == (status, reason)
    assert verdict.evidence["detector"]["model"] == DEFAULT_MODEL
    assert verdict.evidence["detector"]["threshold"] == 0.3


def test_count_evidence_holds_the_boxes_counted() -> None:
    verdict = _decide(Count(object="dog", equals=1, within="dog"), {"dog": DOGS})
    assert verdict.evidence["within"] == {
        "part": "dog",
        "box": list(render_scene(SCENE).box("dog") or ()),
    }
    assert verdict.evidence["detections"] == [
        {"label": "dog", "box": [30, 40, 90, 100], "score": 0.9}
    ]
    assert (verdict.evidence["count"], verdict.evidence["expected"]) == (1, "= 1")


def test_a_count_that_matches_another_canvas_counts_there() -> None:
    earlier = Canvas(1, render_scene(SCENE).image, None, drawn=True)
    check = Count(object="dog", matches=CountOf(object="cat", turn=1, times=2))
    verdict = _decide(
        check, {"dog": DOGS}, reference={"cat": CAT}, ctx={"references": {"turn:1": earlier}}
    )
    assert verdict.status == "pass"
    assert verdict.reason == "found 2 dog(s) (turn 1 shows 1 cat)"
    assert verdict.evidence["reference"]["count"] == 1
    assert verdict.evidence["reference"]["detections"] == [CAT[0].as_evidence()]
    missing = _decide(check, {"dog": DOGS}, reference={"cat": CAT})
    assert (missing.status, missing.reason) == ("unknown", "no canvas of turn 1 to count on")
    blank = Canvas(1, None, None, drawn=False)
    zero = _decide(check, {"dog": []}, ctx={"references": {"turn:1": blank}})
    assert (zero.status, zero.evidence["expected"]) == ("pass", "= 0")


def test_without_an_image_counts_are_zero_and_other_checks_fail() -> None:
    assert _decide(Absent(object="dog"), {}, image=None).status == "pass"
    present = _decide(Present(object="dog"), {}, image=None)
    assert (present.status, present.reason) == ("fail", "found no image, so 0 dog(s)")
    for check in (
        Relation(subject="dog", relation="left_of", object="cat"),
        Position(object="dog", place="left"),
        Color(object="dog", equals="red"),
    ):
        assert (_decide(check, {}, image=None).status, _decide(check, {}, image=None).reason) == (
            "fail",
            "no image",
        )


def test_words_without_given_detections_are_unknown() -> None:
    verdict = _decide(Present(object="zebra"), {"dog": DOGS})
    assert (verdict.status, verdict.reason) == ("unknown", "no detections of 'zebra' were given")
    assert _decide(Text(contains="x"), {}).status == "unknown"


def test_colour_of_detected_objects_and_of_a_part() -> None:
    image = render_scene(SCENE).image
    rgb = np.asarray(image)
    box = render_scene(SCENE).box("dog")
    assert box is not None
    dog = [Found(box, 0.9, "dog")]
    red = _decide(Color(object="dog", equals="red"), {"dog": dog})
    assert (red.status, red.reason) == ("pass", "dog is red")
    assert red.evidence["detections"][0]["color"] == box_color(rgb, box)[0] == "red"
    assert "border band of 15%" in red.evidence["color_rule"]
    two = [*dog, Found((0, 0, 20, 20), 0.4, "dog")]  # a white corner of the image
    both = _decide(Color(object="dog", equals="red"), {"dog": two})
    assert (both.status, both.reason) == ("fail", "dog is red, white")
    pick = _decide(Color(object="dog", select="rightmost", equals="red"), {"dog": two})
    assert (pick.status, pick.reason) == ("pass", "the rightmost dog is red")
    wall = _decide(Color(part="wall", equals="blue"), {})
    assert (wall.status, wall.evidence["color"]) == ("pass", "blue")
    none = _decide(Color(object="dog", equals="red"), {"dog": []})
    assert (none.status, none.reason) == ("fail", "no dog found")


def test_labels_and_options() -> None:
    assert [label_of(w) for w in ("birds", "People", "a red kite", "the  Dogs")] == [
        "bird",
        "person",
        "red kite",
        "dog",
    ]
    with pytest.raises(ConfigError, match="prompt"):
        make_judge("detector", {"prompt": "a photo"})
    with pytest.raises(ConfigError, match="family"):
        make_judge("detector", {"family": "yolo"})
    judge = make_judge("detector", {"model": "x", "prompt": "an image of {}"})
    assert judge.options.public()["prompt"] == "an image of {}"
    image = Image.new("RGB", (8, 8))
    assert canvas_key(Canvas(1, image, ImageRef(sha256="ab" * 32, width=8, height=8), True)) == (
        "ab" * 32
    )
    assert canvas_key(Canvas(1, image, None, True)) == canvas_key(
        Canvas(2, image.copy(), None, True)
    )
    assert canvas_key(Canvas(1, None, None, False)) is None


def test_importing_the_judge_does_not_import_torch() -> None:
    code = (
        "import sys, uniprobe.scoring.judges.detector; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- end to end on tiny detectors --------------------------------------------------------


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Model folders of a tiny OWLv2 and a tiny Grounding DINO, by family."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tiny_detectors import save_grounding_dino, save_owlv2

    root = tmp_path_factory.mktemp("detectors")
    return {
        "owlv2": save_owlv2(root / "owlv2"),
        "grounding-dino": save_grounding_dino(root / "grounding-dino"),
    }


FAMILIES = [pytest.param("owlv2", id="owlv2"), pytest.param("grounding-dino", id="gdino")]
ALL_BOXES = {"threshold": 0.0, "text_threshold": 0.0}


def _inside_image(evidence: list[dict[str, Any]], size: tuple[int, int]) -> bool:
    return all(
        0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
        for x0, y0, x1, y1 in (d["box"] for d in evidence)
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_count_on_a_rendered_scene(tiny: dict[str, Path], family: str) -> None:
    judge = DetectorJudge({"model": str(tiny[family]), **ALL_BOXES, "max_boxes": 3})
    image = render_scene(SCENE).image
    found = judge.detect(image, ["dogs"])["dogs"]
    assert 1 <= len(found) <= 3
    ctx = _ctx(image)
    capped = asyncio.run(judge.judge(Count(object="dog", at_most=3), ctx))
    assert capped.status == "pass"
    assert capped.evidence["detections"] == [f.as_evidence() for f in found]
    assert capped.evidence["count"] == len(found)
    assert _inside_image(capped.evidence["detections"], image.size)
    assert capped.evidence["detector"] == {
        "model": str(tiny[family]),
        "family": family,
        "threshold": 0.0,
        "nms_iou": 0.5,
        "text_threshold": 0.0,
        "max_boxes": 3,
        "prompt": "a photo of a {}" if family == "owlv2" else "{}",
    }
    exact = asyncio.run(judge.judge(Count(object="dog", equals=len(found)), ctx))
    assert (exact.status, exact.reason) == (
        "pass",
        f"found {len(found)} dog{'' if len(found) == 1 else '(s)'}",
    )
    one_more = asyncio.run(judge.judge(Count(object="dog", equals=len(found) + 1), ctx))
    assert one_more.status == "fail"
    strict = DetectorJudge({"model": str(tiny[family]), "threshold": 1.0})
    assert asyncio.run(strict.judge(Absent(object="dog"), ctx)).status == "pass"


@pytest.mark.parametrize("family", FAMILIES)
def test_colour_on_a_rendered_scene(tiny: dict[str, Path], family: str) -> None:
    judge = DetectorJudge({"model": str(tiny[family]), **ALL_BOXES})
    image = render_scene(SCENE).image
    rgb = np.asarray(image)
    found = judge.detect(image, ["cat"])["cat"]
    assert found
    colors = [box_color(rgb, f.box)[0] for f in found]
    ctx = _ctx(image)
    verdict = asyncio.run(judge.judge(Color(object="cat", equals=colors[0]), ctx))
    assert verdict.status == ("pass" if set(colors) == {colors[0]} else "fail")
    assert [d["color"] for d in verdict.evidence["detections"]] == colors
    assert _inside_image(verdict.evidence["detections"], image.size)
    assert verdict.evidence["detector"]["model"] == str(tiny[family])
    leftmost = select(found, "leftmost")
    chosen = Color(object="cat", select="leftmost", equals=box_color(rgb, leftmost.box)[0])
    picked = asyncio.run(judge.judge(chosen, ctx))
    assert picked.status == "pass"
    assert [d["box"] for d in picked.evidence["detections"]] == [list(leftmost.box)]


def test_prepare_runs_one_forward_pass_per_canvas(tiny: dict[str, Path]) -> None:
    judge = DetectorJudge({"model": str(tiny["owlv2"]), **ALL_BOXES})
    first = render_scene(SCENE).image
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    stored = ImageRef(sha256="0" * 64, width=first.width, height=first.height)
    earlier = Canvas(1, first, stored, drawn=True)
    on_first = _ctx(first, ref=stored)
    on_second = _ctx(second, references={"turn:1": earlier})
    queries: list[tuple[Check, JudgeContext]] = [
        (Count(object="dog", at_least=1), on_first),
        (Relation(subject="dog", relation="left_of", object="cat"), on_first),
        (Color(object="cat", equals="red"), on_first),
        (Position(object="bird", place="left"), on_first),
        (Text(contains="hello"), on_first),
        (Count(object="dog", matches=CountOf(object="tree", turn=1)), on_second),
        (Present(object="person"), on_second),
        (Absent(object="dog"), _ctx(None)),
    ]
    asyncio.run(judge.prepare(queries))
    assert judge.passes == 2
    verdicts = [asyncio.run(judge.judge(check, ctx)) for check, ctx in queries]
    assert judge.passes == 2  # every check read the remembered detections
    assert [v.status for v in verdicts].count("unknown") == 1  # only the text check
    trees = verdicts[5].evidence["reference"]
    direct = judge.detect(first, ["tree"])["tree"]  # OWLv2 scores each label on its own
    assert trees["detections"] == [f.as_evidence() for f in direct]
    assert judge.passes == 3
    asyncio.run(judge.judge(Present(object="car"), on_second))  # a new word: one more pass
    assert judge.passes == 4


def test_a_missing_model_makes_checks_unknown(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    judge = DetectorJudge({"model": missing})
    ctx = _ctx(render_scene(SCENE).image)
    asyncio.run(judge.prepare([(Present(object="dog"), ctx)]))  # does not raise
    verdict = asyncio.run(judge.judge(Present(object="dog"), ctx))
    assert verdict.status == "unknown"
    assert verdict.reason.startswith(f"detector model '{missing}' cannot be loaded")
    assert "judges.detector.model" in verdict.reason
    assert "\n" not in verdict.reason
    assert verdict.evidence["detector"]["model"] == missing
    assert asyncio.run(judge.judge(Absent(object="dog"), _ctx(None))).status == "pass"
    with pytest.raises(ValueError, match="cannot be loaded"):
        judge.locate(ctx.canvas.image or Image.new("RGB", (1, 1)), "dog")


def test_pixels_judge_excludes_the_boxes_the_detector_locates(tiny: dict[str, Path]) -> None:
    from uniprobe.scoring.policy import Judging  # the judge registered when imported above

    options = {"detector": {"model": str(tiny["owlv2"]), **ALL_BOXES, "max_boxes": 2}}
    judging = Judging.of("detector", options=options)
    detector, pixels = judging.instances["detector"], judging.instances["pixels"]
    assert isinstance(detector, DetectorJudge)
    assert judging.judge_for("count") is detector
    assert getattr(pixels, "locator", None) is detector
    before = render_scene(SCENE).image
    moved = SCENE.objects[0].model_copy(update={"y": 100.0})
    after = render_scene(SCENE.model_copy(update={"objects": (moved, *SCENE.objects[1:])})).image
    ctx = _ctx(after, references={"turn:1": Canvas(1, before, None, drawn=True)})
    verdict = asyncio.run(pixels.judge(Unchanged(against=1, outside_objects=("dog",)), ctx))
    assert verdict.status in ("pass", "fail")
    assert verdict.evidence["metric"] == "ssim"
    assert detector.passes == 2  # one per image
    located = [list(box) for image in (before, after) for box in detector.locate(image, "dog")]
    assert detector.passes == 2  # located again from memory
    assert located
    assert [e["box"] for e in verdict.evidence["excluded"]] == located

    broken = Judging.of("detector", options={"detector": {"model": "/no/such/model"}})
    unknown = asyncio.run(
        broken.instances["pixels"].judge(Unchanged(against=1, outside_objects=("dog",)), ctx)
    )
    assert unknown.status == "unknown"
    assert "'/no/such/model' cannot be loaded" in unknown.reason


# --- weights by model id: the Hugging Face cache, downloads, offline ----------------------

REPO = "uniprobe-tests/tiny-owlv2"
"""A model id: only ever looked for in a test's own cache and fake Hub."""
CANNOT = f"detector model '{REPO}' cannot be loaded: "
OR_A_FOLDER = "; or set judges.detector.model to a model folder"


def _verdict_on_a_scene(judge: DetectorJudge) -> JudgeResult:
    return asyncio.run(judge.judge(Present(object="dog"), _ctx(render_scene(SCENE).image)))


@pytest.mark.parametrize(
    ("offline", "options", "message"),
    [
        pytest.param(
            True,
            {},
            "not in the Hugging Face cache, and downloads are off (HF_HUB_OFFLINE=1); "
            f"download it with: HF_HUB_OFFLINE=0 hf download {REPO}",
            id="HF_HUB_OFFLINE",
        ),
        pytest.param(
            False,
            {"local_files_only": True},
            "not in the Hugging Face cache, and downloads are off (local_files_only is set); "
            f"download it with: hf download {REPO}",
            id="local_files_only",
        ),
    ],
)
def test_offline_a_model_id_missing_from_the_cache_names_the_download_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    offline: bool,
    options: dict[str, Any],
    message: str,
) -> None:
    pytest.importorskip("transformers")
    from fake_hub import fake_hub, use_hub

    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=offline, endpoint=hub.url)
        verdict = _verdict_on_a_scene(DetectorJudge({"model": REPO, **options}))

    assert (verdict.status, verdict.reason) == ("unknown", CANNOT + message + OR_A_FOLDER)
    assert hub.requests == []


def test_offline_a_model_id_in_the_cache_loads_from_its_snapshot(
    tiny: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fake_hub import cache_model, fake_hub, use_hub

    cache_model(tmp_path, REPO, tiny["owlv2"])
    image = render_scene(SCENE).image
    with fake_hub(404, "RepoNotFound") as hub:
        use_hub(monkeypatch, tmp_path, offline=True, endpoint=hub.url)
        cached = DetectorJudge({"model": REPO, **ALL_BOXES}).detect(image, ["dog"])

    assert hub.requests == []
    from_folder = DetectorJudge({"model": str(tiny["owlv2"]), **ALL_BOXES})
    assert cached["dog"]
    assert cached == from_folder.detect(image, ["dog"])


@pytest.mark.parametrize(("status", "error_code", "message"), hub_refusals(REPO))
def test_online_a_model_id_missing_from_the_cache_is_downloaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, status: int, error_code: str, message: str
) -> None:
    pytest.importorskip("transformers")
    from fake_hub import fake_hub, use_hub

    with fake_hub(status, error_code) as hub:
        use_hub(monkeypatch, tmp_path, offline=False, endpoint=hub.url)
        verdict = _verdict_on_a_scene(DetectorJudge({"model": REPO}))

    # (huggingface_hub may also ask for its registry of agents: /api/agent-harnesses)
    asked = [r for r in hub.requests if REPO in r]
    assert asked == [f"HEAD /{REPO}/resolve/main/config.json"]
    assert (verdict.status, verdict.reason) == ("unknown", CANNOT + message + OR_A_FOLDER)
