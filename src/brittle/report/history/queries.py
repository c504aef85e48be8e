"""Reading the run history: the list of runs, one run by reference (``latest~2``, an id
prefix), a metric's trend over runs, and one system's per-row outcomes (for ``brittle compare``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle.report.history.records import (
    HEADLINE_COLUMNS,
    CaseOutcome,
    FlippedCase,
    FlipSet,
    RunInfo,
    StoredRun,
    TrendPoint,
)
from brittle.report.history.store import connect

_RUN_COLUMNS = (
    "run_id, created, finished, git_commit, git_branch, brittle_version, status, "
    "gates_passed, gates_failed, gates_skipped, folder"
)


def _systems_of(
    conn: sqlite3.Connection, run_ids: Sequence[str]
) -> dict[str, list[tuple[str, str, float | None, float | None]]]:
    out: dict[str, list[tuple[str, str, float | None, float | None]]] = {r: [] for r in run_ids}
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start : start + 500]
        query = (
            "SELECT run_id, eval, system, accuracy, flip_rate FROM system_metrics "
            f"WHERE run_id IN ({', '.join('?' * len(chunk))}) ORDER BY id"
        )
        for run_id, eval_name, system, accuracy, flip_rate in conn.execute(query, chunk):
            out[run_id].append((eval_name, system, accuracy, flip_rate))
    return out


def _info(row: Sequence[Any], systems: Sequence[tuple[str, str, Any, Any]]) -> RunInfo:
    return RunInfo(
        run_id=row[0],
        created=row[1],
        finished=row[2],
        git_commit=row[3],
        git_branch=row[4],
        brittle_version=row[5],
        status=row[6],
        gates_passed=int(row[7]),
        gates_failed=int(row[8]),
        gates_skipped=int(row[9]),
        folder=row[10],
        systems=tuple(systems),
    )


def list_runs(path: Path, *, limit: int | None = None) -> list[RunInfo]:
    """The runs in the history, newest first."""
    with connect(path) as conn:
        query = f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY created DESC, rowid DESC"
        rows = conn.execute(
            query + (" LIMIT ?" if limit else ""), (limit,) if limit else ()
        ).fetchall()
        systems = _systems_of(conn, [r[0] for r in rows])
    return [_info(row, systems[row[0]]) for row in rows]


def resolve_run(path: Path, ref: str) -> str:
    """A run id from ``ref``: an id, a unique prefix of one, ``latest`` or ``latest~N``."""
    with connect(path) as conn:
        return _resolve(conn, path, ref)


def _resolve(conn: sqlite3.Connection, path: Path, ref: str) -> str:
    hint = "list the runs with `brittle history`"
    if ref == "latest" or ref.startswith("latest~"):
        back = ref.partition("~")[2] or "0"
        if not back.isdigit():
            raise ConfigError(f"bad run reference '{ref}'", where=path, fix="write latest~N")
        row = conn.execute(
            "SELECT run_id FROM runs ORDER BY created DESC, rowid DESC LIMIT 1 OFFSET ?",
            (int(back),),
        ).fetchone()
        if row is None:
            raise ConfigError(f"no run '{ref}' in the history", where=path, fix=hint)
        return str(row[0])
    exact = conn.execute("SELECT run_id FROM runs WHERE run_id = ?", (ref,)).fetchone()
    if exact:
        return str(exact[0])
    matches = [
        r[0]
        for r in conn.execute(
            "SELECT run_id FROM runs WHERE substr(run_id, 1, ?) = ? LIMIT 3", (len(ref), ref)
        )
    ]
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise ConfigError(
            f"run reference '{ref}' is ambiguous ({', '.join(matches)}, ...)",
            where=path,
            fix="give more of the run id",
        )
    raise ConfigError(f"no run '{ref}' in the history", where=path, fix=hint)


def load_run(path: Path, run_id: str) -> StoredRun:
    """One run (``run_id`` may be any reference :func:`resolve_run` accepts)."""
    with connect(path) as conn:
        run_id = _resolve(conn, path, run_id)
        row = conn.execute(
            f"SELECT {_RUN_COLUMNS}, record FROM runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        systems = _systems_of(conn, [run_id])[run_id]
        info = _info(row[:-1], systems)
        record = json.loads(row[-1])
        flips = []
        for sid, eval_name, system, newly, against in conn.execute(
            "SELECT id, eval, system, newly_flipped, against_baseline FROM system_metrics "
            "WHERE run_id = ? ORDER BY id",
            (run_id,),
        ).fetchall():
            if newly is None:
                continue
            cases = tuple(
                FlippedCase(
                    case_id=c[1],
                    variant_id=c[0],
                    family=c[2],
                    original_passed=bool(c[3]),
                    variant_passed=bool(c[4]),
                    original_input=c[5],
                    variant_input=c[6],
                    original_output=c[7],
                    variant_output=c[8],
                    original_answer=c[9],
                    variant_answer=c[10],
                )
                for c in conn.execute(
                    "SELECT variant_id, case_id, family, original_passed, variant_passed, "
                    "original_input, variant_input, original_output, variant_output, "
                    "original_answer, variant_answer FROM flipped_cases WHERE sid = ? "
                    "ORDER BY position",
                    (sid,),
                )
            )
            flips.append(FlipSet(eval_name, system, bool(against), int(newly), cases))
    return StoredRun(info=info, record=record, flips=tuple(flips))


def trend(
    path: Path, eval_name: str, *, until: str | None = None, limit: int = 30
) -> list[TrendPoint]:
    """Headline metrics of ``eval_name``'s systems over its last ``limit`` runs up to ``until``
    (a run id; default the newest), oldest first."""
    with connect(path) as conn:
        bound = ""
        args: list[Any] = [eval_name]
        if until is not None:
            row = conn.execute(
                "SELECT created, rowid FROM runs WHERE run_id = ?", (until,)
            ).fetchone()
            if row is not None:
                bound = " AND (r.created, r.rowid) <= (?, ?)"
                args += [row[0], row[1]]
        run_rows = conn.execute(
            "SELECT DISTINCT r.run_id, r.created, r.rowid FROM runs r "
            "JOIN system_metrics s ON s.run_id = r.run_id WHERE s.eval = ?"
            + bound
            + " ORDER BY r.created DESC, r.rowid DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        run_rows.reverse()
        order = {r[0]: i for i, r in enumerate(run_rows)}
        created = {r[0]: r[1] for r in run_rows}
        points: list[TrendPoint] = []
        ids = list(order)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            query = (
                "SELECT run_id, system, "
                + ", ".join(HEADLINE_COLUMNS)
                + " FROM system_metrics WHERE eval = ? AND run_id IN ("
                + ", ".join("?" * len(chunk))
                + ") ORDER BY id"
            )
            for row in conn.execute(query, [eval_name, *chunk]):
                points.append(
                    TrendPoint(
                        run_id=row[0],
                        created=created[row[0]],
                        system=row[1],
                        metrics=dict(zip(HEADLINE_COLUMNS, row[2:], strict=True)),
                    )
                )
    points.sort(key=lambda p: order[p.run_id])
    return points


def case_outcomes(path: Path, run_id: str, eval_name: str, system: str) -> dict[str, CaseOutcome]:
    """``{row_id: outcome}`` of one system in one run (empty when not recorded)."""
    with connect(path) as conn:
        rows = conn.execute(
            "SELECT c.row_id, c.case_id, c.family, c.passed, c.answer FROM case_results c "
            "JOIN system_metrics s ON s.id = c.sid "
            "WHERE s.run_id = ? AND s.eval = ? AND s.system = ?",
            (run_id, eval_name, system),
        ).fetchall()
    return {
        r[0]: CaseOutcome(r[1], r[2], None if r[3] is None else float(r[3]) >= 0.5, r[4])
        for r in rows
    }
