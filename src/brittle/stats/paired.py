"""Paired comparison of a run with its baseline: the statistics behind the relative gates.

A relative gate (``flip_rate rise <= 0.03``) compares the run with the committed baseline *on
the same rows*: the baseline stores every row's outcome, so each case is compared with itself.
Cases added or removed since the baseline, variants that exist on one side only and variants
whose text changed under the same id (variant fingerprints) are counted by
:func:`~brittle.stats.changes.case_changes` and left out; a row that errored on either side is
left out of both.

:func:`compare` measures one gate: the paired delta, its bootstrap interval, a p-value (McNemar's
exact test when every case carries one 0/1 outcome, else the paired permutation test over cases)
and the gate's power. :func:`decide` turns that into a verdict once the p-values of all the
eval's relative gates are Holm-corrected together: a gate fails only when the degradation is
larger than allowed *and* significant. The formulas are written out in :mod:`.bootstrap`,
:mod:`.significance` and :mod:`.power`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from brittle import _format
from brittle.stats.bootstrap import SEED, paired_bootstrap_interval
from brittle.stats.changes import CaseChanges, case_changes, paired_mask
from brittle.stats.gates import Gate, Verdict
from brittle.stats.metrics import CASE_SUM_COLUMNS, METRIC_SUMS, METRICS
from brittle.stats.power import cases_needed, intra_case_correlation, minimum_detectable_effect
from brittle.stats.results import case_sums, metric_statistic
from brittle.stats.significance import mcnemar_exact, paired_permutation_test

POWER = 0.8
"""The power at which the minimum detectable effect is quoted."""

_BOTH_ERRORED = "errored in the run or the baseline"


def paired_tables(
    table: pd.DataFrame, outcomes: Mapping[str, Any], *, own_errors: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The run's and the baseline's outcome tables on the rows both have, in the run's order:
    the same row id and the same text (:func:`brittle.stats.changes.paired_mask`).

    A row errored on either side is errored on both (so both sides score the same units),
    unless ``own_errors`` (for the error rate itself).
    """
    row_ids = table["row_id"].to_numpy(dtype=object)
    present = paired_mask(table, outcomes)
    stored = [outcomes[row] for row in row_ids[present]]
    run = table.loc[present, ["case_id", "row_id", "family", "passed", "answer", "error"]]
    run = run.reset_index(drop=True)
    passed: list[Any] = [entry[0] for entry in stored]
    base_errors = np.array([value is None for value in passed], dtype=bool)
    fractional = any(isinstance(v, float) for v in passed)  # the ``mean`` reduction
    base = run[["case_id", "row_id", "family"]].assign(
        passed=np.array(passed, dtype=float if fractional else object),
        answer=np.array([e[1] if len(e) > 1 else None for e in stored], dtype=object),
        error=_errors(base_errors),
    )
    if not own_errors:
        marker = _errors(run["error"].notna().to_numpy() | base_errors)
        run = run.assign(error=marker)
        base = base.assign(error=marker)
    return run, base


def _errors(mask: np.ndarray) -> np.ndarray:
    return np.array([_BOTH_ERRORED if flag else None for flag in mask], dtype=object)


@dataclass(frozen=True)
class Power:
    """How small a degradation the gate detects with :data:`POWER`, and what it would take."""

    rate: float  # the baseline rate of the bad event (flips, failures, disagreements)
    cases: int
    variants: float  # units per case
    icc: float
    alpha: float  # the level used: alpha / family size, Holm's first step
    mde: float | None  # None: no degradation is detectable
    cases_needed: int | None  # cases to detect the gate's own allowance (None: never)
    allowance: float

    @property
    def underpowered(self) -> bool:
        return self.allowance > 0 and (self.mde is None or self.mde > self.allowance + 1e-12)

    def describe(self, gate: Gate) -> str:
        word = "drops" if gate.op == "max_drop" else "rises"
        scope = f"{self.cases} cases" + (
            f" x {self.variants:.3g} variants" if self.variants > 1 + 1e-9 else ""
        )
        reach = (
            f"can only detect {word} >= {self.mde:.3f}"
            if self.mde is not None
            else f"cannot detect any {word[:-1]}"
        )
        need = (
            f"; about {self.cases_needed} cases would detect {self.allowance:g}"
            if self.cases_needed is not None
            else ""
        )
        return (
            f"underpowered: {gate.name} {reach} with {POWER:.0%} power at n={scope} "
            f"(baseline rate {self.rate:.3f}, alpha {self.alpha:.3g}){need}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "cases": self.cases,
            "variants": self.variants,
            "icc": self.icc,
            "alpha": self.alpha,
            "power": POWER,
            "mde": self.mde,
            "cases_needed": self.cases_needed,
            "underpowered": self.underpowered,
        }


