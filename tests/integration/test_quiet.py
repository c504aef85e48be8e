"""Quiet by default in a user's project: a run whose calls go through litellm prints none of the
warnings brittle's libraries raise (pydantic's 13 "ReadOnly qualifier" UserWarnings at
litellm's first answered call), through the pytest plugin and through ``brittle run``; the
settings ``brittle init`` writes keep pytest-asyncio (installed here, by the dev extra) quiet.

Each run is a fresh process: pydantic warns once per process, so an in-process pytester run
after another test had called litellm would prove nothing.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from brittle.cli.init import init_project
from tests.support.stubproject import env, start_in_thread, write_eval

#: the plugins the dev extra (deepeval) brings into every pytest run; a default install has none
#: of them (tests/integration/test_install.py)
NOT_A_DEFAULT_INSTALL = ("-p", "no:deepeval", "-p", "no:randomly", "-p", "no:repeat")
WARNING = re.compile(r"warning", re.IGNORECASE)


def _project(folder: Path, base_url: str) -> None:
    init_project(folder)
    path = write_eval(folder / "evals", base_url, cases=4, name="quiet")
    path.write_text(path.read_text().replace("    params:", "    transport: litellm\n    params:"))
    # litellm imported before the first gate runs (as deepeval's plugin, or a user's conftest,
    # does): the warning filters litellm sets at import are gone by then, since pytest
    # restores the filters after each phase
    (folder / "conftest.py").write_text("import litellm\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return tmp_path


def test_pytest_in_an_initialised_project_prints_no_warning(project: Path) -> None:
    with start_in_thread(latency=0.0) as stub:
        _project(project, stub.base_url)
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *NOT_A_DEFAULT_INSTALL, "evals/quiet.eval.yaml"],
            cwd=project,
            env=env(BRITTLE_CACHE="off"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "1 passed" in output
    assert not [line for line in output.splitlines() if WARNING.search(line)], output


def test_brittle_run_prints_no_library_warning(project: Path) -> None:
    with start_in_thread(latency=0.0) as stub:
        _project(project, stub.base_url)
        done = subprocess.run(
            [sys.executable, "-m", "brittle.cli", "run", "evals/quiet.eval.yaml", "--no-report"],
            cwd=project,
            env=env(BRITTLE_CACHE="off"),
            capture_output=True,
            text=True,
            timeout=300,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "8 made" in output  # 4 cases and their variants, through litellm
    assert not [line for line in output.splitlines() if WARNING.search(line)], output
