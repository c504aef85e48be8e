"""Variant fingerprints end to end: a suite's seed changes after the baseline, and the relative
gates pair only the variants whose text is the same, name the changed ones per family, and say
when too few pairs are left; an old baseline without fingerprints still gates, with a note."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from brittle.stats.baseline import PYTEST_UPDATE
from tests.support.evalproject import TYPO_SUITE, eval_yaml, write_project

GATES = ["flip_rate rise <= 0.03", "accuracy drop <= 0.02"]
VARIANTS = 16 * 2  # 16 cases x the typo suite's n = 2


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    write_project(pytester)
    pytester.makefile(".eval.yaml", demo=eval_yaml({"sys": "stable"}, GATES))
    return pytester


def latest(path: Path, name: str) -> dict[str, Any]:
    return json.loads((path / "reports" / "latest" / name).read_text())


def inputs(path: Path) -> dict[str, str]:
    """Row id -> the input text the system saw, from the latest run's results.parquet."""
    table = pq.read_table(path / "reports" / "latest" / "results.parquet")
    return dict(zip(table["row_id"].to_pylist(), table["input"].to_pylist(), strict=True))


def verdicts(path: Path) -> dict[str, dict[str, Any]]:
    system = latest(path, "run.json")["evals"][0]["systems"]["sys"]
    return {v["gate"]: v for v in system["verdicts"]}


def update(project: pytest.Pytester) -> None:
    """Write the baseline (relative gates are not checked meanwhile)."""
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=2)


def set_seed(project: pytest.Pytester, seed: int) -> None:
    suite = TYPO_SUITE.replace("seed: 7", f"seed: {seed}")
    (project.path / "suites" / "typos.yaml").write_text(suite)


def test_the_baseline_stores_each_rows_hash_and_each_suites_spec_hash(
    project: pytest.Pytester,
) -> None:
    update(project)
    stored = json.loads((project.path / "__baselines__" / "demo.json").read_text())
    system = stored["systems"]["sys"]
    assert stored["brittle_baseline_version"] == 1
    assert set(system["suites"]) == {"typos"}
    assert system["suites"]["typos"]["seed"] == 7
    assert system["suites"]["typos"]["families"] == ["typo"]
    assert len(system["outcomes"]) == 16 + VARIANTS
    passed, answer, digest = system["outcomes"]["c01[typo#1]"]
    assert passed is True and answer == "positive"
    assert isinstance(digest, str) and len(digest) == 12
    assert len({entry[2] for entry in system["outcomes"].values()}) == 16 + VARIANTS


MIXED_SUITE = (
    TYPO_SUITE
    + """  - family: casing
    n: 1
    params: {mode: upper}
"""
)


def test_a_changed_seed_pairs_only_identical_variants_and_names_the_changed_ones(
    project: pytest.Pytester,
) -> None:
    # typos are drawn with the seed; upper case is the same whatever the seed
    (project.path / "suites" / "typos.yaml").write_text(MIXED_SUITE)
    gates = [*GATES, "flip_rate[typo] rise <= 0.03"]
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "stable"}, gates))
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=3)
    before = inputs(project.path)
    (project.path / "suites" / "typos.yaml").write_text(MIXED_SUITE.replace("seed: 7", "seed: 8"))
    result = project.runpytest()
    now = inputs(project.path)
    typos = [row for row in now if "[typo#" in row]
    same = [row for row in typos if now[row] == before[row]]
    casing = [row for row in now if "[casing#" in row]
    assert len(typos) == VARIANTS and len(casing) == 16
    assert all(now[row] == before[row] for row in casing)
    changed = len(typos) - len(same)
    assert changed > VARIANTS // 2  # a new seed: new typos
    note = (
        f"typo: {changed} of {VARIANTS} variants changed since the baseline (suite 'typos' "
        f"changed: seed 7 -> 8); {len(same)} pair{'s' if len(same) != 1 else ''} left"
    )
    out = result.stdout.str()
    assert note in out and f"refresh the baseline: {PYTEST_UPDATE}" in out
    assert "casing: " not in out  # nothing of casing changed: nothing to say
    overall = {
        "fingerprinted": True,
        "paired": len(same) + 16,
        "changed": changed,
        "added": 0,
        "removed": 0,
        "originals_changed": 0,
    }
    gates_now = verdicts(project.path)
    for gate in GATES:
        assert gates_now[gate]["statistics"]["variants"] == overall
        assert note in gates_now[gate]["message"]
    # the flip rate is compared on the identical variants only: every case keeps its casing
    # variant, and the typo gate keeps the cases with an identical typo variant, if any
    assert gates_now["flip_rate rise <= 0.03"]["statistics"]["cases"] == 16
    typo_gate = gates_now["flip_rate[typo] rise <= 0.03"]
    assert note in typo_gate["message"]
    if same:
        assert typo_gate["statistics"]["cases"] == len({row.split("[")[0] for row in same})
        assert typo_gate["statistics"]["variants"]["paired"] == len(same)
    else:
        assert typo_gate["status"] == "skipped"
        assert f"{note}: nothing left to test" in typo_gate["message"]
    summary = latest(project.path, "summary.json")["evals"][0]["systems"][0]
    tested = [g for g in summary["gates"] if g["gate"] in GATES]
    assert [g["test"]["variants"] for g in tested] == [overall, overall]
    changes = summary["baseline_changes"]
    assert changes["families"]["typo"] == {
        "paired": len(same),
        "changed": changed,
        "added": 0,
        "removed": 0,
    }
    assert changes["families"]["casing"] == {"paired": 16, "changed": 0, "added": 0, "removed": 0}
    assert changes["suites_changed"] == ["suite 'typos' changed: seed 7 -> 8"]
    markdown = (project.path / "reports" / "latest" / "summary.md").read_text()
    assert f"- sys: {note}".replace(">", "&gt;") in markdown


