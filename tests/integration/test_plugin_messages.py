"""What the terminal and the summaries say around the verdicts: error counts from the whole run
and the first error, variant texts with their whitespace, per-family counts, and baseline hints
that name the command in use (pytest or ``brittle run``)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main
from brittle.report.markdown import markdown_summary
from brittle.stats.gates import ERRORS_SHOWN
from tests.support.evalproject import eval_yaml, write_project

WHITESPACE_SUITE = """
name: spaces
version: 1
seed: 5
perturbations:
  - family: whitespace
    n: 2
    params: {rate: 0.5}
"""

SPACEY = """
OPPOSITE = {"positive": "negative", "negative": "positive"}


def spacey(inputs):
    # wrong as soon as the whitespace between words is anything but single spaces
    text = inputs["text"]
    return OPPOSITE[inputs["hint"]] if text != " ".join(text.split()) else inputs["hint"]
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_project(pytester)
    return pytester


def _latest(project: pytest.Pytester, name: str) -> Path:
    return project.path / "reports" / "latest" / name


# --- errors -------------------------------------------------------------------------------------


def test_error_counts_come_from_the_whole_run_and_the_first_error_is_shown(
    project: pytest.Pytester,
) -> None:
    # 3 repeats of 48 rows: more errored calls than run.json keeps (50)
    yaml_text = eval_yaml({"e": "erroring"}, ["accuracy >= 0"], extra="repeats: 3\n")
    project.makefile(".eval.yaml", demo=yaml_text)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    record = json.loads(_latest(project, "run.json").read_text())["evals"][0]["systems"]["e"]
    total = record["errors_total"]
    assert total > 55 and len(record["errors"]) == 50
    first = record["errors"][0]
    result.stdout.fnmatch_lines(
        [  # the failure (its first error with it), then brittle's summary
            "*calls errored, over the error budget of 0 errors: the gate cannot pass on "
            f"incomplete results ({ERRORS_SHOWN})",
            f"*first error ({first['row_id']}): RuntimeError: backend unavailable (HTTP 503)",
            f"*{total} call(s) errored, the first ({first['row_id']}): RuntimeError: backend "
            "unavailable (HTTP 503)",
        ],
        consecutive=False,
    )
    summary = _latest(project, "summary.md").read_text()
    assert f"- e: {total - 5} more error(s) (run.json has the first 50, results.parquet all)" in (
        summary
    )


def test_summary_md_counts_failing_cases_and_errors_beyond_those_kept() -> None:
    system: dict[str, Any] = {
        "kind": "python",
        "metrics": {"overall": {}, "families": {}},
        "baseline_metrics": None,
        "verdicts": [],
        "fingerprint_changed": False,
        "failing_cases": [{"case_id": f"c{i}", "output": "x"} for i in range(200)],
        "failing_cases_total": 1234,
        "errors": [{"row_id": f"c{i}", "error": "503"} for i in range(50)],
        "errors_total": 345,
    }
    system["metrics"]["overall"] = {
        "accuracy": 0.5,
        "variant_accuracy": 0.5,
        "flip_rate": 0.0,
        "agreement": 1.0,
        "pdr": 0.0,
        "worst_case_accuracy": 0.5,
        "errors": 345,
    }
    record = {
        "run_id": "r",
        "evals": [
            {"name": "demo", "cases": 2000, "systems": {"s": system}, "noops_per_family": {}}
        ],
    }
    summary = markdown_summary(record)
    assert "- s: 1229 more failing case(s) (run.json has the first 200, results.parquet all)" in (
        summary
    )
    assert "- s: 340 more error(s) (run.json has the first 50, results.parquet all)" in summary


# --- variant texts and per-family figures --------------------------------------------------------


