"""Recording a run in the history: its run.json, each system's metrics, verdicts and per-row
outcomes, and the flipped cases (with their texts) that reports show.

Each run is written in one ``BEGIN IMMEDIATE`` transaction, so a reader never sees half a run
and concurrent writers take turns.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle.redact import scrub
from brittle.report.history.queries import trend
from brittle.report.history.records import (
    HEADLINE_COLUMNS,
    MAX_FLIPPED_STORED,
    USAGE_COLUMNS,
    FlippedCase,
    FlipSet,
    TrendPoint,
    headline,
)
from brittle.report.history.store import connect
from brittle.run.evidence import first_rows
from brittle.sanitize import STORED_LIMIT, clip_stored

TREND_RUNS = 30
"""Runs a report's trend plots go back."""
OUTCOME_COLUMNS = ("row_id", "case_id", "family", "passed", "answer")
"""The result columns :func:`record_run` keeps of each row."""
MAX_STORED_TEXT = STORED_LIMIT
"""The history keeps at most this many characters of each answer and of each flipped case's
texts, then the full length and a hash (:func:`brittle.sanitize.clip_stored`): a megabyte
answer stays in results.parquet (and the response cache), not in every run of the history."""


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _verdict_counts(record: Mapping[str, Any]) -> tuple[int, int, int]:
    counts = {"passed": 0, "FAILED": 0, "skipped": 0}
    for ev in record.get("evals", []):
        for system in ev["systems"].values():
            for verdict in system.get("verdicts", []):
                counts[verdict["status"]] = counts.get(verdict["status"], 0) + 1
    return counts["passed"], counts["FAILED"], counts["skipped"]


def _pass_value(passed: Any) -> int | float | None:
    """1 or 0, or the share of repeats that passed; None when the row errored."""
    if passed is None or (isinstance(passed, float) and passed != passed):
        return None
    if isinstance(passed, bool | int):
        return int(passed)
    return float(passed)


def run_status(record: Mapping[str, Any]) -> str:
    """``failed`` when any gate failed, else ``passed``."""
    return "failed" if _verdict_counts(record)[1] else "passed"


def record_run(
    path: Path,
    record: Mapping[str, Any],
    *,
    results: Mapping[tuple[str, str], Mapping[str, Sequence[Any]]] | None = None,
    flips: Iterable[FlipSet] = (),
    folder: Path | None = None,
) -> None:
    """Store one run (``record`` is its run.json) in the history at ``path``.

    ``results`` maps (eval, system) to the result columns (``row_id``, ``case_id``, ``family``,
    ``passed``, ``answer``); ``flips`` holds each system's flipped cases. Recording a run id
    again replaces the earlier entry.
    """
    results = results or {}
    flip_sets = {(f.eval, f.system): f for f in flips}
    passed, failed, skipped = _verdict_counts(record)
    prepared = []
    for ev in record.get("evals", []):
        for name, system in ev["systems"].items():
            key = (ev["name"], name)
            columns = results.get(key)
            rows: Iterable[tuple[Any, ...]] = (
                zip(  # streamed into the table: a list of 1,000,000 tuples took 150 MB
                    columns["row_id"],
                    columns["case_id"],
                    columns["family"],
                    map(_pass_value, columns["passed"]),
                    map(_stored, columns["answer"]),
                    strict=True,
                )
                if columns is not None
                else ()
            )
            prepared.append((ev["name"], name, system, rows, flip_sets.get(key)))
    with connect(path, create=True) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DELETE FROM runs WHERE run_id = ?", (record["run_id"],))
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record["run_id"],
                    record.get("created") or "",
                    record.get("finished"),
                    record.get("git_commit"),
                    record.get("git_branch"),
                    record.get("brittle_version"),
                    "failed" if failed else "passed",
                    passed,
                    failed,
                    skipped,
                    str(folder) if folder is not None else None,
                    json.dumps(record, default=str),
                ),
            )
            for eval_name, name, system, rows, flip_set in prepared:
                _insert_system(conn, record["run_id"], eval_name, name, system, rows, flip_set)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _insert_system(
    conn: sqlite3.Connection,
    run_id: str,
    eval_name: str,
    name: str,
    system: Mapping[str, Any],
    rows: Iterable[tuple[Any, ...]],
    flip_set: FlipSet | None,
) -> None:
    metrics = system["metrics"]
    overall = metrics["overall"]
    cursor = conn.execute(
        "INSERT INTO system_metrics (run_id, eval, system, kind, fingerprint, rows, "
        + ", ".join(HEADLINE_COLUMNS)
        + ", errors, "
        + ", ".join(USAGE_COLUMNS)
        + ", newly_flipped, against_baseline, metrics) VALUES ("
        + ", ".join("?" * (6 + len(HEADLINE_COLUMNS) + 1 + len(USAGE_COLUMNS) + 3))
        + ")",
        (
            run_id,
            eval_name,
            name,
            system.get("kind"),
            system.get("fingerprint"),
            system.get("rows"),
            *(_num(overall.get(c)) for c in HEADLINE_COLUMNS),
            overall.get("errors"),
            *(overall.get(c) for c in USAGE_COLUMNS),
            flip_set.total if flip_set else None,
            int(bool(flip_set and flip_set.against_baseline)),
            json.dumps(metrics, default=str),
        ),
    )
    sid = cursor.lastrowid
    conn.executemany(
        "INSERT INTO family_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (sid, family, *(_num(block.get(c)) for c in HEADLINE_COLUMNS), block.get("pairs"))
            for family, block in metrics.get("families", {}).items()
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?)",
        [
            (sid, v["gate"], v["status"], _num(v.get("now")), _num(v.get("baseline")), v["message"])
            for v in system.get("verdicts", [])
        ],
    )
    conn.executemany(
        "INSERT OR REPLACE INTO case_results VALUES (?, ?, ?, ?, ?, ?)",
        ((sid, *row) for row in rows),
    )
    if flip_set is not None:
        conn.executemany(
            "INSERT INTO flipped_cases VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    sid,
                    position,
                    c.variant_id,
                    c.case_id,
                    c.family,
                    int(c.original_passed),
                    int(c.variant_passed),
                    c.original_input,
                    c.variant_input,
                    c.original_output,
                    c.variant_output,
                    c.original_answer,
                    c.variant_answer,
                )
                for position, c in enumerate(flip_set.cases[:MAX_FLIPPED_STORED])
            ],
        )