def test_more_variants_per_case_are_added_not_changed(project: pytest.Pytester) -> None:
    update(project)
    before = inputs(project.path)
    (project.path / "suites" / "typos.yaml").write_text(TYPO_SUITE.replace("n: 2", "n: 3"))
    result = project.runpytest()
    now = inputs(project.path)
    kept = [row for row in before if "[" in row]
    assert all(now[row] == before[row] for row in kept)  # the draws of #1 and #2 stay
    counts = verdicts(project.path)["flip_rate rise <= 0.03"]["statistics"]["variants"]
    assert counts["paired"] == VARIANTS and counts["added"] == 16 and counts["changed"] == 0
    assert (
        "typo: 16 of 48 variants added since the baseline (suite 'typos' changed: its "
        "perturbations, parameters or fields); 32 pairs left: too few to test"
    ) in result.stdout.str()


def test_an_unchanged_suite_changes_no_variant(project: pytest.Pytester) -> None:
    update(project)
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    assert "changed since the baseline" not in result.stdout.str()
    for verdict in verdicts(project.path).values():
        assert verdict["statistics"]["variants"]["changed"] == 0
        assert verdict["statistics"]["variants"]["paired"] == VARIANTS
    changes = latest(project.path, "run.json")["evals"][0]["systems"]["sys"]["baseline_cases"]
    assert changes["variants_changed"] == 0 and changes["suites_changed"] == []
    assert changes["notes"] == []


def test_an_old_baseline_without_fingerprints_still_gates_with_a_note(
    project: pytest.Pytester,
) -> None:
    update(project)
    path = project.path / "__baselines__" / "demo.json"
    stored = json.loads(path.read_text())
    system = stored["systems"]["sys"]
    del system["suites"]
    system["outcomes"] = {row: entry[:2] for row, entry in system["outcomes"].items()}
    path.write_text(json.dumps(stored, indent=1))
    set_seed(project, 8)  # other texts, same ids: an old baseline cannot tell, and pairs them
    result = project.runpytest()
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert (
        "the baseline predates variant fingerprints: its rows are paired by id, whatever their "
        f"text; refresh it to pair only identical variants: {PYTEST_UPDATE}"
    ) in out
    assert "changed since the baseline" not in out
    for verdict in verdicts(project.path).values():
        variants = verdict["statistics"]["variants"]
        assert variants["fingerprinted"] is False and variants["paired"] == VARIANTS
        assert "predates variant fingerprints" in verdict["message"]
    # refreshing the baseline writes the fingerprints back, without telling to refresh it (an
    # absolute gate reads the old baseline meanwhile, as the demo's do)
    project.makefile(".eval.yaml", demo=eval_yaml({"sys": "stable"}, [*GATES, "accuracy >= 0.5"]))
    refreshing = project.runpytest("--brittle-update-baseline").stdout.str()
    assert "baseline written" in refreshing and "predates variant fingerprints" not in refreshing
    refreshed = json.loads(path.read_text())["systems"]["sys"]
    assert refreshed["suites"]["typos"]["seed"] == 8
    assert all(len(entry) == 3 for entry in refreshed["outcomes"].values())
