"""Statistics of metrics and gates: reference values, coverage, and the gates' error rates.

Reference values come from scipy and from Newcombe (1998), "Two-sided confidence intervals for
the single proportion", Statistics in Medicine 17, Table I (method 3, the Wilson score interval).
The simulations are seeded, so every figure here is the same on every run.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from brittle.stats import inference as stats
from brittle.stats.gates import Gate
from brittle.stats.metrics import (
    CASE_SUM_COLUMNS,
    METRICS,
    add_intervals,
    case_sums,
    compute_metrics,
    metric_statistic,
)
from brittle.stats.paired import case_changes, compare, decide, paired_tables
from brittle.stats.repeats import current_repeat, disagreement, reduce_repeats, repeat_context

COLUMNS = ["case_id", "row_id", "family", "passed", "answer", "error"]
FLIPS = CASE_SUM_COLUMNS.index("flips"), CASE_SUM_COLUMNS.index("pairs")

# --- Wilson --------------------------------------------------------------------------------------


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
    p = stats.paired_permutation_test(sums_run, sums_base, stats.ratio(0, 1))
    assert p == pytest.approx(stats.mcnemar_exact(b, c))


def test_permutation_test_of_identical_runs_is_one() -> None:
    sums = np.array([[1, 3], [0, 3], [2, 3]], dtype=float)
    assert stats.paired_permutation_test(sums, sums.copy(), stats.ratio(0, 1)) == 1.0


def test_monte_carlo_permutation_test_is_seeded_and_close_to_exact() -> None:
    rng = np.random.default_rng(3)
    base = np.column_stack([rng.integers(0, 3, 16), np.full(16, 3)]).astype(float)
    run = np.column_stack([rng.integers(0, 4, 16).clip(0, 3), np.full(16, 3)]).astype(float)
    exact = stats.paired_permutation_test(run, base, stats.ratio(0, 1), exact_limit=20)
    sampled = [
        stats.paired_permutation_test(run, base, stats.ratio(0, 1), exact_limit=0, seed=seed)
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


# --- bootstrap intervals -------------------------------------------------------------------------


def clustered_flips(rng: np.random.Generator, propensity: np.ndarray, variants: int) -> np.ndarray:
    """Per-case sums (flips, pairs) with each case flipping at its own propensity."""
    flips = rng.binomial(variants, propensity)
    return np.column_stack([flips, np.full(propensity.size, variants)]).astype(float)


def propensities(rng: np.random.Generator, cases: int, mean: float, icc: float = 0.2) -> np.ndarray:
    """Per-case flip propensities from a Beta with the given mean and intra-case correlation."""
    strength = 1 / icc - 1
    return rng.beta(mean * strength, (1 - mean) * strength, size=cases)


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
        naive = stats.wilson_interval(sums[:, 0].sum(), sums[:, 1].sum())
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


# --- power ---------------------------------------------------------------------------------------


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


# --- the gate, simulated (acceptance: false alarms and detection) --------------------------------


def flip_table(flips: np.ndarray) -> pd.DataFrame:
    """A run where every original passes and variant ``j`` of case ``i`` fails iff it flips."""
    cases, variants = flips.shape
    ids = np.array([f"c{i:03d}" for i in range(cases)], dtype=object)
    labels = ["", *(f"[typo#{j + 1}]" for j in range(variants))]
    passed = np.column_stack([np.ones(cases, dtype=bool), ~flips]).ravel()
    return pd.DataFrame(
        {
            "case_id": np.repeat(ids, variants + 1),
            "row_id": [case + label for case in ids for label in labels],
            "family": np.tile(np.array(["", *["typo"] * variants], dtype=object), cases),
            "passed": passed.astype(object),
            "answer": np.where(passed, "pos", "neg").astype(object),
            "error": None,
        }
    )


def outcomes_of(table: pd.DataFrame) -> dict[str, list[Any]]:
    """A baseline's stored outcomes: ``{row_id: [passed, answer]}``."""
    columns = (table["row_id"], table["passed"], table["answer"])
    return {row: [passed, answer] for row, passed, answer in zip(*columns, strict=True)}


def fails(comparison: Any, allowance: float) -> bool:
    """The verdict of ``comparison``'s gate with ``allowance``, alone in its Holm family."""
    gate = dataclasses.replace(comparison.gate, value=allowance)
    decided = dataclasses.replace(comparison, gate=gate)
    return decide(decided, comparison.p_value, alpha=0.05, family_size=1).passed is False