def _stored(text: Any) -> str | None:
    """A text as the history keeps it: clipped, with its length and hash (None stays None)."""
    return None if text is None else clip_stored(str(text), MAX_STORED_TEXT)


def _sort_key(flip: Any) -> tuple[bool, str, str]:
    return (not flip.original_passed, flip.case_id, flip.variant_id)


def flip_set(
    eval_name: str,
    system: str,
    columns: Mapping[str, Sequence[Any]],
    flips: Sequence[Any],
    *,
    against_baseline: bool,
    limit: int = MAX_FLIPPED_STORED,
) -> FlipSet:
    """The worst ``limit`` of ``flips`` (pass to fail first) with their texts from ``columns``
    (a system's result columns)."""
    ordered = sorted(flips, key=_sort_key)[:limit]
    wanted = {row for f in ordered for row in (f.case_id, f.variant_id)}
    position = first_rows(columns["row_id"], wanted)  # only the rows shown
    cols = columns

    def text(row_id: str, column: str) -> str | None:
        i = position.get(row_id)
        value = None if i is None else cols[column][i]
        # outputs were masked at the gateway; inputs come from the golden set and templates
        return None if value is None else _stored(scrub(str(value)))

    cases = tuple(
        FlippedCase(
            case_id=f.case_id,
            variant_id=f.variant_id,
            family=f.family,
            original_passed=bool(f.original_passed),
            variant_passed=bool(f.variant_passed),
            original_input=text(f.case_id, "input"),
            variant_input=text(f.variant_id, "input"),
            original_output=text(f.case_id, "output"),
            variant_output=text(f.variant_id, "output"),
            original_answer=_stored(f.original_answer),
            variant_answer=_stored(f.variant_answer),
        )
        for f in ordered
    )
    return FlipSet(eval_name, system, against_baseline, len(flips), cases)


def _current_trend(record: Mapping[str, Any], eval_name: str) -> list[TrendPoint]:
    for ev in record.get("evals", []):
        if ev["name"] == eval_name:
            return [
                TrendPoint(
                    run_id=str(record.get("run_id")),
                    created=str(record.get("created") or ""),
                    system=name,
                    metrics=headline(system["metrics"]["overall"]),
                )
                for name, system in ev["systems"].items()
            ]
    return []


@dataclass(frozen=True)
class Published:
    """A run as the history will take it: where it is to be recorded and each eval's trend to
    plot (:func:`prepare_run`)."""

    history: Path | None
    """The history file; None when the history is off or cannot be opened."""
    trends: dict[str, list[TrendPoint]]
    """Per eval, its systems' headline metrics over the last :data:`TREND_RUNS` runs (only this
    run's when there is no history)."""
    failure: str | None = None
    """Why the run cannot be recorded, to report once the run's files are all written."""


def prepare_run(history: Path | None, record: Mapping[str, Any]) -> Published:
    """Open ``history`` (None: off; created when missing) and read the trends the run's report
    plots: the runs recorded before it and this one, :data:`TREND_RUNS` runs in all.

    The run itself is recorded later, by :func:`record_run`, once its report folder is whole
    (:mod:`brittle.report.artifacts`): the history never names a folder that is not complete.
    ``record`` is its run.json.
    """
    failure: str | None = None
    trends: dict[str, list[TrendPoint]] = {}
    eval_names = [ev["name"] for ev in record.get("evals", [])]
    run_id = str(record["run_id"])
    created = str(record.get("created") or "")
    if history is not None:
        try:
            with connect(history, create=True):
                pass
            for name in eval_names:
                earlier = [
                    p
                    for p in trend(history, name, limit=TREND_RUNS)
                    if p.run_id != run_id and p.created <= created
                ]
                keep = list(dict.fromkeys(p.run_id for p in earlier))[-(TREND_RUNS - 1) :]
                trends[name] = [p for p in earlier if p.run_id in keep]
        except (sqlite3.Error, ConfigError) as exc:
            failure = f"could not record the run in the history {history}: {exc}"
            history = None
            trends = {}
    for name in eval_names:
        trends[name] = trends.get(name, []) + _current_trend(record, name)
    return Published(history, trends, failure)
