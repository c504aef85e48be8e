"""Relative gates against the baseline, through the code the plugin uses: compare (the paired
margin test on the gate's case sums), holm_steps (the gate's level) and decide (the verdict).

The margin test itself is checked by simulation at scale (4,000 runs a figure) in
test_margin_simulation.py; here the simulations go through results tables and stored outcomes, as
a run does (500 runs: Monte Carlo standard error 0.01 at 5%), so they check the wiring: which
sums the gate tests, at which level, and what its verdict says. Seeded: the figures are the same
on every run.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest

from brittle.stats.gates import Gate, Verdict
from brittle.stats.margin import margin_test
from brittle.stats.paired import Comparison, compare, decide
from brittle.stats.results import case_sums, compute_metrics
from brittle.stats.significance import holm_steps
from tests.unit.stats.simulation import flip_table, outcomes_of, propensities

ALPHA = 0.05


def decided(comparisons: list[Comparison], **options: object) -> list[Verdict]:
    """The verdicts of ``comparisons`` as one Holm family, as the gate loop decides them."""
    steps = holm_steps([c.p_value for c in comparisons], ALPHA)
    return [
        decide(c, step, alpha=ALPHA, **options)  # type: ignore[arg-type]
        for c, step in zip(comparisons, steps, strict=True)
        if step is not None
    ]


def with_allowance(comparison: Comparison, allowance: float) -> Comparison:
    """The same data under another allowance."""
    gate = dataclasses.replace(comparison.gate, value=allowance)
    return dataclasses.replace(
        comparison, gate=gate, test=dataclasses.replace(comparison, gate=gate).at(ALPHA)
    )


# --- the gate path, simulated --------------------------------------------------------------------


def simulate(rise: float, allowances: tuple[float, ...], runs: int) -> dict[str, np.ndarray]:
    """Shares of ``runs`` simulated (baseline, run) pairs whose ``flip_rate rise <= a`` gate
    failed, was inconclusive or passed, per allowance.

    200 cases x 5 variants; each case has its own flip propensity (mean 0.10, intra-case
    correlation 0.2), the same in the baseline and the run; the run's propensities rise by
    ``rise`` on average.
    """
    rng = np.random.default_rng(20240611 + round(rise * 1000))
    base_rate, cases, variants = 0.10, 200, 5
    shares = {s: np.zeros(len(allowances)) for s in ("failed", "inconclusive", "passed")}
    for _ in range(runs):
        q = propensities(rng, cases, base_rate)  # the golden set: how brittle each case is
        q_now = q + rise * (1 - q) / (1 - base_rate)  # mean rises by exactly ``rise``
        base = flip_table(rng.random((cases, variants)) < q[:, None])
        now = flip_table(rng.random((cases, variants)) < q_now[:, None])
        comparison = compare(Gate("flip_rate", "max_rise", allowances[0]), now, outcomes_of(base))
        assert comparison is not None
        for index, allowance in enumerate(allowances):
            (verdict,) = decided([with_allowance(comparison, allowance)])
            shares[verdict.details["status"]][index] += 1 / runs
    return shares


def test_no_change_fails_at_most_alpha_plus_a_point() -> None:
    shares = simulate(rise=0.0, allowances=(0.0, 0.03), runs=500)
    strict, tolerant = shares["failed"]
    assert strict <= ALPHA + 0.02
    assert tolerant <= strict


def test_a_rise_exactly_at_the_allowance_fails_at_most_alpha_plus_a_point() -> None:
    # the old rule (estimate above the allowance and a two-sided test of 0 significant) failed
    # 36-41% of these runs; about half are now inconclusive: the estimate is above, by chance
    shares = simulate(rise=0.03, allowances=(0.03,), runs=500)
    assert shares["failed"][0] <= ALPHA + 0.02
    assert 0.3 <= shares["inconclusive"][0] <= 0.6


def test_ten_points_above_the_allowance_fails_at_least_90_percent() -> None:
    shares = simulate(rise=0.13, allowances=(0.03,), runs=200)
    assert shares["failed"][0] >= 0.90


# --- what the gate tests -------------------------------------------------------------------------


def test_the_gate_tests_its_metrics_case_sums_with_the_margin_test() -> None:
    rng = np.random.default_rng(2)
    q = propensities(rng, 80, 0.2)
    base = flip_table(rng.random((80, 4)) < q[:, None])
    now = flip_table(rng.random((80, 4)) < (q[:, None] + 0.1))
    comparison = compare(Gate("flip_rate", "max_rise", 0.02), now, outcomes_of(base))
    assert comparison is not None
    run, before = case_sums(now), case_sums(base)
    expected = margin_test(
        run["flips"], run["pairs"], before["flips"], before["pairs"],
        allowance=0.02, direction="rise", level=0.01,
    )  # fmt: skip
    assert comparison.at(0.01) == expected
    assert comparison.test.run == compute_metrics(now)["overall"]["flip_rate"]
    assert comparison.units == 4 and comparison.binary


def accuracy_table(passed_original: np.ndarray, passed_variants: np.ndarray) -> pd.DataFrame:
    """Originals and variants of ``cases`` with the given pass/fail outcomes."""
    cases, variants = passed_variants.shape
    ids = np.array([f"c{i:03d}" for i in range(cases)], dtype=object)
    passed = np.column_stack([passed_original, passed_variants]).ravel()
    return pd.DataFrame(
        {
            "case_id": np.repeat(ids, variants + 1),
            "row_id": [
                f"{c}{f'[typo#{j}]' if j else ''}" for c in ids for j in range(variants + 1)
            ],
            "family": np.tile(np.array(["", *["typo"] * variants], dtype=object), cases),
            "passed": passed.astype(object),
            "answer": np.where(passed, "pos", "neg").astype(object),
            "error": None,
        }
    )


def test_pdr_is_linearized_to_one_unit_per_case() -> None:
    rng = np.random.default_rng(3)
    skill = rng.beta(4, 1, 120)

    def draw(drop: float) -> pd.DataFrame:
        return accuracy_table(
            rng.random(120) < skill, rng.random((120, 3)) < (skill * (0.9 - drop))[:, None]
        )

    base, now = draw(0.0), draw(0.2)
    comparison = compare(Gate("pdr", "max_rise", 0.05), now, outcomes_of(base))
    assert comparison is not None and not comparison.binary
    pdr = compute_metrics(now)["overall"]["pdr"], compute_metrics(base)["overall"]["pdr"]
    assert (comparison.test.run, comparison.test.baseline) == pytest.approx(pdr)
    assert comparison.test.cases == 120 and np.all(comparison.sums[1] == 1)
    (verdict,) = decided([comparison])
    assert verdict.passed is False  # a 20-point fall of variant accuracy: pdr rises ~0.2


def test_pdr_gate_false_alarms_with_no_change() -> None:
    rng = np.random.default_rng(9)
    failures, runs = 0, 400
    for _ in range(runs):
        skill = rng.beta(4, 1, 100)
        base, now = (
            accuracy_table(rng.random(100) < skill, rng.random((100, 3)) < 0.9 * skill[:, None])
            for _ in range(2)
        )
        comparison = compare(Gate("pdr", "max_rise", 0.0), now, outcomes_of(base))
        assert comparison is not None
        failures += decided([comparison])[0].passed is False
    assert failures / runs <= ALPHA + 0.02


def test_accuracy_drop_with_allowance_zero_is_the_exact_one_sided_mcnemar_test() -> None:
    correct = np.ones(30, dtype=bool)
    broken = correct.copy()
    broken[:6] = False  # six cases broke, none was fixed: one-sided p = (1/2)^6
    base = accuracy_table(correct, np.ones((30, 0), dtype=bool))
    now = accuracy_table(broken, np.ones((30, 0), dtype=bool))
    comparison = compare(Gate("accuracy", "max_drop", 0.0), now, outcomes_of(base))
    assert comparison is not None
    assert comparison.p_value == pytest.approx(0.5**6)
    (verdict,) = decided([comparison])
    assert verdict.passed is False
    assert verdict.details["discordant"] == {"worse": 6, "better": 0}
    assert "exact one-sided McNemar test on 6 discordant of 30 cases" in verdict.message


# --- verdicts: failed, inconclusive, passed; the interval is the decision's -----------------------


def _broken(flipping_cases: int, cases: int = 30, variants: int = 4) -> tuple[pd.DataFrame, dict]:
    base = flip_table(np.zeros((cases, variants), dtype=bool))
    broken = np.zeros((cases, variants), dtype=bool)
    broken[:flipping_cases, :2] = True
    return flip_table(broken), outcomes_of(base)


def test_a_failed_verdict_prints_the_bound_it_was_decided_by() -> None:
    now, outcomes = _broken(12)
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), now, outcomes)
    assert comparison is not None
    (verdict,) = decided([comparison])
    assert verdict.passed is False and verdict.status == "FAILED"
    first = verdict.message.splitlines()[0]
    test = comparison.at(ALPHA)
    assert first.startswith(
        "baseline 0.0000, now 0.2000, delta +0.2000 (95% CI "
        f"{test.ci95[0]:+.4f} to {test.ci95[1]:+.4f}), allowed a rise of at most 0.03; "
        f"rise >= {test.bound:.4f} at 95% (one-sided): larger than allowed (one-sided p"
    )
    assert test.bound > 0.03 and test.p_value < ALPHA
    assert "one-sided t test on the case-clustered ratio linearization (30 cases" in verdict.message
    assert "few cases (30 < 50): the bound and p-value are approximate" in verdict.message
    details = verdict.details
    assert details["status"] == "failed" and details["significant"] is True
    assert details["bound"] == test.bound and details["level"] == ALPHA
    assert details["cases_needed"] is None


def test_an_estimate_above_the_allowance_without_evidence_is_inconclusive() -> None:
    now, outcomes = _broken(2)  # 2 of 30 cases flip twice: +0.033 against 0.03
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), now, outcomes)
    assert comparison is not None
    (verdict,) = decided([comparison])
    assert verdict.passed is True and verdict.inconclusive and verdict.status == "inconclusive"
    needed = verdict.details["cases_needed"]
    assert isinstance(needed, int) and needed > 30
    first = verdict.message.splitlines()[0]
    assert re.search(r"rise >= -?0\.\d{4} at 95% \(one-sided\): inconclusive: above", first)
    assert f"about {needed} cases would settle it" in first
    assert comparison.at(ALPHA).bound <= 0.03 < comparison.test.degradation
    strict = decided([comparison], fail_inconclusive=True)[0]
    assert strict.passed is False and strict.status == "FAILED" and strict.inconclusive
    assert "inconclusive, failed as the eval sets 'inconclusive: fail'" in strict.message


def test_within_the_allowance_passes() -> None:
    now, outcomes = _broken(0)
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), now, outcomes)
    assert comparison is not None
    (verdict,) = decided([comparison])
    assert verdict.passed is True and verdict.status == "passed"
    assert ": within the allowance (one-sided p = 1.0000)" in verdict.message


def test_the_holm_step_and_its_level_are_named() -> None:
    gates = [
        Gate("flip_rate", "max_rise", 0.0),
        Gate("flip_rate", "max_rise", 0.05),
        Gate("agreement", "max_drop", 0.4),
    ]
    now, outcomes = _broken(20)
    comparisons = [c for g in gates if (c := compare(g, now, outcomes)) is not None]
    first, second, third = decided(comparisons)
    assert "at 98.33% (one-sided, Holm step 1 of 3)" in first.message
    assert "at 97.5% (one-sided, Holm step 2 of 3)" in second.message
    assert "at 95% (one-sided, Holm stopped at step 3 of 3): within the allowance" in third.message
    assert "p Holm-adjusted over the 3 relative gates of this eval" in first.message
    assert [v.details["holm_step"] for v in (first, second, third)] == [1, 2, 3]


def test_the_bound_beside_every_verdict_agrees_with_it() -> None:
    """Over families of three gates on random data, at every Holm step and after Holm stops:
    failed exactly when the printed bound is above the allowance."""
    rng = np.random.default_rng(11)
    gates = [
        Gate("flip_rate", "max_rise", 0.0),
        Gate("flip_rate", "max_rise", 0.03),
        Gate("variant_accuracy", "max_drop", 0.02),
    ]
    seen = set()
    for _ in range(150):
        q = propensities(rng, 60, 0.15)
        base = flip_table(rng.random((60, 3)) < q[:, None])
        now = flip_table(rng.random((60, 3)) < (q + rng.uniform(0, 0.12))[:, None])
        comparisons = [c for g in gates if (c := compare(g, now, outcomes_of(base))) is not None]
        for verdict in decided(comparisons):
            details = verdict.details
            bound, allowance = details["bound"], details["allowance"]
            above = math.isfinite(bound) and bound > allowance
            assert above == (details["status"] == "failed"), details
            assert details["significant"] == (details["p_value"] < details["level"])
            seen.add(details["status"])
    assert seen == {"failed", "inconclusive", "passed"}


# --- power ---------------------------------------------------------------------------------------


def test_a_small_eval_is_underpowered_and_says_what_it_detects() -> None:
    now, outcomes = _broken(0, cases=16, variants=2)
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), now, outcomes)
    assert comparison is not None
    # nothing changed and nothing varies: the SD comes from the baseline's prediction
    assert comparison.test.sd_paired == 0.0 and comparison.sd_paired(0.03) > 0
    power = decided([comparison], power=comparison.power(ALPHA))[0].details["power"]
    assert power["underpowered"] is True
    assert power["mde"] > power["target"] == 0.06
    assert power["cases_needed"] > 16 and power["level"] == ALPHA


def test_a_large_eval_is_not_underpowered() -> None:
    rng = np.random.default_rng(5)
    q = propensities(rng, 400, 0.1)
    base = flip_table(rng.random((400, 5)) < q[:, None])
    now = flip_table(rng.random((400, 5)) < q[:, None])
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), now, outcomes_of(base))
    assert comparison is not None
    power = decided([comparison], power=comparison.power(ALPHA))[0].details["power"]
    assert power["underpowered"] is False and power["mde"] <= 0.06
