"""``pip install .`` without extras, into a fresh virtual environment, runs a YAML eval on an
OpenAI-compatible endpoint (the local stub server), through both the command line and the pytest
plugin; deepeval is not installed, a ``deepeval`` check says how to install it, and the plugin
costs a trivial pytest run little.

Slow (a real install: a few minutes and about 2.5 GB in a temporary folder) and it needs the
package registry, so it is marked ``slow`` and skipped, saying why, when the registry cannot be
reached. .ci/run runs it (``pytest -m slow tests/integration/test_install.py``).

The order is scripts/setup.sh's: torch's CPU build first (a bare ``torch`` requirement on a fresh
environment otherwise resolves to a multi-GB CUDA build), then brittle itself with no extra.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.stubproject import FAKE_KEY, start_in_thread, write_eval

pytestmark = pytest.mark.slow

#: what pip prints when it cannot reach a package index
UNREACHABLE = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "Failed to establish a new connection",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "Max retries exceeded",
)
TORCH = "torch==2.13.0"  # as scripts/setup.sh


def _pip(venv: Path, *args: str) -> None:
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *args],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    if done.returncode != 0:
        if any(sign in done.stderr for sign in UNREACHABLE):
            pytest.skip(f"the package registry cannot be reached: {done.stderr.strip()[-300:]}")
        raise AssertionError(f"pip install {' '.join(args)} failed:\n{done.stderr[-3000:]}")


def _source(tmp: Path) -> Path:
    """The project as pip sees it from a checkout, copied so the build writes nothing here."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    return source


def _env(home: Path) -> dict[str, str]:
    keep = {"PATH", "LANG", "LC_ALL", "TMPDIR", "PIP_CERT", "SSL_CERT_FILE"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(HOME=str(home), OPENAI_API_KEY=FAKE_KEY, BRITTLE_CACHE="off")
    return env


def _least(command: list[str], cwd: Path, env: dict[str, str], runs: int = 3) -> float:
    """The least wall time of ``runs`` runs of ``command`` (each must pass)."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        best = min(best, time.perf_counter() - start)
        assert done.returncode == 0, done.stdout + done.stderr
    return best


def test_pip_install_without_extras_runs_a_yaml_eval_on_an_openai_endpoint(
    tmp_path: Path, venv: Path
) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _pip(venv, TORCH)
    _pip(venv, str(_source(tmp_path)))
    python, bin_ = venv / "bin" / "python", venv / "bin"
    home = tmp_path / "home"
    home.mkdir()
    env = _env(home)

    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('deepeval'))"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert probe.stdout.strip() == "None", "deepeval is an extra: not installed by default"

    project = tmp_path / "project"
    with start_in_thread(latency=0.0) as stub:
        write_eval(project, stub.base_url, cases=10, systems={"echo": "openai/gpt-4o-mini"})
        run = subprocess.run(
            [str(bin_ / "brittle"), "run", "stubbed.eval.yaml"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        summary = json.loads((project / "reports" / "latest" / "summary.json").read_text())
        (system,) = summary["evals"][0]["systems"]
        assert system["status"] == "passed" and system["rows"] == 20
        assert system["metrics"]["errors"] == 0 and system["metrics"]["accuracy"] == 1.0
        assert system["price"]["source"] == "litellm:gpt-4o-mini"  # the packaged table
        assert system["metrics"]["cost"] > 0

        plugin = subprocess.run(
            [str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider", "stubbed.eval.yaml"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert plugin.returncode == 0, plugin.stdout + plugin.stderr
        assert "1 passed" in plugin.stdout, plugin.stdout

        # a deepeval check without the extra: one paragraph naming it, exit status 2
        judged = project / "judged.eval.yaml"
        text = (project / "stubbed.eval.yaml").read_text()
        judged.write_text(
            text.replace("name: stubbed", "name: judged").replace(
                "checks:\n", "checks:\n  - deepeval: {judge: openai/j, criteria: 'Same?'}\n"
            )
        )
        failed = subprocess.run(
            [str(bin_ / "brittle"), "run", "judged.eval.yaml"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert failed.returncode == 2, failed.stdout + failed.stderr
        assert "pip install 'brittle[deepeval]'" in failed.stdout + failed.stderr
        assert "Traceback" not in failed.stdout + failed.stderr

    # one trivial test: the plugin on against off, in a default install (no deepeval plugin)
    trivial = tmp_path / "trivial"
    trivial.mkdir()
    (trivial / "test_one.py").write_text("def test_one():\n    assert True\n")
    pytest_cmd = [str(bin_ / "pytest"), "-q", "-p", "no:cacheprovider", "test_one.py"]
    on = _least(pytest_cmd, trivial, env)
    off = _least([*pytest_cmd, "-p", "no:brittle"], trivial, env)
    print(f"\npytest, one trivial test, default install: plugin on {on:.2f} s, off {off:.2f} s")
    assert on - off < 1.0, f"brittle's plugin costs {on - off:.2f} s per pytest run (target 0.3)"
