"""SVG charts: well-formed, escaped, and drawn where the numbers say."""

from __future__ import annotations

from xml.etree import ElementTree

import pytest

from uniprobe.report.charts import Axis, Point, Series, bar_chart, line_chart

NS = "{http://www.w3.org/2000/svg}"
NASTY = "<b>a & b</b> \"q\" 'r' </svg><script>alert(1)</script>"


def _parse(svg: str) -> ElementTree.Element:
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def _texts(root: ElementTree.Element) -> str:
    return "".join(root.itertext())


def test_a_bar_chart_is_well_formed_and_escapes_every_name() -> None:
    svg = bar_chart(
        [NASTY, "plain"],
        [Series(NASTY, [Point(0.5, 0.25, 0.75, NASTY), None]), Series("b", [None, Point(1.0)])],
        title=NASTY,
    )
    root = _parse(svg)
    assert "<script>" not in svg and "<b>" not in svg
    assert NASTY in _texts(root)  # the title, a category, a legend entry, a tooltip
    title = root.find(f"{NS}title")
    assert title is not None and title.text == NASTY
    assert len(root.findall(f".//{NS}rect[@class='bar']")) == 2
    assert len(root.findall(f".//{NS}path[@class='whisker']")) == 1


def test_bar_lengths_follow_the_values() -> None:
    root = _parse(bar_chart(["x", "y"], [Series("s", [Point(0.25), Point(1.0)])], title="t"))
    widths = [float(r.get("width", 0)) for r in root.findall(f".//{NS}rect[@class='bar']")]
    assert widths[1] == pytest.approx(4 * widths[0], rel=0.02)


def test_negative_values_grow_left_of_zero() -> None:
    axis = Axis(-1.0, 1.0, (-1.0, 0.0, 1.0), lambda v: f"{v:.1f}")
    root = _parse(bar_chart(["k"], [Series("s", [Point(-0.5)])], title="kappa", axis=axis))
    [bar] = root.findall(f".//{NS}rect[@class='bar']")
    [base] = root.findall(f".//{NS}line[@class='baseline']")
    assert float(bar.get("x", 0)) + float(bar.get("width", 0)) == pytest.approx(
        float(base.get("x1", 0)), abs=0.2
    )


def test_count_axes_end_on_a_round_number_with_whole_ticks() -> None:
    assert list(Axis.counts(0).ticks) == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert list(Axis.counts(7).ticks) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert list(Axis.counts(20).ticks) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert Axis.counts(21).high == 50.0
    assert list(Axis.counts(150).ticks) == [0.0, 50.0, 100.0, 150.0, 200.0]
    assert Axis.counts(1001).high == 2000.0


def test_a_line_chart_joins_points_and_skips_gaps() -> None:
    svg = line_chart(
        ["0", "2", "5"],
        [
            Series(NASTY, [Point(0.9, 0.8, 1.0), None, Point(0.4, 0.2, 0.6)]),
            Series("b", [Point(0.5)]),
        ],
        title="distance",
        x_title="turns",
    )
    root = _parse(svg)
    assert len(root.findall(f".//{NS}circle[@class='point']")) == 3
    assert len(root.findall(f".//{NS}path[@class='line']")) == 1  # b has one point: no line
    assert len(root.findall(f".//{NS}path[@class='whisker']")) == 2
    assert NASTY in _texts(root)
