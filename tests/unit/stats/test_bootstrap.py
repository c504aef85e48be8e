"""The case-level bootstrap engine: seeded, the same cases for every column, and a BCa interval
that matches scipy's (its coverage: test_cluster_interval_simulation.py).

The simulations are seeded, so every figure here is the same on every run.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.stats import bootstrap as stats
from tests.unit.stats.simulation import clustered_flips, propensities


def test_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(0)
    sums = clustered_flips(rng, propensities(rng, 50, 0.2), 4)
    first = stats.bootstrap_totals(sums, resamples=300, seed=5)
    assert np.array_equal(first, stats.bootstrap_totals(sums, resamples=300, seed=5))
    assert not np.array_equal(first, stats.bootstrap_totals(sums, resamples=300, seed=6))


def test_columns_resampled_together_or_apart_see_the_same_cases() -> None:
    """The weights depend on the cases, resamples and seed only, not on what is resampled."""
    rng = np.random.default_rng(1)
    a = clustered_flips(rng, propensities(rng, 37, 0.2), 3)
    b = rng.random((37, 40))  # many columns: the products are chunked differently
    together = stats.bootstrap_totals(np.hstack([a, b]), resamples=777, seed=3)
    assert np.allclose(together[:, :2], stats.bootstrap_totals(a, resamples=777, seed=3))
    assert np.allclose(together[:, 2:], stats.bootstrap_totals(b, resamples=777, seed=3))
    weights = np.vstack(list(stats.case_weights(37, 777, 3)))
    assert weights.shape == (777, 37) and (weights.sum(axis=1) == 37).all()
    assert np.allclose(weights @ a, together[:, :2])


def test_bca_matches_scipy_on_a_skewed_mean() -> None:
    """BCa of a mean (den = 1 per case) against ``scipy.stats.bootstrap(method="BCa")``."""
    rng = np.random.default_rng(7)
    x = rng.exponential(1.0, 40)
    sums = np.column_stack([x, np.ones_like(x)])
    mean = stats.ratio(0, 1)
    replicates = mean(stats.bootstrap_totals(sums, resamples=40_000, seed=1))
    left_out = stats.jackknife(sums, mean, np.ones(40, dtype=bool))
    low, high, varied = stats.bca_bounds(replicates[None], np.array([x.mean()]), left_out[None])
    reference = scipy_stats.bootstrap(
        (x,), np.mean, method="BCa", n_resamples=40_000, random_state=2
    ).confidence_interval
    assert varied[0]
    assert (low[0], high[0]) == pytest.approx((reference.low, reference.high), abs=0.01)
    # skewed data: BCa moves both bounds up from the percentile interval
    percentile = np.percentile(replicates, [2.5, 97.5])
    assert low[0] > percentile[0] and high[0] > percentile[1]


def test_bca_says_when_the_replicates_did_not_vary() -> None:
    low, high, varied = stats.bca_bounds(np.zeros((1, 100)), np.array([0.0]), np.zeros((1, 30)))
    assert not varied[0] and (low[0], high[0]) == (0.0, 0.0)
