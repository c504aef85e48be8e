"""Bad inputs through the plugin: one clear message (file, line or key, problem, fix).

No traceback, and nothing already computed is lost.
"""

from __future__ import annotations

import json

import pytest

from tests.support.evalproject import eval_yaml, write_project


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    return pytester


def _assert_clean(output: str) -> None:
    assert "Traceback" not in output
    assert "site-packages" not in output


def test_malformed_yaml_names_file_and_line(project: pytest.Pytester) -> None:
    text = eval_yaml({"s": "stable"}, ["accuracy >= 0.9"]).replace(
        "perturb_fields: [text]", "perturb_fields: [text"
    )
    project.makefile(".eval.yaml", demo=text)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "brittle: " in out and "demo.eval.yaml:" in out
    assert "malformed YAML" in out and "fix:" in out
    _assert_clean(out)


def test_unknown_check_suggests_the_closest(project: pytest.Pytester) -> None:
    text = eval_yaml({"s": "stable"}, ["accuracy >= 0.9"]).replace("- label:", "- lable:")
    project.makefile(".eval.yaml", demo=text)
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "lable" in out and "label" in out
    _assert_clean(out)


def test_missing_suite_file(project: pytest.Pytester) -> None:
    project.makefile(
        ".eval.yaml",
        demo=eval_yaml({"s": "stable"}, ["accuracy >= 0.9"], suites=("suites/nope.yaml",)),
    )
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "nope.yaml" in out and "does not exist" in out
    _assert_clean(out)


def test_baseline_in_another_format_version(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"s": "stable"}, ["accuracy >= 0.9"]))
    baselines = project.path / "__baselines__"
    baselines.mkdir()
    (baselines / "demo.json").write_text(
        json.dumps({"brittle_baseline_version": 99, "systems": {}})
    )
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "format version 99" in out and "--brittle-update-baseline" in out
    _assert_clean(out)
    # found before the first model call: nothing is spent on a run that cannot be compared
    assert not (project.path / "reports" / "latest").exists()
    # and the update option repairs it
    project.runpytest("--brittle-update-baseline").assert_outcomes(passed=1)
    assert json.loads((baselines / "demo.json").read_text())["brittle_baseline_version"] == 1


def test_gate_on_unknown_metric(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", demo=eval_yaml({"s": "stable"}, ["acuracy >= 0.9"]))
    result = project.runpytest()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "unknown metric 'acuracy'" in out and "did you mean 'accuracy'" in out
    _assert_clean(out)
