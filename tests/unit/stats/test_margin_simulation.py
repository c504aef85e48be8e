"""The margin test of the relative gates, checked by simulation through the function they call.

Each test simulates thousands of paired (baseline, run) comparisons at once, vectorized, from a
model with clustered cases:

- every case has a stable propensity (flip propensity ~ Beta(0.6, 4.4), mean 0.12; pass
  propensity ~ Beta(3, 1) for variants; ~ Beta(0.3, 0.1) for originals, a mostly deterministic
  system), shared by the run and the baseline: it cancels in the paired differences;
- within one run a case's variants also share a per-run draw (the case's propensity in that run
  is Beta-distributed around the stable one with concentration 5, intra-case correlation 1/6),
  which does not cancel and is why treating variants as independent gives false alarms;
- 5% of variant units are missing (errored), on both sides alike, so denominators vary;
- a degradation ``D`` moves the run's propensities so that the population metric moves by
  exactly ``D`` (flip rate: ``f + D (1 - f) / (1 - mean f)``; accuracy: ``p (1 - D / mean p)``),
  not uniformly: cases degrade unevenly.

Rejection rates use 4,000 simulated comparisons (Monte Carlo standard error 0.0034 at 5%), so the
bound alpha + 0.01 is three standard errors away from a test that holds its level exactly.
Seeded: the figures are the same on every run.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.stats.margin import FEW_CASES, MarginTests, margin_test, margin_tests
from brittle.stats.power import (
    cases_needed,
    minimum_detectable_degradation,
    paired_sd_from_baseline,
    power,
)

ALPHA = 0.05
RUNS = 4000
CASES, VARIANTS = 200, 5
CONCENTRATION = 5.0
MISSING = 0.05

# metric: (Beta a, Beta b of the stable propensity, direction, units per case)
MODELS = {
    "flip_rate": (0.6, 4.4, "rise", VARIANTS),
    "variant_accuracy": (3.0, 1.0, "drop", VARIANTS),
    "accuracy": (0.3, 0.1, "drop", 1),
}

Sums = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def simulate_units(
    seed: int,
    metric: str,
    degradation: float,
    *,
    runs: int = RUNS,
    cases: int = CASES,
    concentration: float = CONCENTRATION,
    deterministic: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0/1 units ``(runs, cases, units)`` of the run and the baseline, and the scored mask."""
    a, b, direction, units = MODELS[metric]
    rng = np.random.default_rng(seed)
    mean = a / (a + b)
    stable = rng.beta(a, b, (runs, cases))
    if direction == "rise":
        moved = stable + degradation * (1 - stable) / (1 - mean)
    else:
        moved = stable * (1 - degradation / mean)

    def draw(propensity: np.ndarray) -> np.ndarray:
        propensity = np.clip(propensity, 1e-9, 1 - 1e-9)
        if units > 1 and math.isfinite(concentration):
            propensity = rng.beta(concentration * propensity, concentration * (1 - propensity))
        return (rng.random((runs, cases, units)) < propensity[..., None]).astype(float)

    base = draw(stable)
    run = draw(moved)
    if deterministic:  # these cases answer the same in both runs
        fixed = rng.random((runs, cases)) < deterministic
        run = np.where(fixed[..., None], base, run)
    scored = rng.random((runs, cases, units)) >= MISSING if units > 1 else np.ones_like(base, bool)
    return run, base, scored


def case_sums(run: np.ndarray, base: np.ndarray, scored: np.ndarray) -> Sums:
    """Per-case numerators and denominators, the way the gates see a scope."""
    den = scored.sum(axis=-1).astype(float)
    return (run * scored).sum(axis=-1), den, (base * scored).sum(axis=-1), den


def unclustered_sums(run: np.ndarray, base: np.ndarray, scored: np.ndarray) -> Sums:
    """The mutation: every (case, variant) unit as its own independent case."""
    runs = run.shape[0]
    den = scored.reshape(runs, -1).astype(float)
    return (run * scored).reshape(runs, -1), den, (base * scored).reshape(runs, -1), den


