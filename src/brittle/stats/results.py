"""Metrics, flips and per-case sums of a results table. Pure functions: no model, no disk.

What each metric means is written in :mod:`brittle.stats.metrics`, with the ``METRICS`` table;
this module computes them: :func:`compute_metrics` for the values, :func:`find_flips` for the
pairs behind the flip rate, :func:`case_sums` for what the statistics resample, swap and pair,
and :func:`add_intervals` for the confidence interval of every metric.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from brittle.stats.bootstrap import (
    RESAMPLES,
    SEED,
    Statistic,
    bca_bounds,
    bootstrap_totals,
    jackknife,
    ratio,
)
from brittle.stats.cluster_interval import clustered_wilson_interval
from brittle.stats.intervals import CONFIDENCE, wilson_interval
from brittle.stats.margin import FEW_CASES
from brittle.stats.metrics import (
    CASE_SUM_COLUMNS,
    CONTINUOUS_METRICS,
    METRIC_SUMS,
    METRICS,
    ORIGINAL,
)
from brittle.stats.probshift import EXPECTED_PROB, prob_shift, shift_sums


def _share(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Flip:
    """A (case, variant) pair whose outcome differs from the original's."""

    case_id: str
    variant_id: str
    family: str
    original_passed: bool
    variant_passed: bool
    original_answer: str | None
    variant_answer: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _pass_values(passed: pd.Series) -> pd.Series:
    """Pass as a number: 1 or 0, or the share of repeats that pass (the ``mean`` reduction)."""
    if pd.api.types.is_float_dtype(passed):
        return passed.fillna(0.0)
    return passed.astype(bool).astype(float)


def _metric_block(originals: pd.DataFrame, variants: pd.DataFrame) -> dict[str, Any]:
    """Metrics for one scope: all variants, or one family's."""
    ok_orig = originals[originals["error"].isna()]
    ok_var = variants[variants["error"].isna()]
    accuracy = _share(float(_pass_values(ok_orig["passed"]).sum()), len(ok_orig))
    variant_accuracy = _share(float(_pass_values(ok_var["passed"]).sum()), len(ok_var))

    kept = ["passed", "answer", *([EXPECTED_PROB] if EXPECTED_PROB in ok_orig.columns else [])]
    base = ok_orig.set_index("case_id")[kept]
    paired = ok_var[["case_id", *kept]].merge(  # only what is paired: a copy per variant
        base, left_on="case_id", right_index=True, how="inner", suffixes=("", "_orig")
    )
    flips = (_pass_values(paired["passed"]) - _pass_values(paired["passed_orig"])).abs()
    agree = paired["answer"].fillna("\0") == paired["answer_orig"].fillna("\0")

    # worst case: the lowest pass (1/0, or pass share) over the original and every variant
    variant_low = _pass_values(ok_var["passed"]).groupby(ok_var["case_id"]).min()
    errored_cases = set(variants.loc[variants["error"].notna(), "case_id"])
    original_pass = _pass_values(ok_orig["passed"]).set_axis(ok_orig["case_id"])
    lowest = original_pass.combine(variant_low.reindex(original_pass.index).fillna(1.0), min).where(
        ~original_pass.index.isin(errored_cases), 0.0
    )
    if accuracy and variant_accuracy is not None:
        pdr: float | None = 1.0 - variant_accuracy / accuracy
    else:
        pdr = None
    total = len(originals) + len(variants)
    errors = int(originals["error"].notna().sum() + variants["error"].notna().sum())
    shift = None
    if EXPECTED_PROB in paired.columns:  # with token log-probabilities (stats/probshift.py)
        shift = prob_shift(paired[f"{EXPECTED_PROB}_orig"].tolist(), paired[EXPECTED_PROB].tolist())
    return {
        "cases": len(originals),
        "variants": len(variants),
        "pairs": len(paired),
        "errors": errors,
        "error_rate": _share(errors, total),
        "accuracy": accuracy,
        "variant_accuracy": variant_accuracy,
        "flip_rate": _share(float(flips.sum()), len(paired)),
        "agreement": _share(int(agree.sum()), len(paired)),
        "pdr": pdr,
        "worst_case_accuracy": _share(float(lowest.sum()), len(ok_orig)),
        "prob_shift": shift,
    }


def compute_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """Metrics of one system: ``{"overall": {...}, "families": {family: {...}}}``."""
    used = ["case_id", "family", "passed", "answer", "error", EXPECTED_PROB]
    table = table[[name for name in used if name in table.columns]]  # what the blocks copy
    originals = table[table["family"] == ORIGINAL]
    variants = table[table["family"] != ORIGINAL]
    result: dict[str, Any] = {"overall": _metric_block(originals, variants), "families": {}}
    for family in sorted(variants["family"].unique()):
        family_rows = variants[variants["family"] == family]
        result["families"][str(family)] = _metric_block(originals, family_rows)
    return result


