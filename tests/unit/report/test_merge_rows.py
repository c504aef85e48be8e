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


def test_a_column_of_nulls_holds_no_buffers_and_reads_as_its_type() -> None:
    batches = [pa.nulls(3, pa.float64()), pa.nulls(2), pa.nulls(4, pa.float64())]
    column = Packed.of(batches)
    assert column.array.type == pa.null() and column.array.nbytes == 0
    assert column.kind == pa.float64()
    assert len(column) == 9 and list(column) == [None] * 9 and column[4] is None
    assert column.index(None) == 0
    with pytest.raises(ValueError):
        column.index(1.5)
    text = Packed.of([pa.nulls(2, pa.string())])  # as a frame: pandas' str dtype, as a list's
    assert text.for_frame().dtype == pd.Series([None, None], dtype="str").dtype
    mixed = Packed.of([pa.nulls(2), pa.array([1.0, None])])
    assert mixed.kind == pa.float64() and list(mixed) == [None, None, 1.0, None]
    assert list(mixed.take(np.array([2, 0]))) == [1.0, None]


def test_without_nulls_the_rows_dropped_and_keeps_the_others() -> None:
    column = _packed(VALUES)
    drop = np.array([True, False, False, True, False, False, False, True])
    kept = column.without(drop)
    assert list(kept) == [None if d else v for v, d in zip(VALUES, drop, strict=True)]
    assert kept.array.chunks[0] is not column.array.chunks[0]  # a batch with a row dropped
    assert list(column.without(np.zeros(8, dtype=bool))) == VALUES
    with pytest.raises(ValueError):
        column.take(np.arange(8)).without(drop)


def test_a_merge_drops_only_the_texts_no_report_shows() -> None:
    from brittle.report.merge import _drop_unshown_originals

    # case a: all passed (answer None on its original); b: a variant failed; c: original erred
    rows = [("a", "", True, None), ("a", "typo", True, "x"), ("b", "", True, "y"),
            ("b", "typo", False, "n"), ("c", "", None, None), ("c", "typo", True, "y"),
            ("d", "", True, "y")]  # fmt: skip
    columns: dict[str, Any] = {
        "case_id": _coded([r[0] for r in rows]),
        "family": _coded([r[1] for r in rows]),
        "passed": _coded([r[2] for r in rows]),
        "answer": _coded([r[3] for r in rows]),
    }
    texts = [f"text {i}" for i in range(len(rows))]
    for name in ("input", "prompt", "output", "checks"):
        columns[name] = _packed(texts)
    _drop_unshown_originals(columns)
    dropped = [None, "text 1", "text 2", "text 3", "text 4", "text 5", None]
    assert list(columns["input"]) == list(columns["prompt"]) == dropped
    assert list(columns["checks"]) == dropped
    # the output stays where the answer is None (the remark on answers that never change)
    assert list(columns["output"]) == ["text 0", *dropped[1:]]


def test_reading_rows_imports_no_pandas() -> None:
    """pa.array, pa.scalar, fill_null and to_numpy of a column with nulls import pandas: 40 MB
    of a 1M-row merge's peak; the merge's reading path makes its Arrow values without them."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
from brittle.report.merge import _shown_rows
from brittle.report.arrow import bool_array, text_array
from brittle.report.merge_rows import CodedBuilder, Packed
batch_columns = {
    "case_id": text_array(["a", "a", "b"]), "family": text_array(["", "typo", ""]),
    "passed": bool_array(np.array([True, False, True])),
}
import pyarrow as pa
batch = pa.RecordBatch.from_arrays(list(batch_columns.values()), names=list(batch_columns))
shown = _shown_rows(batch, set())
builder = CodedBuilder()
builder.add(pa.chunked_array([text_array(["x", "y"])]).chunk(0))
builder.add(pa.nulls(2, pa.string()))
coded = builder.build()
packed = Packed.of([text_array(["p", "q", "r"])]).without(np.array([False, True, False]))
assert list(packed.take(np.array([2, 0, 1]))) == ["r", "p", None]
assert list(coded) == ["x", "y", None, None] and shown.to_pylist() == [True, True, True]
assert "pandas" not in sys.modules, "pandas imported"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
