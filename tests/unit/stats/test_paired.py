"""Relative gates against the baseline: error rates of the gate, and what it leaves out.

The gate is decided by the code the plugin uses (compare, decide). The simulations are seeded, so
every figure here is the same on every run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from brittle.stats.gates import Gate
from brittle.stats.paired import case_changes, compare, decide, paired_tables
from brittle.stats.results import compute_metrics
from tests.unit.stats.simulation import flip_table, outcomes_of, propensities

# --- the gate, simulated (acceptance: false alarms and detection) --------------------------------


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
