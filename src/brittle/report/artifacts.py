"""The files of a run, written whole at the end of ``pytest`` and ``brittle run``.

``reports/<run-id>/`` gets run.json (:mod:`.run_json`), results.parquet (:mod:`.parquet`),
summary.md (:mod:`.markdown`), index.html (:mod:`.html`, with the trends the history
(:mod:`.history`) gives back) and summary.json (:mod:`.summary_json`, which names the history).
They are written into a temporary folder that is renamed into place only when all are written
(:mod:`.folder`); then ``reports/latest`` is pointed at it, then the run is recorded in the
history, and CI gets summary.md (:mod:`.ci`). A run killed on the way leaves the previous
``latest``, no history row, and a temporary folder that the next run removes. A history that
cannot be written is reported only once every file is in place.

This is also where ``brittle report`` draws a recorded run's page again (:func:`render_run`).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle.report.ci import append_step_summary
from brittle.report.folder import clean_stale, point_latest, reached, staging
from brittle.report.history import (
    OUTCOME_COLUMNS,
    TREND_RUNS,
    FlipSet,
    flip_set,
    history_path,
    load_run,
    prepare_run,
    record_run,
    trend,
)
from brittle.report.html.page import ReportData, render_report
from brittle.report.markdown import markdown_summary
from brittle.report.parquet import copy_parquet, write_parquet
from brittle.report.run_json import run_record, write_run_json
from brittle.report.summary_json import write_summary_json
from brittle.run.engine import SystemRun
from brittle.run.session import BrittleSession, EvalState, newly_flipped
from brittle.run.shards import MANIFEST, write_manifest
from brittle.stats.baseline import atomic_write_text
from brittle.stats.results import column, row_count


def flip_sets(state: EvalState) -> list[FlipSet]:
    """Each system's newly flipped variants (all flips when there is no baseline)."""
    out = []
    for name, run in state.run.systems.items():
        base = state.baseline.systems.get(name) if state.baseline else None
        flips = newly_flipped(run, base)
        against = base is not None
        out.append(flip_set(state.spec.name, name, run.columns, flips, against_baseline=against))
    return out


def _outcome_columns(run: SystemRun) -> Mapping[str, Sequence[Any]]:
    """One outcome per row id: the reduced outcomes when the eval repeats calls."""
    if not getattr(run, "has_outcome", False):
        return run.columns
    outcome = run.measured()  # as measured: a frame only when repeats were reduced
    if row_count(outcome) != len(run):
        return {name: list(column(outcome, name)) for name in OUTCOME_COLUMNS if name in outcome}
    return run.columns


def _systems_of(states: list[EvalState]) -> list[tuple[str, str]]:
    """(eval, system) of every system that ran, in the order of the run's results."""
    return [(state.spec.name, name) for state in states for name in state.run.systems]


def _shown(history: Path | None) -> str | None:
    """The history file as the page names it: relative to the working folder when inside it."""
    if history is None:
        return None
    try:
        return str(history.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(history)


def write_reports(session: BrittleSession, report_dir: Path) -> list[Path]:
    """Write every file of this session's run into ``report_dir/<run id>`` (whole or not at
    all), point ``latest`` at it and record the run in the history; raise
    :class:`ConfigError` (after writing) when the history could not take it."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(session.started))
    run_id = getattr(session, "run_id", None) or f"{stamp}-{secrets.token_hex(2)}"
    clean_stale(report_dir)  # what runs killed while writing here left behind
    folder = report_dir / run_id
    states = [s for s in session.evals.values() if s.run.systems]
    record = run_record(session, run_id, states)
    flips = [f for state in states for f in flip_sets(state)]
    setting = getattr(session.options, "history", None)
    history = history_path(setting, report_dir)
    published = prepare_run(history, record)
    files = {
        "html": "index.html",
        "run_json": "run.json",
        "results": "results.parquet",
        "summary_md": "summary.md",
    }
    with staging(report_dir, run_id) as tmp:
        write_run_json(tmp / files["run_json"], record)
        reached("run.json")
        merged_from = getattr(session, "merged_from", None)  # a merge: the shards' rows
        if merged_from is not None:
            copy_parquet(tmp / files["results"], merged_from, _systems_of(states))
        else:
            write_parquet(tmp / files["results"], states)
        reached("results.parquet")
        summary_text = markdown_summary(record) + "\n"
        atomic_write_text(tmp / files["summary_md"], summary_text)
        reached("summary.md")
        page = ReportData(record, flips, published.trends, _shown(published.history))
        atomic_write_text(tmp / files["html"], render_report(page))
        reached("index.html")
        write_summary_json(
            tmp / "summary.json", record, flips=flips, history=published.history, files=files
        )
        reached("summary.json")
        if getattr(session.options, "shard", None) is not None:  # what brittle merge checks
            write_manifest(tmp / MANIFEST, session, states)
    point_latest(report_dir, run_id)
    failure = published.failure
    if published.history is not None:
        results = {
            (state.spec.name, name): _outcome_columns(run)
            for state in states
            for name, run in state.run.systems.items()
        }
        try:
            record_run(
                published.history, record, results=results, flips=flips, folder=folder.resolve()
            )
        except (sqlite3.Error, ConfigError) as exc:
            failure = f"could not record the run in the history {published.history}: {exc}"
    reached("history")
    append_step_summary(summary_text)
    if failure is not None:
        raise ConfigError(
            failure,
            where=str(setting or "--brittle-history"),
            fix="pass another file with --brittle-history PATH, or --brittle-history off",
        )
    names = ("run_json", "results", "summary_md", "html")
    return [folder / files[n] for n in names] + [folder / "summary.json"]


def render_run(history: Path, ref: str, *, out: Path | None = None, last: int = TREND_RUNS) -> Path:
    """Write the HTML report of a run recorded in ``history`` (``brittle report``)."""
    stored = load_run(history, ref)
    run_id = stored.info.run_id
    trends = {
        ev["name"]: trend(history, ev["name"], until=run_id, limit=last)
        for ev in stored.record.get("evals", [])
    }
    if out is None:
        folder = Path(stored.info.folder) if stored.info.folder else None
        if folder is None or not folder.is_dir():
            folder = history.parent / run_id
        out = folder / "index.html"
    data = ReportData(stored.record, stored.flips, trends, _shown(history))
    atomic_write_text(out, render_report(data))
    return out


__all__ = ["render_run", "write_reports"]
