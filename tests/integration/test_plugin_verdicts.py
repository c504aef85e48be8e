"""Relative verdicts end to end: passed, failed and inconclusive in every report, the
``inconclusive`` eval key, and a Holm family that selection never changes.

The systems are deterministic and read ``mode.txt``: ``before`` (the baseline: every answer right)
or ``after``, when

- ``steady`` gets both typo variants of one case (c01) wrong: flip rate 2/32 = 0.0625 against an
  allowance of 0.05, one case of 16 behind it: above the allowance, nowhere near shown
  (inconclusive);
- ``broken`` gets every typo variant wrong: flip rate 0 -> 1 in every case (failed);
- ``five`` gets the originals of c01-c05 wrong: 5 of 16 cases worse, none better, exact one-sided
  McNemar p = 1/32 = 0.031: below alpha 0.05 alone, above the 0.025 of Holm's first step in a
  family of two;
- ``stable`` never changes. Accuracy gates of ``steady`` and ``broken`` pass.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from brittle._errors import ConfigError
from tests.support.evalproject import TEXTS, eval_yaml, write_project

SYSTEMS = '''
"""Deterministic systems that change between mode 'before' and 'after' (see the test module)."""
import difflib
import pathlib

CLEAN = %(texts)r
OPPOSITE = {"positive": "negative", "negative": "positive"}


def _after():
    path = pathlib.Path("mode.txt")
    return path.exists() and path.read_text().strip() == "after"


def _case(text):
    """The index of the golden case this text is (or is a rewording of)."""
    def likeness(i):
        return difflib.SequenceMatcher(None, CLEAN[i], text).ratio()

    return max(range(len(CLEAN)), key=likeness)


def _answer(inputs, wrong):
    return OPPOSITE[inputs["hint"]] if wrong else inputs["hint"]


def steady(inputs):
    text = inputs["text"]
    return _answer(inputs, _after() and text not in CLEAN and _case(text) == 0)


def broken(inputs):
    return _answer(inputs, _after() and inputs["text"] not in CLEAN)


def five(inputs):
    text = inputs["text"]
    return _answer(inputs, _after() and text in CLEAN and CLEAN.index(text) < 5)


def stable(inputs):
    return inputs["hint"]
'''

GATES = ["flip_rate rise <= 0.05", "accuracy drop <= 0.02"]


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")  # the systems read mode.txt: never replay them
    write_project(pytester)
    pytester.makepyfile(sysmod=SYSTEMS % {"texts": [text for _, text, _ in TEXTS]})
    return pytester


def _baseline_then_after(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    (project.path / "mode.txt").write_text("before")
    # relative gates are not checked while the baseline is written
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=len(GATES) * 2)
    (project.path / "mode.txt").write_text("after")
    return project.runpytest(*args)


def _latest(project: pytest.Pytester, name: str) -> Path:
    return project.path / "reports" / "latest" / name


def _verdicts(project: pytest.Pytester, eval_index: int = 0) -> dict[tuple[str, str], Any]:
    record = json.loads(_latest(project, "run.json").read_text())
    systems = record["evals"][eval_index]["systems"]
    return {(s, v["gate"]): v for s, system in systems.items() for v in system["verdicts"]}


def _junit_properties(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    """Each test case's properties, by (class name, name)."""
    root = ET.parse(path).getroot()
    return {
        (case.get("classname", ""), case.get("name", "")): {
            p.get("name", ""): p.get("value", "") for p in case.iter("property")
        }
        for case in root.iter("testcase")
    }


