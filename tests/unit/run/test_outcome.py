"""``SystemRun.outcome``: held as measured (lists or numpy columns, no pandas), read as a
pandas DataFrame made on first read and kept, with the dtypes a frame of the run's lists has;
assignment replaces it (``run.outcome = None`` under xdist)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brittle.run.engine import SystemRun
from brittle.run.outcome import outcome_frame


def _run(outcome: Any = None) -> SystemRun:
    columns = {"row_id": ["c1", "c1[typo#1]"]}
    return SystemRun("s", "prompt", "fp", {}, columns, {}, [], 0.0, outcome=outcome)


OUTCOME = {
    "case_id": ["c1", "c1"],
    "row_id": ["c1", "c1[typo#1]"],
    "family": ["", "typo"],
    "passed": [True, False],
    "answer": ["pos", None],
    "error": [None, None],
}


def test_outcome_is_a_frame_made_once_when_read() -> None:
    run = _run(OUTCOME)
    assert run.has_outcome and run.measured() is OUTCOME  # held as measured
    frame = run.outcome
    assert isinstance(frame, pd.DataFrame)
    pd.testing.assert_frame_equal(frame, pd.DataFrame(OUTCOME))
    assert run.outcome is frame  # kept
    run.outcome = None
    assert run.outcome is None and not run.has_outcome
    assert _run().outcome is None


def test_numpy_columns_give_the_dtypes_of_lists() -> None:
    arrays = {name: np.array(values, dtype=object) for name, values in OUTCOME.items()}
    pd.testing.assert_frame_equal(outcome_frame(arrays), pd.DataFrame(OUTCOME))
