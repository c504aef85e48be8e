"""Repeats: self-disagreement and excess flip rate, checked by simulation.

Simulated runs draw every original and variant ``r`` times. Cases are clusters with heterogeneous
propensities (pass probability ~ Beta(2, 2) per case). Three systems:

- random, not brittle: every draw of the original and of every variant passes with the case's
  probability ``p_i``: flips are pure randomness, the excess flip rate is 0;
- deterministic and brittle: every repeat gives the same answer; 10% of variants flip;
- random and brittle: each variant has its own probability around the original's, so the true
  excess flip rate is the mean of ``(p_0 - p_j)^2``.

1,000 simulated runs of 200 cases x 5 variants per check. Seeded.
"""

from __future__ import annotations

import numpy as np
import pytest

from brittle.stats.consistency import (
    excess_flip_rate,
    flip_rate_between_draws,
    outcome_cube,
    repeat_sums,
    self_disagreement,
)
from brittle.stats.margin import FEW_CASES, margin_test, ratio_t_interval

RUNS, CASES, VARIANTS, REPEATS = 1000, 200, 5, 5


def random_not_brittle(seed: int, repeats: int = REPEATS, runs: int = RUNS) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = rng.beta(2, 2, (runs, CASES))
    return (rng.random((runs, CASES, 1 + VARIANTS, repeats)) < p[..., None, None]).astype(float)


def deterministic_brittle(seed: int, flip: float = 0.1) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    original = rng.random((CASES, 1)) < 0.7
    flips = rng.random((CASES, VARIANTS)) < flip
    answers = np.concatenate([original, original ^ flips], axis=1).astype(float)
    return np.repeat(answers[..., None], REPEATS, axis=-1), float(flips.mean())


def test_a_random_system_that_is_not_brittle_has_excess_0() -> None:
    sums = repeat_sums(random_not_brittle(1))
    excess, low, high, _ = ratio_t_interval(sums.excess_num, sums.excess_den)
    covered = float(np.mean((low <= 0) & (high >= 0)))
    assert covered >= 0.93, covered
    assert abs(float(excess.mean())) < 0.002
    # while its flip rate is all randomness: as high as its self-disagreement
    flips = sums.flip_num.sum(axis=-1) / sums.flip_den.sum(axis=-1)
    own = sums.self_num.sum(axis=-1) / sums.self_den.sum(axis=-1)
    assert float(flips.mean()) > 0.3
    assert float(flips.mean()) == pytest.approx(float(own.mean()), abs=0.002)


def test_a_deterministic_brittle_system_has_excess_equal_to_its_flip_rate() -> None:
    outcomes, flip_rate = deterministic_brittle(2)
    excess = excess_flip_rate(outcomes)
    flips = flip_rate_between_draws(outcomes)
    assert excess.estimate == pytest.approx(flip_rate, abs=1e-12)
    assert flips.estimate == pytest.approx(flip_rate, abs=1e-12)
    assert (excess.low, excess.high) == pytest.approx((flips.low, flips.high))
    assert excess.low < flip_rate < excess.high
    own = self_disagreement(outcomes)
    assert own.estimate == 0.0 and own.units == CASES * (1 + VARIANTS)


def test_self_disagreement_does_not_grow_with_the_number_of_repeats() -> None:
    truth = 2 * 0.2  # E[2 p (1 - p)] for p ~ Beta(2, 2)
    for repeats in (2, 8):
        sums = repeat_sums(random_not_brittle(3, repeats=repeats, runs=300))
        own = sums.self_num.sum(axis=-1) / sums.self_den.sum(axis=-1)
        assert float(own.mean()) == pytest.approx(truth, abs=0.003), repeats


def test_the_excess_of_a_random_brittle_system_is_covered() -> None:
    rng = np.random.default_rng(4)
    p0 = rng.beta(2, 2, (RUNS, CASES))
    pj = np.clip(p0[..., None] + rng.normal(0, 0.2, (RUNS, CASES, VARIANTS)), 0, 1)
    original = rng.random((RUNS, CASES, 1, REPEATS)) < p0[..., None, None]
    variants = rng.random((RUNS, CASES, VARIANTS, REPEATS)) < pj[..., None]
    sums = repeat_sums(np.concatenate([original, variants], axis=2).astype(float))
    truth = np.mean((p0[..., None] - pj) ** 2, axis=(1, 2))
    _, low, high, _ = ratio_t_interval(sums.excess_num, sums.excess_den)
    assert 0.93 <= float(np.mean((low <= truth) & (truth <= high))) <= 0.97


def test_answers_compare_as_labels() -> None:
    """Answer codes: the excess is half the squared distance of the answer distributions."""
    original = np.array([[0.0, 0, 1, 1]])  # answers A, A, B, B
    variant = np.array([[2.0, 2, 2, 2]])  # always C
    outcomes = np.stack([original, variant], axis=1)  # 1 case, 2 inputs, 4 repeats
    sums = repeat_sums(outcomes)
    own_original = 8 / 12  # ordered pairs of distinct draws that differ
    assert sums.self_num[0] == pytest.approx(own_original)
    assert sums.flip_num[0] == 1.0
    assert sums.excess_num[0] == pytest.approx(1 - own_original / 2)  # (0.25+0.25+1) / 2 = 2/3


def test_missing_draws_are_left_out_and_cases_are_clusters() -> None:
    outcomes = random_not_brittle(5, runs=1)[0]
    outcomes[:10, 1:, :] = np.nan  # ten cases lost their variants
    outcomes[10:20, 0, 1:] = np.nan  # ten originals drawn once: no self-disagreement
    measure = excess_flip_rate(outcomes)
    assert measure.cases == CASES - 20
    assert measure.units == (CASES - 20) * VARIANTS
    assert not measure.few_cases and measure.cases >= FEW_CASES
    assert flip_rate_between_draws(outcomes).cases == CASES - 10


def test_outcome_cube_pads_missing_draws() -> None:
    cube = outcome_cube(
        np.array([0, 0, 1, 1, 1]),
        np.array([0, 1, 0, 0, 2]),
        np.array([0, 0, 0, 1, 0]),
        np.array([1.0, 0, 1, 1, 0]),
    )
    assert cube.shape == (2, 3, 2)
    assert cube[1, 0, 1] == 1.0 and np.isnan(cube[0, 2, 0])


def test_excess_flip_rate_can_be_gated_against_a_baseline() -> None:
    baseline, _ = deterministic_brittle(6, flip=0.05)
    run, _ = deterministic_brittle(6, flip=0.20)
    now, before = excess_flip_rate(run), excess_flip_rate(baseline)
    result = margin_test(
        now.num, now.den, before.num, before.den, allowance=0.03, direction="rise", level=0.05
    )
    assert result.degradation == pytest.approx(now.estimate - before.estimate)
    assert result.status == "failed"
