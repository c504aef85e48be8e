"""docs/github-actions-sharded.yml (issue 16, the CI example): a matrix of N shard jobs, each
with its own response cache, and one merge job that gates and publishes the report. The
workflow's own shell lines are run here, in a project of a user's shape (evals/ with a baseline
beside it) against the local stub server, with the GitHub steps between them played by hand
(the cache folder kept, the artifacts copied): the merge gates all the cases once, writes one
report and the job summary, and a rerun of a shard is answered from its cache."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.support import ROOT
from tests.support.stubproject import env, start_in_thread, write_eval

yaml = pytest.importorskip("yaml")

WORKFLOW = ROOT / "docs" / "github-actions-sharded.yml"
CASES = 24


def _jobs() -> dict[str, Any]:
    jobs: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    return jobs


def _step(job: dict[str, Any], *, uses: str = "", run: str = "") -> dict[str, Any]:
    found = [
        s
        for s in job["steps"]
        if (uses and uses in s.get("uses", "")) or (run and run in s.get("run", ""))
    ]
    assert found, f"no step with {uses or run!r}"
    return found[0]


def test_the_workflow_is_shards_then_one_merge() -> None:
    jobs = _jobs()
    assert set(jobs) == {"shard", "merge"}
    shard, merge = jobs["shard"], jobs["merge"]
    shards = shard["strategy"]["matrix"]["shard"]
    n = len(shards)
    assert shards == list(range(1, n + 1)) and n >= 2
    # each shard job: its part of the cases, its own cache, its report as an artifact
    run = _step(shard, run="--brittle-shard")["run"]
    assert f"pytest evals/ --brittle-shard ${{{{ matrix.shard }}}}/{n}" in run
    cache_dir = shard["env"]["BRITTLE_RESPONSE_CACHE_DIR"]
    restore = _step(shard, uses="actions/cache/restore")["with"]
    save = _step(shard, uses="actions/cache/save")["with"]
    assert restore["path"] == save["path"] == cache_dir
    assert "${{ matrix.shard }}" in restore["key"] and restore["key"] == save["key"]
    upload = _step(shard, uses="upload-artifact")["with"]
    assert upload["name"] == "brittle-shard-${{ matrix.shard }}"
    # the merge: after all shards, even a failed one, the only writer
    assert merge["needs"] == "shard" and "cancelled()" in merge["if"]
    download = _step(merge, uses="download-artifact")["with"]
    assert download["pattern"] == "brittle-shard-*"
    assert "brittle merge shards/brittle-shard-*" in _step(merge, run="brittle merge")["run"]
    assert any("upload-artifact" in s.get("uses", "") for s in merge["steps"])
    # a user's workflow: no key but from secrets, nothing of this repository's setup
    text = WORKFLOW.read_text()
    assert ".venv/bin" not in text and "scripts/" not in text
    assert re.findall(r"secrets\.(\w+)", text) == ["OPENAI_API_KEY"]


def _shell(line: str, *, cwd: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=environ, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow  # about 80 s on a loaded 2-core machine: 6 brittle processes
def test_the_workflow_s_commands_shard_cache_merge_and_gate(tmp_path: Path) -> None:
    jobs = _jobs()
    shard, merge = jobs["shard"], jobs["merge"]
    shards = shard["strategy"]["matrix"]["shard"]
    shard_runs = [s["run"] for s in shard["steps"] if "run" in s and "pip install" not in s["run"]]
    merge_runs = [s["run"] for s in merge["steps"] if "run" in s and "pip install" not in s["run"]]
    project = tmp_path / "repo"
    summary = tmp_path / "step_summary.md"
    environ = env(
        GITHUB_STEP_SUMMARY=str(summary),
        PYTEST_ADDOPTS="-p no:cacheprovider -p no:deepeval",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        **{k: str(v) for k, v in shard["env"].items() if "secrets." not in str(v)},
    )
    with start_in_thread(latency=0.0) as stub:
        write_eval(project / "evals", stub.base_url, cases=CASES)
        runners = []
        for k in shards:  # each job on a fresh runner: the checkout, then its steps
            runner = tmp_path / f"runner-{k}"
            shutil.copytree(project, runner)
            runners.append(runner)
            for line in shard_runs:
                done = _shell(
                    line.replace("${{ matrix.shard }}", str(k)), cwd=runner, environ=environ
                )
                assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        first = stub.stats.requests
        # a re-run of shard 1 on a runner that restored its cache: no model call
        rerun = tmp_path / "rerun-1"
        shutil.copytree(project, rerun)
        cache_dir = shard["env"]["BRITTLE_RESPONSE_CACHE_DIR"]
        shutil.copytree(runners[0] / cache_dir, rerun / cache_dir)
        done = _shell(shard_runs[0].replace("${{ matrix.shard }}", "1"), cwd=rerun, environ=environ)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert stub.stats.requests == first
    assert first == 2 * CASES  # every case and its variant once, over all shards
    # the merge job: a fresh checkout, the artifacts downloaded into shards/<name>/
    merger = tmp_path / "merger"
    shutil.copytree(project, merger)
    for k, runner in zip(shards, runners, strict=True):
        shutil.copytree(runner / f"shard-{k}", merger / "shards" / f"brittle-shard-{k}")
    summary.write_text("")
    results = [_shell(line, cwd=merger, environ=environ) for line in merge_runs]
    merged = results[next(i for i, line in enumerate(merge_runs) if "brittle merge" in line)]
    assert merged.returncode == 0, merged.stdout[-3000:] + merged.stderr[-3000:]
    assert all(r.returncode == 0 for r in results), [r.stderr[-500:] for r in results]
    report = json.loads((merger / "brittle-report" / "summary.json").read_text())
    (evaluation,) = report["evals"]
    assert evaluation["name"] == "stubbed"
    assert f"merged {len(shards)} shards" in merged.stdout
    rows = pq.read_table(merger / "brittle-report" / "results.parquet").num_rows
    assert rows == 2 * CASES  # all cases, each once
    assert "accuracy" in summary.read_text()  # the merged summary.md in the job summary
    assert (merger / "reports" / "history.sqlite").is_file()
