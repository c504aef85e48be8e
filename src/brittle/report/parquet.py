"""``reports/<run-id>/results.parquet``: every result row of the run (one per system x case x
variant x repeat), with every text whole but credentials masked.

Besides the engine's result columns (:data:`brittle.run.engine.RESULT_COLUMNS`), each row
carries what analysis needs without the golden set beside it (:data:`EXTRA_COLUMNS`, documented
in docs/reports.md): the case's ``expected`` answer (text; other values as JSON) and ``tags``,
the ``original_answer`` (the answer of the case's original row, same repeat) and ``flipped``
(whether this variant counts as a flip in ``flip_rate``: :func:`brittle.stats.results.find_flips`,
null on original rows and where either side errored). Original rows, which belong to no suite,
have the suite :data:`ORIGINAL_SUITE` (the engine keeps ``""``); their ``family`` stays ``""``.

Rows are streamed chunk by chunk so that a large run never holds a second full copy in memory,
and the file is written under a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brittle.redact import MASK, pattern_source
from brittle.report.arrow import arrow_array, text_scalar
from brittle.run.engine import RESULT_COLUMNS, SystemRun
from brittle.run.session import EvalState
from brittle.stats.metrics import ORIGINAL
from brittle.stats.results import Rows

PARQUET_CHUNK = 20_000
#: the ``suite`` of an original row in results.parquet (it belongs to no suite)
ORIGINAL_SUITE = "(original)"
#: the columns results.parquet adds to the engine's, after them
EXTRA_COLUMNS = ("expected", "tags", "original_answer", "flipped")
_TYPES = {
    "passed": pa.bool_(),
    "score": pa.float64(),
    "latency_s": pa.float64(),
    "prompt_tokens": pa.int64(),
    "completion_tokens": pa.int64(),
    "cost": pa.float64(),
    "expected_prob": pa.float64(),  # null: unknown (stats/probshift.py)
    "repeat": pa.int64(),
    "tags": pa.list_(pa.string()),
    "flipped": pa.bool_(),
}


def parquet_schema() -> pa.Schema:
    """``eval``, the engine's result columns, then :data:`EXTRA_COLUMNS`."""
    names = ("eval", *RESULT_COLUMNS, *EXTRA_COLUMNS)
    return pa.schema([(name, _TYPES.get(name, pa.string())) for name in names])


def write_parquet(path: Path, states: list[EvalState]) -> int:
    """Stream every result row into one parquet file, chunk by chunk (no second full copy)."""
    schema = parquet_schema()
    rows = 0
    secret_pattern = pattern_source()  # credentials are masked in every text column
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # written whole, then renamed
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for state in states:
                for run in state.run.systems.values():
                    extra = _extra_values(state, run)
                    total = len(run)
                    for start in range(0, total, PARQUET_CHUNK):
                        stop = min(total, start + PARQUET_CHUNK)
                        arrays = []
                        for field in schema:
                            values = _values(field.name, state, run, extra, start, stop)
                            array = arrow_array(values, field.type)
                            if field.type == pa.string():
                                array = pc.replace_substring_regex(array, secret_pattern, MASK)
                            arrays.append(array)
                        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                        rows += stop - start
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def copy_parquet(path: Path, sources: list[Path], systems: list[tuple[str, str]]) -> int:
    """Write the rows of the results.parquet files ``sources`` (shards of one run) into one,
    eval by eval and system by system in ``systems``' order, each source in turn; streamed
    batch by batch. Their texts were masked when the shards wrote them."""
    schema = parquet_schema()
    rows = 0
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for eval_name, system in systems:
                for source in sources:
                    batches = pq.ParquetFile(source).iter_batches(
                        batch_size=PARQUET_CHUNK, use_threads=False
                    )  # one thread: arrow's per-thread decoding buffers stay resident
                    for batch in batches:
                        mask = pc.and_(  # scalars not made by pa.scalar: it imports pandas
                            pc.equal(batch.column("eval"), text_scalar(eval_name)),
                            pc.equal(batch.column("system"), text_scalar(system)),
                        )
                        table = pa.Table.from_batches([batch.filter(mask)])
                        if table.num_rows:
                            columns = [_column(table, field) for field in schema]
                            writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                            rows += table.num_rows
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def _column(table: pa.Table, field: pa.Field) -> pa.Array:
    """``table``'s column ``field`` in this schema's type (nulls where an older file lacks it)."""
    if field.name not in table.column_names:
        return pa.nulls(table.num_rows, type=field.type)
    return table.column(field.name).cast(field.type)


def _values(
    name: str,
    state: EvalState,
    run: SystemRun,
    extra: dict[str, Callable[[int], Any]],
    start: int,
    stop: int,
) -> list[Any]:
    """One column's values for rows ``start:stop`` of ``run``."""
    if name == "eval":
        return [state.spec.name] * (stop - start)
    if name in extra:
        return [extra[name](index) for index in range(start, stop)]
    if name == "suite":
        families = run.columns["family"]
        return [
            ORIGINAL_SUITE if families[index] == ORIGINAL else suite
            for index, suite in enumerate(run.columns["suite"][start:stop], start)
        ]
    return run.columns[name][start:stop]


def _extra_values(state: EvalState, run: SystemRun) -> dict[str, Callable[[int], Any]]:
    """Per row index, the value of each of :data:`EXTRA_COLUMNS` (looked up, not copied)."""
    cols = run.columns
    cases = {case.id: case for case in state.spec.cases}
    original: dict[tuple[str, int], Any] = {}  # (case, repeat) -> the original row's answer
    for case_id, repeat, family, answer in zip(
        cols["case_id"], cols["repeat"], cols["family"], cols["answer"], strict=True
    ):
        if family == ORIGINAL:
            original[(case_id, repeat)] = answer
    flipped = _flipped(run)

    def expected(index: int) -> str | None:
        case = cases.get(cols["case_id"][index])
        return _as_text(case.expected) if case is not None else None

    def tags(index: int) -> list[str]:
        case = cases.get(cols["case_id"][index])
        return [str(tag) for tag in case.tags] if case is not None else []

    def original_answer(index: int) -> Any:
        case_id = cols["case_id"][index]
        return original.get((case_id, cols["repeat"][index]), original.get((case_id, 0)))

    def is_flipped(index: int) -> bool | None:
        return flipped.get(cols["row_id"][index])

    return {
        "expected": expected,
        "tags": tags,
        "original_answer": original_answer,
        "flipped": is_flipped,
    }


def _flipped(run: SystemRun) -> dict[str, bool]:
    """Variant row id -> whether it is one of the run's flips, for the variants whose pair
    was measured (neither side errored nor excluded): the pairs ``flip_rate`` counts."""
    if not run.has_outcome:
        return {}
    rows = Rows(run.measured())  # paired as the flip rate pairs them, on numpy
    pairs, _ = rows.paired(~rows.original)
    row_ids = rows.raw("row_id")
    flips = {flip.variant_id for flip in run.flips}
    return {str(row_ids[i]): str(row_ids[i]) in flips for i in pairs.tolist()}


def _as_text(value: Any) -> str | None:
    """An expected answer as text: text as it is, other values as JSON, None as null."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


__all__ = [
    "EXTRA_COLUMNS",
    "ORIGINAL_SUITE",
    "PARQUET_CHUNK",
    "copy_parquet",
    "parquet_schema",
    "write_parquet",
]
