"""A merge's compact columns (issue 16) read like a run's lists, and the engine's ``measure``
gives the same numbers from them as from the lists."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from brittle.report.merge_rows import Coded, CodedBuilder, Packed
from brittle.run.engine import OUTCOME_COLUMNS
from brittle.run.outcome import _frame_values
from brittle.stats.results import add_intervals, compute_metrics

VALUES = ["b", None, "a", "b", "c", None, "a", "a"]


def _coded(values: list[Any]) -> Coded:
    builder = CodedBuilder()
    for start in range(0, len(values), 3):  # batch by batch, as the merge reads
        builder.add(pa.array(values[start : start + 3]))
    return builder.build()


def _packed(values: list[Any]) -> Packed:
    return Packed(pa.chunked_array([pa.array(values[:3]), pa.array(values[3:])]))


@pytest.mark.parametrize("make", [_coded, _packed])
def test_a_compact_column_reads_like_the_list(make: Any) -> None:
    column = make(VALUES)
    assert len(column) == len(VALUES) and list(column) == VALUES
    assert [column[i] for i in range(len(VALUES))] == VALUES
    assert column[-1] == VALUES[-1] and column[2:6] == VALUES[2:6] and column[::3] == VALUES[::3]
    assert column.index("a") == VALUES.index("a") and column.index("a", 3) == 6
    assert column.index(None) == 1
    with pytest.raises(ValueError):
        column.index("zzz")
    order = np.array([7, 0, 3, 1, 6, 2, 5, 4])
    moved = column.take(order)
    assert list(moved) == [VALUES[i] for i in order]
    assert list(moved.take(np.arange(8)[::-1])) == [VALUES[i] for i in order[::-1]]
    assert moved[1:4] == [VALUES[i] for i in order[1:4]]
    assert moved.index("c") == list(order).index(4)


def test_coded_values_are_shared_objects() -> None:
    column = _coded(VALUES)
    assert len(column.values) == 4 and column.codes.dtype == np.int8
    assert column.mapped({"a": "A"})[2] == "A" and column[2] == "a"


def _outcome(rows: int, seed: int) -> dict[str, list[Any]]:
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {name: [] for name in OUTCOME_COLUMNS}
    for case in range(rows // 3):
        for k, family in enumerate(["", "typo", "casing"]):
            passed = bool(rng.random() < 0.7)
            error = "timeout" if rng.random() < 0.05 else None
            values = {
                "case_id": f"c{case}",
                "row_id": f"c{case}" if not family else f"c{case}[{family}#1]",
                "family": family,
                "passed": None if error else passed,
                "answer": None if error else ("pos" if passed else "neg"),
                "error": error,
                "repeat": 0,
                "text_hash": f"h{case}-{k}",
                "expected_prob": None,
            }
            for name, value in values.items():
                columns[name].append(value)
    return columns


def test_measure_gives_the_same_numbers_from_compact_columns() -> None:
    lists = _outcome(600, 3)
    compact = {
        name: _coded(values)
        if name in ("case_id", "family", "passed", "answer", "error", "repeat")
        else _packed(values)
        for name, values in lists.items()
    }
    frames = [
        pd.DataFrame({name: _frame_values(cols[name]) for name in OUTCOME_COLUMNS})
        for cols in (lists, compact)
    ]
    assert frames[0].dtypes.to_dict() == frames[1].dtypes.to_dict()
    results = []
    for frame in frames:
        metrics = compute_metrics(frame.drop(columns=["repeat"]))
        add_intervals(metrics, frame.drop(columns=["repeat"]))
        results.append(metrics)
    assert results[0] == results[1]
    assert results[0]["overall"]["ci_method"]["flip_rate"] == "bca"


def test_returning_memory_switches_the_pool_only_inside() -> None:
    from brittle.report.merge_rows import returning_memory

    before = pa.default_memory_pool().backend_name
    with pytest.raises(RuntimeError), returning_memory():
        assert pa.default_memory_pool().backend_name == "jemalloc"
        made = pa.array([f"row {i}" for i in range(1000)])
        raise RuntimeError
    assert pa.default_memory_pool().backend_name == before
    assert made[999].as_py() == "row 999"  # made in the other pool: still readable
