"""verify(detector, vlm): proposed boxes confirmed crop by crop, decided on the confirmed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import Any

import pytest
from PIL import Image

from uniprobe.cases.checks import Check, Count, Present, Relation
from uniprobe.cases.schema import Case
from uniprobe.errors import UsageError
from uniprobe.scoring.boxes import Found
from uniprobe.scoring.judge import Canvas, Judge, JudgeContext, JudgeOptions, JudgeResult, Ledger
from uniprobe.scoring.judges.combine import AgreeJudge, combined
from uniprobe.scoring.judges.detector import DetectorJudge
from uniprobe.scoring.judges.verify import CROP_MARGIN, VerifyJudge, crop_box

CASE = Case.model_validate(
    {"id": "v", "family": "editing", "subtype": "s", "turns": [{"user": "u"}]}
)
IMAGE = Image.new("RGB", (200, 100), "white")
BOXES = {
    "dog": [Found((10, 10, 50, 50), 0.9, "dog"), Found((120, 10, 160, 50), 0.4, "dog")],
    "cat": [Found((60, 60, 90, 90), 0.5, "cat")],
}


class StubDetector(DetectorJudge):
    """The real detector's decisions on hand-made boxes (no model)."""

    def found_on(self, canvas: Canvas, words: Sequence[str]) -> dict[str, list[Found]]:
        self.calls = getattr(self, "calls", 0) + 1
        return {w: list(BOXES.get(w, [])) for w in words}


class StubVlm(Judge):
    """Says yes to crops in `yes` (by the left edge of their box), None to `unsure`."""

    name = "vlm"
    version = "1"
    kinds = frozenset({"count", "present", "relation"})

    def __init__(self, yes: AbstractSet[int], unsure: AbstractSet[int] = frozenset()) -> None:
        self.yes, self.unsure = yes, unsure
        self.options = JudgeOptions()
        self.calls: list[list[tuple[tuple[int, int], str]]] = []

    async def verify(
        self, crops: Sequence[tuple[Image.Image, str]], ledger: Ledger
    ) -> list[bool | None]:
        self.calls.append([(c.size, w) for c, w in crops])
        ledger.add("vlm", input_tokens=10, output_tokens=2, cost_usd=0.001)
        out: list[bool | None] = []
        for crop, _word in crops:
            left = crop.info["left"]
            out.append(None if left in self.unsure else left in self.yes)
        return out

    async def judge(self, check: Check, ctx: JudgeContext) -> JudgeResult:
        return JudgeResult("pass", "stub")


@pytest.fixture(autouse=True)
def _tag_crops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let the stub VLM know which box a crop came from (its left edge in the image)."""
    original = Image.Image.crop

    def crop(self: Image.Image, box: Any = None) -> Image.Image:
        out = original(self, box)
        if box is not None:
            out.info["left"] = next(
                f.box[0] for fs in BOXES.values() for f in fs if crop_box(f.box, self.size) == box
            )
        return out

    monkeypatch.setattr(Image.Image, "crop", crop)


def _ctx() -> JudgeContext:
    return JudgeContext(CASE, 1, Canvas(1, IMAGE, None, drawn=True), {}, {}, None, Ledger())


def _judge(vlm: StubVlm) -> VerifyJudge:
    return VerifyJudge(StubDetector({"model": "/nonexistent"}), vlm)


def test_only_confirmed_boxes_count() -> None:
    vlm = StubVlm(yes={10, 60})  # the second dog (x=120) is rejected
    judge = _judge(vlm)
    ctx = _ctx()
    res = asyncio.run(judge.judge(Count(object="dog", equals=1), ctx))
    assert res.status == "pass", res
    assert "1 of 2 proposed boxes confirmed by vlm" in res.reason
    confirmed = {tuple(e["box"]): e["confirmed"] for e in res.evidence["verified"]}
    assert confirmed == {(10, 10, 50, 50): True, (120, 10, 160, 50): False}
    assert res.evidence["detector"]["model"] == "/nonexistent"
    assert ctx.ledger.usage["vlm"].calls == 1


def test_prepare_verifies_each_canvas_once_in_one_call() -> None:
    vlm = StubVlm(yes={10, 120, 60})
    judge = _judge(vlm)
    ctx = _ctx()
    checks: list[Check] = [
        Count(object="dog", equals=2),
        Present(object="cat"),
        Relation(subject="cat", relation="right_of", object="dog"),
    ]
    asyncio.run(judge.prepare([(c, ctx) for c in checks]))
    assert len(vlm.calls) == 1
    assert sorted(w for _, w in vlm.calls[0]) == ["cat", "dog", "dog"]
    results = [asyncio.run(judge.judge(c, ctx)) for c in checks]
    # the cat (x=75) is right of the first dog (x=30) but not of the second (x=140)
    assert [r.status for r in results] == ["pass", "pass", "fail"]
    assert len(vlm.calls) == 1  # judging asked nothing new
    assert ctx.ledger.usage["vlm"].calls == 1


def test_an_unverifiable_crop_makes_the_check_unknown() -> None:
    judge = _judge(StubVlm(yes={10}, unsure={120}))
    res = asyncio.run(judge.judge(Count(object="dog", equals=1), _ctx()))
    assert res.status == "unknown"
    assert "could not verify 1 of 2" in res.reason


def test_crops_grow_by_the_margin_and_stay_inside() -> None:
    assert crop_box((10, 10, 50, 50), (200, 100)) == (4, 4, 56, 56)
    assert CROP_MARGIN == 0.15
    assert crop_box((0, 0, 200, 100), (200, 100)) == (0, 0, 200, 100)


def test_combinations_check_what_they_combine() -> None:
    det = StubDetector({"model": "/nonexistent"})
    with pytest.raises(UsageError, match="cannot verify crops"):
        VerifyJudge(det, det)
    with pytest.raises(UsageError, match="cannot propose boxes"):
        VerifyJudge(StubVlm(set()), StubVlm(set()))
    agree = combined("agree", det, StubVlm(set()))
    assert isinstance(agree, AgreeJudge) and agree.name == "agree(detector,vlm)"
    with pytest.raises(ValueError, match="unknown combination"):
        combined("vote", det, det)


def test_agree_needs_both_judges_to_say_the_same() -> None:
    det = StubDetector({"model": "/nonexistent"})
    agree = AgreeJudge(det, StubVlm(set()))
    ctx = _ctx()
    same = asyncio.run(agree.judge(Present(object="cat"), ctx))  # detector: pass, stub: pass
    assert same.status == "pass" and same.reason.startswith("both agree")
    differ = asyncio.run(agree.judge(Present(object="bird"), ctx))  # detector: fail
    assert differ.status == "unknown"
    assert "detector says fail, vlm says pass" in differ.reason
    assert differ.evidence["detector"]["status"] == "fail"
