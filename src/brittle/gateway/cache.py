"""The response cache: every successful model call, kept in SQLite so runs replay and resume.

brittle owns its cache (litellm's is unusable offline). It lives in ``.brittle/cache.sqlite`` under
the project root (``--brittle-cache-dir``, ``BRITTLE_RESPONSE_CACHE_DIR``), in WAL mode, so
pytest-xdist workers and concurrent CI jobs share it safely.

**Key**: a SHA-256 of the call (:mod:`brittle.gateway.keys`). **Value**: the response text as the
gateway's edge left it (known secrets masked in any letter case, invalid Unicode replaced; see
:func:`brittle.gateway.calls.at_edge`) with its notes, token usage, cost, latency and when it was
recorded, and the answer's token log-probabilities when the call asked for them (an entry
written before them reads as unknown). Errors are never stored, nor a reply without content, so
a rerun retries them.

**Modes** (``--brittle-cache``, ``BRITTLE_CACHE``):

========  =========================================================================
``rw``    the default: answer from the cache, call and store what is missing
``replay``  no model calls at all; a missing call is an error naming the eval, system and
          rows (the pull-request mode); the eval's committed recordings are read first
          (:mod:`brittle.gateway.recordings`)
``record``  always call and store (refresh); entries written by this run are reused
``off``   neither read nor write
========  =========================================================================

**Resume**: each call is committed as it completes, so a run that is killed and started again
makes only the calls that had not completed.

**Concurrent processes**: before calling, a process *claims* the key (one row in ``claims``,
inserted atomically); another process that needs the same key waits for the response instead of
calling. A claim whose owner died (same host, process gone) or whose lease ran out
(:attr:`ResponseCache.lease_s`, default 10 minutes) is taken over: that is the only way one key is
called twice at the same time (the "race allowance": at most once per stale claim).

**Export and import**: ``brittle cache export RUN_ID|latest|EVAL_FILE --out FILE.jsonl`` writes a
run's (or an eval's) entries to a file that can be committed or kept as a CI artifact;
``brittle cache import FILE.jsonl`` loads one (newer entries win).
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import secrets
import socket
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import CacheError, ConfigError
from brittle.gateway.calls import CallResult, logprobs_from_json, logprobs_json
from brittle.redact import scrub

MODE_ENV = "BRITTLE_CACHE"
DIR_ENV = "BRITTLE_RESPONSE_CACHE_DIR"
DEFAULT_DIR = ".brittle"
FILE_NAME = "cache.sqlite"
FORMAT_VERSION = 1
EXPORT_VERSION = 1
EXPORT_HEADER = "brittle_cache_export"
CLAIMED, DONE, BUSY = "claimed", "done", "busy"
#: runs whose used keys are remembered for ``brittle cache export RUN_ID``
KEEP_RUNS = 20


class CacheMode(enum.Enum):
    RW = "rw"
    REPLAY = "replay"
    RECORD = "record"
    OFF = "off"

    @property
    def reads(self) -> bool:
        return self in (CacheMode.RW, CacheMode.REPLAY)

    @property
    def writes(self) -> bool:
        return self in (CacheMode.RW, CacheMode.RECORD)

    @property
    def calls(self) -> bool:
        return self is not CacheMode.REPLAY


MODES = tuple(m.value for m in CacheMode)


def resolve_mode(value: str | None = None, *, ini: str | None = None) -> CacheMode:
    """The cache mode: the option, else ``BRITTLE_CACHE``, else the ini value, else ``rw``."""
    for source, raw in (
        ("--brittle-cache", value),
        (MODE_ENV, os.environ.get(MODE_ENV)),
        ("brittle_cache (ini)", ini),
    ):
        if raw is None or str(raw).strip() == "":
            continue
        text = str(raw).strip().lower()
        aliases = {"read-write": "rw", "readwrite": "rw", "on": "rw", "none": "off"}
        text = aliases.get(text, text)
        if text not in MODES:
            raise ConfigError(
                f"unknown response cache mode {raw!r}",
                where=source,
                fix=f"use one of: {', '.join(MODES)}",
            )
        return CacheMode(text)
    return CacheMode.RW


def resolve_path(value: str | Path | None = None, *, root: Path, ini: str | None = None) -> Path:
    """The cache file, ``<dir>/cache.sqlite``.

    The folder comes from the option, ``BRITTLE_RESPONSE_CACHE_DIR``, the ini value, or is
    ``.brittle``; a relative folder is taken against ``root``.
    """
    for raw in (value, os.environ.get(DIR_ENV), ini):
        if raw is not None and str(raw).strip():
            folder = Path(str(raw)).expanduser()
            break
    else:
        folder = Path(DEFAULT_DIR)
    if not folder.is_absolute():
        folder = root / folder
    return folder / FILE_NAME


# ----------------------------------------------------------------------------- the store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    cost REAL,
    latency_s REAL,
    created REAL NOT NULL,
    model TEXT,
    fingerprint TEXT,
    label TEXT,
    notes TEXT,
    logprobs TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT,
    PRIMARY KEY (run_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS run_index (run_id TEXT PRIMARY KEY, started REAL NOT NULL);
"""
_COLUMNS = (
    "key",
    "text",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "latency_s",
    "created",
    "model",
    "fingerprint",
    "label",
    "notes",
    "logprobs",
)
_GET = (
    "SELECT text, prompt_tokens, completion_tokens, cost, latency_s, created, notes, logprobs "
    "FROM responses WHERE key = ?"
)
_FIX = (
    "delete the cache file or run `brittle cache clear` (it only holds recorded responses; a "
    "rerun records them again)"
)


