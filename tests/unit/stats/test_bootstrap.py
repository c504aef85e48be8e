"""The case-level bootstrap: seeded, and covering the truth about 95 % of the time.

The simulations are seeded, so every figure here is the same on every run.
"""

from __future__ import annotations

import math

import numpy as np

from brittle.stats import bootstrap as stats
from brittle.stats.intervals import wilson_interval
from tests.unit.stats.simulation import clustered_flips, propensities


def test_cluster_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(0)
    sums = clustered_flips(rng, propensities(rng, 50, 0.2), 4)
    first = stats.cluster_bootstrap_interval(sums, stats.ratio(0, 1), seed=5)
    assert first == stats.cluster_bootstrap_interval(sums, stats.ratio(0, 1), seed=5)
    assert first != stats.cluster_bootstrap_interval(sums, stats.ratio(0, 1), seed=6)


def test_cluster_bootstrap_covers_the_true_flip_rate_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    true_rate, runs, covered, naive_covered = 0.2, 300, 0, 0
    for run in range(runs):
        sums = clustered_flips(rng, propensities(rng, 200, true_rate), 5)
        low, high = stats.cluster_bootstrap_interval(
            sums, stats.ratio(0, 1), resamples=1000, seed=run
        ) or (math.nan, math.nan)
        covered += low <= true_rate <= high
        naive = wilson_interval(sums[:, 0].sum(), sums[:, 1].sum())
        assert naive is not None
        naive_covered += naive[0] <= true_rate <= naive[1]
    assert 0.92 <= covered / runs <= 0.98
    # treating the 1000 pairs as independent makes the interval too narrow
    assert naive_covered / runs < covered / runs - 0.05


def test_paired_bootstrap_interval_covers_the_true_delta() -> None:
    rng = np.random.default_rng(11)
    runs, covered = 200, 0
    for run in range(runs):
        q = propensities(rng, 150, 0.15)
        base = clustered_flips(rng, q, 4)
        now = clustered_flips(rng, q + 0.05 * (1 - q) / 0.85, 4)  # true rise: exactly 0.05
        low, high = stats.paired_bootstrap_interval(
            now, base, stats.ratio(0, 1), resamples=1000, seed=run
        ) or (math.nan, math.nan)
        covered += low <= 0.05 <= high
    assert 0.91 <= covered / runs <= 0.985
