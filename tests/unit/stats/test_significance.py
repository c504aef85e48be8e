"""Holm's correction and the level each gate is decided at: reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from brittle.stats import significance as stats

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


def _reference_holm(p: list[float], alpha: float) -> list[bool]:
    """Holm's step-down procedure written out: reject while ``p_(j) < alpha / (m - j + 1)``."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    rejected = [False] * len(p)
    for j, i in enumerate(order):
        if not p[i] < alpha / (len(p) - j):
            break
        rejected[i] = True
    return rejected


def test_holm_steps_by_hand() -> None:
    # sorted 0.01 (< 0.05 / 4), 0.016 (< 0.05 / 3), 0.03 (>= 0.05 / 2): Holm stops at step 3
    steps = [s for s in stats.holm_steps([0.03, 0.01, 0.5, 0.016], 0.05) if s is not None]
    assert [s.rejected for s in steps] == [False, True, False, True]
    assert [s.step for s in steps] == [3, 1, 3, 2]
    assert [s.level for s in steps] == pytest.approx([0.025, 0.0125, 0.025, 0.05 / 3])
    assert steps[1].describe() == "Holm step 1 of 4"
    assert steps[0].describe() == "Holm stopped at step 3 of 4"
    (alone,) = stats.holm_steps([0.01], 0.05)
    assert alone is not None and alone.describe() == "" and alone.level == 0.05
    assert stats.holm_steps([math.nan, 0.2], 0.05)[0] is None


def test_holm_steps_agree_with_holm_and_with_each_gates_level() -> None:
    """Rejected exactly when the adjusted p is below alpha and the p-value is below the level it
    is decided at; a gate not rejected has its p-value at or above its level (so its bound at
    that level is not above the allowance), in any family."""
    rng = np.random.default_rng(4)
    for _ in range(500):
        m = int(rng.integers(1, 9))
        p = list(rng.uniform(0, 0.1, m) ** rng.uniform(0.5, 3))
        steps = stats.holm_steps(p, 0.05)
        adjusted = stats.holm(p)
        reference = _reference_holm(p, 0.05)
        for value, step, p_adj, expected in zip(p, steps, adjusted, reference, strict=True):
            assert step is not None
            assert step.rejected == expected == (p_adj < 0.05)
            assert step.rejected == (value < step.level)
            assert step.p_adjusted == p_adj
