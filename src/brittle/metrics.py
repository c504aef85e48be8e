"""Brittleness metrics, computed from a results table. Pure functions: no model, no disk.

The table has one row per (case, variant) of one system, with the columns

- ``case_id``: the golden case; ``row_id``: the case id for the original, the variant id otherwise;
- ``family``: ``""`` for the original, else the perturbation family (``typo``, ``casing``, ...);
- ``passed``: whether every check passed (missing when the call errored);
- ``answer``: the normalised answer the checks extracted; ``error``: the error text or missing.

Definitions (over rows without errors; a variant whose original errored is left out of pairs):

accuracy              share of originals that pass
variant_accuracy      share of variants that pass
flip_rate             share of (original, variant) pairs whose pass/fail outcome differs
agreement             share of (original, variant) pairs whose normalised answers are equal
pdr                   performance drop rate, 1 - variant_accuracy / accuracy
worst_case_accuracy   share of cases that pass on the original and on every one of its variants
error_rate            share of all rows (originals and variants) that errored
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

METRICS: dict[str, str] = {
    "accuracy": "higher",
    "variant_accuracy": "higher",
    "flip_rate": "lower",
    "agreement": "higher",
    "pdr": "lower",
    "worst_case_accuracy": "higher",
    "error_rate": "lower",
}
"""Every metric a gate may name, with the direction in which it is better."""

ORIGINAL = ""


def _share(numerator: int, denominator: int) -> float | None:
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


def _metric_block(originals: pd.DataFrame, variants: pd.DataFrame) -> dict[str, Any]:
    """Metrics for one scope: all variants, or one family's."""
    ok_orig = originals[originals["error"].isna()]
    ok_var = variants[variants["error"].isna()]
    accuracy = _share(int(ok_orig["passed"].astype(bool).sum()), len(ok_orig))
    variant_accuracy = _share(int(ok_var["passed"].astype(bool).sum()), len(ok_var))

    base = ok_orig.set_index("case_id")[["passed", "answer"]]
    paired = ok_var.merge(
        base, left_on="case_id", right_index=True, how="inner", suffixes=("", "_orig")
    )
    flips = paired["passed"].astype(bool) != paired["passed_orig"].astype(bool)
    agree = paired["answer"].fillna("\0") == paired["answer_orig"].fillna("\0")

    failing_cases = set(ok_var.loc[~ok_var["passed"].astype(bool), "case_id"])
    errored_cases = set(variants.loc[variants["error"].notna(), "case_id"])
    worst = ok_orig[
        ok_orig["passed"].astype(bool)
        & ~ok_orig["case_id"].isin(failing_cases)
        & ~ok_orig["case_id"].isin(errored_cases)
    ]
    if accuracy and variant_accuracy is not None:
        pdr: float | None = 1.0 - variant_accuracy / accuracy
    else:
        pdr = None
    total = len(originals) + len(variants)
    errors = int(originals["error"].notna().sum() + variants["error"].notna().sum())
    return {
        "cases": len(originals),
        "variants": len(variants),
        "pairs": len(paired),
        "errors": errors,
        "error_rate": _share(errors, total),
        "accuracy": accuracy,
        "variant_accuracy": variant_accuracy,
        "flip_rate": _share(int(flips.sum()), len(paired)),
        "agreement": _share(int(agree.sum()), len(paired)),
        "pdr": pdr,
        "worst_case_accuracy": _share(len(worst), len(ok_orig)),
    }


def compute_metrics(table: pd.DataFrame) -> dict[str, Any]:
    """Metrics of one system: ``{"overall": {...}, "families": {family: {...}}}``."""
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
    paired = variants.merge(
        base, left_on="case_id", right_index=True, how="inner", suffixes=("", "_orig")
    )
    flipped = paired[paired["passed"].astype(bool) != paired["passed_orig"].astype(bool)]
    return [
        Flip(
            case_id=str(row.case_id),
            variant_id=str(row.row_id),
            family=str(row.family),
            original_passed=bool(row.passed_orig),
            variant_passed=bool(row.passed),
            original_answer=None if pd.isna(row.answer_orig) else str(row.answer_orig),
            variant_answer=None if pd.isna(row.answer) else str(row.answer),
        )
        for row in flipped.itertuples(index=False)
    ]


def metric_value(metrics: dict[str, Any], name: str, family: str | None = None) -> float | None:
    """Look a metric up in the output of :func:`compute_metrics` (None when undefined)."""
    block = metrics["overall"] if family is None else metrics["families"].get(family)
    if block is None:
        return None
    value = block.get(name)
    return None if value is None else float(value)
