"""Metrics, flips and per-case sums of a results table. Pure functions: no model, no disk.

What each metric means is written in :mod:`brittle.stats.metrics`, with the ``METRICS`` table;
this module computes them: :func:`compute_metrics` for the values, :func:`find_flips` for the
pairs behind the flip rate, :func:`case_sums` for what the statistics resample, swap and pair,
and :func:`add_intervals` for the confidence interval of every metric.

A *results table* is any mapping of column name to column (one row per case or variant, after
repeats are reduced): a dict of lists or numpy arrays (what a run measures: no pandas is
imported for it), the compact columns of a merge (:mod:`brittle.report.merge_rows`: their codes
are used as they are), or a pandas DataFrame (what users and the baseline comparisons read).
Every function reads it through :class:`Rows`, on numpy arrays, and pairs a variant with its
case's original by index (no join copies a row).
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

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

if TYPE_CHECKING:
    import pandas as pd

#: what the functions here read: a mapping of column name to column, or a frame (see the module
#: docstring)
Table: TypeAlias = "Mapping[str, Any] | pd.DataFrame"


def _share(numerator: float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True, slots=True)
class Flip:
    """A (case, variant) pair whose outcome differs from the original's (slotted: a run's
    flips are all kept, 170,000 of them in a merge of 1,000,000 rows)."""

    case_id: str
    variant_id: str
    family: str
    original_passed: bool
    variant_passed: bool
    original_answer: str | None
    variant_answer: str | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def column(table: Table, name: str) -> Any:
    """A column to index by position: a frame's as a numpy array, any other as it is."""
    values = table[name]
    to_numpy = getattr(values, "to_numpy", None)
    return to_numpy() if callable(to_numpy) and hasattr(values, "index") else values


def is_frame(table: Any) -> bool:
    """Whether ``table`` is a pandas DataFrame (asked without importing pandas)."""
    return hasattr(table, "columns") and hasattr(table, "index")


def row_count(table: Table) -> int:
    """The rows of a table (``len`` of a frame, of any column of a mapping)."""
    if is_frame(table):  # a frame: len is its rows
        return len(table)
    return len(table["case_id"])


def _coded(values: Any) -> tuple[np.ndarray, list[Any]] | None:
    """A compact column's codes and distinct values (:class:`brittle.report.merge_rows.Coded`)."""
    codes, distinct = getattr(values, "codes", None), getattr(values, "values", None)
    if isinstance(codes, np.ndarray) and isinstance(distinct, list):
        return codes, distinct
    return None