def find_flips(table: pd.DataFrame) -> list[Flip]:
    """Every (original, variant) pair whose outcome differs, in table order."""
    originals = table[(table["family"] == ORIGINAL) & table["error"].isna()]
    variants = table[(table["family"] != ORIGINAL) & table["error"].isna()]
    base = originals.set_index("case_id")[["passed", "answer"]]
    paired = variants[["case_id", "row_id", "family", "passed", "answer"]].merge(
        base, left_on="case_id", right_index=True, how="inner", suffixes=("", "_orig")
    )
    flipped = paired[_pass_values(paired["passed"]) != _pass_values(paired["passed_orig"])]
    return [
        Flip(
            case_id=str(row.case_id),
            variant_id=str(row.row_id),
            family=str(row.family),
            original_passed=bool(row.passed_orig),
            variant_passed=bool(row.passed),
            original_answer=_text_or_none(row.answer_orig),
            variant_answer=_text_or_none(row.answer),
        )
        for row in flipped.itertuples(index=False)
    ]


def _text_or_none(value: Any) -> str | None:
    return None if value is None or bool(pd.isna(value)) else str(value)


def case_sums(table: pd.DataFrame, family: str | None = None) -> pd.DataFrame:
    """One row per case (in table order) of :data:`CASE_SUM_COLUMNS`, for one scope.

    Summing a column over cases and dividing gives the metric of :func:`compute_metrics`
    (``family=None``: all variants; else that family's variants).
    """
    codes, cases = pd.factorize(table["case_id"], sort=False)
    n = len(cases)
    # masks and codes, not object arrays: no Python object per row (a string column's values
    # would each become one)
    families = table["family"]
    original = (families == ORIGINAL).to_numpy(dtype=bool)
    variant = ~original if family is None else (families == family).to_numpy(dtype=bool)
    ok = table["error"].isna().to_numpy()
    passed = _pass_values(table["passed"]).to_numpy(dtype=float)
    answers = pd.factorize(table["answer"].fillna("\0"), sort=False)[0]  # equal answers: codes

    def total(mask: Any, weights: Any = None) -> Any:
        w = None if weights is None else weights[mask] if len(weights) == len(mask) else weights
        return np.bincount(codes[mask], weights=w, minlength=n).astype(float)

    ok_orig, ok_var = original & ok, variant & ok
    orig_row = np.full(n, -1)
    orig_row[codes[ok_orig]] = np.flatnonzero(ok_orig)
    paired = ok_var & (orig_row[codes] >= 0)
    partner = orig_row[codes[paired]]
    flips = np.abs(passed[paired] - passed[partner])
    agrees = (answers[paired] == answers[partner]).astype(float)

    variant_low = np.ones(n)
    np.minimum.at(variant_low, codes[ok_var], passed[ok_var])
    orig_pass = np.zeros(n)
    orig_pass[codes[ok_orig]] = passed[ok_orig]
    errored_variant = total(variant & ~ok) > 0
    has_original = total(ok_orig) > 0
    worst = np.where(has_original & ~errored_variant, np.minimum(orig_pass, variant_low), 0.0)
    scope = original | variant
    probabilities = table[EXPECTED_PROB] if EXPECTED_PROB in table.columns else [None] * len(table)
    shift_pairs, shift_sum = shift_sums(probabilities, codes, paired, partner, n)
    return pd.DataFrame(
        {
            "orig_ok": total(ok_orig),
            "orig_pass": total(ok_orig, passed),
            "var_ok": total(ok_var),
            "var_pass": total(ok_var, passed),
            "pairs": total(paired),
            "flips": total(paired, flips),
            "agrees": total(paired, agrees),
            "worst": worst,
            "rows": total(scope),
            "errors": total(scope & ~ok),
            "shift_pairs": shift_pairs,
            "shift_sum": shift_sum,
        },
        index=pd.Index(cases, name="case_id"),
    )


def metric_statistic(name: str) -> Statistic:
    """The metric as a function of case-sum totals (``B x len(CASE_SUM_COLUMNS)`` -> ``B``)."""
    column = CASE_SUM_COLUMNS.index
    if name == "pdr":
        accuracy = ratio(column("orig_pass"), column("orig_ok"))
        variant_accuracy = ratio(column("var_pass"), column("var_ok"))

        def pdr(totals: np.ndarray) -> np.ndarray:
            acc, var = accuracy(totals), variant_accuracy(totals)
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(acc > 0, 1.0 - var / np.where(acc > 0, acc, 1), np.nan)

        return pdr
    numerator, denominator = METRIC_SUMS[name]
    return ratio(column(numerator), column(denominator))


def _is_binary(table: pd.DataFrame) -> bool:
    scored = table.loc[table["error"].isna(), "passed"]
    return not pd.api.types.is_float_dtype(scored) or bool(scored.isin([0.0, 1.0]).all())


