"""CI outputs of a real plugin run: JUnit properties, summary.json, index.html, the history, and
``--brittle-history``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from brittle.report.history import list_runs
from tests.support.evalproject import eval_yaml, write_project

GATES = ["accuracy >= 0.9", "flip_rate[typo] <= 0.1"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_project(pytester)
    return pytester


def _properties(xml_path: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(xml_path).getroot()
    out = {}
    for case in root.iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        out[case.get("name", "")] = props
    return out


def test_junit_carries_each_gate_items_metrics(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"brittle": "typo_brittle"}, GATES))
    result = project.runpytest("--junitxml=junit.xml")
    result.assert_outcomes(passed=1, failed=1)
    props = _properties(project.path / "junit.xml")
    accuracy = props["accuracy>=0.9"]
    assert float(accuracy["brittle_accuracy"]) == 1.0
    assert float(accuracy["brittle_flip_rate"]) == 1.0
    assert float(accuracy["brittle_now"]) == 1.0
    assert {"brittle_pdr", "brittle_agreement", "brittle_error_rate"} <= set(accuracy)
    typo = next(v for k, v in props.items() if k.startswith("flip_rate[typo]"))
    assert typo["brittle_family"] == "typo"
    assert float(typo["brittle_flip_rate[typo]"]) == 1.0
    assert "PytestWarning" not in result.stdout.str()


def test_run_writes_html_json_and_history(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    project.runpytest().assert_outcomes(passed=2)
    project.runpytest().assert_outcomes(passed=2)
    latest = project.path / "reports" / "latest"
    assert (latest / "index.html").read_text().startswith("<!DOCTYPE html>")
    summary = json.loads((latest / "summary.json").read_text())
    assert summary["status"] == "passed"
    assert summary["evals"][0]["systems"][0]["metrics"]["accuracy"] == 1.0
    runs = list_runs(project.path / "reports" / "history.sqlite")
    assert len(runs) == 2 and runs[0].run_id == summary["run_id"]


def test_history_option(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    project.runpytest("--brittle-history", "nightly/h.sqlite").assert_outcomes(passed=2)
    assert len(list_runs(project.path / "nightly" / "h.sqlite")) == 1
    assert not (project.path / "reports" / "history.sqlite").exists()
    project.runpytest("--brittle-history", "off").assert_outcomes(passed=2)
    assert not (project.path / "reports" / "history.sqlite").exists()
    assert len(list_runs(project.path / "nightly" / "h.sqlite")) == 1


def test_a_corrupt_history_is_refused_before_any_call(project: pytest.Pytester) -> None:
    """A history that is not an SQLite file is named, with the fix, before the run starts (no
    model call is spent on a run whose record would fail); the run exits non-zero."""
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    (project.path / "not-a-db.sqlite").write_text("this is not a database")
    result = project.runpytest("--brittle-history", "not-a-db.sqlite")
    assert result.ret != 0
    out = result.stdout.str()
    assert "not-a-db.sqlite: the run history is corrupt or not an SQLite file" in out
    assert "--brittle-history" in out
    assert "Traceback" not in out
    assert not (project.path / "reports" / "latest").exists()


def test_step_summary_from_the_plugin(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = project.path / "step.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    project.runpytest().assert_outcomes(passed=2)
    assert "| stable | python | 1.000" in target.read_text()


def test_cli_run_records_history(project: pytest.Pytester) -> None:
    from brittle.cli import main

    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    assert main(["run", "demo.eval.yaml", "--history", "cli.sqlite"]) == 0
    assert len(list_runs(project.path / "cli.sqlite")) == 1


def test_few_cases_are_flagged_where_intervals_are_shown(project: pytest.Pytester) -> None:
    """16 cases, below the 50 that intervals need to be more than approximate: the terminal's
    system line, summary.md and summary.json say so."""
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, GATES))
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*stable * acc 1.000 [[]*rows, *few cases (16 < 50): intervals approximate"]
    )
    latest = project.path / "reports" / "latest"
    assert (
        "Intervals on fewer than 50 cases are approximate: stable (16 cases), "
        "stable typo (16 cases)." in (latest / "summary.md").read_text()
    )
    system = json.loads((latest / "summary.json").read_text())["evals"][0]["systems"][0]
    assert system["few_cases"] is True and system["interval_cases"] == 16
    overall = json.loads((latest / "run.json").read_text())["evals"][0]["systems"]["stable"]
    assert overall["metrics"]["overall"]["ci_method"]["accuracy"] == "wilson"