def test_the_terminal_shows_whitespace_in_variant_texts_and_counts_per_family(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(spacemod=SPACEY)
    (project.path / "suites" / "spaces.yaml").write_text(WHITESPACE_SUITE)
    yaml_text = eval_yaml(
        {"s": "spacey"}, ["flip_rate <= 0"], suites=("suites/spaces.yaml",)
    ).replace("callable: sysmod:spacey", "callable: spacemod:spacey")
    project.makefile(".eval.yaml", demo=yaml_text)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    shown = re.findall(r"\(pass→FAIL\): input ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") ->", out)
    assert shown, out
    for literal in shown:
        text = ast.literal_eval(literal)
        assert text != " ".join(text.split())  # the whitespace that made it flip, kept
        assert "\n" not in literal and "\t" not in literal  # written as escapes
    assert any("\\n" in literal or "\\t" in literal or "  " in literal for literal in shown)
    flips = json.loads(_latest(project, "run.json").read_text())["evals"][0]["systems"]["s"]
    pairs = flips["metrics"]["families"]["whitespace"]["pairs"]
    flipped = round(flips["metrics"]["families"]["whitespace"]["flip_rate"] * pairs)
    rate = flipped / pairs
    result.stdout.fnmatch_lines([f"*flip by family: whitespace {rate:.3f} ({flipped}/{pairs})"])
    assert f"{rate:.3f} [" in _latest(project, "summary.md").read_text()
    assert f"({flipped}/{pairs}) |" in _latest(project, "summary.md").read_text()
    assert f"{rate:.3f} ({flipped}/{pairs})</text>" in _latest(project, "index.html").read_text()


# --- baseline hints ------------------------------------------------------------------------------

RELATIVE = ["accuracy drop <= 0.02"]


def test_pytest_hints_its_own_option_but_not_while_updating(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"s": "stable"}, RELATIVE))
    result = project.runpytest()
    result.stdout.fnmatch_lines(
        [
            "*no baseline: relative gates have nothing to compare with*; create one with "
            "pytest evals/ --brittle-update-baseline"
        ]
    )
    updating = project.runpytest("--brittle-update-baseline")
    updating.assert_outcomes(skipped=1)  # a relative gate is not checked while updating
    assert "no baseline" not in updating.stdout.str()
    assert "baseline written:" in updating.stdout.str()


def test_brittle_run_hints_its_own_update_baseline(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project.path)
    project.makefile(".eval.yaml", demo=eval_yaml({"s": "stable"}, RELATIVE))
    assert main(["run", "demo.eval.yaml", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "then they fail); create one with brittle run demo.eval.yaml --update-baseline" in out
    assert "pytest" not in out

    assert main(["run", "demo.eval.yaml", "--no-report", "--update-baseline"]) == 0
    out = capsys.readouterr().out
    assert "no baseline" not in out and "baseline written:" in out

    baseline = project.path / "__baselines__" / "demo.json"
    stored = json.loads(baseline.read_text())
    for system in stored["systems"].values():  # as written before variant fingerprints
        system["outcomes"] = {row: entry[:2] for row, entry in system["outcomes"].items()}
    baseline.write_text(json.dumps(stored))
    assert main(["run", "demo.eval.yaml", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert "the baseline predates variant fingerprints" in out
    assert "identical variants: brittle run demo.eval.yaml --update-baseline" in out
    assert "pytest" not in out

    for system in stored["systems"].values():  # a baseline without per-case outcomes
        system["outcomes"] = {}
        system["metrics"]["overall"]["accuracy"] = 1.0
    baseline.write_text(json.dumps(stored))
    (project.path / "mode.txt").write_text("bad")
    strict = eval_yaml({"s": "degradable"}, RELATIVE, extra="inconclusive: fail\n")
    project.makefile(".eval.yaml", demo=strict)
    assert main(["run", "demo.eval.yaml", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert "FAILED demo::s::accuracy drop <= 0.02" in out
    assert "refresh it: brittle run demo.eval.yaml --update-baseline" in out
    assert "pytest" not in out

    baseline.write_text("{not json")
    assert main(["run", "demo.eval.yaml", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert "baseline file is corrupt" in err
    assert "regenerate it: brittle run demo.eval.yaml --update-baseline" in err
    assert "pytest" not in err
