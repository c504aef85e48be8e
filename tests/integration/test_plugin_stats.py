"""Statistically sound gates end to end: significance, Holm, power, changed cases, repeats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from brittle._errors import ConfigError
from tests.support.evalproject import eval_yaml, golden_rows, write_project

RELATIVE = ["accuracy drop <= 0.02", "flip_rate rise <= 0.03"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")  # the systems read mode.txt: never replay them
    write_project(pytester)
    return pytester


def _run_json(path: Path) -> dict[str, Any]:
    return json.loads((path / "reports" / "latest" / "run.json").read_text())


def _summary(path: Path) -> str:
    return (path / "reports" / "latest" / "summary.md").read_text()


def _baseline_then(project: pytest.Pytester, mode: str, *args: str) -> pytest.RunResult:
    project.runpytest("--brittle-update-baseline")
    (project.path / "mode.txt").write_text(mode)
    return project.runpytest(*args)


def test_drop_beyond_the_allowance_that_is_not_significant_passes_and_says_so(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, ["accuracy drop <= 0.02"]))
    result = _baseline_then(project, "some")  # 4 of 16 cases break: McNemar p = 2 / 2^4
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*[[]passed] accuracy drop <= 0.02: baseline 1.0000, now 0.7500, delta -0.2500 "
            "(95% CI -0.*), p = 0.1250, allowed a drop of at most 0.02: larger than allowed but "
            "not significant at alpha 0.05, so not failed*",
        ]
    )
    verdict = _run_json(project.path)["evals"][0]["systems"]["sys"]["verdicts"][0]
    assert verdict["status"] == "passed"
    statistics = verdict["statistics"]
    assert statistics["test"] == "McNemar exact test"
    assert statistics["discordant"] == {"worse": 4, "better": 0}
    assert statistics["p_value"] == pytest.approx(0.125)
    assert statistics["exceeds_allowance"] is True and statistics["significant"] is False


def test_alpha_is_the_eval_key(project: pytest.Pytester) -> None:
    gates = ["accuracy drop <= 0.02"]
    yaml_text = eval_yaml({"sys": "degradable"}, gates, extra="alpha: 0.2\n")
    project.makefile(".eval.yaml", demo=yaml_text)
    result = _baseline_then(project, "some")
    result.assert_outcomes(failed=1)
    assert "significant at alpha 0.2" in result.stdout.str()


def test_large_real_regression_fails_with_p_value_and_interval(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, RELATIVE))
    result = _baseline_then(project, "typos")  # every misspelt variant now flips
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "gate 'flip_rate rise <= 0.03' failed" in out
    assert (
        "baseline 0.0000, now 1.0000, delta +1.0000 (95% CI +1.0000 to +1.0000), p = 0.0010, "
        "allowed a rise of at most 0.03: larger than allowed and significant at alpha 0.05" in out
    )
    assert "paired permutation test on the 16 cases x 2 units scored in both runs" in out
    assert "p Holm-adjusted over the 2 relative gates of this eval (unadjusted p = 0.0005)" in out
    assert "newly flipped variant(s) (families: typo)" in out
    assert "Traceback" not in out
    verdicts = _run_json(project.path)["evals"][0]["systems"]["sys"]["verdicts"]
    flip = next(v for v in verdicts if v["gate"] == "flip_rate rise <= 0.03")
    assert flip["statistics"]["family_size"] == 2
    assert flip["statistics"]["p_adjusted"] == pytest.approx(2 * flip["statistics"]["p_value"])
    assert flip["statistics"]["ci"] == [1.0, 1.0]


def test_holm_family_spans_the_systems_of_the_eval(project: pytest.Pytester) -> None:
    systems = {"a": "degradable", "b": "stable"}
    project.makefile(".eval.yaml", demo=eval_yaml(systems, ["accuracy drop <= 0.02"]))
    # alone, six broken cases of 16 are significant (p = 2 / 2^6 = 0.031); with a second
    # system's gate in the family, Holm asks for p < 0.025 first
    result = _baseline_then(project, "bad")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert (
        "p = 0.0625, allowed a drop of at most 0.02: larger than allowed but not significant" in out
    )
    # selecting one system makes it a family of one: now it fails
    alone = project.runpytest("demo.eval.yaml::a")
    alone.assert_outcomes(failed=1)
    assert "p = 0.0312" in alone.stdout.str()


def test_underpowered_gates_are_flagged_with_their_minimum_detectable_effect(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"stable": "stable"}, RELATIVE))
    result = _baseline_then(project, "good")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*underpowered: flip_rate rise <= 0.03 can only detect rises >= 0.* with 80% power "
            "at n=16 cases x 2 variants (baseline rate 0.000, alpha 0.025); about * cases would "
            "detect 0.03*",
        ]
    )
    summary = _summary(project.path)
    assert "- stable: underpowered: accuracy drop <= 0.02 can only detect drops >= 0." in summary
    assert "- stable: underpowered: flip_rate rise <= 0.03 can only detect rises >= 0." in summary
    power = _run_json(project.path)["evals"][0]["systems"]["stable"]["verdicts"][1]["statistics"][
        "power"
    ]
    assert power["underpowered"] is True
    assert power["mde"] > 0.03 and power["cases_needed"] > 16


def test_metrics_carry_confidence_intervals_in_every_report(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"b": "typo_brittle"}, ["accuracy >= 0.5"]))
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*b * acc 1.000 [[]0.81,1.00]*flip 1.000 [[]0.81,1.00]*"])
    metrics = _run_json(project.path)["evals"][0]["systems"]["b"]["metrics"]
    wilson_low = 16 / (16 + 1.959964**2)  # the Wilson interval of 16 passes in 16
    assert metrics["overall"]["ci"]["accuracy"] == pytest.approx([wilson_low, 1.0])
    assert metrics["families"]["typo"]["ci"]["flip_rate"][1] == 1.0
    assert "| b | python | 1.000 [0.81, 1.00] |" in _summary(project.path)


def test_cases_added_and_removed_are_listed_and_left_out(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "degradable"}, ["accuracy drop <= 0"]))
    project.runpytest("--brittle-update-baseline")
    added = {"id": "c17", "text": "Awful, simply awful", "hint": "positive", "expected": "negative"}
    rows = [*golden_rows()[2:], added]
    (project.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = project.runpytest()
    result.assert_outcomes(passed=1)  # c17 fails its check but is not in the baseline to pair
    result.stdout.fnmatch_lines(
        ["*cases since the baseline: 1 added (c17), 2 removed (c01, c02); left out of the paired*"]
    )
    system = _run_json(project.path)["evals"][0]["systems"]["sys"]
    assert system["baseline_cases"]["added_ids"] == ["c17"]
    assert system["baseline_cases"]["removed"] == 2 and system["baseline_cases"]["common"] == 14
    assert system["verdicts"][0]["statistics"]["cases"] == 14
    assert (
        "left out of the comparison: 1 case(s) added (c17); 2 case(s) removed"
        in (system["verdicts"][0]["message"])
    )
    assert "cases since the baseline: 1 added (c17), 2 removed (c01, c02)" in _summary(project.path)


def test_repeats_are_distinct_calls_reduced_before_the_gates(project: pytest.Pytester) -> None:
    yaml_text = eval_yaml({"n": "noisy"}, ["accuracy >= 0.5"], extra="repeats: 3\nconcurrency: 1\n")
    project.makefile(".eval.yaml", demo=yaml_text)
    result = project.runpytest()
    result.assert_outcomes(passed=1)
    # pyarrow, not pandas: pandas' parquet reader cannot be imported twice in one process
    table = pq.read_table(project.path / "reports" / "latest" / "results.parquet")
    assert table.num_rows == 48 * 3
    rows = list(zip(table["row_id"].to_pylist(), table["repeat"].to_pylist(), strict=True))
    assert sorted(k for row, k in rows if row == "c01") == [0, 1, 2]
    assert len(set(rows)) == 48 * 3
    metrics = _run_json(project.path)["evals"][0]["systems"]["n"]["metrics"]
    # one call in three is wrong: two of every row's three repeats agree, the majority is right
    assert metrics["repeats"]["self_disagreement"] == pytest.approx(2 / 3)
    assert metrics["overall"]["accuracy"] == 1.0 and metrics["overall"]["flip_rate"] == 0.0
    result.stdout.fnmatch_lines(
        ["*repeats 3 (majority): self-disagreement 0.667 [[]0.67,0.67] (randomness), excess*"]
    )
    baseline_run = project.runpytest("--brittle-update-baseline")
    baseline_run.assert_outcomes(passed=1)
    stored = json.loads((project.path / "__baselines__" / "demo.json").read_text())
    assert len(stored["systems"]["n"]["outcomes"]) == 48  # one reduced outcome per row


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("alpha: 0.9\n", "'alpha' must be a significance level between 0 and 0.5, not 0.9"),
        ("repeats: 0\n", "'repeats' must be a whole number of samples per case and variant"),
        ("reduction: median\n", "unknown reduction 'median'"),
    ],
)
def test_statistics_keys_are_validated(project: pytest.Pytester, extra: str, message: str) -> None:
    from brittle.spec.eval import load_eval_file

    text = eval_yaml({"s": "stable"}, ["accuracy >= 0.5"], extra=extra)
    path = project.makefile(".eval.yaml", demo=text)
    with pytest.raises(ConfigError) as info:
        load_eval_file(path)
    line = text.splitlines().index(extra.strip()) + 1
    assert str(info.value).startswith(f"{path}:{line}: '{extra.split(':')[0]}': {message}")


def test_brittle_power_command(capsys: pytest.CaptureFixture[str]) -> None:
    from brittle.cli import main
    from brittle.stats import power as stats

    args = ["power", "--cases", "200", "--variants", "5", "--baseline-rate", "0.1"]
    assert main([*args, "--delta", "0.05", "--icc", "0.2"]) == 0
    out = capsys.readouterr().out
    mde = stats.minimum_detectable_effect(200, 0.1, variants=5, icc=0.2)
    needed = stats.cases_needed(0.05, 0.1, variants=5, icc=0.2)
    assert mde is not None
    assert "paired gate on 200 cases x 5 variants (1000 paired units), baseline rate 0.1" in out
    assert f"smallest detectable rise: {mde:.4f}" in out
    assert f"cases needed to detect a rise of 0.05: {needed} (x 5 variants)" in out
    assert main(["power", "--cases", "0", "--baseline-rate", "1.5"]) == 2
    assert "--cases must be at least 1; --baseline-rate must be in [0, 1)" in (
        capsys.readouterr().err
    )
