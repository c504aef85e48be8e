"""Repeats end to end: self-disagreement and excess flip rate are gated, and every report
shows them with their intervals (terminal, summary.md, summary.json, HTML, JUnit).

Two systems of tests/support/evalproject.py, each call of each row made three times:

- ``b`` (``typo_brittle``): deterministic, wrong on every misspelt variant: self-disagreement
  0, excess flip rate = flip rate = 1;
- ``n`` (``noisy``): wrong on every third call whatever the input (one call at a time, so every
  row's three repeats hold one wrong answer): self-disagreement 2/3 on every input, and a
  variant's draws disagree with its original's less often than that (4/9): excess -2/9.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tests.support.evalproject import eval_yaml, write_project

GATES = ["excess_flip_rate <= 0.05", "self_disagreement <= 0.1"]
SYSTEMS = {"b": "typo_brittle", "n": "noisy"}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_project(pytester)
    extra = "repeats: 3\nconcurrency: 1\n"
    pytester.makefile(".eval.yaml", demo=eval_yaml(SYSTEMS, GATES, extra=extra))
    return pytester


def _latest(project: pytest.Pytester) -> Path:
    return project.path / "reports" / "latest"


def _properties(xml_path: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(xml_path).getroot()
    return {
        f"{case.get('classname')}::{case.get('name')}": {
            p.get("name", ""): p.get("value", "") for p in case.iter("property")
        }
        for case in root.iter("testcase")
    }


def test_gates_on_the_repeats_and_every_report_shows_them(project: pytest.Pytester) -> None:
    result = project.runpytest("--junitxml=junit.xml")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*FAILED*b*excess_flip_rate<=0.05*",
            "*FAILED*n*self_disagreement<=0.1*",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        [
            "*  b  *",
            "*repeats 3 (majority): self-disagreement 0.000 [[]0.00,0.00] (randomness), excess "
            "flip rate 1.000 [[]1.00,1.00] (brittleness: flip rate between single draws 1.000 "
            "less self-disagreement)",
            "*[[]FAILED] excess_flip_rate <= 0.05: excess_flip_rate = 1.0000, required <= 0.05",
            "*[[]passed] self_disagreement <= 0.1: self_disagreement = 0.0000, required <= 0.1",
            "*  n  *",
            "*repeats 3 (majority): self-disagreement 0.667 [[]0.67,0.67] (randomness), excess "
            "flip rate -0.222 [[]-0.22,-0.22] (brittleness: flip rate between single draws "
            "0.444 less self-disagreement)",
            "*[[]passed] excess_flip_rate <= 0.05: excess_flip_rate = -0.2222, required <= 0.05",
            "*[[]FAILED] self_disagreement <= 0.1: self_disagreement = 0.6667, required <= 0.1",
        ]
    )

    summary_md = (_latest(project) / "summary.md").read_text()
    assert "| b | 3 (majority) | 0.000 [0.00, 0.00] | 1.000 [1.00, 1.00] | 1.000 |" in summary_md
    assert "| n | 3 (majority) | 0.667 [0.67, 0.67] | -0.222 [-0.22, -0.22] | 0.444 |" in summary_md

    systems = json.loads((_latest(project) / "summary.json").read_text())["evals"][0]["systems"]
    repeats: dict[str, Any] = {s["name"]: s["repeats"] for s in systems}
    assert repeats["n"]["k"] == 3 and repeats["n"]["reduction"] == "majority"
    assert repeats["n"]["self_disagreement"] == pytest.approx(2 / 3)
    assert repeats["n"]["excess_flip_rate"] == pytest.approx(-2 / 9)
    assert repeats["n"]["flip_rate_between_draws"] == pytest.approx(4 / 9)
    assert repeats["n"]["intervals"]["excess_flip_rate"] == pytest.approx([-2 / 9, -2 / 9])
    assert repeats["n"]["families"]["typo"]["excess_flip_rate"] == pytest.approx(-2 / 9)
    assert repeats["b"]["excess_flip_rate"] == 1.0 and repeats["n"]["cases"] == 16
    gates = {(s["name"], g["gate"]): g for s in systems for g in s["gates"]}
    assert gates[("b", "excess_flip_rate <= 0.05")]["status"] == "failed"
    assert gates[("b", "excess_flip_rate <= 0.05")]["now"] == 1.0

    html = (_latest(project) / "index.html").read_text()
    assert '<table class="grid-table repeats">' in html
    assert '<td data-metric="excess_flip_rate" data-value="1.0">1.000' in html

    props = _properties(project.path / "junit.xml")
    failed = next(p for name, p in props.items() if "b" in name and "excess_flip_rate" in name)
    assert float(failed["brittle_excess_flip_rate"]) == 1.0
    assert float(failed["brittle_self_disagreement"]) == 0.0
    assert failed["brittle_excess_flip_rate_ci"] == "[1.0000, 1.0000]"


def test_without_repeats_no_report_shows_them(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml(SYSTEMS, ["accuracy >= 0"]))
    project.runpytest().assert_outcomes(passed=2)
    systems = json.loads((_latest(project) / "summary.json").read_text())["evals"][0]["systems"]
    assert [s["repeats"] for s in systems] == [None, None]
    assert "Repeats:" not in (_latest(project) / "summary.md").read_text()
    assert "grid-table repeats" not in (_latest(project) / "index.html").read_text()


def test_a_relative_gate_on_the_repeats_is_refused(project: pytest.Pytester) -> None:
    gates = ["excess_flip_rate rise <= 0.02"]
    project.makefile(".eval.yaml", demo=eval_yaml(SYSTEMS, gates, extra="repeats: 3\n"))
    result = project.runpytest()
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*'excess_flip_rate' can only be gated absolutely*"])
