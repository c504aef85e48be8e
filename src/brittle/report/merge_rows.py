"""A merged system's rows held compactly: what lets 1,000,000 rows merge in bounded memory.

A whole run holds its rows as Python lists (:class:`brittle.run.engine.SystemRun.columns`); a
merge reads them back from the shards' results.parquet and keeps each column as a read-only
sequence the reports read the same way (``len``, ``column[i]``, slices, iteration, ``index``):

- :class:`Coded`: a column of few distinct values (case ids, families, suites, answers, errors,
  pass/fail, repeats): one small integer code per row into the list of distinct values, each
  value one Python object;
- :class:`Packed`: any other column (row ids, variant hashes, latencies, tokens, the texts of
  the rows a report shows) as one Arrow array, a Python object made only for the rows read.

Rows take about 60 bytes each this way, against about 800 as lists (texts, ids and numbers as
Python objects). They are read and measured in Arrow's jemalloc pool with pages returned as they
are freed (:func:`returning_memory`): Arrow's default pool (mimalloc) kept the memory that
decoding the parquet files had used (1M rows: 941 MB peak against 797 MB).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from brittle.report.arrow import bool_array, int_array

_STEP = 65_536  # rows made into Python objects at a time while a column is iterated


class Coded(Sequence[Any]):
    """A column as codes into its distinct values (``values[codes[i]]``)."""

    __slots__ = ("codes", "values")

    def __init__(self, codes: np.ndarray, values: list[Any]) -> None:
        self.codes = codes
        self.values = values

    @classmethod
    def of(cls, array: pa.Array | pa.ChunkedArray) -> Coded:
        """``array``'s values coded (nulls become None)."""
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks() if array.num_chunks else pa.array([], array.type)
        encoded = pc.dictionary_encode(array)
        values = [*encoded.dictionary.to_pylist(), None]  # the last code: a null
        codes = _filled(encoded.indices, len(values) - 1)
        return cls(codes.astype(_code_type(len(values)), copy=False), values)

    def mapped(self, change: dict[Any, Any]) -> Coded:
        """The column with each distinct value in ``change`` replaced."""
        return Coded(self.codes, [change.get(v, v) if v is not None else v for v in self.values])

    def take(self, order: np.ndarray) -> Coded:
        return Coded(self.codes[order], self.values)

    def __len__(self) -> int:
        return len(self.codes)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            values = self.values
            return [values[code] for code in self.codes[index].tolist()]
        return self.values[self.codes[index]]

    def __iter__(self) -> Iterator[Any]:
        values = self.values
        for start in range(0, len(self.codes), _STEP):
            yield from map(values.__getitem__, self.codes[start : start + _STEP].tolist())

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        codes = [
            i for i, v in enumerate(self.values) if v == value and (v is None) == (value is None)
        ]
        found = np.flatnonzero(np.isin(self.codes[start:stop], codes))
        if not len(found):
            raise ValueError(f"{value!r} is not in the column")
        return start + int(found[0])

    def to_list(self) -> list[Any]:
        return self[:]

    def for_frame(self) -> Any:
        """The values for a pandas frame (:func:`brittle.run.engine.measure`), in the dtype a
        run's list gets: strings decoded in Arrow (pandas' ``str`` dtype, no Python object
        per row), other values as a list of the shared values."""
        known = [v for v in self.values if v is not None]
        if not known or not all(isinstance(v, str) for v in known):
            return self._plain_for_frame()
        dictionary = pa.array(self.values, type=pa.string())
        indices = pa.array(self.codes.astype(np.int32), type=pa.int32())
        strings = pa.DictionaryArray.from_arrays(indices, dictionary).cast(pa.string())
        return strings.to_pandas().array

    def _plain_for_frame(self) -> Any:
        """Values that are not strings as the array a list of them gives pandas (all None:
        object; bools without None: bool; ints without None: int64), without the list."""
        used = [self.values[code] for code in np.unique(self.codes).tolist()]
        if all(v is None for v in used):
            return np.full(len(self.codes), None, dtype=object)
        if all(type(v) is bool for v in used):
            return np.array([v is True for v in self.values], dtype=bool)[self.codes]
        if all(type(v) is int for v in used):
            table = np.array([int(v) if type(v) is int else 0 for v in self.values], np.int64)
            return table[self.codes]
        return self[:]


