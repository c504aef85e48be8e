"""Power of the paired tests: Connor's sample size, the MDE, the intra-case correlation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.stats import power as stats
from tests.unit.stats.simulation import propensities


def test_connor_sample_size_by_hand() -> None:
    # p0 = 0.1, p1 = 0.2: psi = 0.1 * 0.8 + 0.2 * 0.9 = 0.26
    z_a, z_b = scipy_stats.norm.ppf(0.975), scipy_stats.norm.ppf(0.8)
    expected = (z_a * math.sqrt(0.26) + z_b * math.sqrt(0.26 - 0.01)) ** 2 / 0.01
    assert stats.paired_units_needed(0.1, 0.1) == pytest.approx(expected)
    assert stats.cases_needed(0.1, 0.1) == math.ceil(expected)
    # five variants at intra-case correlation 0.25: design effect 2, so 2 / 5 of the units
    assert stats.cases_needed(0.1, 0.1, variants=5, icc=0.25) == math.ceil(expected * 2 / 5)


def test_required_units_give_the_promised_power_with_mcnemar() -> None:
    rng = np.random.default_rng(8)
    n = math.ceil(stats.paired_units_needed(0.1, 0.1))
    before = rng.random((4000, n)) < 0.1
    after = rng.random((4000, n)) < 0.2
    worse = (~before & after).sum(axis=1)
    better = (before & ~after).sum(axis=1)
    p = np.minimum(1, 2 * scipy_stats.binom.cdf(np.minimum(worse, better), worse + better, 0.5))
    assert 0.74 <= float(np.mean(p < 0.05)) <= 0.86


def test_minimum_detectable_effect_inverts_cases_needed() -> None:
    for cases, rate, variants, icc in [(200, 0.1, 5, 0.2), (16, 0.0, 1, 0.0), (1000, 0.3, 3, 0.5)]:
        mde = stats.minimum_detectable_effect(cases, rate, variants=variants, icc=icc)
        assert mde is not None
        assert stats.cases_needed(mde * 1.001, rate, variants=variants, icc=icc) <= cases
        assert stats.cases_needed(mde * 0.98, rate, variants=variants, icc=icc) > cases
    assert stats.minimum_detectable_effect(1, 0.5) is None  # one case detects nothing
    assert stats.cases_needed(0.0, 0.1) is None


def test_intra_case_correlation() -> None:
    units = np.full(6, 4.0)
    assert stats.intra_case_correlation(np.array([4, 0, 4, 0, 0, 4.0]), units) == 1.0
    assert stats.intra_case_correlation(np.zeros(6), units) == 0.0
    rng = np.random.default_rng(1)
    q = propensities(rng, 4000, 0.3, icc=0.25)
    estimate = stats.intra_case_correlation(rng.binomial(6, q).astype(float), np.full(4000, 6.0))
    assert estimate == pytest.approx(0.25, abs=0.03)
