"""``reports/<run-id>/results.parquet``: every result row of the run (one per system x case x
variant x repeat), with every text whole but credentials masked.

Rows are streamed chunk by chunk so that a large run never holds a second full copy in memory,
and the file is written under a temporary name and renamed, so a reader never sees half of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brittle.redact import MASK, pattern_source
from brittle.run.engine import RESULT_COLUMNS
from brittle.run.session import EvalState

PARQUET_CHUNK = 20_000
_TYPES = {
    "passed": pa.bool_(),
    "score": pa.float64(),
    "latency_s": pa.float64(),
    "prompt_tokens": pa.int64(),
    "completion_tokens": pa.int64(),
    "cost": pa.float64(),
    "repeat": pa.int64(),
}


def write_parquet(path: Path, states: list[EvalState]) -> int:
    """Stream every result row into one parquet file, chunk by chunk (no second full copy)."""
    schema = pa.schema(
        [("eval", pa.string())] + [(name, _TYPES.get(name, pa.string())) for name in RESULT_COLUMNS]
    )
    rows = 0
    secret_pattern = pattern_source()  # credentials are masked in every text column
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # written whole, then renamed
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for state in states:
                for run in state.run.systems.values():
                    total = len(run)
                    for start in range(0, total, PARQUET_CHUNK):
                        stop = min(total, start + PARQUET_CHUNK)
                        arrays = [pa.array([state.spec.name] * (stop - start), pa.string())]
                        for field in list(schema)[1:]:
                            array = pa.array(run.columns[field.name][start:stop], type=field.type)
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


__all__ = ["PARQUET_CHUNK", "write_parquet"]
