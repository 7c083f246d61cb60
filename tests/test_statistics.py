"""Intervals of the summaries: Wilson at the effective size n / deff, known values."""

from __future__ import annotations

import random

import pytest

from uniprobe.statistics import Interval, cluster_wilson, design_effect, wilson


def test_wilson_known_values() -> None:
    # 0 of 12: the textbook Wilson upper bound 0.2425 (z = 1.96)
    low, high = wilson(0, 12) or (None, None)
    assert (low, round(high or 0, 4)) == (0.0, 0.2425)
    low, high = wilson(12, 12) or (None, None)
    assert (round(low or 0, 4), high) == (0.7575, 1.0)
    low, high = wilson(5, 10) or (None, None)
    assert (round(low or 0, 4), round(high or 0, 4)) == (0.2366, 0.7634)
    assert wilson(0, 0) is None


@pytest.mark.parametrize(
    ("num", "den", "deff"),
    [
        pytest.param([1, 0, 1], [1, 1, 1], 1.0, id="one-epoch"),
        pytest.param([5, 0], [5, 5], 5.0, id="epochs-agree"),
        pytest.param([0, 0, 0], [4, 4, 4], 4.0, id="no-variation-rho-1"),
        pytest.param([4], [4], 4.0, id="one-cluster-rho-1"),
        pytest.param([1, 1], [2, 2], 1.0, id="within-only-rho-0"),
        # ANOVA: p 1/2, MSB 5/9, MSW 1/6, n0 3 -> rho 7/16 -> 1 + 2 * 7/16
        pytest.param([1, 2, 0, 3], [3, 3, 3, 3], 1.875, id="anova"),
        pytest.param([0, 2], [0, 2], 2.0, id="empty-cluster-left-out"),
    ],
)
def test_design_effect(num: list[int], den: list[int], deff: float) -> None:
    assert design_effect(num, den) == pytest.approx(deff)


def test_cluster_wilson_at_zero_and_one_never_collapses() -> None:
    assert cluster_wilson([0] * 12, [1] * 12) == Interval(0.0, 0.0, 0.242501, 12)
    assert cluster_wilson([1] * 12, [1] * 12) == Interval(1.0, 0.757499, 1.0, 12)
    # 12 cases x 3 epochs that all agree: 12 independent units, not 36
    assert cluster_wilson([0] * 12, [3] * 12) == Interval(0.0, 0.0, 0.242501, 36)
    assert cluster_wilson([3] * 12, [3] * 12) == Interval(1.0, 0.757499, 1.0, 36)
    assert cluster_wilson([], []) == Interval(None, None, None, 0)
    assert cluster_wilson([0], [0]) == Interval(None, None, None, 0)


def test_cluster_wilson_widens_with_correlated_epochs() -> None:
    independent = cluster_wilson([1] * 5 + [0] * 5, [1] * 10)
    clustered = cluster_wilson([5, 0], [5, 5])  # two cases, epochs agree: n_eff 2
    assert independent == Interval(0.5, 0.23659, 0.76341, 10)
    assert clustered == Interval(0.5, 0.094529, 0.905471, 10)


def test_cluster_wilson_stays_in_range_and_covers_the_value() -> None:
    rng = random.Random(3)
    for _ in range(200):
        k = rng.randint(1, 15)
        den = [rng.randint(0, 5) for _ in range(k)]
        num = [rng.randint(0, d) for d in den]
        est = cluster_wilson(num, den)
        if sum(den) == 0:
            assert est.value is None
            continue
        assert est.value is not None and est.low is not None and est.high is not None
        assert 0.0 <= est.low <= est.value <= est.high <= 1.0
        assert est.high - est.low > 0.05  # never a point, at most 75 units here
