"""Intervals of one run's ratio metric, with cases as clusters: coverage by simulation.

Simulated runs have clustered cases: each case's propensity is Beta-distributed (heterogeneous),
its variants are Binomial draws from it, and 5% of variants are missing, so denominators vary.
The true metric is the mean propensity. 2,000 simulated runs per check (Monte Carlo standard
error 0.005 at 95%). Seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brittle.stats.bootstrap import bootstrap_totals
from brittle.stats.cluster_interval import (
    bca_interval,
    bca_intervals,
    clustered_wilson_interval,
    clustered_wilson_intervals,
)
from brittle.stats.intervals import metric_interval, wilson_bounds, wilson_interval
from brittle.stats.margin import FEW_CASES, ratio_t_interval
from brittle.stats.results import add_intervals, compute_metrics

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


def test_bca_corrects_the_percentile_interval_at_20_cases() -> None:
    """Rare events on 20 cases: the percentile interval undercovers, BCa does not."""
    num, den, truth = simulate(5, 0.2, 3.8, cases=20)
    _, low, high, _ = bca_intervals(num, den, resamples=1000)
    assert coverage(low, high, truth) >= 0.93
    totals = bootstrap_totals(np.hstack([num.T, den.T]), resamples=1000)
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = (totals[:, :RUNS] / totals[:, RUNS:]).T
    low, high = np.nanpercentile(replicates, [2.5, 97.5], axis=1)
    assert coverage(low, high, truth) < 0.90


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


# --- the report path: add_intervals on simulated results tables ----------------------------------

REPORT_RUNS = 1000
ORIGINAL_PASS = (3.0, 1.0)  # Beta: a case's chance that its original passes (mean 0.75)
VARIANT_FLIP = (0.6, 4.4)  # Beta: a case's chance that a variant flips its outcome (mean 0.12)
TRUE_FLIP_RATE = 0.12
TRUE_VARIANT_ACCURACY = 0.75 * (1 - 0.12) + 0.25 * 0.12


def results_table(rng: np.random.Generator, cases: int) -> pd.DataFrame:
    """One simulated run: every case has its own difficulty and brittleness; its variants
    (3 to 5) share its original's outcome and flip it at the case's own rate."""
    passes = rng.random(cases) < rng.beta(*ORIGINAL_PASS, cases)
    flip = rng.beta(*VARIANT_FLIP, cases)
    counts = rng.integers(3, 6, cases)
    ids = np.array([f"c{i:03d}" for i in range(cases)], dtype=object)
    variant_case = np.repeat(np.arange(cases), counts)
    variant_pass = passes[variant_case] ^ (rng.random(variant_case.size) < flip[variant_case])
    number = np.arange(variant_case.size) - np.repeat(np.cumsum(counts) - counts, counts)
    case = np.concatenate([ids, ids[variant_case]])
    passed = np.concatenate([passes, variant_pass])
    row = np.concatenate(
        [ids, [f"{c}[typo#{j}]" for c, j in zip(ids[variant_case], number, strict=True)]]
    )
    return pd.DataFrame(
        {
            "case_id": case,
            "row_id": row,
            "family": np.array([""] * cases + ["typo"] * variant_case.size, dtype=object),
            "passed": passed.astype(object),
            "answer": np.where(passed, "pos", "neg").astype(object),
            "error": None,
        }
    )


def test_report_intervals_cover_93_to_97_percent_at_200_cases() -> None:
    """The intervals a report shows (compute_metrics, then add_intervals) on 1,000 runs of 200
    clustered, heterogeneous cases; and the Wilson fallback of a report without intervals
    (``metric_interval``, n = cases) errs on the wide side where n = pairs undercovers."""
    rng = np.random.default_rng(13)
    truth = {"flip_rate": TRUE_FLIP_RATE, "variant_accuracy": TRUE_VARIANT_ACCURACY}
    covered = dict.fromkeys(truth, 0)
    fallback = dict.fromkeys(truth, 0)
    on_pairs = 0
    for run in range(REPORT_RUNS):
        table = results_table(rng, 200)
        metrics = compute_metrics(table)
        add_intervals(metrics, table, seed=run)
        overall = metrics["overall"]
        assert overall["ci_method"]["flip_rate"] == "bca" and not overall["few_cases"]
        counts = {k: v for k, v in overall.items() if k not in ("ci", "ci_method")}
        for name, value in truth.items():
            low, high = overall["ci"][name]
            covered[name] += low <= value <= high
            found = metric_interval(counts, name)
            assert found is not None and found[1] == "wilson"
            fallback[name] += found[0][0] <= value <= found[0][1]
        pairs = wilson_interval(overall["flip_rate"] * overall["pairs"], overall["pairs"])
        assert pairs is not None
        on_pairs += pairs[0] <= TRUE_FLIP_RATE <= pairs[1]
    for name in truth:
        assert 0.93 <= covered[name] / REPORT_RUNS <= 0.97, (name, covered[name])
        assert fallback[name] / REPORT_RUNS >= 0.95, (name, fallback[name])
    assert on_pairs / REPORT_RUNS < 0.90, on_pairs  # the old fallback, n = pairs


@pytest.mark.parametrize(("cases", "few"), [(12, True), (FEW_CASES - 1, True), (FEW_CASES, False)])
def test_report_flags_few_cases_below_the_threshold(cases: int, few: bool) -> None:
    table = results_table(np.random.default_rng(cases), cases)
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    overall = metrics["overall"]
    assert overall["few_cases"] is few and overall["ci_cases"] == cases
    assert metrics["families"]["typo"]["few_cases"] is few
    low, high = overall["ci"]["flip_rate"]
    assert low <= overall["flip_rate"] <= high
