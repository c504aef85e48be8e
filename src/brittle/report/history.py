"""Run history: every run's summary and per-case outcomes in one SQLite file.

The default file is ``reports/history.sqlite`` (``--brittle-history PATH``, or ``off``). Several
processes may record into it at once (CI shards, a nightly job and a developer): it is opened in
WAL mode with a busy timeout, and each run is written in one ``BEGIN IMMEDIATE`` transaction.

Tables (``PRAGMA user_version`` holds :data:`SCHEMA_VERSION`)::

    runs            one row per run: time, git commit and branch, brittle version, verdict counts,
                    report folder, and run.json itself (spec, fingerprints, metrics, verdicts)
    system_metrics  one row per (run, eval, system): fingerprint, headline metrics as columns,
                    the whole metrics dict (with intervals when the run has them) as JSON
    family_metrics  one row per (run, eval, system, perturbation family)
    verdicts        one row per (run, eval, system, gate)
    case_results    one row per result row: row id, case id, family, passed (1 or 0, the share
                    of repeats that passed when the eval repeats calls; NULL: errored), answer
    flipped_cases   the (newly) flipped variants shown in reports, with original and variant input
                    and output (at most MAX_FLIPPED_STORED per system; all rows stay in
                    results.parquet)

Texts other than flipped cases are not stored: ``runs.folder`` points at results.parquet.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
MAX_FLIPPED_STORED = 200
HEADLINE_COLUMNS = (
    "accuracy",
    "variant_accuracy",
    "flip_rate",
    "agreement",
    "pdr",
    "worst_case_accuracy",
    "error_rate",
)
USAGE_COLUMNS = ("latency_p50_s", "latency_p95_s", "prompt_tokens", "completion_tokens", "cost")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    finished TEXT,
    git_commit TEXT,
    git_branch TEXT,
    brittle_version TEXT,
    status TEXT NOT NULL,
    gates_passed INTEGER NOT NULL,
    gates_failed INTEGER NOT NULL,
    gates_skipped INTEGER NOT NULL,
    folder TEXT,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_time ON runs (created);
CREATE TABLE IF NOT EXISTS system_metrics (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    eval TEXT NOT NULL,
    system TEXT NOT NULL,
    kind TEXT,
    fingerprint TEXT,
    rows INTEGER,
    accuracy REAL,
    variant_accuracy REAL,
    flip_rate REAL,
    agreement REAL,
    pdr REAL,
    worst_case_accuracy REAL,
    error_rate REAL,
    errors INTEGER,
    latency_p50_s REAL,
    latency_p95_s REAL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    newly_flipped INTEGER,
    against_baseline INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    UNIQUE (run_id, eval, system)
);
CREATE INDEX IF NOT EXISTS system_metrics_by_eval ON system_metrics (eval, system);
CREATE TABLE IF NOT EXISTS family_metrics (
    sid INTEGER NOT NULL REFERENCES system_metrics (id) ON DELETE CASCADE,
    family TEXT NOT NULL,
    accuracy REAL,
    variant_accuracy REAL,
    flip_rate REAL,
    agreement REAL,
    pdr REAL,
    worst_case_accuracy REAL,
    error_rate REAL,
    pairs INTEGER,
    PRIMARY KEY (sid, family)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdicts (
    sid INTEGER NOT NULL REFERENCES system_metrics (id) ON DELETE CASCADE,
    gate TEXT NOT NULL,
    status TEXT NOT NULL,
    now REAL,
    baseline REAL,
    message TEXT,
    PRIMARY KEY (sid, gate)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS case_results (
    sid INTEGER NOT NULL REFERENCES system_metrics (id) ON DELETE CASCADE,
    row_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    family TEXT NOT NULL,
    passed INTEGER,
    answer TEXT,
    PRIMARY KEY (sid, row_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS flipped_cases (
    sid INTEGER NOT NULL REFERENCES system_metrics (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    variant_id TEXT NOT NULL,
    case_id TEXT NOT NULL,
    family TEXT NOT NULL,
    original_passed INTEGER NOT NULL,
    variant_passed INTEGER NOT NULL,
    original_input TEXT,
    variant_input TEXT,
    original_output TEXT,
    variant_output TEXT,
    original_answer TEXT,
    variant_answer TEXT,
    PRIMARY KEY (sid, position)
) WITHOUT ROWID;
"""


