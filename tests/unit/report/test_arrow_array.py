"""results.parquet's columns are built without ``pa.array`` (which imports pandas): the same
arrays as ``pa.array`` gives, for every type of the schema, nulls and odd values included."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from brittle.report.arrow import arrow_array

CASES: list[tuple[pa.DataType, list[Any]]] = [
    (pa.string(), ["a", None, "", "é\U0001f600", "x" * 1000]),
    (pa.string(), [None, None]),
    (pa.bool_(), [True, None, False, True]),
    (pa.float64(), [0.5, None, float("nan"), 3, -1e300]),
    (pa.int64(), [1, None, 2**40, -7]),
    (pa.list_(pa.string()), [["a", "b"], [], None, ["c"]]),
    (pa.string(), []),
    (pa.string(), ["a", 3]),  # not text: pa.array's own error, as before
]


def test_arrays_equal_pa_array() -> None:
    for kind, values in CASES:
        try:
            expected = pa.array(values, type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            try:
                arrow_array(values, kind)
            except type(exc):
                continue
            raise AssertionError(f"{values!r} should fail as pa.array does") from None
        built = arrow_array(values, kind)
        assert built.type == kind
        assert built.to_pylist() == expected.to_pylist() or kind == pa.float64()
        assert built.equals(expected) or kind == pa.float64(), (kind, values)
        assert built.null_count == expected.null_count


def test_floats_keep_nan_apart_from_null() -> None:
    built = arrow_array([1.0, float("nan"), None], pa.float64())
    first, nan, null = built.to_pylist()
    assert first == 1.0 and nan != nan and null is None
