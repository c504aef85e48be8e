"""Paired comparison of a run with its baseline: the statistics behind the relative gates.

A relative gate (``flip_rate rise <= 0.03``) compares the run with the committed baseline *on
the same rows*: the baseline stores every row's outcome, so each case is compared with itself.
Cases added or removed since the baseline, variants that exist on one side only and variants
whose text changed under the same id (variant fingerprints) are counted by
:func:`~brittle.stats.changes.case_changes` and left out; a row that errored on either side is
left out of both.

:func:`compare` measures one gate: the metric's per-case sums on both sides and the one-sided
margin test of ``H0: degradation <= allowance`` (:func:`brittle.stats.margin.margin_test`: the
t test on the case-clustered ratio linearization, or the exact one-sided McNemar test on
one 0/1 unit per case). :func:`decide` turns it into a verdict at the gate's Holm
level (:func:`brittle.stats.significance.holm_steps`, over every relative gate of the family):

- **failed** when the test rejects ``H0`` at that level, equivalently when the one-sided lower
  bound on the degradation at that level is above the allowance;
- **inconclusive** when the estimate is above the allowance but the bound is not (a pass with a
  warning, or a failure with ``inconclusive: fail``), with the cases that would settle it;
- **passed** otherwise.

The bound printed beside a verdict is the one the decision used, at its level; the plain 95%
interval of the delta is printed too, labelled "95% CI". Every p-value is one-sided, in the
direction of degradation.

pdr (``1 - V / A``, two ratios)
    Linearized: each case contributes the pseudo-value ``pdr + u_i`` with
    ``u_i = -u_i(V) / A + V u_i(A) / A^2`` (``u(R)`` the ratio influences of
    :func:`brittle.stats.margin.ratio_influence`), so pdr is the mean of one unit per case and
    the margin test applies unchanged (the delta method, cases as clusters).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from brittle import _format
from brittle.stats.changes import CaseChanges, paired_mask
from brittle.stats.gates import Gate, Verdict
from brittle.stats.margin import FEW_CASES, MarginTest, margin_test, ratio_influence
from brittle.stats.metrics import CASE_SUM_COLUMNS, METRIC_SUMS
from brittle.stats.power import GatePower, cases_needed, gate_power, paired_sd_from_baseline
from brittle.stats.probshift import EXPECTED_PROB
from brittle.stats.results import case_sums
from brittle.stats.significance import HolmStep

if TYPE_CHECKING:
    import pandas as pd

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
    kept = ["case_id", "row_id", "family", "passed", "answer", "error"]
    run = table.loc[present, [*kept, *([EXPECTED_PROB] if EXPECTED_PROB in table else [])]]
    run = run.reset_index(drop=True)
    passed: list[Any] = [entry[0] for entry in stored]
    base_errors = np.array([value is None for value in passed], dtype=bool)
    fractional = any(isinstance(v, float) for v in passed)  # the ``mean`` reduction
    base = run[["case_id", "row_id", "family"]].assign(
        passed=np.array(passed, dtype=float if fractional else object),
        answer=np.array([e[1] if len(e) > 1 else None for e in stored], dtype=object),
        error=_errors(base_errors),
        # the expected label's probability, stored fourth (stats/probshift.py); else unknown
        **{EXPECTED_PROB: np.array([e[3] if len(e) > 3 else None for e in stored], dtype=object)},
    )
    if not own_errors:
        marker = _errors(run["error"].notna().to_numpy() | base_errors)
        run = run.assign(error=marker)
        base = base.assign(error=marker)
    return run, base


def _errors(mask: np.ndarray) -> np.ndarray:
    return np.array([_BOTH_ERRORED if flag else None for flag in mask], dtype=object)


def _direction(gate: Gate) -> str:
    return "drop" if gate.op == "max_drop" else "rise"


@dataclass(frozen=True)
class Comparison:
    """One relative gate's paired data and test, before the multiple-testing correction.

    ``sums`` are the per-case numerators and denominators of the gate's metric in the run and the
    baseline, on the cases both scored (for ``pdr``, linearized pseudo-values with one unit per
    case, see the module docs); ``test`` is the margin test at the family's ``alpha``: its
    p-value is the same at any level, its bound is re-computed at the gate's Holm level by
    :meth:`at`.
    """

    gate: Gate
    sums: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    test: MarginTest
    units: float  # mean units per case
    binary: bool  # one 0/1 outcome per unit: the baseline alone can predict the SD

    @property
    def p_value(self) -> float:
        return self.test.p_value

    def at(self, level: float) -> MarginTest:
        """The same test, its bound at one-sided ``level``."""
        return margin_test(
            *self.sums,
            allowance=self.gate.value,
            direction=_direction(self.gate),
            level=level,
        )

    def sd_paired(self, degradation: float) -> float:
        """The SD of per-case paired differences to plan with (:mod:`.power`): the observed
        one, or the baseline's prediction at ``degradation`` when larger."""
        observed = self.test.sd_paired
        values = [observed] if math.isfinite(observed) else []
        if self.binary:
            predicted = paired_sd_from_baseline(
                self.sums[2],
                self.sums[3],
                direction=_direction(self.gate),
                degradation=degradation,
            )
            if math.isfinite(predicted):
                values.append(predicted)
        return max(values, default=math.nan)

    def power(self, level: float) -> GatePower | None:
        """The gate's power at ``level`` against its allowance (None: fewer than two cases)."""
        if self.test.cases < 2 or not math.isfinite(self.sd_paired(self.gate.value)):
            return None
        before = self.test.baseline
        largest = before if _direction(self.gate) == "drop" else 1.0 - before
        return gate_power(
            direction=_direction(self.gate),
            allowance=self.gate.value,
            cases=self.test.cases,
            units=self.units,
            level=level,
            sd_paired=self.sd_paired,
            largest=largest,
            mcnemar=self.test.discordant is not None,
        )


