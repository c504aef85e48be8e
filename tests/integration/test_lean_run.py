"""A ``brittle run`` of a plain eval (one system, no baseline, no repeats) imports no pandas
(issue 15: pandas and what it loads were 70 MB of the run's 180 MB peak): its outcome is
measured on numpy and its parquet file written without ``pa.array``. pandas stays what a user
reads (``SystemRun.outcome``) and what a run with a baseline compares with; such a run still
works, importing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from tests.support.stubproject import FAKE_KEY, start_in_thread, write_eval

#: runs the CLI in-process and prints its exit status and whether pandas was imported
_RUN = (
    "import json, sys; from brittle.cli import main; rc = main(sys.argv[1:]); "
    "print(json.dumps({'rc': rc, 'pandas': 'pandas' in sys.modules}))"
)


def _brittle_run(folder: Path, *args: str) -> dict[str, Any]:
    env = {"OPENAI_API_KEY": FAKE_KEY, "BRITTLE_CACHE": "off", "PATH": "/usr/bin:/bin"}
    argv = [sys.executable, "-c", _RUN, "run", str(folder / "stubbed.eval.yaml"), *args]
    done = subprocess.run(argv, cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _summary(folder: Path) -> dict[str, Any]:
    (system,) = json.loads((folder / "reports" / "latest" / "summary.json").read_text())["evals"][
        0
    ]["systems"]
    return dict(system)


def test_a_plain_run_imports_no_pandas_and_a_run_with_a_baseline_does(tmp_path: Path) -> None:
    with start_in_thread(latency=0.0) as stub:
        write_eval(
            tmp_path,
            stub.base_url,
            cases=12,
            variants=2,
            gates=("accuracy >= 0.5", "flip_rate <= 0.9", "accuracy drop <= 0.05"),
        )
        plain = _brittle_run(tmp_path)
        assert plain == {"rc": 0, "pandas": False}
        first = _summary(tmp_path)
        rows = pq.read_table(tmp_path / "reports" / "latest" / "results.parquet").to_pylist()
        assert len(rows) == 36  # 12 cases, 2 typo variants each
        flipped = [row["flipped"] for row in rows if row["family"] == "typo"]
        assert len(flipped) == 24 and None not in flipped
        assert sum(flipped) == round(first["metrics"]["flip_rate"] * 24)

        assert _brittle_run(tmp_path, "--update-baseline")["rc"] == 0
        again = _brittle_run(tmp_path)
        assert again == {"rc": 0, "pandas": True}  # the baseline's paired comparison reads it
        second = _summary(tmp_path)
    timed = ("latency_p50_s", "latency_p95_s")
    assert {k: v for k, v in second["metrics"].items() if k not in timed} == {
        k: v for k, v in first["metrics"].items() if k not in timed
    }
