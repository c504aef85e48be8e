"""The Wilson score interval, against Newcombe (1998) and scipy.

Reference values come from scipy and from Newcombe (1998), "Two-sided confidence intervals for
the single proportion", Statistics in Medicine 17, Table I (method 3, the Wilson score interval).
"""

from __future__ import annotations

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
