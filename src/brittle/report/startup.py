"""Checks made when a run starts, before any model call: can its results be kept?

A report folder that is a file or not writable, a corrupt run history, a corrupt response cache:
each would otherwise show only at the end (the reports not written, after every call was paid
for) or inside every row's error. :func:`check_outputs` raises one :class:`ConfigError` naming
the path, what is wrong and the fix; the plugin and ``brittle run`` call it once, when the
session is made. Nothing is created.
"""

from __future__ import annotations

from pathlib import Path

from brittle._errors import ConfigError
from brittle.gateway.cache import unwritable
from brittle.report.history.store import check_history, history_path
from brittle.run.session import BrittleSession


def check_outputs(session: BrittleSession) -> None:
    """Raise :class:`ConfigError` if this run's reports, history or response cache cannot be
    written or read."""
    options = session.options
    report_dir = options.report_dir
    if report_dir is not None:
        problem = unwritable(report_dir)
        if problem is not None:
            raise ConfigError(
                f"cannot write the run reports: {problem}",
                where=report_dir,
                key="--brittle-report-dir",
                fix="choose a writable folder with --brittle-report-dir DIR (brittle run: "
                "--report-dir), or skip the reports with --brittle-no-report",
            )
    history = history_path(options.history, report_dir)
    if history is not None:
        check_history(history)
        problem = None if history.exists() else unwritable(Path(history).parent)
        if problem is not None:
            raise ConfigError(
                f"cannot create the run history: {problem}",
                where=history,
                key="--brittle-history",
                fix="pass a writable file with --brittle-history PATH, or 'off' to keep none",
            )
    cache = session.response_cache()
    if cache is not None:
        cache.check()


__all__ = ["check_outputs"]
