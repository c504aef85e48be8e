"""Repeats: reducing ``k`` samples per row, and telling randomness from brittleness."""

from __future__ import annotations

import pandas as pd
import pytest

from brittle.stats.repeats import disagreement, reduce_repeats
from brittle.stats.results import compute_metrics
from tests.unit.stats.simulation import COLUMNS


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