def is_missing(value: Any) -> bool:
    """None, a float NaN or pandas' NA (what a frame holds for a missing value)."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    return type(value).__name__ == "NAType"


def _objects(values: Any) -> np.ndarray:
    """A column as a numpy array (object for anything but numbers and bools)."""
    coded = _coded(values)
    if coded is not None:
        table = np.empty(len(coded[1]), dtype=object)
        table[:] = coded[1]
        return table[coded[0]]
    if isinstance(values, np.ndarray):
        return values
    return np.fromiter(values, dtype=object, count=len(values))


def factorize(values: Any, *, missing: Any = None) -> tuple[np.ndarray, list[Any]]:
    """Codes of a column's values in order of first appearance, and the distinct values
    (missing values, None or NaN, are ``missing``), as ``pandas.factorize(sort=False)`` gives
    them."""
    coded = _coded(values)
    index: dict[Any, int] = {}
    if coded is not None:  # a compact column: its few distinct values renumbered
        codes, distinct = coded
        if not len(codes):
            return np.zeros(0, dtype=np.int64), []
        present, first = np.unique(codes, return_index=True)
        mapping = np.zeros(len(distinct), dtype=np.int64)
        for code in present[np.argsort(first, kind="stable")].tolist():
            value = distinct[code]
            value = missing if is_missing(value) else value
            mapping[code] = index.setdefault(value, len(index))
        return mapping[codes], list(index)
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        values = values.tolist()
    plain = _plain_factorize(values, missing)
    if plain is not None:
        return plain
    found = np.fromiter(
        (index.setdefault(missing if is_missing(v) else v, len(index)) for v in values),
        dtype=np.int64,
        count=len(values),
    )
    return found, list(index)


#: value types whose only missing value is None (no NaN, no pandas NA): a column of these is
#: factorized and masked at C speed, in bulk (:func:`_plain_factorize`, :func:`missing_mask`)
_PLAIN = frozenset({str, int, bool, type(None)})


def _plain_factorize(values: Any, missing: Any) -> tuple[np.ndarray, list[Any]] | None:
    """:func:`factorize` of a column whose distinct values are all of :data:`_PLAIN` types
    (None for any other column): the distinct values found by a dict in one pass, coded once
    each in order of first appearance (None as ``missing``), then every row looked up. Equal
    values (``1`` and ``True`` too) get one code, the first seen, as row by row."""
    try:
        first = dict.fromkeys(values)
    except TypeError:  # an unhashable value: row by row, which says so
        return None
    if not _PLAIN.issuperset(map(type, first)):
        return None
    index: dict[Any, int] = {}
    code_of = {v: index.setdefault(missing if v is None else v, len(index)) for v in first}
    codes = np.fromiter(map(code_of.__getitem__, values), dtype=np.int64, count=len(values))
    return codes, list(index)


def missing_mask(values: Any) -> np.ndarray:
    """Which rows of a column are missing (None or NaN)."""
    coded = _coded(values)
    if coded is not None:
        known = np.array([is_missing(v) for v in coded[1]], dtype=bool)
        return known[coded[0]] if len(coded[1]) else np.zeros(len(coded[0]), dtype=bool)
    if isinstance(values, np.ndarray) and values.dtype.kind == "f":
        return np.isnan(values)
    if isinstance(values, np.ndarray) and values.dtype.kind != "O":
        return np.zeros(len(values), dtype=bool)
    if _PLAIN.issuperset(map(type, values)):  # missing is None: compared in bulk
        return np.fromiter(map(operator.is_, values, repeat(None)), dtype=bool, count=len(values))
    return np.fromiter((is_missing(v) for v in values), dtype=bool, count=len(values))


def pass_values(values: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Pass as a number: 1 or 0, or the share of repeats that pass (the ``mean`` reduction).

    Returns the numbers (a missing share as 0) and, for a column of shares, the shares as they
    are (NaN where missing; None for a column of pass/fail): a column is of shares when all
    its known values are floats, as a frame's float dtype."""
    array = _objects(values)
    if array.dtype.kind == "f":
        return np.where(np.isnan(array), 0.0, array), array
    if array.dtype.kind == "O":
        known = [v for v in array.tolist() if v is not None]
        floats = [isinstance(v, float | np.floating) for v in known]
        if known and all(floats):
            shares = np.array([np.nan if v is None else v for v in array.tolist()], float)
            return np.where(np.isnan(shares), 0.0, shares), shares
    return array.astype(bool).astype(float), None


def take_rows(table: Table, positions: np.ndarray, names: Any = None) -> dict[str, Any]:
    """The rows at ``positions`` (in that order) of ``names`` (default: every column) as
    numpy arrays: a smaller table."""
    names = list(table.keys() if names is None else names)
    return {name: _objects(column(table, name))[positions] for name in names if name in table}


