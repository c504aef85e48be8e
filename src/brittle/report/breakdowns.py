"""Per-label and per-tag breakdowns of one system's run, for run.json and every report.

The numbers come from :mod:`brittle.stats.breakdown`; this module adds what the results table
lacks: each case's expected answer (spelled as its label check's choice) and its tags, from the
golden set. ``by_label`` and ``confusion`` are None unless the eval has a label check (the first
one counts); ``by_tag`` is empty when no case has a tag.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from brittle.run.engine import OUTCOME_COLUMNS, SystemRun
from brittle.spec.eval import EvalSpec
from brittle.stats.breakdown import by_label, by_tag, confusion


def _label_check(spec: EvalSpec) -> Any:
    """The eval's first label check (it has ``choices`` and ``label_of``), or None."""
    for check in spec.checks:
        if getattr(check, "name", None) == "label" and hasattr(check, "label_of"):
            return check
    return None


def _column(table: pd.DataFrame, values: list[Any]) -> pd.Series:
    """A column of ``table`` (its own index: an outcome frame need not count from 0)."""
    return pd.Series(values, index=table.index, dtype=object)


def breakdowns(spec: EvalSpec, run: SystemRun) -> dict[str, Any]:
    """``{"by_label": ..., "confusion": ..., "by_tag": ...}`` of ``run`` (docs/reports.md)."""
    table = run.outcome if run.outcome is not None else run.frame(OUTCOME_COLUMNS)
    tags = {case.id: case.tags for case in spec.cases}
    frame = table.assign(tags=_column(table, [tags.get(case, ()) for case in table["case_id"]]))
    out: dict[str, Any] = {"by_label": None, "confusion": None, "by_tag": by_tag(frame)}
    check = _label_check(spec)
    if check is None or not len(frame):
        return out
    expected: dict[str, str | None] = {}
    for case in spec.cases:
        if case.expected is not None:
            expected[case.id] = check.label_of(case.expected) or str(case.expected)
    frame = frame.assign(expected=_column(frame, [expected.get(case) for case in frame["case_id"]]))
    choices = list(check.choices)
    out["by_label"] = by_label(frame, choices)
    out["confusion"] = confusion(frame, choices)
    return out


__all__ = ["breakdowns"]
