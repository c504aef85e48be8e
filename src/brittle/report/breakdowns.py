"""Per-label and per-tag breakdowns of one system's run, for run.json and every report.

The numbers come from :mod:`brittle.stats.breakdown`; this module adds what the results table
lacks: each case's expected answer (spelled as its label check's choice) and its tags, from the
golden set. ``by_label`` and ``confusion`` are None unless the eval has a label check (the first
one counts); ``by_tag`` is empty when no case has a tag.
"""

from __future__ import annotations

from typing import Any

from brittle.run.engine import SystemRun
from brittle.spec.eval import EvalSpec
from brittle.stats.breakdown import by_label, by_tag, confusion
from brittle.stats.results import column, row_count


def _label_check(spec: EvalSpec) -> Any:
    """The eval's first label check (it has ``choices`` and ``label_of``), or None."""
    for check in spec.checks:
        if getattr(check, "name", None) == "label" and hasattr(check, "label_of"):
            return check
    return None


def breakdowns(spec: EvalSpec, run: SystemRun) -> dict[str, Any]:
    """``{"by_label": ..., "confusion": ..., "by_tag": ...}`` of ``run`` (docs/reports.md)."""
    measured = run.measured()  # the outcome as measured: no pandas (stats/results.py)
    table: dict[str, Any] = {str(name): column(measured, str(name)) for name in measured}
    case_ids = table["case_id"]
    tags = {case.id: case.tags for case in spec.cases}
    table["tags"] = [tags.get(case, ()) for case in case_ids]
    out: dict[str, Any] = {"by_label": None, "confusion": None, "by_tag": by_tag(table)}
    check = _label_check(spec)
    if check is None or not row_count(table):
        return out
    expected: dict[str, str | None] = {}
    for case in spec.cases:
        if case.expected is not None:
            expected[case.id] = check.label_of(case.expected) or str(case.expected)
    table["expected"] = [expected.get(case) for case in case_ids]
    choices = list(check.choices)
    out["by_label"] = by_label(table, choices)
    out["confusion"] = confusion(table, choices)
    return out


__all__ = ["breakdowns"]
