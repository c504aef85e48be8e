"""Drive a :class:`~brittle.run.session.BrittleSession` the way the plugin and ``brittle run``
do, for tests that need a run's results or its reports without pytester.

- ``run_eval(spec, gateway=...)`` runs the systems of an eval (all, or ``systems``) through a
  session with no report, no response cache and no progress line, and returns the
  :class:`~brittle.run.engine.EvalRun`; ``gateway`` replaces the one the session would build
  (a stub transport, a recording cache).
- ``finish(session)`` ends a run as the plugin's ``pytest_sessionfinish`` does: baselines
  flushed, then the reports written into the session's report folder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from brittle.gateway import CallResult, Gateway
from brittle.options import Options
from brittle.report.artifacts import write_reports
from brittle.run.engine import EvalRun
from brittle.run.session import BrittleSession
from brittle.spec.eval import EvalSpec


def run_eval(
    spec: EvalSpec,
    *,
    systems: Sequence[str] | None = None,
    gateway: Gateway | None = None,
    on_result: Callable[[CallResult], None] | None = None,
) -> EvalRun:
    """Run the named systems (default: all) of an eval; the run holds their results."""
    session = BrittleSession(Options(report_dir=None, cache="off", progress=False))
    session.on_result = on_result
    state = session.state(spec)
    state.gateway = gateway  # None: the session builds the eval's own
    for system in spec.systems:
        if systems is None or system.name in systems:
            session.run_system(spec, system.name)
    return state.run


def finish(session: BrittleSession) -> list[Path]:
    """Flush the baselines and write the reports, as at the end of a pytest run; returns the
    files written."""
    session.finish()
    report_dir = session.options.report_dir
    if report_dir is not None and session.ran():
        session.written = write_reports(session, report_dir)
    return session.written


__all__ = ["finish", "run_eval"]
