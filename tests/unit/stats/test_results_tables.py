"""The measuring functions read any results table the same way: a pandas DataFrame (what users
and the baseline comparisons hold), a dict of lists (what a run measures, without pandas) and a
merge's compact columns; metrics, flips, case sums and intervals come out identical."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brittle.report.merge_rows import Coded
from brittle.stats.breakdown import by_label, by_tag, confusion
from brittle.stats.results import add_intervals, case_sums, compute_metrics, find_flips
from tests.unit.stats.test_results import GRID, orig, table, var


def _lists(frame: pd.DataFrame) -> dict[str, list[Any]]:
    return {name: frame[name].tolist() for name in frame.columns}


def _coded(frame: pd.DataFrame) -> dict[str, Any]:
    """Each column as the merge holds it: codes into its distinct values."""
    out: dict[str, Any] = {}
    for name in frame.columns:
        values = frame[name].tolist()
        distinct = list(dict.fromkeys(values))[::-1]  # not in order of appearance
        out[name] = Coded(np.array([distinct.index(v) for v in values]), distinct)
    return out


def _measured(any_table: Any) -> dict[str, Any]:
    metrics = compute_metrics(any_table)
    add_intervals(metrics, any_table, resamples=300)
    return metrics


def _shares() -> pd.DataFrame:
    """Pass shares (the ``mean`` reduction of repeats), one original without a variant."""
    frame = table(
        [
            orig("c1", True, "a"),
            var("c1", "typo#1", True, "a"),
            orig("c2", True, "b"),
            var("c2", "typo#1", True, "c"),
            var("c2", "casing#1", None, None, "TimeoutError"),
            orig("c3", True, "a"),
        ]
    )
    frame["passed"] = [1.0, 1 / 3, 2 / 3, 0.0, float("nan"), 1.0]
    return frame


def test_every_kind_of_table_gives_the_same_numbers() -> None:
    for frame in (GRID, _shares()):
        expected = _measured(frame)
        flips = find_flips(frame)
        sums = case_sums(frame)
        for other in (_lists(frame), _coded(frame)):
            assert _measured(other) == expected
            assert find_flips(other) == flips
            pd.testing.assert_frame_equal(case_sums(other), sums, check_index_type=False)


def test_breakdowns_read_lists_as_frames() -> None:
    frame = GRID.assign(
        expected=["pos", "neg", "neg", "pos", *["pos"] * 16],
        tags=[("easy",) if case in ("c1", "c2") else () for case in GRID["case_id"]],
    )
    lists = _lists(frame)
    assert by_label(lists, ["pos", "neg"]) == by_label(frame, ["pos", "neg"])
    assert confusion(lists, ["pos", "neg"]) == confusion(frame, ["pos", "neg"])
    assert by_tag(lists) == by_tag(frame)
    assert by_tag(lists)["easy"]["cases"] == 2
