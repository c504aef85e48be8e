"""Repeats: ``k`` samples per (case, variant), reduced to one outcome before metrics and gates.

An eval with ``repeats: k`` calls the system ``k`` times on every original and variant, for
sampling temperatures or nondeterministic providers. Each repeat is a distinct call: its index is
part of the call (``CallRequest.repeat``, which the engine fills in), and any cache in front of a
model must make it part of its key (otherwise ``k`` repeats would be one answer read ``k`` times).

The ``k`` outcomes of a row are reduced with the eval's ``reduction``:

majority   the row's answer is the one most repeats gave (ties: the earliest repeat's); it passes
           if that answer passed.
mean       the same answer, and the row's pass is the share of its repeats that pass (a pass
           probability): accuracy is then the expected accuracy, and a flip counts
           ``|pass share of the variant - pass share of the original|``.

A row with an errored repeat counts as errored: its reduction would rest on fewer samples than
declared. Before reducing, :func:`consistency` measures, on the per-call outcomes, how often two
repeats of the same input disagree (``self_disagreement``: randomness) and how much more often a
variant's draw disagrees with its original's (``excess_flip_rate``: brittleness), each with a
case-clustered interval; :mod:`brittle.stats.consistency` writes the estimators out.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from brittle.stats.consistency import RepeatMeasure, outcome_cube, repeat_measures
from brittle.stats.margin import CONFIDENCE
from brittle.stats.metrics import ORIGINAL, REPEAT_METRICS
from brittle.stats.probshift import EXPECTED_PROB

if TYPE_CHECKING:
    import pandas as pd

REDUCTIONS = ("majority", "mean")


def reduce_repeats(table: pd.DataFrame, reduction: str = "majority") -> pd.DataFrame:
    """One row per ``row_id`` (in first-seen order) from a table with a ``repeat`` column."""
    import pandas as pd  # heavy: only an eval with repeats reduces them

    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; use one of {', '.join(REDUCTIONS)}")
    if "repeat" not in table or table["repeat"].nunique() <= 1:
        return table.drop(columns=["repeat"], errors="ignore").reset_index(drop=True)
    skeleton = table.drop_duplicates("row_id").set_index("row_id")
    first_error = table.loc[table["error"].notna()].groupby("row_id", sort=False)["error"].first()
    ok = table[table["error"].isna()].assign(_answer=lambda f: f["answer"].fillna("\0"))
    counts = (
        ok.groupby(["row_id", "_answer"], sort=False)
        .agg(n=("repeat", "size"), first=("repeat", "min"))
        .reset_index()
        .sort_values(["row_id", "n", "first"], ascending=[True, False, True], kind="stable")
        .drop_duplicates("row_id")
        .set_index("row_id")
    )
    chosen = ok.merge(
        counts[["_answer", "first"]],
        left_on=["row_id", "_answer", "repeat"],
        right_on=["row_id", "_answer", "first"],
    ).set_index("row_id")
    reduced = skeleton.drop(columns=["repeat"]).copy()
    reduced["answer"] = chosen["answer"].reindex(reduced.index)
    if reduction == "majority":
        passed = chosen["passed"].reindex(reduced.index)
        reduced["passed"] = passed.astype(object).where(passed.notna(), None)
    else:
        share = ok.assign(_p=ok["passed"].astype(bool).astype(float)).groupby("row_id")["_p"]
        reduced["passed"] = share.mean().reindex(reduced.index).astype(float)
    reduced["error"] = first_error.reindex(reduced.index)
    if EXPECTED_PROB in ok:  # the mean over the scored repeats (stats/probshift.py)
        probs = pd.to_numeric(ok[EXPECTED_PROB], errors="coerce").groupby(ok["row_id"]).mean()
        reduced[EXPECTED_PROB] = probs.reindex(reduced.index).astype(object)
    errored = reduced["error"].notna()
    reduced.loc[errored, "answer"] = None
    reduced["error"] = reduced["error"].astype(object).where(errored, None)
    if reduction == "majority":
        reduced.loc[errored, "passed"] = None
    else:
        reduced.loc[errored, "passed"] = float("nan")
    return reduced.reset_index()[list(table.columns.drop("repeat"))]


def consistency(
    per_call: pd.DataFrame, metrics: dict[str, Any], *, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Randomness apart from brittleness, from the per-call outcomes (one row per repeat).

    Adds ``self_disagreement`` and ``excess_flip_rate`` (:mod:`brittle.stats.consistency`)
    with their case-clustered intervals (``block["ci"][name]``) to every block of ``metrics``:
    overall, and per family over the originals and that family's variants. Returns the run's
    summary for ``metrics["repeats"]``: both measures, the flip rate between single draws that
    the excess is taken from, the interval of each (``ci``), the cases and units behind them.
    """
    scopes: list[tuple[dict[str, Any], pd.DataFrame]] = [(metrics["overall"], per_call)]
    original = per_call["family"] == ORIGINAL
    for family, block in metrics["families"].items():
        scopes.append((block, per_call[original | (per_call["family"] == family)]))
    summary: dict[str, Any] = {}
    for position, (block, table) in enumerate(scopes):
        measures = repeat_measures(_outcome_cube(table), confidence=confidence)
        intervals = block.setdefault("ci", {})
        for name in REPEAT_METRICS:
            block[name] = _finite(measures[name].estimate)
            intervals[name] = _interval(measures[name])
        if position == 0:
            own, flips, excess = (
                measures[n] for n in ("self_disagreement", "flip_rate", "excess_flip_rate")
            )
            summary = {
                "self_disagreement": block["self_disagreement"],
                "excess_flip_rate": block["excess_flip_rate"],
                "flip_rate_between_draws": _finite(flips.estimate),
                "ci": {
                    "self_disagreement": _interval(own),
                    "excess_flip_rate": _interval(excess),
                    "flip_rate_between_draws": _interval(flips),
                },
                "confidence": confidence,
                "cases": excess.cases,
                "inputs": own.units,  # originals and variants drawn at least twice
                "pairs": excess.units,  # (case, variant) pairs, both drawn at least twice
                "few_cases": excess.few_cases,
            }
    return summary


def _outcome_cube(table: pd.DataFrame) -> np.ndarray:
    """``outcomes[case, input, repeat]`` of pass (1.0) or fail (0.0); NaN for errored draws.

    Input 0 is the case's original, 1.. its variants in table order.
    """
    import pandas as pd  # heavy: only an eval with repeats measures them

    cases, _ = pd.factorize(table["case_id"], sort=False)
    rows = table["row_id"].astype(str)
    variants = table.loc[table["family"] != ORIGINAL, ["case_id", "row_id"]].drop_duplicates()
    number = variants.groupby("case_id", sort=False).cumcount() + 1
    inputs = rows.map(dict(zip(variants["row_id"].astype(str), number, strict=True)))
    passed = pd.to_numeric(table["passed"].astype(object), errors="coerce").astype(float)
    value = passed.where(table["error"].isna().to_numpy())
    return outcome_cube(
        cases,
        inputs.fillna(0).to_numpy(dtype=int),
        table["repeat"].to_numpy(dtype=int),
        value.to_numpy(dtype=float),
    )


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _interval(measure: RepeatMeasure) -> list[float] | None:
    """``[low, high]``, or None when there is none (fewer than two cases, no units)."""
    finite = math.isfinite(measure.low) and math.isfinite(measure.high)
    if measure.cases < 2 or not finite:
        return None
    return [measure.low, measure.high]
