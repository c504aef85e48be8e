"""pytest-xdist (issue 16): ``pytest -n 2`` runs one shard of every eval on each worker and
decides every gate on the shards merged, so it gives the single process's metrics, intervals,
p-values, verdicts, report, history entry and baseline (:mod:`brittle.run.xdist`)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.support.evalproject import eval_yaml, write_project

GATES = ["accuracy >= 0.9", "flip_rate <= 0.1", "accuracy drop <= 0.02"]
#: what differs between two runs of the same rows: times, ids, where the files are
VOLATILE = {
    "wall_s",
    "startup_s",
    "latency_p50_s",
    "latency_p95_s",
    "run_id",
    "created",
    "started",
    "finished",
    "duration_s",
    "report_dir",
    "history",
}


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    systems = {"steady": "degradable", "brittle": "typo_brittle"}
    pytester.makefile(".eval.yaml", demo=eval_yaml(systems, GATES))
    return pytester


def _stable(value: Any) -> Any:
    """``value`` without what differs between two runs of the same rows."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _report(folder: Path, name: str) -> Any:
    return _stable(json.loads((folder / "latest" / name).read_text()))


def _history_rows(folder: Path) -> int:
    with sqlite3.connect(folder / "history.sqlite") as db:
        return int(db.execute("SELECT count(*) FROM runs").fetchone()[0])


def _verdicts(run: dict[str, Any]) -> dict[tuple[str, str], str]:
    systems = run["evals"][0]["systems"]
    return {(name, v["gate"]): v["status"] for name, s in systems.items() for v in s["verdicts"]}


def _failed(result: pytest.RunResult) -> set[str]:
    return {line.split(" - ")[0].removeprefix("FAILED ") for line in result.outlines
            if line.startswith("FAILED ")}  # fmt: skip


def test_n2_gives_the_single_process_numbers_verdicts_report_and_history(
    project: pytest.Pytester,
) -> None:
    project.runpytest("--brittle-update-baseline", "--brittle-report-dir=base")
    (project.path / "mode.txt").write_text("bad")  # steady now fails every third case

    single = project.runpytest("-n", "0", "--brittle-report-dir=single")
    single.assert_outcomes(passed=2, failed=4)
    spread = project.runpytest_subprocess("-n", "2", "--brittle-report-dir=spread")
    spread.assert_outcomes(passed=2, failed=4)  # the same gates fail on the workers
    assert (
        _failed(spread)
        == _failed(single)
        == {
            "demo.eval.yaml::steady::accuracy>=0.9",
            "demo.eval.yaml::steady::flip_rate<=0.1",
            "demo.eval.yaml::steady::accuracy-drop<=0.02",
            "demo.eval.yaml::brittle::flip_rate<=0.1",
        }
    )
    spread.stdout.fnmatch_lines(["*brittle summary*", "*steady*acc 0.*", "report: *spread*"])

    folders = [project.path / "single", project.path / "spread"]
    assert [len(list(f.glob("2*-*"))) for f in folders] == [1, 1]  # one report folder each
    assert [_history_rows(f) for f in folders] == [1, 1]  # one history entry each
    run_single, run_spread = (_report(f, "run.json") for f in folders)
    assert run_spread == run_single  # metrics, intervals, p-values, verdicts, counts
    assert _report(folders[1], "summary.json") == _report(folders[0], "summary.json")
    verdicts = _verdicts(run_spread)
    assert verdicts[("steady", "accuracy drop <= 0.02")] == "FAILED"
    relative = run_spread["evals"][0]["systems"]["steady"]["verdicts"][2]
    assert relative["statistics"]["p_value"] < 0.05  # a paired test, decided on the whole eval


def test_baseline_update_under_n2_writes_the_single_process_baseline(
    project: pytest.Pytester,
) -> None:
    project.runpytest("-n", "0", "--brittle-update-baseline", "--brittle-no-report")
    baseline = project.path / "__baselines__" / "demo.json"
    single = json.loads(baseline.read_text())
    baseline.unlink()

    result = project.runpytest_subprocess("-n", "2", "--brittle-update-baseline")
    result.assert_outcomes(passed=3, failed=1, skipped=2)  # brittle's flip_rate still fails
    result.stdout.fnmatch_lines(["*baseline written: *demo.json*"])
    spread = json.loads(baseline.read_text())
    assert _stable(spread) == _stable(single)
    assert spread["systems"]["steady"]["outcomes"] == single["systems"]["steady"]["outcomes"]
    assert _history_rows(project.path / "reports") == 1  # written once, not once per worker