def add_intervals(
    metrics: dict[str, Any],
    table: pd.DataFrame,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int | None = None,
) -> None:
    """Add the interval of every metric to every block of :func:`compute_metrics`.

    Each block gets ``ci`` (``{metric: [low, high]}``, None where undefined), ``ci_method``
    (``{metric: how}``), ``ci_cases`` (the fewest cases any of its intervals rests on) and
    ``few_cases`` (``ci_cases`` below :data:`~brittle.stats.margin.FEW_CASES`: the intervals
    are approximate). The cases are the independent units (clusters); ``how`` is

    - ``wilson``: the Wilson interval of a proportion with at most one 0/1 unit per case
      (accuracy, worst-case accuracy; the variant metrics when each case has one variant);
    - ``bca``: the BCa case-level bootstrap (:mod:`brittle.stats.bootstrap`), with the same
      resampled cases for every scope;
    - ``clustered_wilson``: the resamples did not vary (no flip anywhere, say), so resampling
      cannot show the uncertainty: the clustered Wilson interval
      (:func:`~brittle.stats.cluster_interval.clustered_wilson_interval`; ``n`` = cases at 0 or
      1); ``constant``: the same for ``pdr``, which has no Wilson interval: ``[value, value]``.

    Seeded: the same table gives the same intervals.
    """
    scopes: list[tuple[dict[str, Any], pd.DataFrame]] = [(metrics["overall"], case_sums(table))]
    for family, block in metrics["families"].items():
        scopes.append((block, case_sums(table, family)))
    binary = _is_binary(table)
    width = len(CASE_SUM_COLUMNS)
    stacked = np.hstack([sums.to_numpy(dtype=float) for _, sums in scopes])
    totals = bootstrap_totals(stacked, resamples=resamples, seed=SEED if seed is None else seed)
    found: dict[tuple[int, str], tuple[float, float, str, int] | None] = {}
    pending: list[_Pending] = []
    for position, (block, _) in enumerate(scopes):
        sums = stacked[:, position * width : (position + 1) * width]
        resampled = totals[:, position * width : (position + 1) * width]
        for name in METRICS:
            value = block.get(name)
            if value is None or not len(sums):
                found[position, name] = None
                continue
            numerator, denominator = METRIC_SUMS.get(name, ("var_pass", "var_ok"))
            units = sums[:, _COLUMN[denominator]]
            wilson_ok = name != "pdr" and name not in CONTINUOUS_METRICS
            if wilson_ok and (units <= 1).all() and (binary or name == "error_rate"):
                wilson = wilson_interval(
                    float(sums[:, _COLUMN[numerator]].sum()), float(units.sum()), confidence
                )
                cases = int((units > 0).sum())
                found[position, name] = None if wilson is None else (*wilson, "wilson", cases)
                continue
            statistic = metric_statistic(name)
            active = units > 0
            if name == "pdr":
                active = active | (sums[:, _COLUMN["orig_ok"]] > 0)
            pending.append(
                _Pending(
                    position,
                    name,
                    float(value),
                    statistic(resampled),
                    jackknife(sums, statistic, active),
                    sums[:, _COLUMN[numerator]],
                    units,
                )
            )
    # a few metrics at a time: every bound is computed row by row (the same numbers in any
    # batch), and a batch's jackknife arrays are metrics x cases (at 200,000 cases, 25 MB for
    # 16 metrics, and bca_bounds makes five of them)
    for first in range(0, len(pending), _BCA_BATCH):
        batch = pending[first : first + _BCA_BATCH]
        low, high, varied = bca_bounds(
            np.vstack([p.replicates for p in batch]),
            np.array([p.value for p in batch]),
            np.vstack([p.left_out for p in batch]),
            confidence,
        )
        for i, p in enumerate(batch):
            found[p.position, p.name] = p.interval(low[i], high[i], bool(varied[i]), confidence)
    for position, (block, _) in enumerate(scopes):
        mine = {name: found[position, name] for name in METRICS}
        shown = [f for f in mine.values() if f is not None]
        fewest = min((f[3] for f in shown), default=None)
        block["ci"] = {name: None if f is None else [f[0], f[1]] for name, f in mine.items()}
        block["ci_method"] = {name: None if f is None else f[2] for name, f in mine.items()}
        block["ci_cases"] = fewest
        block["few_cases"] = fewest is not None and fewest < FEW_CASES


_COLUMN = {name: i for i, name in enumerate(CASE_SUM_COLUMNS)}
_BCA_BATCH = 4  # metrics whose BCa bounds are computed together


@dataclass(frozen=True, eq=False)
class _Pending:
    """A metric of one scope waiting for its BCa interval (all are computed in one batch)."""

    position: int
    name: str
    value: float
    replicates: np.ndarray
    left_out: np.ndarray
    num: np.ndarray
    den: np.ndarray

    def interval(
        self, low: float, high: float, varied: bool, confidence: float
    ) -> tuple[float, float, str, int] | None:
        cases = int((self.den > 0).sum())
        if varied:
            return float(low), float(high), "bca", cases
        if self.name == "pdr":
            return self.value, self.value, "constant", cases
        wilson = clustered_wilson_interval(self.num, self.den, confidence=confidence)
        if not np.isfinite(wilson.low):
            return None
        return wilson.low, wilson.high, "clustered_wilson", cases


__all__ = [
    "Flip",
    "add_intervals",
    "case_sums",
    "compute_metrics",
    "find_flips",
    "metric_statistic",
]
