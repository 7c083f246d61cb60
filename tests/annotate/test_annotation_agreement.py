"""Agreement: the formulas against textbook values, and on a real run with real labels."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from annotate_helpers import copy_run, find_item, groups_of, paper_run

import uniprobe
from uniprobe.statistics import Kappa, cohen_kappa, krippendorff_alpha
from uniprobe.store.labels.db import LabelStore, labels_path
from uniprobe.store.labels.label import LabelValue
from uniprobe.store.labels.votes import majority

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the nominal example:
# 4 observers, 12 units, values 1-5, None where an observer gave no value. alpha = 0.743.
OBSERVERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_krippendorff_alpha_matches_the_2011_nominal_example() -> None:
    units = [[v for v in unit if v is not None] for unit in zip(*OBSERVERS, strict=True)]
    result = krippendorff_alpha(units)
    assert (result.units, result.values) == (11, 40)  # unit 12 has one value: not pairable
    assert result.alpha == pytest.approx(0.743, abs=5e-4)


def test_krippendorff_alpha_by_hand_on_two_coders() -> None:
    # pairs (p,p) (p,f) (f,f) (f,f): o_pp=2 o_pf=o_fp=1 o_ff=4; n_p=3 n_f=5 n=8
    # alpha = 1 - (n-1) * (o_pf+o_fp) / (2 n_p n_f) = 1 - 7*2/30 = 8/15
    units = [["p", "p"], ["p", "f"], ["f", "f"], ["f", "f"], ["f"], []]
    result = krippendorff_alpha(units)
    assert result.alpha == pytest.approx(float(Fraction(8, 15)), abs=1e-12)
    assert (result.units, result.values) == (4, 8)


@pytest.mark.parametrize(
    "units",
    [
        pytest.param([], id="nothing"),
        pytest.param([["pass"], ["fail"]], id="no-unit-with-two-values"),
        pytest.param([["pass", "pass"], ["pass", "pass", "pass"]], id="one-value-only"),
    ],
)
def test_krippendorff_alpha_is_undefined_without_variation_or_pairs(units: list[list[str]]) -> None:
    assert krippendorff_alpha(units).alpha is None


def test_cohen_kappa_on_the_textbook_two_by_two() -> None:
    # 50 items: both yes 20, A yes B no 5, A no B yes 10, both no 15:
    # p_o = 0.7, p_e = 0.5*0.6 + 0.5*0.4 = 0.5, kappa = 0.2/0.5 = 0.4
    pairs = [("y", "y")] * 20 + [("y", "n")] * 5 + [("n", "y")] * 10 + [("n", "n")] * 15
    kappa = cohen_kappa(pairs)
    assert kappa.n == 50
    assert kappa.observed == pytest.approx(0.7) and kappa.kappa == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param([], Kappa(0, None, None), id="no-pairs"),
        pytest.param([("p", "p"), ("f", "f")], Kappa(2, 1.0, 1.0), id="perfect"),
        pytest.param([("p", "p"), ("p", "p")], Kappa(2, 1.0, None), id="chance-is-one"),
        pytest.param([("p", "f"), ("f", "p")], Kappa(2, 0.0, -1.0), id="always-opposite"),
    ],
)
def test_cohen_kappa_edges(pairs: list[tuple[str, str]], expected: Kappa) -> None:
    assert cohen_kappa(pairs) == expected


@pytest.mark.parametrize(
    ("labels", "status", "reason"),
    [
        pytest.param([], None, "no human labels", id="none"),
        pytest.param(["pass", "fail"], None, "annotators are split (1 fail, 1 pass)", id="tie"),
        pytest.param(
            ["cant_tell", "cant_tell", "pass"],
            None,
            "most annotators cannot tell (2 cant tell, 1 pass)",
            id="cant-tell",
        ),
        pytest.param(
            ["fail", "fail", "pass"],
            "fail",
            "2 of 3 annotator(s) say fail (2 fail, 1 pass)",
            id="majority",
        ),
        pytest.param(
            ["pass", "cant_tell", "pass"],
            "pass",
            "2 of 3 annotator(s) say pass (1 cant tell, 2 pass)",
            id="majority-over-cant-tell",
        ),
    ],
)
def test_majority(labels: list[str], status: str | None, reason: str) -> None:
    vote = majority(labels)
    assert (vote.status, vote.reason) == (status, reason)


@pytest.fixture()
def run(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    return copy_run(paper_run(tmp_path_factory), tmp_path)


def test_agreement_on_a_run(run: Path) -> None:
    groups = groups_of(run)
    store = LabelStore(labels_path(run))
    given: list[tuple[str, str, str, LabelValue]] = [
        # (case, path, annotator, label); the judge's verdict in the comment
        ("paper.global.numeric.add3.dolphins", "turns.1.expect.0", "ada", "pass"),  # fail
        ("paper.global.numeric.add3.dolphins", "turns.1.expect.0", "ada", "fail"),  # relabel
        ("paper.global.numeric.add3.dolphins", "turns.1.expect.0", "bob", "fail"),
        ("paper.global.spatial_reversal.dog_cat", "turns.1.expect.0", "ada", "pass"),  # pass
        ("paper.global.spatial_reversal.dog_cat", "turns.1.expect.0", "bob", "fail"),  # tie
        ("paper.global.spatial_reversal.dog_cat", "turns.1.expect.1", "ada", "pass"),  # fail
        ("paper.global.spatial_reversal.dog_cat", "turns.1.expect.1", "bob", "pass"),
        ("paper.global.spatial_reversal.dog_cat", "turns.1.expect.1", "cy", "cant_tell"),
        ("paper.post.condition_after_edit.dog_cat_beach", "turns.1.expect.2.then.0", "ada", "fail"),
    ]
    for n, (case, path, who, value) in enumerate(given):
        _, item = find_item(groups, case, path)
        store.add(item.label(who, value, created=f"2026-01-01T00:00:{n:02d}Z"))

    result = uniprobe.agreement(run)
    assert result.policy == "reference"
    assert (result.annotators, result.labels, result.items) == (["ada", "bob", "cy"], 8, 61)
    summary = {
        k: (a.items, a.labels, a.n, a.observed, a.kappa, a.alpha, a.alpha_items)
        for k, a in result.kinds.items()
    }
    assert summary == {
        "count": (1, 2, 1, 1.0, None, None, 1),  # both said fail, as the judge: no variation
        "position": (1, 3, 1, 0.0, 0.0, None, 1),  # people pass, judge fail; cy can't tell
        "present": (2, 3, 0, None, None, 0.0, 1),  # a tie; a branch the judge never judged
    }
    overall = result.overall
    assert (overall.n, overall.observed, overall.kappa) == (2, 0.5, 0.0)
    # alpha over units [f,f] [p,f] [p,p]: n_f = n_p = 3, 1 - 5 * 2 / 18 = 4/9
    assert result.alpha == pytest.approx(4 / 9) and result.alpha_items == 3
    assert overall.confusion == {"pass": {"pass": 0, "fail": 0}, "fail": {"pass": 1, "fail": 1}}
    assert json.loads(json.dumps(result.as_dict()))["kinds"]["count"]["n"] == 1


def test_agreement_of_a_run_without_labels_is_empty_and_writes_nothing(run: Path) -> None:
    result = uniprobe.agreement(run, "reference")
    assert (result.labels, result.annotators, result.alpha, result.overall.kappa) == (
        0,
        [],
        None,
        None,
    )
    assert result.kinds == {}
    assert not labels_path(run).exists()