def unwritable(folder: Path) -> str | None:
    """Why files cannot be created in ``folder`` (made as needed), or None if they can.

    Nothing is created: the nearest existing folder on the way must be a folder, not a file,
    and writable.
    """
    folder = Path(folder).absolute()
    for existing in (folder, *folder.parents):
        if existing.exists():
            break
    else:  # pragma: no cover - the root always exists
        return None
    if not existing.is_dir():
        return f"'{existing}' is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the folder '{existing}' is not writable"
    return None


def _owner_alive(owner: str) -> bool:
    """Whether the process that wrote a claim may still be running (unknown hosts: yes)."""
    host, _, rest = owner.partition("|")
    pid_text = rest.partition("|")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


@dataclass
class CacheStats:
    """What one process did with the cache."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    waits: int = 0
    takeovers: int = 0


class ResponseCache:
    """One SQLite response cache, opened lazily; safe to share between processes.

    ``run_id`` tags the keys this process uses (hits and writes), for ``brittle cache export``.
    """

    def __init__(
        self,
        path: Path,
        mode: CacheMode = CacheMode.RW,
        *,
        run_id: str | None = None,
        lease_s: float = 600.0,
    ) -> None:
        self.path = Path(path)
        self.mode = mode
        self.run_id = run_id
        self.lease_s = lease_s
        self.owner = f"{socket.gethostname()}|{os.getpid()}|{secrets.token_hex(4)}"
        self.stats = CacheStats()
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._uses: list[tuple[str, str, str | None]] = []
        self._run_noted = False
        self._reads: asyncio.AbstractEventLoop | None = None  # see _reader

    # -- connection

    @property
    def conn(self) -> sqlite3.Connection:
        """The connection, opened on first use; a batch of reads (:meth:`_reader`) is ended
        first: nothing else runs inside it, and later reads see what others wrote since."""
        if self._reads is not None:
            self._end_reads()
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _reader(self) -> sqlite3.Connection:
        """The connection for :meth:`get`. In an event loop, the reads made before the loop
        next runs its callbacks share one read transaction (a cached rerun's hits come without
        a pause; a transaction per read was a fifth of each hit), ended when the loop gets
        control back or anything else uses the connection. Outside a loop: one per read."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self._reads is not None and self._reads is not loop:
            self._end_reads()  # another loop's batch, or one whose loop is gone
        conn = self._conn = self._conn or self._open()
        if loop is not None and self._reads is None and not conn.in_transaction:
            conn.execute("BEGIN")
            self._reads = loop
            loop.call_soon(self._end_reads)
        return conn

    def _end_reads(self) -> None:
        with self._lock:
            if self._reads is not None and self._conn is not None and self._conn.in_transaction:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error:  # a read transaction holds nothing to keep
                    self._conn.rollback()
            self._reads = None

    def check(self) -> None:
        """Fail now, once, if the cache cannot be used: an existing file is opened (a corrupt
        one or one of another format raises :class:`CacheError` naming the file and the fix),
        and for a file still to be made, its folder must be one brittle can create and write.

        Called when a run starts, before any model call: otherwise the error would surface only
        inside every row's error.
        """
        if self.path.exists():
            if self.path.is_dir():
                raise CacheError(
                    "the response cache file is a folder",
                    where=self.path,
                    fix="move it away, or choose another folder with --brittle-cache-dir",
                )
            _ = self.conn
            return
        problem = unwritable(self.path.parent)
        if problem is not None:
            raise CacheError(
                f"cannot create the response cache: {problem}",
                where=self.path.parent,
                fix="choose a writable folder with --brittle-cache-dir or "
                f"{DIR_ENV}, or turn the cache off (--brittle-cache=off)",
            )

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CacheError(
                f"cannot create the cache folder ({exc.strerror})",
                where=self.path.parent,
                fix="choose a writable folder with --brittle-cache-dir or "
                f"{DIR_ENV}, or turn the cache off (--brittle-cache=off)",
            ) from None
        try:
            conn = sqlite3.connect(
                self.path, timeout=60, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA busy_timeout = 60000")
            _switch_to_wal(conn)
            conn.execute("PRAGMA synchronous = NORMAL")
            with _transaction(conn):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                _add_notes_column(conn)
                row = conn.execute("SELECT value FROM meta WHERE name = 'format'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO meta (name, value) VALUES ('format', ?)",
                        (str(FORMAT_VERSION),),
                    )
                elif row[0] != str(FORMAT_VERSION):
                    raise CacheError(
                        f"the response cache is in format {row[0]}; this brittle uses "
                        f"format {FORMAT_VERSION}",
                        where=self.path,
                        fix=_FIX,
                    )
        except sqlite3.DatabaseError as exc:
            raise CacheError(
                f"the response cache is unreadable or corrupt ({exc})", where=self.path, fix=_FIX
            ) from None
        return conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self.flush()
                finally:
                    self._conn.close()
                    self._conn = None

    # -- entries

    def get(self, key: str, *, newer_than: float | None = None) -> CallResult | None:
        """The stored response of ``key`` (only if recorded after ``newer_than``), or None."""
        with self._lock:
            row = self._reader().execute(_GET, (key,)).fetchone()
        if row is None or (newer_than is not None and row[5] < newer_than):
            return None
        return CallResult(
            text=row[0],
            latency_s=row[4] or 0.0,
            prompt_tokens=row[1],
            completion_tokens=row[2],
            cost=row[3],
            cached=True,
            notes=tuple(note for note in str(row[6] or "").split("\n") if note),
            logprobs=logprobs_from_json(row[7]),  # entries before logprobs: None, unknown
        )

    def put(
        self,
        key: str,
        result: CallResult,
        *,
        model: str | None = None,
        fingerprint: str | None = None,
        label: str | None = None,
    ) -> None:
        """Store a successful response and release this process's claim, in one commit.

        The text is stored as the gateway's edge left it (:func:`~brittle.gateway.calls.at_edge`:
        secrets masked, Unicode repaired), masked again here for callers that store directly,
        with its notes.
        """
        if result.error is not None or result.text is None:
            raise ValueError("errors are never cached")
        values = (
            key,
            scrub(result.text, pairs=False),
            result.prompt_tokens,
            result.completion_tokens,
            result.cost,
            result.latency_s,
            time.time(),
            model,
            fingerprint,
            label,
            "\n".join(result.notes) or None,
            logprobs_json(result.logprobs),
        )
        with self._lock, _transaction(self.conn, immediate=True) as conn:
            conn.execute(
                f"INSERT OR REPLACE INTO responses ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                values,
            )
            conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))
        self.stats.writes += 1

    # -- claims: one caller per key across processes

    def _claim_state(self, key: str) -> tuple[str, float] | None:
        row = self.conn.execute(
            "SELECT owner, expires FROM claims WHERE key = ?", (key,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def _stale(self, claim: tuple[str, float]) -> bool:
        owner, expires = claim
        return expires < time.time() or not _owner_alive(owner)

    def claim(
        self, key: str, *, lease_s: float | None = None, newer_than: float | None = None
    ) -> str:
        """Claim ``key`` for this process, atomically with a look for its response.

        Returns ``"claimed"`` (make the call), ``"done"`` (the response is stored, recorded after
        ``newer_than`` if given: read it) or ``"busy"`` (another live process is making it).
        """
        with self._lock, _transaction(self.conn, immediate=True) as conn:
            row = conn.execute("SELECT created FROM responses WHERE key = ?", (key,)).fetchone()
            if row is not None and (newer_than is None or row[0] >= newer_than):
                return DONE
            current = self._claim_state(key)
            if current is not None and current[0] != self.owner:
                if not self._stale(current):
                    return BUSY
                self.stats.takeovers += 1
            conn.execute(
                "INSERT OR REPLACE INTO claims (key, owner, expires) VALUES (?, ?, ?)",
                (key, self.owner, time.time() + (lease_s or self.lease_s)),
            )
        return CLAIMED

    def release(self, key: str) -> None:
        """Give up this process's claim (the call failed: another process may try)."""
        with self._lock:
            self.conn.execute("DELETE FROM claims WHERE key = ? AND owner = ?", (key, self.owner))

    async def wait(self, key: str, *, newer_than: float | None = None) -> None:
        """Wait until ``key`` has a response, or its claim is gone or stale."""
        self.stats.waits += 1
        delay = 0.02
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.5)
            if self.get(key, newer_than=newer_than) is not None:
                return
            with self._lock:
                current = self._claim_state(key)
            if current is None or self._stale(current):
                return

    # -- runs: which keys a run used, for export

    def note_use(self, key: str, label: str | None = None) -> None:
        if self.run_id is None:
            return
        self._uses.append((self.run_id, key, label))
        if len(self._uses) >= 5000:
            self.flush()

    def flush(self) -> None:
        """Write the buffered run records (which keys this run used), best effort.

        They only serve ``brittle cache export RUN_ID``: a read-only or locked cache loses them,
        never the run. The records of the latest :data:`KEEP_RUNS` runs are kept.
        """
        with self._lock:
            if not self._uses or self.run_id is None:
                return
            uses, self._uses = self._uses, []
            try:
                with _transaction(self.conn, immediate=True) as conn:
                    if not self._run_noted:
                        conn.execute(
                            "INSERT OR IGNORE INTO run_index (run_id, started) VALUES (?, ?)",
                            (self.run_id, time.time()),
                        )
                        keep = (
                            f"SELECT run_id FROM run_index ORDER BY started DESC LIMIT {KEEP_RUNS}"
                        )
                        conn.execute(f"DELETE FROM runs WHERE run_id NOT IN ({keep})")
                        conn.execute(f"DELETE FROM run_index WHERE run_id NOT IN ({keep})")
                    conn.executemany(
                        "INSERT OR REPLACE INTO runs (run_id, key, label) VALUES (?, ?, ?)", uses
                    )
            except sqlite3.Error:
                return
            self._run_noted = True

    def latest_run(self) -> str | None:
        row = self.conn.execute(
            "SELECT run_id FROM run_index ORDER BY started DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def run_keys(self, run_id: str) -> list[str]:
        rows = self.conn.execute("SELECT key FROM runs WHERE run_id = ?", (run_id,)).fetchall()
        return [r[0] for r in rows]

    # -- export and import

    def entries(self, keys: Iterable[str]) -> list[dict[str, Any]]:
        wanted = list(dict.fromkeys(keys))
        out: list[dict[str, Any]] = []
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = self.conn.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM responses "
                    f"WHERE key IN ({', '.join('?' * len(chunk))})",
                    chunk,
                ).fetchall()
                out.extend(dict(zip(_COLUMNS, row, strict=True)) for row in rows)
        out.sort(key=lambda e: (e["label"] or "", e["key"]))
        return out

    def export(self, out: Path, keys: Iterable[str], *, source: str = "") -> int:
        """Write the entries of ``keys`` as JSON lines (atomically); returns how many."""
        entries = self.entries(keys)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                header = {
                    EXPORT_HEADER: EXPORT_VERSION,
                    "source": scrub(source),
                    "entries": len(entries),
                }
                handle.write(json.dumps(header) + "\n")
                for entry in entries:
                    handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return len(entries)

    def import_file(self, path: Path) -> tuple[int, int]:
        """Load an export; an entry replaces a stored one only if newer. Returns (loaded, kept)."""
        rows = list(_read_export(path))
        with self._lock, _transaction(self.conn, immediate=True) as conn:
            before = conn.total_changes
            conn.executemany(
                f"INSERT INTO responses ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))}) "
                "ON CONFLICT(key) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS[1:])
                + " WHERE excluded.created > responses.created",
                [tuple(row.get(c) for c in _COLUMNS) for row in rows],
            )
            loaded = conn.total_changes - before
        return loaded, len(rows) - loaded

    # -- maintenance

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM responses").fetchone()[0])

    def integrity(self) -> str:
        """``"ok"`` or SQLite's description of the damage."""
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def _add_notes_column(conn: sqlite3.Connection) -> None:
    """Give a cache made before responses had notes its ``notes`` column (format 1 either way:
    older brittles read the columns they know)."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(responses)")}
    if "notes" not in columns:
        conn.execute("ALTER TABLE responses ADD COLUMN notes TEXT")
    if "logprobs" not in columns:  # added later still (token log-probabilities)
        conn.execute("ALTER TABLE responses ADD COLUMN logprobs TEXT")


def _switch_to_wal(conn: sqlite3.Connection, *, patience_s: float = 60.0) -> None:
    """``PRAGMA journal_mode = WAL``, retried while another process holds the file.

    Switching a new database to WAL needs an exclusive lock, and SQLite reports "database is
    locked" at once instead of waiting in its busy handler when two processes open a new cache
    together (as parallel test workers do), so the wait is done here.
    """
    deadline = time.monotonic() + patience_s
    pause = 0.01
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.5)


class _transaction:
    """``BEGIN [IMMEDIATE]`` ... ``COMMIT`` (``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection, *, immediate: bool = True) -> None:
        self.conn = conn
        self.immediate = immediate

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE" if self.immediate else "BEGIN")
        return self.conn

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if kind is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


def _read_export(path: Path) -> Iterable[dict[str, Any]]:
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise CacheError(f"cannot read the cache export ({exc.strerror})", where=path) from None
    fix = "export it again with 'brittle cache export'"
    with handle:
        try:
            header = json.loads(handle.readline() or "null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            header = None
        if not isinstance(header, dict) or header.get(EXPORT_HEADER) != EXPORT_VERSION:
            raise CacheError(
                f"not a brittle cache export (version {EXPORT_VERSION})",
                where=path,
                line=1,
                fix=fix,
            )
        for number, line in enumerate(handle, start=2):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise CacheError(
                    f"invalid entry ({exc}); the file may be truncated",
                    where=path,
                    line=number,
                    fix=fix,
                ) from None
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("key"), str)
                or not isinstance(row.get("text"), str)
                or not isinstance(row.get("created"), int | float)
            ):
                raise CacheError(
                    "entry lacks 'key', 'text' or 'created'", where=path, line=number, fix=fix
                )
            yield row


__all__ = [
    "DIR_ENV",
    "MODES",
    "MODE_ENV",
    "CacheMode",
    "CacheStats",
    "ResponseCache",
    "resolve_mode",
    "resolve_path",
]
