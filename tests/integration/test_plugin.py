"""The plugin end to end, with pytester and deterministic systems."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.support.evalproject import eval_yaml, write_project

ABSOLUTE = ["accuracy >= 0.9", "flip_rate <= 0.1", "flip_rate[typo] <= 0.1"]
RELATIVE = ["accuracy drop <= 0.02", "flip_rate rise <= 0.03"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    return pytester


def _latest_run(path: Path) -> dict:
    return json.loads((path / "reports" / "latest" / "run.json").read_text())


def test_stable_system_passes_and_writes_reports(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, ABSOLUTE + RELATIVE))
    result = project.runpytest("-v")
    result.assert_outcomes(passed=3, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "*demo.eval.yaml::stable::accuracy>=0.9 PASSED*",
            "*demo.eval.yaml::stable::flip_rate[[]typo]<=0.1 PASSED*",
            "*brittle summary*",
            "*no baseline: relative gates have nothing to compare with*"
            "create one with*--brittle-update-baseline*",
            "*stable*acc 1.000*flip 0.000*",
        ]
    )
    run = _latest_run(project.path)
    system = run["evals"][0]["systems"]["stable"]
    assert system["metrics"]["overall"]["accuracy"] == 1.0
    assert system["rows"] == 16 * 3  # originals plus two typo variants each
    table = pd.read_parquet(project.path / "reports" / "latest" / "results.parquet")
    assert len(table) == 48
    assert set(table["family"]) == {"", "typo"}
    assert table.loc[table["row_id"] == "c01[typo#1]", "input"].item() != TEXTS_0
    summary = (project.path / "reports" / "latest" / "summary.md").read_text()
    assert "| stable | python | 1.000" in summary


TEXTS_0 = "The battery lasts all week and charging is quick"


def test_typo_brittle_system_fails_flip_rate_gate_naming_family_and_cases(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"brittle": "typo_brittle"}, ABSOLUTE))
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    assert "gate 'flip_rate[typo] <= 0.1' failed" in out
    assert "flip_rate = 1.0000, required <= 0.1" in out
    assert "flipped variant(s) (families: typo)" in out
    assert "c01[typo#1] (pass→FAIL)" in out
    assert "Traceback" not in out


def test_rerun_against_fresh_baseline_passes(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "degradable"}, ABSOLUTE + RELATIVE))
    first = project.runpytest("--brittle-update-baseline")
    first.assert_outcomes(passed=3, skipped=2)
    baseline = project.path / "__baselines__" / "demo.json"
    assert baseline.is_file()
    data = json.loads(baseline.read_text())
    assert data["brittle_baseline_version"] == 1
    assert data["systems"]["stable"]["outcomes"]["c01"][:2] == [True, "positive"]  # and its hash
    second = project.runpytest()
    second.assert_outcomes(passed=5)


def test_degraded_system_fails_relative_gate(project: pytest.Pytester) -> None:
    gates = ["accuracy >= 0.5", "accuracy drop <= 0.02"]
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, gates))
    project.runpytest("--brittle-update-baseline").assert_outcomes(passed=1, skipped=1)
    (project.path / "mode.txt").write_text("bad")
    result = project.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "gate 'accuracy drop <= 0.02' failed" in out
    assert "baseline 1.0000, now 0." in out
    assert "allowed a drop of at most 0.02" in out
    assert "delta -0." in out


def test_erroring_system_fails_on_error_budget_not_accuracy(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"flaky": "erroring"}, ["accuracy >= 0.9"]))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "over the error budget of 0 errors" in out
    assert "accuracy =" not in out
    run = _latest_run(project.path)
    metrics = run["evals"][0]["systems"]["flaky"]["metrics"]["overall"]
    # errors are never scored: accuracy is computed over the rows that answered
    assert metrics["errors"] > 0
    assert metrics["accuracy"] == 1.0
    errors = run["evals"][0]["systems"]["flaky"]["errors"]
    assert "RuntimeError: backend unavailable (HTTP 503)" in errors[0]["error"]


def test_error_budget_allows_some_errors(project: pytest.Pytester) -> None:
    yaml_text = eval_yaml({"flaky": "erroring"}, ["accuracy >= 0.9"], extra="error_budget: 65%\n")
    project.makefile(".eval.yaml", demo=yaml_text)
    project.runpytest().assert_outcomes(passed=1)


def test_update_writes_only_selected_evals_once(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brittle.stats.baseline

    writes: list[Path] = []
    original = brittle.stats.baseline.write_baseline

    def counting(path: Path, baseline: brittle.stats.baseline.Baseline) -> None:
        writes.append(path)
        original(path, baseline)

    monkeypatch.setattr(brittle.stats.baseline, "write_baseline", counting)
    systems = {"a": "stable", "b": "degradable"}
    project.makefile(".eval.yaml", one=eval_yaml(systems, ["accuracy >= 0.5"], name="one"))
    project.makefile(".eval.yaml", two=eval_yaml(systems, ["accuracy >= 0.5"], name="two"))
    result = project.runpytest("--brittle-update-baseline", "one.eval.yaml")
    result.assert_outcomes(passed=2)
    assert writes == [project.path / "__baselines__" / "one.json"]
    assert not (project.path / "__baselines__" / "two.json").exists()
    # a partial run (one system) keeps the other system's entry
    before = json.loads((project.path / "__baselines__" / "one.json").read_text())
    project.runpytest("--brittle-update-baseline", "one.eval.yaml::a").assert_outcomes(passed=1)
    after = json.loads((project.path / "__baselines__" / "one.json").read_text())
    assert set(after["systems"]) == {"a", "b"}
    assert after["systems"]["b"] == before["systems"]["b"]


def test_python_api_eval_gives_same_items(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_api_eval="""
        import brittle
        from brittle import checks
        import sysmod

        @brittle.evaluation
        def test_demo():
            return brittle.Eval(
                golden="golden.jsonl",
                systems=[brittle.CallableSystem("stable", sysmod.stable)],
                checks=[checks.label(["positive", "negative"])],
                suites=["suites/typos.yaml"],
                gates=["accuracy >= 0.9", "flip_rate[typo] <= 0.1"],
                perturb_fields=["text"],
            )
        """
    )
    result = project.runpytest("-v", "--brittle-update-baseline")
    result.stdout.fnmatch_lines(
        [
            "*test_api_eval.py::test_demo::stable::accuracy>=0.9 PASSED*",
            "*test_api_eval.py::test_demo::stable::flip_rate[[]typo]<=0.1 PASSED*",
        ]
    )
    data = json.loads((project.path / "__baselines__" / "demo.json").read_text())
    assert data["systems"]["stable"]["metrics"]["overall"]["accuracy"] == 1.0


def test_fingerprint_change_is_reported(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "stable"}, ["accuracy >= 0.5"]))
    project.runpytest("--brittle-update-baseline").assert_outcomes(passed=1)
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, ["accuracy >= 0.5"]))
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*fingerprint changed since the baseline*"])


def test_cli_run_matches_plugin(project: pytest.Pytester) -> None:
    from brittle.cli import main

    project.makefile(".eval.yaml", demo=eval_yaml({"brittle": "typo_brittle"}, ABSOLUTE))
    code = main(["run", "demo.eval.yaml", "--report-dir", "cli-reports"])
    assert code == 1
    run = json.loads((project.path / "cli-reports" / "latest" / "run.json").read_text())
    verdicts = {v["gate"]: v["status"] for v in run["evals"][0]["systems"]["brittle"]["verdicts"]}
    assert verdicts == {
        "accuracy >= 0.9": "passed",
        "flip_rate <= 0.1": "FAILED",
        "flip_rate[typo] <= 0.1": "FAILED",
    }