class CodedBuilder:
    """A :class:`Coded` column built batch by batch: each batch's values coded as they come
    (the batch itself is not kept)."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self.where: dict[Any, int] = {}
        self.codes: list[np.ndarray] = []

    def _code(self, value: Any) -> int:
        code = self.where.get(value)
        if code is None:
            code = self.where[value] = len(self.values)
            self.values.append(value)
        return code

    def add(self, array: pa.Array) -> None:
        encoded = pc.dictionary_encode(array)
        local = [*encoded.dictionary.to_pylist(), None]  # the last: a null
        mapping = np.array([self._code(value) for value in local], dtype=np.int64)
        indices = _filled(encoded.indices, len(local) - 1)
        self.codes.append(mapping[indices].astype(np.int32))

    def build(self) -> Coded:
        codes = np.concatenate(self.codes) if self.codes else np.zeros(0, dtype=np.int32)
        return Coded(codes.astype(_code_type(len(self.values)), copy=False), self.values)


def _blank(chunks: list[Any], drop: np.ndarray) -> None:
    """Make null, in place in ``chunks`` (the batches of one column in the order read), the
    rows where ``drop`` is true: a batch with such rows is replaced by a copy."""
    start = 0
    for i, chunk in enumerate(chunks):
        stop = start + len(chunk)
        part = drop[start:stop]
        if part.any():
            chunks[i] = pc.if_else(bool_array(part), pa.nulls(len(chunk), chunk.type), chunk)
        start = stop


class Packed(Sequence[Any]):
    """A column as Arrow arrays (the batches read, never concatenated: no second copy), in
    the row order ``order`` gives (rows are put in order as they are read, not copied);
    ``column[i]`` makes row ``i``'s Python value. ``kind``: the values' Arrow type; a column
    of nulls only is held as Arrow's null array, without buffers (a float column of 1,000,000
    nulls took 8 MB)."""

    __slots__ = ("array", "kind", "order")

    def __init__(
        self, array: pa.ChunkedArray, order: np.ndarray | None = None, kind: Any = None
    ) -> None:
        self.kind = array.type if kind is None else kind
        if array.null_count == len(array) and array.type != pa.null():
            array = pa.chunked_array([pa.nulls(len(array))], type=pa.null())  # no buffers
        self.array = array
        self.order = order

    @classmethod
    def of(cls, arrays: Sequence[pa.Array]) -> Packed:
        """The batches ``arrays`` of one column as one; nulls take the type of the others."""
        kind = next((a.type for a in arrays if a.type != pa.null()), pa.null())
        if all(a.null_count == len(a) for a in arrays):  # not cast: typed nulls take memory
            return cls(pa.chunked_array([pa.nulls(sum(map(len, arrays)))]), kind=kind)
        return cls(pa.chunked_array([a.cast(kind) for a in arrays], type=kind))

    def take(self, order: np.ndarray) -> Packed:
        return Packed(self.array, order if self.order is None else self.order[order], self.kind)

    def without(self, drop: np.ndarray) -> Packed:
        """The column with the rows where ``drop`` is true made null (in the order read): the
        batches with such rows copied, the others shared."""
        if self.order is not None:
            raise ValueError("without() reads the rows as read, before any take()")
        chunks = list(self.array.chunks)
        _blank(chunks, drop)
        return Packed(pa.chunked_array(chunks, type=self.array.type), kind=self.kind)

    @staticmethod
    def replace_without(columns: dict[str, Any], name: str, drop: np.ndarray) -> None:
        """``columns[name] = columns[name].without(drop)``, each old batch released as its
        copy replaces it, so the column is never held twice (57 MB of texts at a merge's
        1,000,000 rows)."""
        column: Packed = columns.pop(name)
        if column.order is not None:
            raise ValueError("without() reads the rows as read, before any take()")
        chunks, kind, array_type = list(column.array.chunks), column.kind, column.array.type
        del column  # the chunks list holds the only references now
        _blank(chunks, drop)
        columns[name] = Packed(pa.chunked_array(chunks, type=array_type), kind=kind)

    def _rows(self, start: int, stop: int) -> pa.ChunkedArray | pa.Array:
        if self.order is None:
            return self.array.slice(start, max(stop - start, 0))
        return self.array.take(int_array(self.order[start:stop]))

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.array))
            part = self._rows(start, stop).to_pylist() if stop > start else []
            return part[::step] if step != 1 else part
        if index < 0:
            index += len(self.array)
        if not 0 <= index < len(self.array):
            raise IndexError("row index out of range")
        row = index if self.order is None else int(self.order[index])
        return self.array[row].as_py()

    def __iter__(self) -> Iterator[Any]:
        for start in range(0, len(self.array), _STEP):
            yield from self._rows(start, start + _STEP).to_pylist()

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        stop = len(self.array) if stop is None else stop
        for first in range(start, stop, _STEP):
            part = self._rows(first, min(first + _STEP, stop))
            if value is None:  # a null: the first row that is one
                found = pc.index(pc.is_null(part), True).as_py()
            elif self.array.type == pa.null():  # nulls only
                break
            else:
                found = pc.index(part, pa.scalar(value, type=self.kind)).as_py()
            if found is not None and found >= 0:
                return first + int(found)
        raise ValueError(f"{value!r} is not in the column")

    def for_frame(self) -> Any:
        """The values for a pandas frame: strings stay in Arrow (pandas' ``str`` dtype, as
        a list of strings gets), other values as a Python list (the dtype a run's list gets)."""
        rows = self._rows(0, len(self.array))
        if pa.types.is_string(self.kind) or pa.types.is_large_string(self.kind):
            return rows.cast(self.kind).to_pandas().array
        if rows.null_count == len(rows):  # all None: what a list of None gives pandas
            return np.full(len(rows), None, dtype=object)
        return rows.to_pylist()


@contextmanager
def returning_memory() -> Iterator[None]:
    """Arrow's default memory pool is jemalloc inside, giving freed pages back at once (its
    decay time 0), and what it was outside; arrays made inside stay valid. Nothing changes
    where pyarrow was built without jemalloc."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # pragma: no cover - pyarrow's wheels come with jemalloc
        yield
        return
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _filled(indices: pa.Array, value: int) -> np.ndarray:
    """A dictionary's int32 indices as numpy, ``value`` where null; read from the buffers
    (``fill_null`` and ``to_numpy`` of an array with nulls import pandas: see above)."""
    start, stop = indices.offset, indices.offset + len(indices)
    data = indices.buffers()[1]
    codes = np.frombuffer(data, dtype=np.int32)[start:stop] if data is not None else None
    if codes is None or not indices.null_count:
        return codes if codes is not None else np.zeros(0, dtype=np.int32)
    bits = np.frombuffer(indices.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, bitorder="little")[start:stop].astype(bool)
    return np.where(valid, codes, np.int32(value))


def _code_type(count: int) -> type[np.signedinteger[Any]]:
    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


__all__ = [
    "Coded",
    "CodedBuilder",
    "Packed",
    "returning_memory",
]