@dataclass(frozen=True)
class Comparison:
    """One relative gate's paired comparison, before the multiple-testing correction."""

    gate: Gate
    baseline: float
    now: float
    delta: float
    ci: tuple[float, float] | None
    p_value: float
    test: str
    cases: int
    units: float
    discordant: tuple[int, int] | None = None  # (worse, better) cases, McNemar only
    power: Power | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def degradation(self) -> float:
        return -self.delta if self.gate.op == "max_drop" else self.delta

    @property
    def exceeds(self) -> bool:
        return self.degradation > self.gate.value + 1e-12


def _binary_per_case(num: np.ndarray, den: np.ndarray) -> bool:
    return bool(np.all(den <= 1) and np.all((num == 0) | (num == 1)))


def compare(
    gate: Gate,
    table: pd.DataFrame,
    outcomes: Mapping[str, Any],
    *,
    alpha: float = 0.05,
    family_size: int = 1,
    seed: int = SEED,
) -> Comparison | None:
    """The paired comparison behind a relative gate; None when the metric is undefined."""
    run_table, base_table = paired_tables(table, outcomes, own_errors=gate.metric == "error_rate")
    if run_table.empty:
        return None
    run_sums = case_sums(run_table, gate.family)
    base_sums = case_sums(base_table, gate.family)
    statistic = metric_statistic(gate.metric)
    run_arr = run_sums.to_numpy(dtype=float)
    base_arr = base_sums.to_numpy(dtype=float)
    now = float(statistic(run_arr.sum(axis=0)[None])[0])
    before = float(statistic(base_arr.sum(axis=0)[None])[0])
    if not (math.isfinite(now) and math.isfinite(before)):
        return None
    if gate.metric == "pdr":
        active = (run_sums["var_ok"] + run_sums["orig_ok"]) > 0
        denominator = run_sums["var_ok"]
    else:
        denominator = run_sums[METRIC_SUMS[gate.metric][1]]
        active = denominator > 0
    cases = int(active.sum())
    units = float(denominator[active].mean()) if cases else 0.0
    keep = active.to_numpy()
    run_arr, base_arr = run_arr[keep], base_arr[keep]
    ci = paired_bootstrap_interval(run_arr, base_arr, statistic, seed=seed)
    discordant: tuple[int, int] | None = None
    if gate.metric != "pdr":
        num = CASE_SUM_COLUMNS.index(METRIC_SUMS[gate.metric][0])
        den = CASE_SUM_COLUMNS.index(METRIC_SUMS[gate.metric][1])
        if _binary_per_case(run_arr[:, num], run_arr[:, den]) and _binary_per_case(
            base_arr[:, num], base_arr[:, den]
        ):
            down = int(np.sum((base_arr[:, num] == 1) & (run_arr[:, num] == 0)))
            up = int(np.sum((base_arr[:, num] == 0) & (run_arr[:, num] == 1)))
            discordant = (down, up) if METRICS[gate.metric] == "higher" else (up, down)
    if discordant is not None:
        p_value = mcnemar_exact(*discordant)
        test = "McNemar exact test"
    else:
        p_value = paired_permutation_test(run_arr, base_arr, statistic, seed=seed)
        test = "paired permutation test"
    power = _power(gate, base_arr, before, cases, units, alpha / max(family_size, 1))
    return Comparison(
        gate=gate,
        baseline=before,
        now=now,
        delta=now - before,
        ci=ci,
        p_value=p_value,
        test=test,
        cases=cases,
        units=units,
        discordant=discordant,
        power=power,
    )


