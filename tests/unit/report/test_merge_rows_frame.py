"""A merge's compact columns give pandas the same frame as a run's lists, without the lists."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from brittle.report.merge_rows import CodedBuilder, Packed


def _coded(*batches: list[object]) -> object:
    builder = CodedBuilder()
    for batch in batches:
        builder.add(pa.array(batch))
    return builder.build()


@pytest.mark.parametrize(
    "batches",
    [
        [[False, False], [True, False]],  # bools, no None (None coded before True)
        [[None, None], [None]],  # all None
        [[0, 0], [1, 2]],  # repeats
        [[True, None], [False]],  # bools with None: object, as a list gives
        [[0.5, None], [1.0]],  # a mean reduction's shares
    ],
)
def test_coded_for_frame_matches_the_list(batches: list[list[object]]) -> None:
    column = _coded(*batches)
    rows = [value for batch in batches for value in batch]
    got = pd.Series(column.for_frame())  # type: ignore[attr-defined]
    want = pd.Series(rows)
    assert got.dtype == want.dtype
    pd.testing.assert_series_equal(got, want)


def test_packed_all_null_for_frame_is_a_column_of_none() -> None:
    column = Packed(pa.chunked_array([pa.nulls(3, pa.float64())]))
    got = pd.Series(column.for_frame())
    pd.testing.assert_series_equal(got, pd.Series([None, None, None]))