def test_passed_failed_and_inconclusive_verdicts_in_every_report(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"steady": "steady", "broken": "broken"}, GATES))
    result = _baseline_then_after(project, "--junitxml=junit.xml")
    result.assert_outcomes(passed=3, failed=1)  # inconclusive passes, with a warning
    out = result.stdout.str()
    # terminal: the verdicts, the failure, and the inconclusive gate as a pytest warning
    result.stdout.fnmatch_lines(
        [
            "*[[]inconclusive] flip_rate rise <= 0.05: baseline 0.0000, now 0.0625, delta "
            "+0.0625 (95% CI *), allowed a rise of at most 0.05; rise >= * at 98.33% (one-sided, "
            "Holm stopped at step 2 of 4): inconclusive: above the allowance, but not shown to "
            "be, so not failed; about * cases would settle it (one-sided p = *)",
            "*[[]passed] accuracy drop <= 0.02: *within the allowance*",
            "*[[]FAILED] flip_rate rise <= 0.05: baseline 0.0000, now 1.0000, delta +1.0000 "
            "(95% CI +1.0000 to +1.0000), allowed a rise of at most 0.05; rise >= 1.0000 at "
            "98.75% (one-sided, Holm step 1 of 4): larger than allowed (one-sided p < 0.0001)",
        ]
    )
    assert "gate 'flip_rate rise <= 0.05' failed" in out
    assert "InconclusiveGate: demo / steady: gate 'flip_rate rise <= 0.05' is inconclusive" in out
    # run.json: the statistics behind each verdict
    verdicts = _verdicts(project)
    unsure = verdicts[("steady", "flip_rate rise <= 0.05")]
    assert unsure["status"] == "inconclusive"
    statistics = unsure["statistics"]
    assert statistics["status"] == "inconclusive" and statistics["inconclusive"] is True
    assert statistics["degradation"] == pytest.approx(0.0625)
    assert statistics["bound"] <= 0.05 < statistics["degradation"]
    assert statistics["p_value"] >= statistics["level"]
    assert statistics["cases_needed"] > 16 and statistics["family_size"] == 4
    assert verdicts[("broken", "flip_rate rise <= 0.05")]["status"] == "FAILED"
    assert verdicts[("steady", "accuracy drop <= 0.02")]["status"] == "passed"
    # summary.json: a status per gate, the paired test, and the counts
    summary = json.loads(_latest(project, "summary.json").read_text())
    assert summary["gates"] == {"passed": 2, "failed": 1, "inconclusive": 1, "skipped": 0}
    assert summary["status"] == "failed"
    systems = {s["name"]: s for s in summary["evals"][0]["systems"]}
    gate = systems["steady"]["gates"][0]
    assert gate["status"] == "inconclusive" and gate["passed"] is True
    assert gate["test"]["cases_needed"] == statistics["cases_needed"]
    assert gate["test"]["bound"] == statistics["bound"] and gate["test"]["allowance"] == 0.05
    assert systems["steady"]["status"] == "passed"
    assert systems["broken"]["gates"][0]["status"] == "failed"
    assert systems["broken"]["gates"][0]["passed"] is False
    # summary.md: the gate counts and a note with the interval, allowance and cases
    markdown = _latest(project, "summary.md").read_text()
    assert "| 1 passed, 1 inconclusive |" in markdown
    assert (
        "- steady: gate `flip_rate rise <= 0.05` inconclusive (passed; `inconclusive: fail` in "
        "the eval fails it): baseline 0.0000, now 0.0625" in markdown
    )
    assert f"about {statistics['cases_needed']} cases would settle it" in markdown
    assert "- **broken**: gate `flip_rate rise <= 0.05` failed: baseline 0.0000" in markdown
    # JUnit: the status and the test of each gate item
    junit = _junit_properties(project.path / "junit.xml")
    by_status = sorted(props["brittle_status"] for props in junit.values())
    assert by_status == ["failed", "inconclusive", "passed", "passed"]
    steady = next(p for p in junit.values() if p["brittle_status"] == "inconclusive")
    assert float(steady["brittle_bound"]) == pytest.approx(statistics["bound"])
    assert steady["brittle_cases_needed"] == str(statistics["cases_needed"])
    assert steady["brittle_allowance"] == "0.05"
    # HTML: the badge and the row of each status
    html = _latest(project, "index.html").read_text()
    assert '<span class="badge warn">inconclusive</span>' in html
    assert '<tr class="verdict inconclusive">' in html
    assert '<tr class="verdict failed">' in html
    assert "1 inconclusive" in html