def _pdr_sums(sums: pd.DataFrame, active: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``pdr = 1 - V / A`` as pseudo-values ``pdr + u_i`` on one unit per case, where
    ``u_i = -u_i(V) / A + V u_i(A) / A^2`` linearizes it through the ratio influences of the
    accuracy ``A`` and the variant accuracy ``V``: their sum over cases is ``n pdr``, their
    deviations the case's influence, so the margin test sees pdr as a mean over cases."""
    column = {name: sums[name].to_numpy(dtype=float) for name in CASE_SUM_COLUMNS}
    accuracy, u_acc, _ = ratio_influence(column["orig_pass"], column["orig_ok"], active)
    variant, u_var, _ = ratio_influence(column["var_pass"], column["var_ok"], active)
    a, v = float(accuracy), float(variant)
    if not (math.isfinite(a) and math.isfinite(v)) or a <= 0:
        return None
    influence = -u_var / a + v * u_acc / (a * a)
    return np.where(active, 1.0 - v / a + influence, 0.0), active.astype(float)


def compare(
    gate: Gate, table: pd.DataFrame, outcomes: Mapping[str, Any], *, alpha: float = 0.05
) -> Comparison | None:
    """The paired comparison behind a relative gate: the run's results ``table`` against the
    baseline's stored ``outcomes`` (``{row_id: [passed, answer, ...]}``), on the rows both have.

    The one paired test of brittle: the gates decide with it, and ``brittle compare`` calls it
    on two runs' outcomes. None when the metric is undefined on one side.
    """
    run_table, base_table = paired_tables(table, outcomes, own_errors=gate.metric == "error_rate")
    if run_table.empty:
        return None
    run, base = case_sums(run_table, gate.family), case_sums(base_table, gate.family)
    if gate.metric == "pdr":
        active = ((run["orig_ok"] + run["var_ok"]) > 0).to_numpy()
        run_pdr, base_pdr = _pdr_sums(run, active), _pdr_sums(base, active)
        if run_pdr is None or base_pdr is None:
            return None
        sums = (*run_pdr, *base_pdr)
        units = float(run["var_ok"][active].mean()) if active.any() else 0.0
    else:
        numerator, denominator = METRIC_SUMS[gate.metric]
        sums = (
            run[numerator].to_numpy(dtype=float),
            run[denominator].to_numpy(dtype=float),
            base[numerator].to_numpy(dtype=float),
            base[denominator].to_numpy(dtype=float),
        )
        scored = sums[1] > 0
        units = float(sums[1][scored].mean()) if scored.any() else 0.0
    run_num, run_den, base_num, base_den = sums
    test = margin_test(
        run_num, run_den, base_num, base_den,
        allowance=gate.value, direction=_direction(gate), level=alpha,
    )  # fmt: skip
    if math.isnan(test.p_value):
        return None
    whole = all(np.array_equal(x, np.round(x)) for x in sums)
    return Comparison(
        gate=gate,
        sums=(run_num, run_den, base_num, base_den),
        test=test,
        units=units,
        binary=gate.metric != "pdr" and whole,
    )


def _confidence(level: float) -> str:
    """``97.5%`` for a one-sided level of 0.025."""
    return f"{(1 - level) * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _bound(test: MarginTest, word: str) -> str:
    if not math.isfinite(test.bound):
        return f"no bound on the {word} ({test.cases} case(s))"
    return f"{word} >= {round(test.bound, 4) + 0.0:.4f}"  # + 0.0: no "-0.0000"


def _cases_to_settle(test: MarginTest) -> int | None:
    """Cases on which the observed degradation, if true, would fail the gate 80% of the time."""
    if not (test.exceeds and math.isfinite(test.sd_paired)):
        return None
    return cases_needed(
        test.degradation, allowance=test.allowance, sd_paired=test.sd_paired, level=test.level
    )


def decide(
    comparison: Comparison,
    step: HolmStep,
    *,
    alpha: float,
    fail_inconclusive: bool = False,
    changes: CaseChanges | None = None,
    family: str = "this eval",
    power: GatePower | None = None,
) -> Verdict:
    """The gate's verdict at its Holm step (:func:`brittle.stats.significance.holm_steps`).

    Failed when the margin test rejects ``degradation <= allowance`` at the step's level (its
    one-sided bound is above the allowance); inconclusive when the estimate is above the
    allowance but the bound is not (a failure only with ``fail_inconclusive``); else passed.
    ``family`` names the Holm family in the message; ``power`` (:meth:`Comparison.power`) goes
    to the details, for the eval's "underpowered" note.
    """
    gate = comparison.gate
    test = comparison.at(step.level)
    rejected = step.rejected
    inconclusive = not rejected and test.exceeds
    word = _direction(gate)
    low, high = test.ci95
    where = ", ".join(filter(None, ["one-sided", step.describe()]))
    needed = _cases_to_settle(test) if inconclusive else None
    settle = (
        f"; about {needed} cases would settle it" if needed is not None else "; more cases would"
    )
    if rejected:
        outcome = "larger than allowed"
    elif inconclusive and fail_inconclusive:
        outcome = "inconclusive, failed as the eval sets 'inconclusive: fail'" + settle
    elif inconclusive:
        outcome = "inconclusive: above the allowance, but not shown to be, so not failed" + settle
    else:
        outcome = "within the allowance"
    p_text = "one-sided " + _format.p_value(test.p_value)
    head = (
        f"baseline {test.baseline:.4f}, now {test.run:.4f}, delta {test.delta:+.4f} "
        f"(95% CI {low:+.4f} to {high:+.4f}), allowed a {word} of at most {gate.value:g}; "
        f"{_bound(test, word)} at {_confidence(step.level)} ({where}): {outcome} ({p_text})"
    )
    units = f" ({comparison.units:.3g} units a case)" if comparison.units > 1 + 1e-9 else ""
    how = f"  {test.method}{units}, on the rows scored in both runs"
    if step.size > 1:
        how += (
            f"; p Holm-adjusted over the {step.size} relative gates of {family}: "
            f"{_format.p_value(step.p_adjusted)} against alpha {alpha:g}"
        )
    lines = [head, how]
    if test.few_cases:
        lines.append(
            f"  few cases ({test.cases} < {FEW_CASES}): the bound and p-value are approximate"
        )
    if changes is not None:
        lines += [f"  {line}" for line in changes.lines(gate.family)]
    status = "failed" if rejected else "inconclusive" if inconclusive else "passed"
    details: dict[str, Any] = {
        "status": status,
        "delta": test.delta,
        "degradation": test.degradation,
        "allowance": gate.value,
        "direction": word,
        "ci": list(test.ci95),
        "bound": test.bound,
        "level": step.level,
        "confidence": 1 - step.level,
        "p_value": test.p_value,
        "p_adjusted": step.p_adjusted,
        "alpha": alpha,
        "family_size": step.size,
        "holm_step": step.step,
        "test": test.method,
        "cases": test.cases,
        "units_per_case": comparison.units,
        "few_cases": test.few_cases,
        "sd_paired": test.sd_paired,
        "exceeds_allowance": test.exceeds,
        "significant": rejected,
        "inconclusive": inconclusive,
        "cases_needed": needed,
    }
    if test.discordant is not None:
        details["discordant"] = {"worse": test.discordant[0], "better": test.discordant[1]}
    if power is not None:
        details["power"] = power.to_dict()
    if changes is not None:  # the variants of the gate's scope: paired, changed, added, removed
        details["variants"] = changes.scope(gate.family)
    if changes is not None:  # the variants of the gate's scope: paired, changed, added, removed
        details["variants"] = changes.scope(gate.family)
    return Verdict(
        gate,
        not (rejected or (inconclusive and fail_inconclusive)),
        "\n".join(lines),
        now=test.run,
        baseline=test.baseline,
        details=details,
        inconclusive=inconclusive,
    )


__all__ = ["Comparison", "compare", "decide", "paired_tables"]
