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
declared. Before reducing, :func:`disagreement` measures how often the repeats of one row disagree
(within-variant disagreement: randomness); the flip rate and the disagreement between variants
after reduction measure brittleness.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

REDUCTIONS = ("majority", "mean")


def reduce_repeats(table: pd.DataFrame, reduction: str = "majority") -> pd.DataFrame:
    """One row per ``row_id`` (in first-seen order) from a table with a ``repeat`` column."""
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
    errored = reduced["error"].notna()
    reduced.loc[errored, "answer"] = None
    reduced["error"] = reduced["error"].astype(object).where(errored, None)
    if reduction == "majority":
        reduced.loc[errored, "passed"] = None
    else:
        reduced.loc[errored, "passed"] = float("nan")
    return reduced.reset_index()[list(table.columns.drop("repeat"))]


def disagreement(table: pd.DataFrame, metrics: dict[str, Any]) -> dict[str, Any]:
    """Randomness (within a row's repeats) beside brittleness (between variants, reduced).

    ``within_variant_disagreement``: share of rows (originals and variants) whose repeats gave
    more than one answer; ``within_variant_pass_disagreement``: ... that both passed and failed
    (rows with an errored repeat are left out). ``across_variant_flip_rate`` and
    ``across_variant_disagreement`` (``1 - agreement``) are the reduced metrics.
    """
    ok = table[table["error"].isna()]
    complete = ok.groupby("row_id")["repeat"].size()
    errored = set(table.loc[table["error"].notna(), "row_id"])
    rows = complete[(complete >= 2) & ~complete.index.isin(errored)].index
    scoped = ok[ok["row_id"].isin(rows)]
    answers = scoped.assign(_a=scoped["answer"].fillna("\0")).groupby("row_id")["_a"].nunique()
    passes = scoped.assign(_p=scoped["passed"].astype(bool)).groupby("row_id")["_p"].nunique()
    overall = metrics["overall"]
    agreement = overall.get("agreement")
    return {
        "rows": len(rows),
        "within_variant_disagreement": float((answers > 1).mean()) if len(rows) else None,
        "within_variant_pass_disagreement": float((passes > 1).mean()) if len(rows) else None,
        "across_variant_flip_rate": overall.get("flip_rate"),
        "across_variant_disagreement": None if agreement is None else 1.0 - agreement,
    }
