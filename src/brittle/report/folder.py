"""A run's report folder, whole or absent: written in a temporary sibling, then renamed in place.

:func:`staging` gives a hidden folder beside the runs (``reports/.tmp-<run id>@<host>.<pid>``)
that the run's files are written into; only when every file is written (and synced) is it
renamed to ``reports/<run id>``, in one step. A run killed on the way leaves only that hidden
folder, which the next run to write into the same reports folder removes
(:func:`clean_stale`): at once when its process is gone (same host), else once it is an hour
old, so that runs sharing a reports folder across machines or containers never remove each
other's folders while they are being written. ``reports/latest`` is moved by
:func:`point_latest` only after the rename, and the history records a run only after that
(:mod:`.artifacts`).

``BRITTLE_TEST_KILL_AT=<step>`` (test only, see :func:`reached`) kills the process at a step of
the finish phase, so that tests can check what a SIGKILL there leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp-"
"""Every temporary entry brittle makes in a reports folder starts with this."""
STALE_AFTER_S = 3600.0
"""A temporary entry of another host (or of a live process id) is removed once this old."""
KILL_AT_ENV = "BRITTLE_TEST_KILL_AT"
"""Test only: the finish step (one of :data:`FINISH_STEPS`) after which the process kills
itself with SIGKILL. Never set it outside brittle's own tests."""
FINISH_STEPS = (
    "folder",
    "run.json",
    "results.parquet",
    "summary.md",
    "index.html",
    "summary.json",
    "rename",
    "latest",
    "history",
)
"""The steps of writing a run's reports, in order; :func:`reached` is called after each."""

_TEMP_NAME = re.compile(r"^\.tmp-(?P<what>.*)@(?P<host>[^@]*)\.(?P<pid>\d+)$")
_LEGACY_LATEST = re.compile(r"^\.latest-(?P<pid>\d+)$")  # brittle before whole reports


def reached(step: str) -> None:
    """Test only: SIGKILL this process when ``BRITTLE_TEST_KILL_AT`` names ``step``."""
    if os.environ.get(KILL_AT_ENV) == step:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "host"


def temp_name(what: str) -> str:
    """The name of a temporary entry for ``what`` owned by this process."""
    return f"{TEMP_PREFIX}{what}@{_host()}.{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill would end the process there: trust only the age
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def _is_stale(entry: Path, now: float) -> bool:
    match = _TEMP_NAME.match(entry.name)
    legacy = _LEGACY_LATEST.match(entry.name)
    if match is None and legacy is None:
        return False
    try:
        age = now - entry.lstat().st_mtime
    except OSError:
        return False
    if age > STALE_AFTER_S:
        return True
    if match is not None and match["host"] != _host():
        return False  # another machine's process: its id means nothing here
    pid = int((match or legacy)["pid"])  # type: ignore[index]
    return pid != os.getpid() and not _pid_alive(pid)


def _remove(entry: Path) -> None:
    with contextlib.suppress(OSError):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def clean_stale(report_dir: Path) -> list[Path]:
    """Remove the temporary folders and links that killed runs left in ``report_dir``; returns
    what was removed. Entries of live runs (this host) and young ones (other hosts) stay."""
    try:
        entries = list(report_dir.iterdir())
    except OSError:
        return []
    now = time.time()
    removed = []
    for entry in entries:
        if _is_stale(entry, now):
            _remove(entry)
            removed.append(entry)
    return removed


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (skipped where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_files(folder: Path) -> None:
    for entry in folder.iterdir():
        if entry.is_file():
            with open(entry, "rb") as handle:
                os.fsync(handle.fileno())


@contextlib.contextmanager
def staging(report_dir: Path, run_id: str) -> Iterator[Path]:
    """A fresh temporary folder to write the run's files into; on a clean exit it is synced and
    renamed to ``report_dir/run_id`` (replacing a folder of the same run id); on an error it is
    removed, leaving no partial folder."""
    report_dir.mkdir(parents=True, exist_ok=True)
    tmp = report_dir / temp_name(run_id)
    _remove(tmp)
    tmp.mkdir()
    try:
        reached("folder")
        yield tmp
        _fsync_files(tmp)
        _fsync_dir(tmp)
        final = report_dir / run_id
        old = report_dir / temp_name(f"{run_id}.old")
        if final.exists():  # the same run written again: the new folder takes its place
            os.replace(final, old)
        os.replace(tmp, final)
        _fsync_dir(report_dir)
        _remove(old)
    except BaseException:
        _remove(tmp)
        raise
    reached("rename")


def point_latest(report_dir: Path, run_id: str) -> None:
    """``reports/latest`` -> the run's folder, replaced atomically (a new link renamed over the
    old one); skipped where links cannot be made."""
    latest = report_dir / "latest"
    tmp = report_dir / temp_name("latest")
    try:
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_id, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError:
        _remove(tmp)
    reached("latest")


__all__ = [
    "FINISH_STEPS",
    "KILL_AT_ENV",
    "STALE_AFTER_S",
    "TEMP_PREFIX",
    "clean_stale",
    "point_latest",
    "reached",
    "staging",
    "temp_name",
]
