"""The report folder's temporaries: which a run removes (killed runs' on this host, old ones of
other hosts) and which it leaves (live runs', young ones of other hosts, everything else)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brittle.report.folder import STALE_AFTER_S, clean_stale, staging, temp_name

pytestmark = pytest.mark.skipif(os.name == "nt", reason="process ids are trusted only on POSIX")


@pytest.fixture
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def _temp(reports: Path, name: str, *, age: float = 0.0, folder: bool = True) -> Path:
    path = reports / name
    if folder:
        path.mkdir()
        (path / "run.json").write_text("{}")
    else:
        path.symlink_to("somewhere")
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp), follow_symlinks=False)
    return path


def _ours(pid: int, what: str = "20260101-000000-abcd") -> str:
    return temp_name(what).rsplit(".", 1)[0] + f".{pid}"


def test_removes_killed_runs_and_keeps_live_ones(
    tmp_path: Path, dead_pid: int, live_pid: int
) -> None:
    reports = tmp_path / "reports"
    reports.mkdir()
    keep = [
        _temp(reports, _ours(live_pid)),
        _temp(reports, f".tmp-20260101-000000-abcd@another-host.{dead_pid}"),
        _temp(reports, "20260101-000000-abcd"),
        _temp(reports, ".tmp-notes"),  # not brittle's name
    ]
    (reports / "history.sqlite").write_text("")
    (reports / "history.sqlite-wal").write_text("")
    gone = [
        _temp(reports, _ours(dead_pid)),
        _temp(reports, _ours(dead_pid, "latest"), folder=False),
        _temp(reports, f".latest-{dead_pid}", folder=False),  # brittle before whole reports
        _temp(reports, ".tmp-x@another-host.1", age=STALE_AFTER_S + 60),
        _temp(reports, _ours(live_pid, "old"), age=STALE_AFTER_S + 60),
    ]
    removed = clean_stale(reports)
    assert sorted(removed) == sorted(gone)
    assert all(p.exists() for p in keep)
    assert not any(os.path.lexists(p) for p in gone)
    assert (reports / "history.sqlite-wal").exists()


def test_a_missing_reports_folder_has_nothing_to_clean(tmp_path: Path) -> None:
    assert clean_stale(tmp_path / "absent") == []


def test_staging_renames_a_whole_folder_and_replaces_the_same_run(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with staging(reports, "run1") as tmp:
        (tmp / "a.txt").write_text("first")
        (tmp / "b.txt").write_text("first")
    with staging(reports, "run1") as tmp:
        assert not (reports / "run1" / "c.txt").exists()
        (tmp / "c.txt").write_text("second")
    assert sorted(p.name for p in reports.iterdir()) == ["run1"]
    assert sorted(p.name for p in (reports / "run1").iterdir()) == ["c.txt"]


def test_staging_leaves_nothing_when_a_write_fails(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    with pytest.raises(OSError, match="disk full"), staging(reports, "run1") as tmp:
        (tmp / "a.txt").write_text("partial")
        raise OSError("disk full")
    assert list(reports.iterdir()) == []