def _power(
    gate: Gate, base: np.ndarray, before: float, cases: int, units: float, alpha: float
) -> Power | None:
    if gate.metric == "pdr" or cases == 0:
        return None
    rate = before if gate.op == "max_rise" else 1.0 - before
    if not 0 <= rate < 1:
        return None
    num = CASE_SUM_COLUMNS.index(METRIC_SUMS[gate.metric][0])
    den = CASE_SUM_COLUMNS.index(METRIC_SUMS[gate.metric][1])
    icc = intra_case_correlation(base[:, num], base[:, den]) if units > 1 else 0.0
    options: dict[str, Any] = {"variants": units, "icc": icc, "alpha": alpha, "power": POWER}
    return Power(
        rate=rate,
        cases=cases,
        variants=units,
        icc=icc,
        alpha=alpha,
        mde=minimum_detectable_effect(cases, rate, **options),
        cases_needed=cases_needed(gate.value, rate, **options) if gate.value > 0 else None,
        allowance=gate.value,
    )


def decide(
    comparison: Comparison,
    p_adjusted: float,
    *,
    alpha: float,
    family_size: int,
    changes: CaseChanges | None = None,
) -> Verdict:
    """The gate's verdict: it fails only on a degradation beyond the allowance that is
    significant at ``alpha`` after the Holm correction over ``family_size`` gates."""
    gate = comparison.gate
    significant = p_adjusted < alpha
    failed = comparison.exceeds and significant
    word = "drop" if gate.op == "max_drop" else "rise"
    ci = comparison.ci
    interval = f" (95% CI {ci[0]:+.4f} to {ci[1]:+.4f})" if ci is not None else ""
    head = (
        f"baseline {comparison.baseline:.4f}, now {comparison.now:.4f}, "
        f"delta {comparison.delta:+.4f}{interval}, {_format.p_value(p_adjusted)}, "
        f"allowed a {word} of at most {gate.value:g}"
    )
    if failed:
        head += f": larger than allowed and significant at alpha {alpha:g}"
    elif comparison.exceeds:
        head += (
            f": larger than allowed but not significant at alpha {alpha:g}, so not failed "
            "(it may be noise; more cases would tell)"
        )
    units = f" x {comparison.units:.3g} units" if comparison.units > 1 + 1e-9 else ""
    how = f"  {comparison.test} on the {comparison.cases} cases{units} scored in both runs"
    if comparison.discordant is not None:
        worse, better = comparison.discordant
        how += f" ({worse} got worse, {better} got better)"
    how += (
        f"; p Holm-adjusted over the {family_size} relative gates of this eval"
        f" (unadjusted {_format.p_value(comparison.p_value)})"
        if family_size > 1
        else ""
    )
    lines = [head, how]
    if changes is not None:
        lines += [f"  {line}" for line in changes.lines(gate.family)]
    power = comparison.power
    if power is not None and power.underpowered:
        lines.append("  " + power.describe(gate))
    details: dict[str, Any] = {
        "delta": comparison.delta,
        "ci": list(ci) if ci is not None else None,
        "p_value": comparison.p_value,
        "p_adjusted": p_adjusted,
        "alpha": alpha,
        "family_size": family_size,
        "test": comparison.test,
        "cases": comparison.cases,
        "units_per_case": comparison.units,
        "exceeds_allowance": comparison.exceeds,
        "significant": significant,
    }
    if comparison.discordant is not None:
        details["discordant"] = {
            "worse": comparison.discordant[0],
            "better": comparison.discordant[1],
        }
    if power is not None:
        details["power"] = power.to_dict()
    if changes is not None:  # the variants of the gate's scope: paired, changed, added, removed
        details["variants"] = changes.scope(gate.family)
    return Verdict(
        gate,
        not failed,
        "\n".join(lines),
        now=comparison.now,
        baseline=comparison.baseline,
        details=details,
    )


__all__ = [
    "POWER",
    "CaseChanges",
    "Comparison",
    "Power",
    "case_changes",
    "compare",
    "decide",
    "paired_tables",
]
