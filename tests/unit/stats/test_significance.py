"""McNemar's exact test, the paired permutation test and Holm's correction: reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.stats import significance as stats
from brittle.stats.bootstrap import ratio

# --- McNemar -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c"), [(0, 0), (1, 0), (6, 0), (5, 1), (10, 4), (3, 3), (25, 40), (0, 17), (120, 90)]
)
def test_mcnemar_exact_matches_scipy_binomtest(b: int, c: int) -> None:
    reference = 1.0 if b + c == 0 else scipy_stats.binomtest(b, b + c, 0.5).pvalue
    assert stats.mcnemar_exact(b, c) == pytest.approx(reference, rel=1e-12)


def test_mcnemar_exact_by_hand() -> None:
    # six cases broke, none was fixed: 2 * (1/2)^6
    assert stats.mcnemar_exact(6, 0) == pytest.approx(0.03125)
    # 2 * P[Bin(10, 1/2) <= 2] = 2 * 56 / 1024
    assert stats.mcnemar_exact(8, 2) == pytest.approx(112 / 1024)


@pytest.mark.parametrize(("b", "c"), [(6, 0), (5, 2), (4, 4), (9, 1), (7, 5)])
def test_exact_permutation_test_on_one_binary_unit_per_case_is_mcnemar(b: int, c: int) -> None:
    # b cases pass -> fail, c fail -> pass, 5 concordant: the sign-flip test is the binomial one
    base = [1] * b + [0] * c + [1, 1, 0, 1, 0]
    run = [0] * b + [1] * c + [1, 1, 0, 1, 0]
    sums_base = np.array([[x, 1] for x in base], dtype=float)
    sums_run = np.array([[x, 1] for x in run], dtype=float)
    p = stats.paired_permutation_test(sums_run, sums_base, ratio(0, 1))
    assert p == pytest.approx(stats.mcnemar_exact(b, c))


def test_permutation_test_of_identical_runs_is_one() -> None:
    sums = np.array([[1, 3], [0, 3], [2, 3]], dtype=float)
    assert stats.paired_permutation_test(sums, sums.copy(), ratio(0, 1)) == 1.0


def test_monte_carlo_permutation_test_is_seeded_and_close_to_exact() -> None:
    rng = np.random.default_rng(3)
    base = np.column_stack([rng.integers(0, 3, 16), np.full(16, 3)]).astype(float)
    run = np.column_stack([rng.integers(0, 4, 16).clip(0, 3), np.full(16, 3)]).astype(float)
    exact = stats.paired_permutation_test(run, base, ratio(0, 1), exact_limit=20)
    sampled = [
        stats.paired_permutation_test(run, base, ratio(0, 1), exact_limit=0, seed=seed)
        for seed in (1, 1, 2)
    ]
    assert sampled[0] == sampled[1]
    assert sampled[0] == pytest.approx(exact, abs=0.03)
    assert sampled[2] == pytest.approx(exact, abs=0.03)


# --- Holm ----------------------------------------------------------------------------------------


def test_holm_by_hand() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, max(0.03, 2 x 0.03), max(0.06, 0.04)
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_leaves_nan_out_of_the_family() -> None:
    adjusted = stats.holm([0.5, math.nan, 0.4])  # 2 x 0.4, then max(0.8, 1 x 0.5)
    assert adjusted[0] == adjusted[2] == pytest.approx(0.8)
    assert math.isnan(adjusted[1])
    assert stats.holm([0.7, 0.6]) == [1.0, 1.0]
    assert stats.holm([0.02]) == [0.02]
    assert stats.holm([]) == []
