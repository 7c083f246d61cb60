"""The canvas rule as one pure function, shared by the engine and the annotation items."""

from __future__ import annotations

import pytest

from uniprobe.cases.checks import Count, CountOf, Present, SameAs, Unchanged
from uniprobe.scoring.engine import CanvasSource, canvas_source, compared_against
from uniprobe.store.records import ErrorRecord, ImageRef, ReplyRecord, SampleRecord, TurnRecord

A = ImageRef(sha256="a" * 64, width=8, height=8)
B = ImageRef(sha256="b" * 64, width=8, height=8)
SAMPLE = SampleRecord(
    case_id="c",
    epoch=0,
    seed=0,
    model="test/m",
    protocol="test",
    turns=[
        TurnRecord(index=1, user="draw", reply=ReplyRecord(images=[A])),
        TurnRecord(index=2, user="talk", reply=ReplyRecord(text="hi")),
        TurnRecord(index=3, user="edit this", attached=[B], reply=ReplyRecord(refusal="no")),
        TurnRecord(index=4, user="again", error=ErrorRecord(type="E", message="down")),
    ],
    status="error",
    started="t",
    finished="t",
)


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        pytest.param(0, CanvasSource(0, None, False, 0), id="before-anything"),
        pytest.param(1, CanvasSource(1, A, True, 1), id="drawn-now"),
        pytest.param(2, CanvasSource(2, A, False, 1), id="text-only-keeps-the-last-image"),
        pytest.param(3, CanvasSource(3, B, False, 3), id="refused-edit-shows-its-attachment"),
        pytest.param(4, CanvasSource(4, B, False, 3), id="no-reply"),
        pytest.param(6, CanvasSource(6, B, False, 3), id="past-the-last-turn"),
    ],
)
def test_canvas_source_follows_the_canvas_rule(turn: int, expected: CanvasSource) -> None:
    assert canvas_source(SAMPLE, turn) == expected


def test_compared_against_names_the_other_image() -> None:
    assert compared_against(Unchanged(against=1)) == 1
    assert compared_against(SameAs(against="lake")) == "lake"
    assert compared_against(Count(object="bird", matches=CountOf(object="tree", turn=2))) == 2
    assert compared_against(Count(object="bird", equals=2)) is None
    assert compared_against(Present(object="bird")) is None
