"""The Wilson score interval, against Newcombe (1998) and scipy; the reports' fallback on cases.

Reference values come from scipy and from Newcombe (1998), "Two-sided confidence intervals for
the single proportion", Statistics in Medicine 17, Table I (method 3, the Wilson score interval).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.stats import intervals as stats


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(successes: int, n: int, low: float, high: float) -> None:
    interval = stats.wilson_interval(successes, n)
    assert interval is not None
    assert interval == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(("successes", "n"), [(0, 1), (3, 7), (50, 100), (99, 100), (1000, 1000)])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(successes: int, n: int, confidence: float) -> None:
    reference = scipy_stats.binomtest(successes, n).proportion_ci(confidence, method="wilson")
    interval = stats.wilson_interval(successes, n, confidence)
    assert interval == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_wilson_of_nothing_is_none() -> None:
    assert stats.wilson_interval(0, 0) is None


def test_wilson_bounds_is_elementwise_and_takes_effective_sizes() -> None:
    share = np.array([0.0, 0.3, 1.0, 0.5])
    n = np.array([20.0, 37.5, 8.0, 0.0])
    low, high = stats.wilson_bounds(share, n)
    for i in range(3):
        assert (low[i], high[i]) == pytest.approx(stats.wilson_interval(share[i] * n[i], n[i]))
    assert np.isnan(low[3]) and np.isnan(high[3])
    # a design effect of 2 halves n: the interval widens by about sqrt(2)
    wide = stats.wilson_interval(0.3 * 200, 200)
    narrow = stats.wilson_interval(0.3 * 400, 400)
    assert wide is not None and narrow is not None
    ratio = (wide[1] - wide[0]) / (narrow[1] - narrow[0])
    assert ratio == pytest.approx(math.sqrt(2), rel=0.01)


def test_a_reports_fallback_interval_counts_cases_not_pairs() -> None:
    """A block without intervals (an old run.json): Wilson on n = cases for every metric."""
    block = {"cases": 50, "variants": 250, "pairs": 250, "flip_rate": 0.2, "accuracy": 0.9}
    (low, high), source = stats.metric_interval(block, "flip_rate") or ((0.0, 0.0), "")
    assert source == "wilson"
    assert (low, high) == pytest.approx(stats.wilson_interval(10, 50))
    assert stats.metric_interval(block, "accuracy") == (stats.wilson_interval(45, 50), "wilson")
    assert stats.metric_interval(block, "pdr") is None
    reported = {**block, "ci": {"flip_rate": [0.1, 0.3]}}
    assert stats.metric_interval(reported, "flip_rate") == ((0.1, 0.3), "run")
