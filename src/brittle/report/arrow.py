"""Arrow arrays made without ``pa.array`` or ``pa.scalar``, which import pandas (when it is
installed) to ask whether a value is a pandas object: a run writes results.parquet and a merge
reads and filters rows without pandas (issue 15: 70 MB of a run's peak, 40 MB of a merge's).
One set of builders for both (:mod:`brittle.report.parquet`, :mod:`brittle.report.merge_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa


def int_array(values: np.ndarray) -> pa.Array:
    """``values`` as an Arrow int64 array sharing their buffer."""
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def bool_array(values: np.ndarray) -> pa.Array:
    """``values`` (numpy bools) as an Arrow bool array, without ``pa.array``."""
    bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def text_scalar(value: str) -> pa.Scalar:
    """``value`` as an Arrow string scalar, without ``pa.scalar``."""
    return text_array([value])[0]


def text_array(values: Sequence[str | None]) -> pa.Array:
    """``values`` (None for null) as an Arrow string array, without ``pa.array``."""
    builder = pa.lib.StringBuilder()
    builder.append_values(list(values))
    return builder.finish()


def arrow_array(values: list[Any], kind: pa.DataType) -> pa.Array:
    """``values`` (Python values, None for null) as an Arrow array of ``kind``, built from
    numpy buffers and Arrow's string builder rather than ``pa.array``: ``pa.array`` imports
    pandas (when it is installed) to ask whether a list is a pandas object, and a run writes
    its parquet file without pandas (issue 15: 70 MB of a run's peak). What these builders do
    not take (a value of another type) goes through ``pa.array`` as before."""
    try:
        return _built(values, kind)
    except (TypeError, ValueError, OverflowError):
        return pa.array(values, type=kind)


def _built(values: list[Any], kind: pa.DataType) -> pa.Array:
    count = len(values)
    if kind == pa.string():
        for value in values:
            if value is not None and not isinstance(value, str):
                raise TypeError(f"not text: {value!r}")
        return text_array(values)
    if pa.types.is_list(kind):
        lengths = np.fromiter((0 if v is None else len(v) for v in values), np.int32, count)
        offsets = np.concatenate([[0], np.cumsum(lengths, dtype=np.int32)]).astype(np.int32)
        flat = [item for value in values if value is not None for item in value]
        starts = pa.Array.from_buffers(pa.int32(), count + 1, [None, pa.py_buffer(offsets)])
        nulls = [v is None for v in values]
        mask = _built(nulls, pa.bool_()) if any(nulls) else None
        return pa.ListArray.from_arrays(starts, _built(flat, kind.value_type), mask=mask)
    valid = np.fromiter((v is not None for v in values), bool, count)
    known = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    if kind == pa.bool_():
        flags = np.fromiter((v is not None and bool(v) for v in values), bool, count)
        data = bool_array(flags).buffers()[1]
    elif kind == pa.float64():
        data = pa.py_buffer(
            np.fromiter((0.0 if v is None else float(v) for v in values), float, count)
        )
    elif kind == pa.int64():
        data = pa.py_buffer(
            np.fromiter((0 if v is None else _integer(v) for v in values), np.int64, count)
        )
    else:
        raise TypeError(f"no builder for {kind}")
    return pa.Array.from_buffers(kind, count, [known, data], null_count=count - int(valid.sum()))


def _integer(value: Any) -> int:
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"not an integer: {value!r}")
    return int(value)


__all__ = ["arrow_array", "bool_array", "int_array", "text_array", "text_scalar"]
