"""torch's OpenMP threads wait asleep in a brittle run: the plugin sets ``OMP_WAIT_POLICY``
(unless the user did) when the first eval is collected, before anything has loaded torch,
since OpenMP reads it only once (brittle.local.settings says why: spinning threads took 4x
the CPU on a shared machine)."""

from __future__ import annotations

import pytest

from tests.support.evalproject import eval_yaml, write_project

REPORT = """
import os, sys


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line(
        f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')} torch={'torch' in sys.modules}"
    )
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    pytester.makeconftest(REPORT)
    pytester.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, ["accuracy >= 0.9"]))
    return pytester


def test_a_run_lets_openmp_threads_sleep(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    result = project.runpytest_subprocess()
    result.stdout.fnmatch_lines(["OMP_WAIT_POLICY=PASSIVE torch=False"])


def test_the_users_own_setting_is_kept(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    result = project.runpytest_subprocess()
    result.stdout.fnmatch_lines(["OMP_WAIT_POLICY=ACTIVE torch=False"])