@dataclass(frozen=True)
class FlippedCase:
    """A variant whose pass/fail outcome differs from its original's, with both texts."""

    case_id: str
    variant_id: str
    family: str
    original_passed: bool
    variant_passed: bool
    original_input: str | None
    variant_input: str | None
    original_output: str | None
    variant_output: str | None
    original_answer: str | None
    variant_answer: str | None


@dataclass(frozen=True)
class FlipSet:
    """One system's (newly) flipped variants: how many, and the first ones with their texts.

    ``against_baseline``: "newly" means not flipped in the committed baseline; without a baseline
    every flip counts. ``total`` counts them all; ``cases`` holds the worst first (pass to fail
    before fail to pass), at most :data:`MAX_FLIPPED_STORED`.
    """

    eval: str
    system: str
    against_baseline: bool
    total: int
    cases: tuple[FlippedCase, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """One row of ``brittle history``."""

    run_id: str
    created: str
    finished: str | None
    git_commit: str | None
    git_branch: str | None
    brittle_version: str | None
    status: str
    gates_passed: int
    gates_failed: int
    gates_skipped: int
    folder: str | None
    systems: tuple[tuple[str, str, float | None, float | None], ...] = ()
    """(eval, system, accuracy, flip_rate) per system of the run."""


@dataclass(frozen=True)
class StoredRun:
    """Everything the history holds about one run, enough to render its report again."""

    info: RunInfo
    record: dict[str, Any]
    flips: tuple[FlipSet, ...] = ()


@dataclass(frozen=True)
class TrendPoint:
    """One system's headline metrics in one run, for trend plots."""

    run_id: str
    created: str
    system: str
    metrics: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseOutcome:
    """One row's outcome in a recorded run (``passed``: at least half the repeats passed)."""

    case_id: str
    family: str
    passed: bool | None
    answer: str | None


def _open(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:  # switching to WAL takes a lock that the busy handler does not always wait for
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


@contextmanager
def connect(path: Path, *, create: bool = False) -> Iterator[sqlite3.Connection]:
    """Open the history at ``path`` (creating its tables when ``create``); close it after."""
    path = Path(path)
    if not create and not path.is_file():
        raise ConfigError(
            "no run history here",
            where=path,
            fix="runs are recorded by `pytest evals/` and `brittle run` (unless "
            "--brittle-history off); pass --history PATH to read another file",
        )
    try:
        conn = _open(path)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"cannot open the run history: {exc}",
            where=path,
            fix="pass another file with --history, or move this one away to start afresh",
        ) from None
    try:
        _ensure_schema(conn, path, create=create)
        yield conn
    finally:
        conn.close()


def _ensure_schema(conn: sqlite3.Connection, path: Path, *, create: bool) -> None:
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"not a brittle run history ({exc})",
            where=path,
            fix="pass another file with --history, or move this one away to start afresh",
        ) from None
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"run history has schema version {version}; this brittle reads up to {SCHEMA_VERSION}",
            where=path,
            fix="upgrade brittle, or record into another file with --brittle-history",
        )
    if version == SCHEMA_VERSION:
        return
    if not create:
        raise ConfigError(
            "not a brittle run history (no schema version)",
            where=path,
            fix="pass the history file that brittle wrote (default reports/history.sqlite)",
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) == 0:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


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
            rows = (
                list(
                    zip(
                        columns["row_id"],
                        columns["case_id"],
                        columns["family"],
                        [_pass_value(p) for p in columns["passed"]],
                        columns["answer"],
                        strict=True,
                    )
                )
                if columns is not None
                else []
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
    rows: list[tuple[Any, ...]],
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


__all__ = [
    "SCHEMA_VERSION",
    "CaseOutcome",
    "FlipSet",
    "FlippedCase",
    "RunInfo",
    "StoredRun",
    "TrendPoint",
    "case_outcomes",
    "connect",
    "list_runs",
    "load_run",
    "record_run",
    "resolve_run",
    "run_status",
    "trend",
]