def simulate(rise: float, allowances: tuple[float, ...], runs: int = 200) -> list[float]:
    """Share of ``runs`` simulated (baseline, run) pairs on which ``flip_rate rise <= a`` fails.

    200 cases x 5 variants; each case has its own flip propensity (mean 0.10, intra-case
    correlation 0.2), the same in the baseline and the run; the run's propensities rise by
    ``rise`` on average. The gate is decided by the code the plugin uses (compare, decide).
    """
    rng = np.random.default_rng(20240611 + round(rise * 1000))
    gate = Gate("flip_rate", "max_rise", allowances[0])
    base_rate, cases, variants = 0.10, 200, 5
    failures = np.zeros(len(allowances))
    for run in range(runs):
        q = propensities(rng, cases, base_rate)  # the golden set: how brittle each case is
        q_now = q + rise * (1 - q) / (1 - base_rate)  # mean rises by exactly ``rise``
        base = flip_table(rng.random((cases, variants)) < q[:, None])
        now = flip_table(rng.random((cases, variants)) < q_now[:, None])
        comparison = compare(gate, now, outcomes_of(base), seed=run)
        assert comparison is not None
        failures += [fails(comparison, allowance) for allowance in allowances]
    return list(failures / runs)


def test_gate_false_alarm_rate_is_at_most_alpha_plus_two_points() -> None:
    # the true flip rate equals the baseline's: every failure is a false alarm
    strict, tolerant = simulate(rise=0.0, allowances=(0.0, 0.03))
    assert strict <= 0.05 + 0.02
    assert tolerant <= strict


def test_gate_detects_a_ten_point_rise_on_200_cases_by_5_variants() -> None:
    (detected,) = simulate(rise=0.10, allowances=(0.03,))
    assert detected >= 0.90


def test_accuracy_gate_false_alarm_rate_with_mcnemar() -> None:
    rng = np.random.default_rng(5)
    gate, failures, runs = Gate("accuracy", "max_drop", 0.0), 0, 200
    ids = np.array([f"c{i}" for i in range(150)], dtype=object)
    for run in range(runs):
        skill = rng.beta(4, 1, size=150)  # each case's chance of being answered right
        base, now = (
            pd.DataFrame(
                {
                    "case_id": ids,
                    "row_id": ids,
                    "family": "",
                    "passed": passed.astype(object),
                    "answer": np.where(passed, "pos", "neg").astype(object),
                    "error": None,
                }
            )
            for passed in (rng.random(150) < skill, rng.random(150) < skill)
        )
        comparison = compare(gate, now, outcomes_of(base), seed=run)
        assert comparison is not None and comparison.test == "McNemar exact test"
        failures += fails(comparison, 0.0)
    assert failures / runs <= 0.05 + 0.02


# --- case sums: the same metrics as compute_metrics ----------------------------------------------


def random_table(rng: np.random.Generator, cases: int = 30) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for i in range(cases):
        case = f"c{i}"
        for label in ["", "typo#1", "typo#2", "casing#1"][: rng.integers(1, 5)]:
            error = "boom" if rng.random() < 0.08 else None
            passed = None if error else bool(rng.random() < 0.7)
            answer = None if error else str(rng.choice(["pos", "neg", None]))
            family = label.split("#")[0]
            rows.append(
                (case, f"{case}[{label}]" if label else case, family, passed, answer, error)
            )
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("seed", range(6))
def test_case_sums_reproduce_compute_metrics(seed: int) -> None:
    table = random_table(np.random.default_rng(seed))
    metrics = compute_metrics(table)
    scopes = [(None, metrics["overall"]), *metrics["families"].items()]
    for family, block in scopes:
        totals = case_sums(table, family).to_numpy(dtype=float).sum(axis=0)[None]
        for name in METRICS:
            value = float(metric_statistic(name)(totals)[0])
            if block[name] is None:
                assert not math.isfinite(value), (family, name)
            else:
                assert value == pytest.approx(block[name], abs=1e-12), (family, name)


def test_add_intervals_wilson_for_accuracy_bootstrap_for_flip_rate() -> None:
    table = random_table(np.random.default_rng(4), cases=60)
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    overall = metrics["overall"]
    sums = case_sums(table)
    assert overall["ci"]["accuracy"] == pytest.approx(
        list(stats.wilson_interval(sums["orig_pass"].sum(), sums["orig_ok"].sum()) or ())
    )
    low, high = overall["ci"]["flip_rate"]
    assert low < overall["flip_rate"] < high
    for block in [overall, *metrics["families"].values()]:
        for name in METRICS:
            if block[name] is not None and name != "pdr":
                assert block["ci"][name][0] <= block[name] + 1e-12 <= block["ci"][name][1] + 2e-12
    again = compute_metrics(table)
    add_intervals(again, table)
    assert again["overall"]["ci"] == overall["ci"]  # seeded: reports are reproducible


def test_a_flip_rate_of_zero_still_gets_an_interval_that_is_not_a_point() -> None:
    table = flip_table(np.zeros((40, 3), dtype=bool))
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    low, high = metrics["overall"]["ci"]["flip_rate"]
    assert low == 0.0 and high == pytest.approx(stats.wilson_interval(0, 40)[1])  # type: ignore[index]


# --- comparison with the baseline ----------------------------------------------------------------