def test_brittle_run_shows_inconclusive_gates_and_fails_on_the_failed_one(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    from brittle.cli import main

    project.makefile(".eval.yaml", demo=eval_yaml({"steady": "steady", "broken": "broken"}, GATES))
    project.chdir()
    (project.path / "mode.txt").write_text("before")
    assert main(["run", "demo.eval.yaml", "--update-baseline", "--no-report"]) == 0
    (project.path / "mode.txt").write_text("after")
    capsys.readouterr()
    assert main(["run", "demo.eval.yaml", "--no-report"]) == 1
    out = capsys.readouterr().out
    assert (
        "INCONCLUSIVE demo::steady::flip_rate rise <= 0.05 (passed; 'inconclusive: fail' in the "
        "eval fails it)\nbaseline 0.0000, now 0.0625" in out
    )
    assert "FAILED demo::broken::flip_rate rise <= 0.05" in out
    assert "FAILED demo::steady" not in out


def test_inconclusive_fail_turns_an_inconclusive_gate_into_a_failure(
    project: pytest.Pytester,
) -> None:
    text = eval_yaml({"steady": "steady", "broken": "broken"}, GATES, extra="inconclusive: fail\n")
    project.makefile(".eval.yaml", demo=text)
    result = _baseline_then_after(project)
    result.assert_outcomes(passed=2, failed=2)
    out = result.stdout.str()
    assert "gate 'flip_rate rise <= 0.05' failed" in out
    assert "inconclusive, failed as the eval sets 'inconclusive: fail'" in out
    assert "InconclusiveGate" not in out
    verdict = _verdicts(project)[("steady", "flip_rate rise <= 0.05")]
    assert verdict["status"] == "FAILED" and verdict["statistics"]["inconclusive"] is True
    summary = json.loads(_latest(project, "summary.json").read_text())
    assert summary["evals"][0]["inconclusive"] == "fail"


@pytest.mark.parametrize("value", ["maybe", "no", "1"])
def test_the_inconclusive_key_is_validated(project: pytest.Pytester, value: str) -> None:
    from brittle.spec.eval import load_eval_file

    text = eval_yaml({"s": "stable"}, GATES, extra=f"inconclusive: {value}\n")
    path = project.makefile(".eval.yaml", demo=text)
    with pytest.raises(ConfigError) as info:
        load_eval_file(path)
    line = text.splitlines().index(f"inconclusive: {value}") + 1
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: 'inconclusive': 'inconclusive' must be one of ")
    assert "pass, fail" in message and "fix: write 'inconclusive: pass'" in message


def test_the_python_eval_takes_inconclusive_too(project: pytest.Pytester) -> None:
    from brittle import Case, Eval
    from brittle.checks import label
    from brittle.spec.eval import build_spec
    from brittle.spec.systems import CallableSystem

    def system(inputs: dict[str, Any]) -> str:
        return "positive"

    options: dict[str, Any] = {
        "golden": [Case(id="c1", inputs={"text": "fine"}, expected="positive")],
        "systems": [CallableSystem("s", system)],
        "checks": [label(["positive", "negative"])],
    }
    source = project.path / "test_x.py"
    assert build_spec(Eval(**options, inconclusive="fail"), source=source).inconclusive == "fail"
    assert build_spec(Eval(**options), source=source).inconclusive == "pass"
    with pytest.raises(ConfigError, match="'inconclusive' must be one of pass, fail, not 'soft'"):
        build_spec(Eval(**options, inconclusive="soft"), source=source)


def test_selection_never_changes_a_verdict(project: pytest.Pytester) -> None:
    project.makefile(
        ".eval.yaml",
        demo=eval_yaml({"five": "five", "stable": "stable"}, ["accuracy drop <= 0"]),
    )
    (project.path / "mode.txt").write_text("before")
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=2)
    (project.path / "mode.txt").write_text("after")
    runs = {
        "all": project.runpytest(),
        "-k five": project.runpytest("-k", "five"),
        "node id": project.runpytest("demo.eval.yaml::five"),
    }
    seen = {}
    for how, result in runs.items():
        result.assert_outcomes(passed=2 if how == "all" else 1)
        verdict = _verdicts(project)[("five", "accuracy drop <= 0")]
        statistics = verdict["statistics"]
        seen[how] = (verdict["status"], statistics["p_adjusted"], statistics["level"])
        # 5 cases worse, none better: alone it would fail (p = 1/32 < 0.05); in its family of
        # two (five's gate and stable's) Holm's first step asks for p < 0.025
        assert statistics["p_value"] == pytest.approx(1 / 32)
        assert statistics["family_size"] == 2
        assert "Holm stopped at step 1 of 2" in verdict["message"]
    assert seen["all"] == seen["-k five"] == seen["node id"]
    assert seen["all"][0] == "inconclusive"
    # the system not selected ran to complete the family, and says so
    runs["-k five"].stdout.fnmatch_lines(
        ["*stable*", "*not selected: ran only to complete the Holm family of the relative gates*"]
    )


def test_correct_across_evals_makes_one_family_of_every_collected_eval(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"steady": "steady", "broken": "broken"}, GATES))
    other = eval_yaml({"five": "five", "stable": "stable"}, ["accuracy drop <= 0"], name="other")
    project.makefile(".eval.yaml", other=other)
    (project.path / "mode.txt").write_text("before")
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=6)
    (project.path / "mode.txt").write_text("after")

    def five() -> Any:
        record = json.loads(_latest(project, "run.json").read_text())
        index = [ev["name"] for ev in record["evals"]].index("other")
        return _verdicts(project, index)[("five", "accuracy drop <= 0")]

    for args in ((), ("-k", "other")):  # selection changes nothing here either
        project.runpytest("--brittle-correct-across-evals", *args)
        verdict = five()
        assert verdict["statistics"]["family_size"] == 6
        assert "the 2 evals of this run (--brittle-correct-across-evals)" in verdict["message"]
    project.runpytest()  # without the option, each eval file is its own family
    verdict = five()
    assert verdict["statistics"]["family_size"] == 2
    assert "relative gates of this eval" in verdict["message"]


def test_underpowered_gates_are_listed_once_per_eval(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"steady": "steady", "broken": "broken"}, GATES))
    result = _baseline_then_after(project)
    out = result.stdout.str()
    lines = [line for line in out.splitlines() if "underpowered at" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith("  underpowered at 80% power: ")
    assert "flip_rate rise <= 0.05 detects rises >= 0." in lines[0]
    assert "accuracy drop <= 0.02 detects drops >= 0." in lines[0]
    markdown = _latest(project, "summary.md").read_text()
    assert markdown.count("underpowered at 80% power: ") == 1
