"""A YAML eval with a suite shipped with brittle (``builtin:typos``) and a suite written inline,
run through the plugin: both perturb every case, the baseline pairs every variant on the next
run, and a brittle release that changes the builtin suite shows as a suite change."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from brittle.spec import suite_refs
from tests.support.evalproject import eval_yaml, write_project

GATES = ["flip_rate rise <= 0.03", "accuracy drop <= 0.02"]
INLINE = (
    "{name: polite, seed: 3, perturbations: [{family: prefix, n: 1, params: {kind: politeness}}]}"
)
CASES = 16
VARIANTS = CASES * 2 + CASES  # builtin:typos (typo-light, typo-heavy) + the inline suite


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    write_project(pytester)
    pytester.makefile(
        ".eval.yaml",
        demo=eval_yaml({"sys": "stable"}, GATES, suites=("builtin:typos", INLINE)),
    )
    return pytester


def run_json(path: Path) -> dict[str, Any]:
    return json.loads((path / "reports" / "latest" / "run.json").read_text())


def test_a_builtin_and_an_inline_suite_run_and_pair_with_their_baseline(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=2)
    stored = json.loads((project.path / "__baselines__" / "demo.json").read_text())
    suites = stored["systems"]["sys"]["suites"]
    assert {name: (s["seed"], s["families"]) for name, s in suites.items()} == {
        "typos": (1, ["typo"]),
        "polite": (3, ["prefix"]),
    }
    record = run_json(project.path)["evals"][0]
    assert [(s["name"], s["source"], s["sample"]) for s in record["suites"]] == [
        ("typos", "builtin:typos", 1.0),
        ("polite", str(project.path / "demo.eval.yaml"), 1.0),
    ]

    # the same eval again: every variant pairs, no suite changed
    project.runpytest().assert_outcomes(passed=2)
    system = run_json(project.path)["evals"][0]["systems"]["sys"]
    assert system["baseline_cases"]["suites_changed"] == []
    for verdict in system["verdicts"]:
        assert verdict["statistics"]["variants"]["paired"] == VARIANTS
        assert verdict["statistics"]["variants"]["changed"] == 0

    # a brittle release whose builtin:typos draws with another seed: a suite change
    shipped = tmp_path / "shipped"
    shutil.copytree(suite_refs.builtin_path("typos").parent, shipped)
    typos = shipped / "typos.yaml"
    typos.write_text(typos.read_text().replace("seed: 1\n", "seed: 9\n"))
    monkeypatch.setattr(suite_refs, "_FOLDER", shipped)
    result = project.runpytest()
    system = run_json(project.path)["evals"][0]["systems"]["sys"]
    assert system["baseline_cases"]["suites_changed"] == ["suite 'typos' changed: seed 1 -> 9"]
    assert "suite 'typos' changed: seed 1 -> 9" in result.stdout.str()
