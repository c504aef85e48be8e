"""Intervals of one run's ratio metric, with cases as clusters: coverage by simulation.

Simulated runs have clustered cases: each case's propensity is Beta-distributed (heterogeneous),
its variants are Binomial draws from it, and 5% of variants are missing, so denominators vary.
The true metric is the mean propensity. 2,000 simulated runs per check (Monte Carlo standard
error 0.005 at 95%). Seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from brittle.stats.cluster_interval import (
    bca_interval,
    bca_intervals,
    clustered_wilson_interval,
    clustered_wilson_intervals,
)
from brittle.stats.intervals import wilson_bounds
from brittle.stats.margin import FEW_CASES, ratio_t_interval

RUNS = 2000
VARIANTS = 5
# (Beta a, Beta b): flip-like rates near 0 (mean 0.12), accuracy-like (0.75), rare (0.05)
PROPENSITIES = [(0.6, 4.4), (3.0, 1.0), (0.2, 3.8)]


def simulate(
    seed: int, a: float, b: float, *, cases: int, runs: int = RUNS
) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    propensity = rng.beta(a, b, (runs, cases))
    den = VARIANTS - rng.binomial(VARIANTS, 0.05, (runs, cases))
    num = rng.binomial(den, propensity)
    return num.astype(float), den.astype(float), a / (a + b)


def coverage(low: np.ndarray, high: np.ndarray, truth: float) -> float:
    return float(np.mean((low <= truth) & (truth <= high)))


@pytest.mark.parametrize(("a", "b"), PROPENSITIES)
def test_intervals_cover_93_to_97_percent_at_200_cases(a: float, b: float) -> None:
    num, den, truth = simulate(1, a, b, cases=200)
    _, low, high, bootstrapped = bca_intervals(num, den, resamples=1000)
    assert bootstrapped.all()
    assert 0.93 <= coverage(low, high, truth) <= 0.97, "BCa"
    _, low, high, _ = clustered_wilson_intervals(num, den)
    assert 0.93 <= coverage(low, high, truth) <= 0.97, "clustered Wilson"
    _, low, high, _ = ratio_t_interval(num, den)
    assert 0.93 <= coverage(low, high, truth) <= 0.97, "linearized t"


def test_wilson_on_pairs_as_if_independent_undercovers() -> None:
    """The old fallback (n = pairs) is the defect these intervals fix."""
    num, den, truth = simulate(2, 0.6, 4.4, cases=200)
    share = num.sum(axis=-1) / den.sum(axis=-1)
    low, high = wilson_bounds(share, den.sum(axis=-1))
    assert coverage(low, high, truth) < 0.90
    # n = cases, the rule for a report without per-case sums, errs on the wide side
    low, high = wilson_bounds(share, np.full(share.shape, 200.0))
    assert coverage(low, high, truth) >= 0.95


def test_few_cases_are_flagged_below_the_threshold() -> None:
    num, den, _ = simulate(3, 0.6, 4.4, cases=FEW_CASES - 1, runs=1)
    assert bca_interval(num[0], den[0]).few_cases
    assert clustered_wilson_interval(num[0], den[0]).few_cases
    num, den, _ = simulate(3, 0.6, 4.4, cases=FEW_CASES, runs=1)
    interval = bca_interval(num[0], den[0])
    assert not interval.few_cases and interval.cases == FEW_CASES
    assert interval.low <= interval.estimate <= interval.high
    assert "BCa" in interval.method


def test_one_run_equals_the_batch_and_is_seeded() -> None:
    num, den, _ = simulate(4, 3.0, 1.0, cases=120, runs=3)
    _, low, high, _ = bca_intervals(num, den, resamples=500, seed=7)
    for i in range(3):
        one = bca_interval(num[i], den[i], resamples=500, seed=7)
        assert (one.low, one.high) == (low[i], high[i])
        assert one == bca_interval(num[i], den[i], resamples=500, seed=7)


def test_no_variation_falls_back_to_wilson_on_cases() -> None:
    den = np.full(30, 5.0)
    interval = bca_interval(np.zeros(30), den)
    assert interval.estimate == 0.0 and interval.low == 0.0
    assert "Wilson" in interval.method
    assert interval.high == pytest.approx(wilson_bounds(np.array(0.0), np.array(30.0))[1])
    wilson = clustered_wilson_interval(np.zeros(30), den)
    assert (wilson.low, wilson.high) == (interval.low, interval.high)
