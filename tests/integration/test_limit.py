"""``--brittle-limit N`` / ``brittle run --limit N``: a smoke run on the first N cases of each
golden set, marked partial, never writing a baseline, its relative gates paired by case."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from brittle.cli import main
from tests.support.evalproject import eval_yaml, write_project

GATES = ["accuracy >= 0.9", "accuracy drop <= 0.02", "flip_rate rise <= 0.03"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    pytester.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, GATES))
    return pytester


def _latest(path: Path, name: str) -> dict:
    return json.loads((path / "reports" / "latest" / name).read_text())


def test_limit_runs_the_first_cases_and_says_it_is_partial(project: pytest.Pytester) -> None:
    result = project.runpytest("--brittle-limit", "4")
    result.assert_outcomes(passed=1, skipped=2)  # no baseline yet: relative gates skipped
    result.stdout.fnmatch_lines(
        [
            "*smoke run (limit 4): only the first 4 case(s) of each golden set*no baseline*",
            "demo: 4 cases (of 16: smoke run), 8 variants (typo)",
        ]
    )
    run = _latest(project.path, "run.json")
    assert run["partial"] is True and run["limit"] == 4
    assert run["evals"][0]["cases"] == 4 and run["evals"][0]["cases_total"] == 16
    summary = _latest(project.path, "summary.json")
    assert summary["partial"] is True and summary["limit"] == 4
    assert summary["evals"][0]["cases_total"] == 16
    assert "**Smoke run** (limit 4)" in (project.path / "reports/latest/summary.md").read_text()
    table = pd.read_parquet(project.path / "reports" / "latest" / "results.parquet")
    assert sorted(set(table["case_id"])) == ["c01", "c02", "c03", "c04"]
    assert len(table) == 4 * 3  # each case with all its variants


def test_a_full_run_is_not_partial(project: pytest.Pytester) -> None:
    project.runpytest().assert_outcomes(passed=1, skipped=2)
    run = _latest(project.path, "run.json")
    assert run["partial"] is False and run["limit"] is None
    assert run["evals"][0]["cases_total"] is None
    assert _latest(project.path, "summary.json")["partial"] is False


def test_limit_refuses_a_baseline_update(project: pytest.Pytester) -> None:
    result = project.runpytest("--brittle-limit", "4", "--brittle-update-baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--brittle-limit 4 with --brittle-update-baseline: a smoke run*cannot write a baseline*"]
    )
    assert not (project.path / "__baselines__").exists()


@pytest.mark.parametrize("value", ["0", "many"])
def test_limit_must_be_a_positive_count(project: pytest.Pytester, value: str) -> None:
    result = project.runpytest(f"--brittle-limit={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--brittle-limit" in result.stderr.str()


def test_relative_gates_pair_the_cases_present(project: pytest.Pytester) -> None:
    """Against a full baseline, a smoke run's relative gates compare its cases with the
    baseline's same cases: unchanged it passes; wrong on some of them it fails."""
    project.makefile(
        ".eval.yaml", demo=eval_yaml({"sys": "degradable"}, GATES, extra="inconclusive: fail\n")
    )
    project.runpytest("--brittle-update-baseline").assert_outcomes(passed=1, skipped=2)
    baseline = (project.path / "__baselines__" / "demo.json").read_bytes()
    project.runpytest("--brittle-limit", "8").assert_outcomes(passed=3)
    (project.path / "mode.txt").write_text("bad")  # wrong on every third case
    result = project.runpytest("--brittle-limit", "8")
    result.assert_outcomes(failed=3)
    out = result.stdout.str()
    assert "smoke run (limit 8)" in out and "gate 'accuracy drop <= 0.02' failed" in out
    verdicts = _latest(project.path, "run.json")["evals"][0]["systems"]["sys"]["verdicts"]
    drop = next(v for v in verdicts if v["gate"] == "accuracy drop <= 0.02")
    assert drop["statistics"]["cases"] == 8  # paired on the cases present, not the 16
    assert drop["baseline"] == 1.0 and drop["now"] == 0.5
    assert (project.path / "__baselines__" / "demo.json").read_bytes() == baseline


def test_brittle_run_limit(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project.path)
    assert main(["run", "demo.eval.yaml", "--limit", "3", "--cache", "off"]) == 0
    out = capsys.readouterr().out
    assert "smoke run (limit 3)" in out and "demo: 3 cases (of 16: smoke run)" in out
    assert _latest(project.path, "run.json")["limit"] == 3
    assert main(["run", "demo.eval.yaml", "--limit", "3", "--update-baseline"]) == 2
    err = capsys.readouterr().err
    assert "--limit 3 with --update-baseline" in err and "fix: drop --limit" in err
    assert not (project.path / "__baselines__").exists()
