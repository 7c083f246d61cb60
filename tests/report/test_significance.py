"""Paired bootstrap of leaderboard differences, and how the page marks them."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from report_helpers import numbered_suite, write_run

import uniprobe
from uniprobe.report.significance import Difference, leaderboard, paired_difference

N = 30


def _counts(passed: set[int], n: int = N, epochs: int = 1) -> dict[str, tuple[int, int]]:
    return {f"c{i}": (epochs if i in passed else 0, epochs) for i in range(n)}


def test_a_clearly_better_run_is_significantly_better() -> None:
    d = paired_difference(_counts(set(range(28))), _counts(set(range(5))))
    assert d is not None
    assert (d.value, d.cases) == (0.766667, N)
    assert d.low is not None and d.high is not None and 0 < d.low < d.value < d.high
    assert d.significant
    reverse = paired_difference(_counts(set(range(5))), _counts(set(range(28))))
    assert reverse is not None and reverse.value == -0.766667 and reverse.significant


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(set(range(15)), set(range(15)), id="identical"),
        pytest.param(set(range(15)), set(range(15, 30)), id="same-rate-other-cases"),
        pytest.param(set(range(16)), set(range(14)), id="two-cases-apart"),
    ],
)
def test_equal_runs_are_not_marked(a: set[int], b: set[int]) -> None:
    d = paired_difference(_counts(a), _counts(b))
    assert d is not None and not d.significant
    assert d.low is not None and d.high is not None and d.low <= 0 <= d.high


def test_only_cases_both_runs_decided_are_compared() -> None:
    a = {"x": (1, 1), "y": (0, 1), "z": (1, 1)}
    b = {"x": (0, 1), "y": (0, 0), "w": (1, 1)}
    assert paired_difference(a, b) == Difference(
        value=1.0, low=None, high=None, cases=1, significant=False
    )
    assert paired_difference({"x": (1, 1)}, {"y": (1, 1)}) is None


def test_the_bootstrap_is_paired_and_deterministic() -> None:
    # B passes exactly the cases A passes, minus one: unpaired intervals would overlap
    # widely, the paired one stays on one side of 0 (or touches it).
    a = _counts(set(range(20)))
    b = _counts(set(range(19)))
    d = paired_difference(a, b)
    # a draw without the one differing case gives 0, never less: the interval touches 0
    assert d == Difference(value=0.033333, low=0.0, high=0.1, cases=30, significant=False)
    assert not d.significant
    assert paired_difference(a, b) == d


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str | None]] = {}
        self.run: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-rank"):
            self.run = a["data-run"]
            self.rows[str(self.run)] = {"rank": a["data-rank"]}
        if tag == "td" and a.get("data-diff") and self.run:
            self.rows[self.run][str(a["data-diff"])] = a.get("data-significant")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.run = None


def test_the_leaderboard_marks_only_real_differences(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, N)
    ids = [c.id for c in suite.cases]
    runs = [
        write_run(tmp_path, "good", suite, ids[:28], protocol="native"),
        write_run(tmp_path, "poor", suite, ids[:5], protocol="native"),
        write_run(tmp_path, "same-a", suite, ids[:15], protocol="emulated"),
        write_run(tmp_path, "same-b", suite, ids[15:], protocol="emulated"),
    ]
    index = uniprobe.report(runs, out=tmp_path / "report")
    html = index.read_text(encoding="utf-8")
    parser = _Rows()
    parser.feed(html)
    assert parser.rows == {
        "good": {"rank": "1", "above": None, "leader": None},
        "poor": {"rank": "2", "above": "true", "leader": "true"},
        "same-a": {"rank": "1", "above": None, "leader": None},
        "same-b": {"rank": "2", "above": "false", "leader": "false"},
    }
    assert html.count('<span class="sig" title=') == 2  # the poor run's two differences
    assert "marks a significant difference" in html
    assert html.index("Track <code>native</code>") < html.index("Track <code>emulated</code>")


def test_tracks_keep_protocols_apart_and_sort_by_strict_accuracy(tmp_path: Path) -> None:
    suite = numbered_suite(tmp_path, 4)
    ids = [c.id for c in suite.cases]
    paths = [
        write_run(tmp_path, "a", suite, ids[:1], protocol="x"),
        write_run(tmp_path, "b", suite, ids[:3], protocol="y"),
        write_run(tmp_path, "c", suite, ids[:4], protocol="x"),
    ]
    summaries = [uniprobe.summary(p) for p in paths]
    counts = [_counts(set(range(k)), 4) for k in (1, 3, 4)]
    board = leaderboard(summaries, counts)
    assert {p: [(s.rank, s.run) for s in rows] for p, rows in board.items()} == {
        "x": [(1, 2), (2, 0)],
        "y": [(1, 1)],
    }
    assert board["x"][1].vs_above == board["x"][1].vs_leader
    assert board["x"][1].vs_above is not None and board["x"][1].vs_above.value == -0.75