class Rows:
    """A results table's columns as numpy arrays, each made once on first use."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.n = row_count(table)

    def __contains__(self, name: str) -> bool:
        return name in self.table

    def raw(self, name: str) -> Any:
        """The column to index by position (a frame's as a numpy array)."""
        return column(self.table, name)

    @cached_property
    def _cases(self) -> tuple[np.ndarray, list[Any]]:
        return factorize(self.raw("case_id"))

    @property
    def case_codes(self) -> np.ndarray:
        return self._cases[0]

    @property
    def cases(self) -> list[Any]:
        return self._cases[1]

    @cached_property
    def _families(self) -> tuple[np.ndarray, list[Any]]:
        return factorize(self.raw("family"))

    @cached_property
    def original(self) -> np.ndarray:
        return self.family_mask(ORIGINAL)

    def family_mask(self, family: Any) -> np.ndarray:
        codes, values = self._families
        if family not in values:
            return np.zeros(self.n, dtype=bool)
        return codes == values.index(family)

    @cached_property
    def variant_families(self) -> list[str]:
        """The variants' families, sorted."""
        codes, values = self._families
        used = set(np.unique(codes[~self.original]).tolist())
        return sorted(str(values[code]) for code in used)

    @cached_property
    def ok(self) -> np.ndarray:
        return missing_mask(self.raw("error"))

    @cached_property
    def _passes(self) -> tuple[np.ndarray, np.ndarray | None]:
        return pass_values(self.raw("passed"))

    @property
    def passed(self) -> np.ndarray:
        return self._passes[0]

    @property
    def binary(self) -> bool:
        """Every scored row passes or fails (no share of repeats strictly between)."""
        shares = self._passes[1]
        return shares is None or bool(np.isin(shares[self.ok], [0.0, 1.0]).all())

    @cached_property
    def answer_codes(self) -> np.ndarray:
        """Equal answers, equal codes (a missing answer is one answer: ``"\\0"``)."""
        return factorize(self.raw("answer"), missing="\0")[0]

    @cached_property
    def original_row(self) -> np.ndarray:
        """Per case (code), the row of its scored original, -1 when it has none."""
        ok_orig = self.original & self.ok
        rows = np.full(len(self.cases), -1)
        rows[self.case_codes[ok_orig]] = np.flatnonzero(ok_orig)
        return rows

    def paired(self, variants: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The scored rows of ``variants`` whose case has a scored original, and that
        original's row for each (the variant's pair, by index: no join)."""
        partner = self.original_row[self.case_codes]
        rows = np.flatnonzero(variants & self.ok & (partner >= 0))
        return rows, partner[rows]


def _metric_block(rows: Rows, variants: np.ndarray) -> dict[str, Any]:
    """Metrics for one scope: the originals and ``variants`` (all, or one family's)."""
    original, ok, passed = rows.original, rows.ok, rows.passed
    ok_orig, ok_var = original & ok, variants & ok
    orig_count, var_count = int(ok_orig.sum()), int(ok_var.sum())
    accuracy = _share(float(passed[ok_orig].sum()), orig_count)
    variant_accuracy = _share(float(passed[ok_var].sum()), var_count)

    pairs, partners = rows.paired(variants)
    flips = np.abs(passed[pairs] - passed[partners])
    agree = rows.answer_codes[pairs] == rows.answer_codes[partners]

    # worst case: the lowest pass (1/0, or pass share) over the original and every variant
    codes = rows.case_codes
    variant_low = np.ones(len(rows.cases))
    np.minimum.at(variant_low, codes[ok_var], passed[ok_var])
    errored = np.zeros(len(rows.cases), dtype=bool)
    errored[codes[variants & ~ok]] = True
    at = codes[ok_orig]
    lowest = np.where(errored[at], 0.0, np.minimum(passed[ok_orig], variant_low[at]))
    if accuracy and variant_accuracy is not None:
        pdr: float | None = 1.0 - variant_accuracy / accuracy
    else:
        pdr = None
    total = int(original.sum()) + int(variants.sum())
    errors = int((original & ~ok).sum() + (variants & ~ok).sum())
    shift = None
    if EXPECTED_PROB in rows:  # with token log-probabilities (stats/probshift.py)
        probs = rows.raw(EXPECTED_PROB)
        shift = prob_shift([probs[i] for i in partners], [probs[i] for i in pairs])
    return {
        "cases": int(original.sum()),
        "variants": int(variants.sum()),
        "pairs": len(pairs),
        "errors": errors,
        "error_rate": _share(errors, total),
        "accuracy": accuracy,
        "variant_accuracy": variant_accuracy,
        "flip_rate": _share(float(flips.sum()), len(pairs)),
        "agreement": _share(int(agree.sum()), len(pairs)),
        "pdr": pdr,
        "worst_case_accuracy": _share(float(lowest.sum()), orig_count),
        "prob_shift": shift,
    }


def compute_metrics(table: Table | Rows) -> dict[str, Any]:
    """Metrics of one system: ``{"overall": {...}, "families": {family: {...}}}``."""
    rows = table if isinstance(table, Rows) else Rows(table)
    variants = ~rows.original
    result: dict[str, Any] = {"overall": _metric_block(rows, variants), "families": {}}
    for family in rows.variant_families:
        result["families"][family] = _metric_block(rows, variants & rows.family_mask(family))
    return result


def find_flips(table: Table | Rows) -> list[Flip]:
    """Every (original, variant) pair whose outcome differs, in table order."""
    rows = table if isinstance(table, Rows) else Rows(table)
    pairs, partners = rows.paired(~rows.original)
    differ = rows.passed[pairs] != rows.passed[partners]
    passed, answer = rows.raw("passed"), rows.raw("answer")
    case_id, row_id, family = rows.raw("case_id"), rows.raw("row_id"), rows.raw("family")
    return [
        Flip(
            case_id=str(case_id[i]),
            variant_id=str(row_id[i]),
            family=str(family[i]),
            original_passed=bool(passed[o]),
            variant_passed=bool(passed[i]),
            original_answer=_text_or_none(answer[o]),
            variant_answer=_text_or_none(answer[i]),
        )
        for i, o in zip(pairs[differ].tolist(), partners[differ].tolist(), strict=True)
    ]


def _text_or_none(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def case_sum_matrix(rows: Rows, family: str | None = None) -> np.ndarray:
    """One row per case (in order of first appearance: ``rows.cases``) of
    :data:`CASE_SUM_COLUMNS`, for one scope: what :func:`case_sums` holds, as an array."""
    n = len(rows.cases)
    codes = rows.case_codes
    original = rows.original
    variant = ~original if family is None else rows.family_mask(family)
    ok, passed = rows.ok, rows.passed

    def total(mask: Any, weights: Any = None) -> Any:
        w = None if weights is None else weights[mask] if len(weights) == len(mask) else weights
        return np.bincount(codes[mask], weights=w, minlength=n).astype(float)

    ok_orig, ok_var = original & ok, variant & ok
    rows_paired, partner = rows.paired(variant)
    paired = np.zeros(rows.n, dtype=bool)
    paired[rows_paired] = True
    flips = np.abs(passed[paired] - passed[partner])
    agrees = (rows.answer_codes[paired] == rows.answer_codes[partner]).astype(float)

    variant_low = np.ones(n)
    np.minimum.at(variant_low, codes[ok_var], passed[ok_var])
    orig_pass = np.zeros(n)
    orig_pass[codes[ok_orig]] = passed[ok_orig]
    errored_variant = total(variant & ~ok) > 0
    has_original = total(ok_orig) > 0
    worst = np.where(has_original & ~errored_variant, np.minimum(orig_pass, variant_low), 0.0)
    scope = original | variant
    probabilities = rows.raw(EXPECTED_PROB) if EXPECTED_PROB in rows else [None] * rows.n
    shift_pairs, shift_sum = shift_sums(probabilities, codes, paired, partner, n)
    return np.column_stack(
        [
            total(ok_orig),
            total(ok_orig, passed),
            total(ok_var),
            total(ok_var, passed),
            total(paired),
            total(paired, flips),
            total(paired, agrees),
            worst,
            total(scope),
            total(scope & ~ok),
            shift_pairs,
            shift_sum,
        ]
    ).reshape(n, len(CASE_SUM_COLUMNS))


def case_sums(table: Table | Rows, family: str | None = None) -> pd.DataFrame:
    """One row per case (in table order) of :data:`CASE_SUM_COLUMNS`, for one scope.

    Summing a column over cases and dividing gives the metric of :func:`compute_metrics`
    (``family=None``: all variants; else that family's variants).
    """
    import pandas as pd  # heavy: only the paired gates, decision and diff join case sums

    rows = table if isinstance(table, Rows) else Rows(table)
    return pd.DataFrame(
        case_sum_matrix(rows, family),
        columns=list(CASE_SUM_COLUMNS),
        index=pd.Index(rows.cases, name="case_id"),
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


def add_intervals(
    metrics: dict[str, Any],
    table: Table | Rows,
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
    rows = table if isinstance(table, Rows) else Rows(table)
    scopes: list[tuple[dict[str, Any], str | None]] = [(metrics["overall"], None)]
    scopes += [(block, family) for family, block in metrics["families"].items()]
    binary = rows.binary
    width = len(CASE_SUM_COLUMNS)
    # each scope's sums written into its place: no second copy of them (40 MB at 200,000 cases)
    stacked = np.empty((len(rows.cases), width * len(scopes)))
    for position, (_, family) in enumerate(scopes):
        stacked[:, position * width : (position + 1) * width] = case_sum_matrix(rows, family)
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
    "Rows",
    "Table",
    "add_intervals",
    "case_sum_matrix",
    "case_sums",
    "column",
    "compute_metrics",
    "factorize",
    "find_flips",
    "is_missing",
    "metric_statistic",
    "missing_mask",
    "pass_values",
    "row_count",
    "take_rows",
]
