"""Old home of the history, CI and summary.json helpers, kept only until their importers use
:mod:`brittle.report.history`, :mod:`brittle.report.ci`, :mod:`brittle.report.summary_json` and
:mod:`brittle.report.artifacts`.
"""

from typing import Any

from brittle.report.ci import append_step_summary, gate_properties
from brittle.report.history import history_path, history_setting

__all__ = [
    "append_step_summary",
    "gate_properties",
    "history_path",
    "history_setting",
]


def __getattr__(name: str) -> Any:  # the heavy ones only when asked for, as before the move
    if name == "render_run":
        from brittle.report.artifacts import render_run

        return render_run
    if name in ("SUMMARY_SCHEMA_VERSION", "json_summary"):
        from brittle.report import summary_json

        return getattr(summary_json, name)
    raise AttributeError(name)
