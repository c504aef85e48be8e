"""A system's outcome table (one row per case or variant after repeats are reduced), as the
engine holds it and as users read it.

:func:`brittle.run.engine.measure` keeps the table as measured: the run's own lists, a merge's
compact columns (:mod:`brittle.report.merge_rows`), or numpy arrays of the rows kept; the
statistics read it on numpy (:class:`brittle.stats.results.Rows`), so a run imports no pandas
(issue 15). :attr:`brittle.run.engine.SystemRun.outcome` is the public view: a pandas DataFrame,
made from the table on first read and kept (paired gates, changes, the decision and ``brittle
compare`` read it), with the dtypes a frame of the run's lists has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from brittle.stats.results import Table, is_frame

if TYPE_CHECKING:
    import pandas as pd


class OutcomeAttribute:
    """:attr:`SystemRun.outcome`: the outcome table as measured (numpy columns, or the run's
    own lists: no pandas for a run) and, on first read, a pandas DataFrame made from it and
    kept (the public view: paired gates, changes, the decision and ``brittle compare`` read
    it). Assigning sets the table (a frame, a mapping of columns, or None)."""

    def __get__(self, run: Any, owner: type | None = None) -> pd.DataFrame | None:
        if run is None:
            return None  # the dataclass's default
        table = run.__dict__.get(OUTCOME_SLOT)
        if table is None or is_frame(table):
            return table
        frame = outcome_frame(table)
        run.__dict__[OUTCOME_SLOT] = frame
        return frame

    def __set__(self, run: Any, table: pd.DataFrame | Table | None) -> None:
        run.__dict__[OUTCOME_SLOT] = table


OUTCOME_SLOT = "_outcome_table"  # where a SystemRun keeps its outcome table


def outcome_frame(table: Table) -> pd.DataFrame:
    """An outcome table as a pandas DataFrame, with the dtypes a frame of the run's lists gets
    (a merge's compact columns through their ``for_frame``, numpy object columns as lists)."""
    import pandas as pd  # heavy: only when someone reads SystemRun.outcome

    if isinstance(table, pd.DataFrame):
        return table
    return pd.DataFrame({name: _frame_values(values) for name, values in table.items()})


def _frame_values(column: Sequence[Any]) -> Any:
    """A column as a frame takes it: a run's list as it is; a merge's compact column
    (:mod:`brittle.report.merge_rows`) through its ``for_frame``, without a Python object per
    row where it can; a numpy object column as a list (so the frame infers its dtype)."""
    convert = getattr(column, "for_frame", None)
    if convert is not None:
        return convert()
    if isinstance(column, np.ndarray) and column.dtype.kind == "O":
        return column.tolist()
    return column


def as_list(values: Any) -> list[Any]:
    to_list = getattr(values, "tolist", None)
    return list(values) if to_list is None else list(to_list())


__all__ = ["OUTCOME_SLOT", "OutcomeAttribute", "as_list", "outcome_frame"]
