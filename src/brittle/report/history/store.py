"""Where the run history lives and how it is opened: the file (``--brittle-history``), its
schema, and a connection that several processes can write through at once.

The history is opened in WAL mode with a busy timeout, because CI shards, a nightly job and a
developer may record into the same file at the same moment.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brittle._errors import ConfigError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0
HISTORY_FILE = "history.sqlite"
OFF = ("off", "none", "false", "0", "")

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


def history_path(setting: str | os.PathLike[str] | None, report_dir: Path | None) -> Path | None:
    """The history file: ``setting`` (a path, or ``off``), else ``<report_dir>/history.sqlite``."""
    if setting is None:
        return None if report_dir is None else report_dir / HISTORY_FILE
    if str(setting).strip().lower() in OFF:
        return None
    return Path(setting)


def history_setting(value: str | None, root: Path) -> str | None:
    """``--brittle-history`` as given, with a relative path taken from ``root``."""
    if value is None or str(value).strip().lower() in OFF:
        return value
    return str(root / value)


_MOVE_AWAY = (
    "move it away (a new history starts), or record into another file (pytest: "
    "--brittle-history PATH; brittle run: --history PATH; or 'off')"
)


def _newer_schema(path: Path, version: int) -> ConfigError:
    """The error for a history written by a newer brittle."""
    return ConfigError(
        f"run history has schema version {version}; this brittle reads up to {SCHEMA_VERSION}",
        where=path,
        fix=(
            "upgrade brittle, or record into another file (pytest: --brittle-history PATH; "
            "brittle run: --history PATH)"
        ),
    )


def check_history(path: Path) -> None:
    """Fail now, before any model call, if the run could not be recorded at ``path``: the file
    is corrupt, not a brittle history, of a newer schema, or cannot be created. Reads only."""
    path = Path(path)
    if not path.exists():
        return
    if path.is_dir():
        raise ConfigError("the run history is a folder, not a file", where=path, fix=_MOVE_AWAY)
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise ConfigError(
            f"cannot open the run history ({exc})", where=path, fix=_MOVE_AWAY
        ) from None
    try:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return  # another run is writing it: not broken
        raise ConfigError(
            f"the run history is unreadable ({exc})", where=path, fix=_MOVE_AWAY
        ) from None
    except sqlite3.DatabaseError as exc:
        raise ConfigError(
            f"the run history is corrupt or not an SQLite file ({exc})", where=path, fix=_MOVE_AWAY
        ) from None
    finally:
        conn.close()
    if version > SCHEMA_VERSION:
        raise _newer_schema(path, version)
    if version == 0 and tables:
        raise ConfigError(
            "not a brittle run history (an SQLite file with other tables)",
            where=path,
            fix=_MOVE_AWAY,
        )


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
        raise _newer_schema(path, version)
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
