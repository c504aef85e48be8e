"""Shards and merge (issue 16): ``--brittle-shard K/N`` / ``brittle run --shard K/N`` run whole
cases of one shard and write a manifest; ``brittle merge`` checks the shards belong together and
recomputes every metric, interval, paired test and verdict from their rows, as the eval run
whole does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main
from tests.support.evalproject import eval_yaml, write_project

GATES = ["accuracy >= 0.9", "accuracy drop <= 0.02", "flip_rate rise <= 0.03"]
#: what differs between two runs of the same rows: times, ids, where the files are
VOLATILE = {"wall_s", "startup_s", "latency_p50_s", "latency_p95_s", "run_id", "created"}


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    write_project(pytester)
    systems = {"steady": "degradable", "brittle": "typo_brittle"}
    pytester.makefile(".eval.yaml", demo=eval_yaml(systems, GATES))
    monkeypatch.chdir(pytester.path)
    assert main(["run", "demo.eval.yaml", "--update-baseline", "--cache", "off",
                 "--report-dir", "base"]) == 0  # fmt: skip
    (pytester.path / "mode.txt").write_text("bad")  # steady now fails every third case
    return pytester


def _json(folder: Path, name: str) -> dict[str, Any]:
    return json.loads((folder / "latest" / name).read_text())


def _stable(value: Any) -> Any:
    """``value`` without what differs between two runs of the same rows."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _systems(record: dict[str, Any]) -> dict[str, Any]:
    ev = record["evals"][0]
    systems = ev["systems"]
    if isinstance(systems, list):  # summary.json lists them
        systems = {s["name"]: s for s in systems}
    return _stable(systems)


def _shards(project: pytest.Pytester, n: int = 3, *, cli: bool = False) -> list[str]:
    folders = []
    for k in range(1, n + 1):
        folder = f"s{k}"
        if cli:
            args = ["run", "demo.eval.yaml", "--shard", f"{k}/{n}", "--cache", "off"]
            assert main([*args, "--report-dir", folder]) == 0
        else:
            result = project.runpytest(f"--brittle-shard={k}/{n}", f"--brittle-report-dir={folder}")
            assert result.ret == 0  # a shard decides no gate: its failing gate is skipped
            result.assert_outcomes(skipped=6)
        folders.append(folder)
    return folders


def test_three_shards_merged_equal_the_whole_run(project: pytest.Pytester) -> None:
    whole = project.runpytest("--brittle-report-dir=whole")
    assert whole.ret == 1  # steady's accuracy gates fail
    folders = _shards(project)
    manifests = [_json(project.path / f, "manifest.json") for f in folders]
    assert [m["shard"] for m in manifests] == [{"k": k, "n": 3} for k in (1, 2, 3)]
    ids = [set(m["evals"][0]["case_ids"]) for m in manifests]
    assert all(ids) and set().union(*ids) == {f"c{i:02d}" for i in range(1, 17)}
    assert sum(map(len, ids)) == 16  # whole cases, each in one shard
    assert len({m["evals"][0]["spec_hash"] for m in manifests}) == 1

    assert main(["merge", *folders, "--report-dir", "merged"]) == 1  # exits like the run
    merged_run = _json(project.path / "merged", "run.json")
    whole_run = _json(project.path / "whole", "run.json")
    assert _systems(merged_run) == _systems(whole_run)
    merged_summary = _json(project.path / "merged", "summary.json")
    assert _systems(merged_summary) == _systems(_json(project.path / "whole", "summary.json"))
    steady = merged_run["evals"][0]["systems"]["steady"]
    statuses = {v["gate"]: v["status"] for v in steady["verdicts"]}
    assert statuses["accuracy >= 0.9"].lower() == "failed"
    assert steady["metrics"]["overall"]["accuracy"] < 0.9
    assert any(v["statistics"] and v["statistics"].get("p_value") for v in steady["verdicts"])
    assert (project.path / "merged" / "history.sqlite").is_file()


def test_merge_passes_when_the_gates_pass(project: pytest.Pytester) -> None:
    (project.path / "mode.txt").write_text("good")
    folders = _shards(project, 2, cli=True)
    assert main(["merge", *folders, "--report-dir", "merged"]) == 0
    record = _json(project.path / "merged", "run.json")["evals"][0]["systems"]
    assert all(v["status"].lower() == "passed" for s in record.values() for v in s["verdicts"])


def test_shard_errors_name_the_shard(
    project: pytest.Pytester, capsys: pytest.CaptureFixture[str]
) -> None:
    folders = _shards(project, cli=True)
    capsys.readouterr()
    assert main(["merge", "s1", "s2"]) == 2
    assert "shard(s) 3/3 missing" in capsys.readouterr().err
    shutil.copytree(project.path / "s1", project.path / "again")
    assert main(["merge", *folders, "again"]) == 2
    err = capsys.readouterr().err
    assert "shard 1/3 is given twice" in err and "again" in err

    eval_file = project.path / "demo.eval.yaml"
    eval_file.write_text(eval_file.read_text().replace("accuracy >= 0.9", "accuracy >= 0.8"))
    args = ["run", "demo.eval.yaml", "--shard", "3/3", "--cache", "off", "--report-dir", "x3"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(["merge", "s1", "s2", "x3"]) == 2
    err = capsys.readouterr().err
    assert "shard 3/3 (x3" in err and "another eval spec" in err
    assert main(["merge", "s1", "s2", "s3"]) == 2  # the eval changed since they ran
    assert "changed since the shards ran" in capsys.readouterr().err
    assert main(["merge", "base"]) == 2
    assert "no manifest.json" in capsys.readouterr().err


def test_a_shard_refuses_a_baseline_update(project: pytest.Pytester) -> None:
    result = project.runpytest("--brittle-shard=1/3", "--brittle-update-baseline")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--brittle-shard 1/3*brittle merge*--update-baseline*"])
    with pytest.raises(SystemExit):  # argparse: a usage error
        main(["run", "demo.eval.yaml", "--shard", "0/3"])


def test_update_baseline_from_a_merge(project: pytest.Pytester) -> None:
    folders = _shards(project, cli=True)
    baseline = project.path / "__baselines__" / "demo.json"
    before = json.loads(baseline.read_text())
    assert main(["merge", *folders, "--report-dir", "merged", "--update-baseline"]) == 1
    merged = json.loads(baseline.read_text())
    assert merged["systems"] != before["systems"]
    # the baseline a whole run writes from the same rows is the same
    args = ["run", "demo.eval.yaml", "--cache", "off", "--report-dir", "w", "--update-baseline"]
    assert main(args) == 1
    whole = json.loads(baseline.read_text())
    for name in ("steady", "brittle"):
        assert _stable(merged["systems"][name]) == _stable(whole["systems"][name])
        assert len(merged["systems"][name]["outcomes"]) == 16 * 3