@functools.cache
def simulated(
    metric: str,
    degradation: float,
    seed: int,
    runs: int = RUNS,
    deterministic: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return simulate_units(seed, metric, degradation, runs=runs, deterministic=deterministic)


def gate(sums: Sums, metric: str, allowance: float, level: float = ALPHA) -> MarginTests:
    tests = margin_tests(*sums, allowance=allowance, direction=MODELS[metric][2], level=level)
    # the bound printed beside a verdict is the one the decision used
    assert np.array_equal(tests.bound > allowance, tests.p_value < level)
    return tests


def failure_rate(sums: Sums, metric: str, allowance: float, level: float = ALPHA) -> float:
    return float(np.mean(gate(sums, metric, allowance, level).p_value < level))


# --- false alarms --------------------------------------------------------------------------------


@pytest.mark.parametrize("allowance", [0.0, 0.03])
@pytest.mark.parametrize("metric", list(MODELS))
def test_no_change_fails_at_most_alpha(metric: str, allowance: float) -> None:
    rate = failure_rate(case_sums(*simulated(metric, 0.0, seed=1)), metric, allowance)
    assert rate <= ALPHA + 0.01, f"{metric} rise/drop <= {allowance}: false alarms {rate:.4f}"


@pytest.mark.parametrize("metric", list(MODELS))
def test_a_degradation_exactly_at_the_allowance_fails_at_most_alpha(metric: str) -> None:
    rate = failure_rate(case_sums(*simulated(metric, 0.03, seed=2)), metric, 0.03)
    assert rate <= ALPHA + 0.01, f"{metric} at the allowance 0.03 fails {rate:.4f}"
    # and it is a real test, not a conservative one that never fails (accuracy, one 0/1 unit
    # per case, takes the exact conditional McNemar path: discrete, so somewhat below alpha)
    assert rate >= ALPHA - (0.025 if metric == "accuracy" else 0.015)


def test_a_larger_allowance_never_fails_where_a_smaller_one_passes() -> None:
    """Monotone in the allowance: 4 of 16 binary cases got worse fails neither `drop <= 0`
    (exact McNemar, p = 0.0625) nor `drop <= 0.02` (the t approximation alone said p ~ 0.03)."""
    base, den = np.ones((1, 16)), np.ones((1, 16))
    run = base.copy()
    run[0, :4] = 0
    previous = 0.0
    for allowance in (0.0, 0.01, 0.02, 0.05, 0.1):
        p = float(
            margin_tests(
                run, den, base, den, allowance=allowance, direction="drop", level=ALPHA
            ).p_value[0]
        )
        assert p >= previous, f"allowance {allowance}: p {p:.4f} below {previous:.4f}"
        previous = p
    assert previous > ALPHA
    sums = case_sums(*simulated("accuracy", 0.06, seed=5, runs=400))
    low = gate(sums, "accuracy", 0.0).p_value
    high = gate(sums, "accuracy", 0.03).p_value
    assert np.all(high >= low - 1e-12)


def test_a_mostly_deterministic_system_with_few_changed_cases_is_not_a_false_alarm() -> None:
    """95% of cases repeat exactly: only ~10 cases differ, and the test keeps its level."""
    sums = case_sums(*simulated("flip_rate", 0.0, seed=3, deterministic=0.95))
    assert failure_rate(sums, "flip_rate", 0.0) <= ALPHA + 0.01


def test_the_level_holds_at_a_holm_adjusted_level() -> None:
    """At alpha / 20, a degradation at the allowance fails at most about alpha / 20."""
    level = ALPHA / 20
    sums = case_sums(*simulated("variant_accuracy", 0.03, seed=2))
    assert failure_rate(sums, "variant_accuracy", 0.03, level) <= 2 * level


# --- the mutation check: the suite can fail ------------------------------------------------------


@pytest.mark.parametrize("metric", ["flip_rate", "variant_accuracy"])
def test_an_unclustered_test_fails_the_same_false_alarm_check(metric: str) -> None:
    """McNemar on (case, variant) units as if independent: the defect of issue 13, caught."""
    units = simulated(metric, 0.0, seed=1)
    mutated = failure_rate(unclustered_sums(*units), metric, 0.0)
    assert mutated > ALPHA + 0.01, f"the unclustered test's false alarms: {mutated:.4f}"
    tests = gate(unclustered_sums(*units), metric, 0.0)
    assert tests.mcnemar.all()


# --- power ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("allowance", [0.0, 0.03])
@pytest.mark.parametrize("metric", list(MODELS))
def test_ten_points_above_the_allowance_fails_at_least_90_percent(
    metric: str, allowance: float
) -> None:
    units = simulate_units(4, metric, allowance + 0.10, runs=2000)
    assert failure_rate(case_sums(*units), metric, allowance) >= 0.90


def _pilot_sd(metric: str, degradation: float, concentration: float = CONCENTRATION) -> float:
    """sd_paired at a true degradation: the RMS over 100 simulated (run, baseline) pairs."""
    units = simulate_units(99, metric, degradation, runs=100, concentration=concentration)
    sd = gate(case_sums(*units), metric, 0.0).sd_paired
    return float(np.sqrt(np.mean(sd**2)))


@pytest.mark.parametrize("allowance", [0.0, 0.03])
@pytest.mark.parametrize("metric", list(MODELS))
def test_the_power_functions_80_percent_point_matches_simulation(
    metric: str, allowance: float
) -> None:
    mdd = minimum_detectable_degradation(
        CASES,
        allowance=allowance,
        sd_paired=lambda d: _pilot_sd(metric, d),
        level=ALPHA,
    )
    assert mdd is not None and mdd > allowance
    units = simulate_units(5, metric, mdd, runs=2000)
    simulated_power = failure_rate(case_sums(*units), metric, allowance)
    assert abs(simulated_power - 0.80) <= 0.05, (metric, allowance, mdd, simulated_power)
    # and cases_needed inverts it
    needed = cases_needed(mdd, allowance=allowance, sd_paired=_pilot_sd(metric, mdd), level=ALPHA)
    assert needed is not None and abs(needed - CASES) <= 0.02 * CASES


@pytest.mark.parametrize("allowance", [0.0, 0.03])
def test_the_sd_predicted_from_the_baseline_alone_gives_the_simulated_power(
    allowance: float,
) -> None:
    """Under its assumption (units independent given a stable case propensity)."""
    metric, direction = "variant_accuracy", "drop"
    pilots = simulate_units(6, metric, 0.0, runs=50, concentration=math.inf)
    _, base_num, base_den, _ = (None, *case_sums(*pilots)[2:], None)

    def predicted(degradation: float) -> float:
        return float(
            np.mean(
                [
                    paired_sd_from_baseline(
                        base_num[i], base_den[i], direction=direction, degradation=degradation
                    )
                    for i in range(base_num.shape[0])
                ]
            )
        )

    mdd = minimum_detectable_degradation(
        CASES, allowance=allowance, sd_paired=predicted, level=ALPHA
    )
    assert mdd is not None
    units = simulate_units(7, metric, mdd, runs=2000, concentration=math.inf)
    simulated_power = failure_rate(case_sums(*units), metric, allowance)
    assert abs(simulated_power - 0.80) <= 0.05, (allowance, mdd, simulated_power)


def test_power_is_the_level_at_the_allowance_and_grows_with_cases() -> None:
    options = {"allowance": 0.03, "sd_paired": 0.4, "level": 0.01}
    assert power(200, true_degradation=0.03, **options) == pytest.approx(0.01, rel=1e-6)
    assert power(100, true_degradation=0.08, **options) < power(
        400, true_degradation=0.08, **options
    )
    mdd = minimum_detectable_degradation(300, power=0.9, **options)
    assert mdd is not None
    assert power(300, true_degradation=mdd, **options) == pytest.approx(0.9, abs=1e-6)
    # a degradation at or inside the allowance is never detected with 80% power
    assert cases_needed(0.03, allowance=0.03, sd_paired=0.4, level=0.01) is None
    assert cases_needed(0.02, allowance=0.03, sd_paired=0.4, level=0.01) is None
    assert minimum_detectable_degradation(1, **options) is None
    # no variation: anything above the allowance fails
    assert power(50, true_degradation=0.031, allowance=0.03, sd_paired=0.0, level=0.01) == 1.0


def test_the_baseline_alone_sd_cancels_a_stable_propensity() -> None:
    """Cases that always pass or always fail contribute no run-to-run variance."""
    num = np.array([0.0, 5, 0, 5, 2, 3])
    den = np.full(6, 5.0)
    within = (2 * 3 / 4 + 3 * 2 / 4) / 6  # W of the two mixed cases, per case
    expected = math.sqrt(2 * within / 25)
    assert paired_sd_from_baseline(num, den) == pytest.approx(expected)
    stable = paired_sd_from_baseline(np.array([0.0, 5, 0, 5]), np.full(4, 5.0))
    assert stable == 0.0


# --- intervals of the delta ----------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["flip_rate", "variant_accuracy"])
def test_the_95_percent_interval_of_the_delta_covers_93_to_97_percent(metric: str) -> None:
    units = simulated(metric, 0.03, seed=2)
    tests = gate(case_sums(*units), metric, 0.03)
    true_delta = 0.03 if MODELS[metric][2] == "rise" else -0.03
    coverage = float(np.mean((tests.ci_low <= true_delta) & (true_delta <= tests.ci_high)))
    assert 0.93 <= coverage <= 0.97, coverage


def test_the_one_sided_bound_covers_the_true_degradation_at_its_level() -> None:
    units = simulated("flip_rate", 0.03, seed=2)
    tests = gate(case_sums(*units), "flip_rate", 0.0, level=0.10)
    assert 0.88 <= float(np.mean(tests.bound <= 0.03)) <= 0.92


def test_few_cases_are_flagged() -> None:
    run, base, scored = simulate_units(8, "flip_rate", 0.0, runs=1, cases=FEW_CASES - 1)
    sums = [s[0] for s in case_sums(run, base, scored)]
    few = margin_test(*sums, allowance=0.0, direction="rise", level=ALPHA)
    assert few.few_cases and few.cases == FEW_CASES - 1
    run, base, scored = simulate_units(8, "flip_rate", 0.0, runs=1, cases=FEW_CASES)
    sums = [s[0] for s in case_sums(run, base, scored)]
    assert not margin_test(*sums, allowance=0.0, direction="rise", level=ALPHA).few_cases


# --- exact handling ------------------------------------------------------------------------------


def _binary(worse: int, better: int, same: int) -> Sums:
    """Per-case 0/1 accuracy: ``worse`` cases 1 -> 0, ``better`` 0 -> 1, ``same`` stay at 1."""
    base = np.array([1.0] * worse + [0.0] * better + [1.0] * same)
    run = np.array([0.0] * worse + [1.0] * better + [1.0] * same)
    one = np.ones_like(base)
    return run, one, base, one


@pytest.mark.parametrize(("worse", "better"), [(0, 0), (3, 0), (9, 2), (25, 12), (40, 41)])
def test_mcnemar_is_the_exact_one_sided_binomial_test(worse: int, better: int) -> None:
    result = margin_test(*_binary(worse, better, 60), allowance=0.0, direction="drop", level=0.01)
    expected = (
        scipy_stats.binomtest(worse, worse + better, 0.5, alternative="greater").pvalue
        if worse + better
        else 1.0
    )
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.discordant == (worse, better)
    assert "McNemar" in result.method
    assert (result.bound > 0) == (result.p_value < 0.01)
    assert result.ci95[0] <= result.delta <= result.ci95[1]


def test_mcnemar_bound_and_p_agree_at_every_count() -> None:
    counts = [(w, b) for w in range(30) for b in range(30 - w)]
    width = 40  # cases beyond worse + better + 10 unchanged are absent (no unit on either side)
    run = np.zeros((len(counts), width))
    base = np.zeros((len(counts), width))
    den = np.zeros((len(counts), width))
    for row, (worse, better) in enumerate(counts):
        sums = _binary(worse, better, 10)
        size = worse + better + 10
        run[row, :size], base[row, :size], den[row, :size] = sums[0], sums[2], sums[1]
    for level in (0.05, 0.0005):
        tests = margin_tests(run, den, base, den, allowance=0.0, direction="drop", level=level)
        assert tests.mcnemar.all()
        assert np.array_equal(tests.bound > 0, tests.p_value < level)
        assert np.array_equal(tests.worse, [w for w, _ in counts])


def test_p_values_reach_a_hundred_gates_holm_level() -> None:
    """No resampling floor: a clear degradation is significant at alpha / 100."""
    run, base, scored = simulate_units(9, "flip_rate", 0.15, runs=1)
    sums = [s[0] for s in case_sums(run, base, scored)]
    result = margin_test(*sums, allowance=0.03, direction="rise", level=ALPHA / 100)
    assert result.p_value < ALPHA / 100 and result.status == "failed"
    assert result.bound > 0.03


def test_three_cases_worse_of_200_is_not_significant() -> None:
    """Few changed cases: the Satterthwaite df, not a normal reference (p = 0.041)."""
    run, base, den = np.zeros(200), np.zeros(200), np.full(200, 5.0)
    run[:3] = 1
    result = margin_test(run, den, base, den, allowance=0.0, direction="rise", level=ALPHA)
    assert result.p_value == pytest.approx(0.065, abs=0.001)
    assert result.status == "inconclusive"


def test_without_variation_the_decision_is_the_estimate() -> None:
    den = np.full(10, 5.0)
    same = np.full(10, 1.0)
    unchanged = margin_test(same, den, same, den, allowance=0.0, direction="rise", level=ALPHA)
    assert unchanged.p_value == 1.0 and unchanged.status == "passed"
    worse = margin_test(same + 1, den, same, den, allowance=0.1, direction="rise", level=ALPHA)
    assert worse.degradation == pytest.approx(0.2)
    assert worse.p_value == 0.0 and worse.bound == pytest.approx(0.2) and worse.status == "failed"
    at = margin_test(same + 1, den, same, den, allowance=0.2, direction="rise", level=ALPHA)
    assert at.p_value == 1.0 and not at.bound > 0.2 and at.status == "passed"


def test_an_estimate_above_the_allowance_without_evidence_is_inconclusive() -> None:
    run = np.array([1.0, 0, 1, 0, 1, 0, 1, 0, 1, 1])
    base = np.array([0.0, 0, 1, 0, 1, 0, 1, 0, 1, 0])
    one = np.ones(10)
    result = margin_test(run, one, base, one, allowance=0.05, direction="rise", level=ALPHA)
    assert result.exceeds and result.status == "inconclusive"
    assert result.bound <= 0.05 < result.degradation


def test_one_comparison_equals_the_batch() -> None:
    sums = case_sums(*simulated("variant_accuracy", 0.03, seed=2))
    batch = margin_tests(*(s[:3] for s in sums), allowance=0.03, direction="drop", level=ALPHA)
    for i in range(3):
        single = margin_test(*(s[i] for s in sums), allowance=0.03, direction="drop", level=ALPHA)
        assert single.p_value == batch.p_value[i] and single.bound == batch.bound[i]
        assert single.ci95 == (batch.ci_low[i], batch.ci_high[i])
        assert "t test" in single.method


def test_an_undefined_metric_gives_nan_not_a_verdict() -> None:
    zero = np.zeros(5)
    result = margin_test(zero, zero, zero, zero, allowance=0.0, direction="rise", level=ALPHA)
    assert math.isnan(result.p_value) and "undefined" in result.method
    assert result.status == "undefined"
    with pytest.raises(ValueError, match="direction"):
        margin_test(zero, zero, zero, zero, allowance=0.0, direction="up", level=ALPHA)