def test_cases_added_and_removed_are_counted_and_left_out_of_the_pairs() -> None:
    flips = np.zeros((6, 2), dtype=bool)
    base = flip_table(flips)
    run = flip_table(flips)
    run = run[~run["case_id"].isin(["c000"])]  # removed
    extra = flip_table(np.ones((1, 2), dtype=bool)).replace({"c000": "c999"}, regex=True)
    run = pd.concat([run, extra], ignore_index=True)  # added, and brittle
    outcomes = outcomes_of(base)
    changes = case_changes(run, outcomes)
    assert changes.added == ("c999",) and changes.removed == ("c000",)
    assert changes.common == 5 and changes.variants_added == changes.variants_removed == 0
    assert "1 case(s) added (c999)" in changes.describe()
    paired_run, paired_base = paired_tables(run, outcomes)
    assert (
        set(paired_run["case_id"])
        == set(paired_base["case_id"])
        == {f"c00{i}" for i in range(1, 6)}
    )
    comparison = compare(Gate("flip_rate", "max_rise", 0.0), run, outcomes)
    assert comparison is not None and comparison.delta == 0.0 and comparison.cases == 5


def test_a_row_errored_on_one_side_is_left_out_of_both() -> None:
    base = flip_table(np.zeros((4, 2), dtype=bool))
    run = base.astype({"passed": object})
    run.loc[run["row_id"] == "c001[typo#1]", ["passed", "answer", "error"]] = [None, None, "boom"]
    outcomes = outcomes_of(base)
    paired_run, paired_base = paired_tables(run, outcomes)
    assert paired_base.loc[paired_base["row_id"] == "c001[typo#1]", "error"].notna().all()
    assert compute_metrics(paired_run)["overall"]["pairs"] == 7


def test_failing_message_names_baseline_now_delta_ci_p_and_allowance() -> None:
    base = flip_table(np.zeros((30, 4), dtype=bool))
    broken = np.zeros((30, 4), dtype=bool)
    broken[:12, :2] = True
    run = flip_table(broken)
    outcomes = outcomes_of(base)
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), run, outcomes)
    assert comparison is not None
    verdict = decide(comparison, comparison.p_value, alpha=0.05, family_size=1)
    assert verdict.passed is False
    first = verdict.message.splitlines()[0]
    assert first.startswith("baseline 0.0000, now 0.2000, delta +0.2000 (95% CI +0.")
    assert "p < 0.0001" in first or "p = 0.000" in first
    assert first.endswith(
        "allowed a rise of at most 0.03: larger than allowed and significant at alpha 0.05"
    )
    assert (
        "paired permutation test on the 30 cases x 4 units scored in both runs" in verdict.message
    )
    assert verdict.details["significant"] is True


# --- repeats -------------------------------------------------------------------------------------


def repeat_table(
    rows: list[tuple[str, str, int, bool | None, str | None, str | None]],
) -> pd.DataFrame:
    """Rows are (row_id, family, repeat, passed, answer, error), all of case c1."""
    return pd.DataFrame(
        [
            ("c1", row, family, passed, answer, error, k)
            for row, family, k, passed, answer, error in rows
        ],
        columns=[*COLUMNS, "repeat"],
    )


REPEATED = repeat_table(
    [
        ("c1", "", 0, True, "pos", None),
        ("c1", "", 1, False, "neg", None),
        ("c1", "", 2, True, "pos", None),
        ("c1[typo#1]", "typo", 0, False, "neg", None),
        ("c1[typo#1]", "typo", 1, False, "neg", None),
        ("c1[typo#1]", "typo", 2, True, "pos", None),
        ("c1[typo#2]", "typo", 0, True, "pos", None),
        ("c1[typo#2]", "typo", 1, None, None, "timeout"),
        ("c1[typo#2]", "typo", 2, True, "pos", None),
    ]
)


def test_majority_reduction() -> None:
    reduced = reduce_repeats(REPEATED, "majority")
    assert list(reduced["row_id"]) == ["c1", "c1[typo#1]", "c1[typo#2]"]
    assert list(reduced["answer"][:2]) == ["pos", "neg"]
    assert list(reduced["passed"][:2]) == [True, False]
    assert reduced["error"].iloc[2] == "timeout"  # an errored repeat errors the row
    assert compute_metrics(reduced)["overall"]["flip_rate"] == 1.0


def test_mean_reduction_is_the_pass_share() -> None:
    reduced = reduce_repeats(REPEATED, "mean")
    assert list(reduced["passed"][:2]) == pytest.approx([2 / 3, 1 / 3])
    metrics = compute_metrics(reduced)
    assert metrics["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["overall"]["flip_rate"] == pytest.approx(1 / 3)  # |1/3 - 2/3|


def test_without_repeats_reduction_changes_nothing() -> None:
    table = REPEATED[REPEATED["repeat"] == 0].reset_index(drop=True)
    assert reduce_repeats(table).equals(table.drop(columns="repeat"))


def test_disagreement_separates_randomness_from_brittleness() -> None:
    reduced = reduce_repeats(REPEATED, "majority")
    report = disagreement(REPEATED, compute_metrics(reduced))
    assert report["rows"] == 2  # c1[typo#2] had an errored repeat
    assert report["within_variant_disagreement"] == 1.0
    assert report["across_variant_flip_rate"] == 1.0


def test_repeat_context() -> None:
    assert current_repeat() == 0
    with repeat_context(3):
        assert current_repeat() == 3
    assert current_repeat() == 0
