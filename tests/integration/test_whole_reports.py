"""A report folder is whole or absent (issue 14, acceptance 2): a run SIGKILLed at any step of
writing its reports leaves ``reports/latest`` on a complete run (this one or the previous), no
history row for an incomplete folder, and nothing temporary once the next run has finished; a
write that fails leaves no partial folder and no history row.

The kill points come from ``BRITTLE_TEST_KILL_AT`` (:mod:`brittle.report.folder`). So that eleven
runs take seconds, one driver process imports brittle once and forks a child per ``brittle
run``.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from brittle._errors import ConfigError
from brittle.report.artifacts import write_reports
from brittle.report.folder import FINISH_STEPS, KILL_AT_ENV
from brittle.run.session import BrittleSession
from tests.support.stubproject import env
from tests.support.synthetic_runs import synthetic_session

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the driver forks its runs")

FILES = ("run.json", "results.parquet", "summary.md", "index.html", "summary.json")

SYSTEMS = """
def stable(inputs):
    return inputs["hint"]
"""

EVAL = """\
name: whole
golden: golden.jsonl
systems:
  s:
    kind: python
    callable: wholesys:stable
checks:
  - label: {choices: [positive, negative]}
gates:
  - accuracy >= 0.5
"""

# reads one line per run (the kill step, or "-" for none), forks a child that runs
# `brittle run whole.eval.yaml`, and answers with the child's pid and wait status
DRIVER = """
import os, sys
import brittle.cli, brittle.report.artifacts, brittle.run.engine, brittle.spec.eval
import pyarrow.parquet, pandas
from brittle.report.folder import KILL_AT_ENV
for line in sys.stdin:
    step = line.strip()
    pid = os.fork()
    if pid == 0:
        if step != "-":
            os.environ[KILL_AT_ENV] = step
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        try:
            code = brittle.cli.main(["run", "whole.eval.yaml", "--cache", "off"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            code = 99
        os._exit(code or 0)
    _, status = os.waitpid(pid, 0)
    print(pid, status, flush=True)
"""


class Driver:
    def __init__(self, folder: Path) -> None:
        child_env = env()
        child_env["PYTHONPATH"] = os.pathsep.join([str(folder), child_env["PYTHONPATH"]])
        child_env.pop(KILL_AT_ENV, None)
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=folder,
            env=child_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, kill_at: str | None) -> tuple[int, int]:
        """Run brittle once (killed after ``kill_at``); its pid and wait status."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write((kill_at or "-") + "\n")
        self.process.stdin.flush()
        pid, status = self.process.stdout.readline().split()
        return int(pid), int(status)

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Driver]:
    (tmp_path / "wholesys.py").write_text(SYSTEMS)
    rows = [
        {"id": f"c{i}", "text": f"text {i}", "hint": label, "expected": label}
        for i, label in enumerate(["positive", "negative"] * 3)
    ]
    (tmp_path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "whole.eval.yaml").write_text(EVAL)
    running = Driver(tmp_path)
    yield running
    running.close()


def _complete(folder: Path) -> bool:
    """Every file of a run, each readable (the JSON ones parse)."""
    if not all((folder / name).is_file() for name in FILES):
        return False
    json.loads((folder / "run.json").read_text())
    json.loads((folder / "summary.json").read_text())
    return (folder / "results.parquet").stat().st_size > 0 and "</html>" in (
        folder / "index.html"
    ).read_text()


def _run_folders(reports: Path) -> set[str]:
    return {p.name for p in reports.iterdir() if p.is_dir() and not p.name.startswith(".")} - {
        "latest"
    }


def _history_rows(reports: Path) -> dict[str, str]:
    with sqlite3.connect(reports / "history.sqlite") as conn:
        return dict(conn.execute("SELECT run_id, folder FROM runs").fetchall())


def _temporaries(reports: Path) -> list[str]:
    return sorted(
        str(p.relative_to(reports))
        for p in reports.rglob("*")
        if p.name.startswith(".tmp") or p.name.endswith(".tmp") or p.name.startswith(".latest")
    )


def test_a_run_killed_at_any_step_of_its_reports_leaves_whole_folders(
    driver: Driver, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    pid, status = driver.run(None)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    (previous,) = _run_folders(reports)
    assert os.readlink(reports / "latest") == previous
    killed_pid: int | None = None
    for step in FINISH_STEPS:
        before = _run_folders(reports)
        pid, status = driver.run(step)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, step
        # the previous killed run's temporaries are gone; at most this run's own remain
        left = _temporaries(reports)
        assert all(name.endswith(f".{pid}") or f".{pid}/" in name for name in left), (step, left)
        if killed_pid is not None:
            assert not any(str(killed_pid) in name for name in left), (step, left)
        new = _run_folders(reports) - before
        # no folder is ever partial: the run's folder is absent or whole
        for name in _run_folders(reports):
            assert _complete(reports / name), (step, name)
        latest = os.readlink(reports / "latest")
        assert _complete(reports / latest), step
        rows = _history_rows(reports)
        for run_id, folder in rows.items():
            assert _complete(Path(folder)), (step, run_id)
        if FINISH_STEPS.index(step) < FINISH_STEPS.index("rename"):
            assert not new, step  # killed before the rename: nothing of it in reports/
            assert latest == previous, step
        else:
            (this,) = new
            assert latest == (this if step in ("latest", "history") else previous), step
            assert (this in rows) == (step == "history"), step
            previous = latest
        killed_pid = pid
    pid, status = driver.run(None)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert _temporaries(reports) == []
    latest = os.readlink(reports / "latest")
    assert latest != previous and _complete(reports / latest)
    assert latest in _history_rows(reports)


def _finished_without_history_row(session: BrittleSession, reports: Path) -> None:
    assert _run_folders(reports) == set()
    assert _temporaries(reports) == []
    assert not (reports / "latest").exists()
    if (reports / "history.sqlite").exists():
        assert _history_rows(reports) == {}


def test_a_failing_write_leaves_no_partial_folder_and_no_history_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = synthetic_session(tmp_path, cases=6, variants=1, intervals=False)
    reports = tmp_path / "reports"

    def disk_full(*args: object, **kwargs: object) -> str:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("brittle.report.artifacts.render_report", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_reports(session, reports)
    _finished_without_history_row(session, reports)


def test_a_report_folder_that_is_a_file_gets_nothing_written(tmp_path: Path) -> None:
    session = synthetic_session(tmp_path, cases=6, variants=1, intervals=False)
    reports = tmp_path / "reports"
    reports.write_text("not a folder\n")
    with pytest.raises(OSError):
        write_reports(session, reports)
    assert reports.read_text() == "not a folder\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_a_history_that_cannot_be_opened_still_gets_a_whole_folder(tmp_path: Path) -> None:
    """The run's files are all written and ``latest`` moves; the history's failure is raised
    after, and summary.json names no history."""
    broken = tmp_path / "broken.sqlite"
    broken.write_text("this is not a database")
    session = synthetic_session(tmp_path, cases=6, variants=1, intervals=False, history=str(broken))
    reports = tmp_path / "reports"
    with pytest.raises(ConfigError, match="could not record the run in the history"):
        write_reports(session, reports)
    (folder,) = _run_folders(reports)
    assert _complete(reports / folder)
    assert os.readlink(reports / "latest") == folder
    assert json.loads((reports / folder / "summary.json").read_text())["history"] is None
    assert _temporaries(reports) == []
