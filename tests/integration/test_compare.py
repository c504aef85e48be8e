"""``brittle compare`` and the relative gates give the same p-value for the same two runs.

Two real plugin runs recorded in the history (a baseline, then a changed system), the gates'
p-values read from run.json, and ``brittle compare --json`` on the same pair of runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main
from tests.support.evalproject import eval_yaml, write_project

GATES = ["accuracy drop <= 0", "flip_rate rise <= 0"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")  # the system reads mode.txt: never replay it
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_project(pytester)
    return pytester


def _gate_p_values(folder: Path) -> dict[str, float]:
    record = json.loads((folder / "reports" / "latest" / "run.json").read_text())
    verdicts = record["evals"][0]["systems"]["sys"]["verdicts"]
    return {v["gate"]: v["statistics"]["p_value"] for v in verdicts}


@pytest.mark.parametrize("mode", ["some", "typos"])
def test_compare_gives_the_gates_p_values(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, GATES))
    project.runpytest("--brittle-update-baseline")
    (project.path / "mode.txt").write_text(mode)
    project.runpytest()
    gates = _gate_p_values(project.path)
    history = str(project.path / "reports" / "history.sqlite")
    capsys.readouterr()
    assert main(["compare", "latest~1", "latest", "--history", history, "--json"]) == 0
    system: dict[str, Any] = json.loads(capsys.readouterr().out)["systems"][0]
    originals, variants = system["originals"], system["variants"]
    assert originals["metric"] == "accuracy" and variants["metric"] == "flip_rate"
    assert originals["p_value"] == pytest.approx(gates["accuracy drop <= 0"], rel=1e-12)
    assert variants["p_value"] == pytest.approx(gates["flip_rate rise <= 0"], rel=1e-12)
    assert originals["cases"] == variants["cases"] == 16
    assert main(["compare", "latest~1", "latest", "--history", history]) == 0
    out = capsys.readouterr().out
    assert "originals: 16 paired" in out and "accuracy worse: p = " in out
    assert "flip_rate worse: p" in out and variants["method"] in out
