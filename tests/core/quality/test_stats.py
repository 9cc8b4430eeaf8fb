"""Statistics on constructed data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from lmscales.core.quality.stats import (
    JudgeTally,
    describe,
    modified_z_scores,
    paired_difference,
    per_hundred,
    wilson_interval,
)


def test_describe_gives_median_p90_mean_sd_and_n() -> None:
    summary = describe([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    assert summary.n == 10
    assert summary.median == pytest.approx(5.5)
    assert summary.p90 == pytest.approx(9.1)  # linear interpolation, numpy's default
    assert summary.mean == pytest.approx(5.5)
    assert summary.sd == pytest.approx(3.0276503540974917)
    assert summary.outliers == ()


def test_a_planted_outlier_is_flagged_by_modified_z_and_kept() -> None:
    ttft = [0.21, 0.20, 0.22, 0.19, 0.21, 0.20, 0.23, 1.90, 0.20, 0.21]
    summary = describe(ttft)
    assert summary.outliers == (7,)
    assert summary.n == 10  # flagged, never dropped
    assert summary.mean == pytest.approx(float(np.mean(ttft)))
    assert abs(modified_z_scores(ttft)[7]) > 3.5


def test_no_outliers_in_a_constant_series() -> None:
    assert describe([3.0, 3.0, 3.0]).outliers == ()


def test_coefficient_of_variation_over_ten_percent_is_flagged() -> None:
    assert describe([10.0, 10.5, 9.5, 10.2]).unstable is False
    assert describe([10.0, 14.0, 7.0, 12.0]).unstable is True


def test_bootstrap_interval_contains_the_true_mean_difference_and_is_deterministic() -> None:
    rng = np.random.default_rng(7)
    true_difference = 12.0
    second = rng.uniform(20, 60, size=60)
    first = second + true_difference + rng.normal(0, 4, size=60)
    result = paired_difference(list(first), list(second), seed=123)
    assert result.n == 60
    assert result.low < true_difference < result.high
    assert result.high - result.low < 4  # paired: item difficulty cancels out
    assert result.excludes_zero
    again = paired_difference(list(first), list(second), seed=123)
    assert (again.low, again.high) == (result.low, result.high)
    other = paired_difference(list(first), list(second), seed=124)
    assert (other.low, other.high) != (result.low, result.high)


def test_paired_difference_leaves_out_items_missing_on_either_side() -> None:
    result = paired_difference([10.0, None, 30.0], [5.0, 7.0, None])
    assert (result.n, result.mean_difference) == (1, 5.0)
    with pytest.raises(ValueError, match="same items"):
        paired_difference([1.0], [1.0, 2.0])


def test_wilson_interval_matches_a_textbook_value() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, example: 81 of 263 -> 0.2553 to 0.3662
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=5e-5)
    assert high == pytest.approx(0.3662, abs=5e-5)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=5e-5))
    for n in (1, 3, 7, 20, 24, 1000):  # exactly 0 and 1 at the ends, not a rounding error's 5.6e-17
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0


def test_judge_tally_intervals_count_ties_but_not_unparsed() -> None:
    tally = JudgeTally(wins=55, ties=3, losses=2, unparsed=1)
    assert tally.n == 60
    low, high = tally.interval("wins")
    assert low < 55 / 60 < high


def test_per_hundred_items() -> None:
    assert per_hundred(0.0123, 60) == pytest.approx(0.0205)
    with pytest.raises(ValueError):
        per_hundred(1.0, 0)
