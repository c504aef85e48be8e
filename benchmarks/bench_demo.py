"""How long does the README's main job, ``pytest evals/``, take from cold on this machine?

The demo's files (``evals/``, ``suites/``, ``fixtures/``, ``conftest.py``, ``pyproject.toml``)
are copied into a temporary folder and ``pytest evals/`` runs there in a child process with
nothing cached: an empty model cache (``BRITTLE_CACHE_DIR``: the GGUF is dequantized again), an
empty response cache and an empty embedding cache. It prints the wall time against the target
(at most 5 minutes on 2 cores), each system's time and rows, the model calls, and whether every
row's answer equals the committed baseline's (the baseline travels with the copy, so its gates
run too).

    python -m benchmarks.bench_demo
    python -m benchmarks.bench_demo --warm-model      # keep the user's dequantized weights
    python -m benchmarks.bench_demo --keep            # leave the copy (and its report) behind
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("evals", "suites", "fixtures", "conftest.py", "pyproject.toml")
TARGET_S = 300.0


def copy_demo(target: Path) -> None:
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


def compare_with_baseline(work: Path) -> tuple[int, int, list[str]]:
    """(rows whose outcome and answer equal the baseline's, rows compared, first differences)."""
    import pandas as pd

    from brittle.stats.baseline import read_baseline

    baseline = read_baseline(work / "evals/__baselines__/sentiment.json")
    assert baseline is not None, "the demo's committed baseline is missing"
    results = pd.read_parquet(work / "reports/latest/results.parquet")
    same, differences = 0, []
    for row in results.itertuples():
        # a baseline outcome is [passed, answer, text hash]: the first two are the answer's
        recorded = baseline.systems[str(row.system)].outcomes.get(str(row.row_id))
        if recorded is not None and list(recorded[:2]) == [bool(row.passed), row.answer]:
            same += 1
        else:
            differences.append(f"{row.system} {row.row_id}: {recorded} -> {row.answer!r}")
    return same, len(results), differences[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm-model", action="store_true", help="keep the dequantized weights")
    parser.add_argument("--keep", action="store_true", help="do not delete the temporary copy")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="brittle-bench-demo-"))
    copy_demo(work)
    env = {
        **os.environ,
        "BRITTLE_RESPONSE_CACHE_DIR": str(work / "response-cache"),
        "BRITTLE_EMBEDDINGS_DIR": str(work / "embeddings"),
    }
    if not args.warm_model:
        env["BRITTLE_CACHE_DIR"] = str(work / "model-cache")
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})", flush=True)
    print(f"running pytest evals/ in {work}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "evals/", "-p", "no:cacheprovider"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = done.stdout
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"CPU of pytest evals/: {children.ru_utime + children.ru_stime:.1f} s "
        f"(user {children.ru_utime:.1f} s, sys {children.ru_stime:.1f} s; wall {wall:.1f} s)"
    )
    if done.returncode != 0:
        print(out[-4000:] + done.stderr[-2000:])
        print(f"pytest evals/ exited with {done.returncode}")
    for line in out.splitlines():
        if re.match(r"^  \S+ +acc ", line) or line.startswith(("model calls:", "report:")):
            print(line)
    summary: dict[str, Any] = {}
    summary_file = work / "reports/latest/summary.json"
    if summary_file.exists():
        summary = json.loads(summary_file.read_text("utf-8"))
    print()
    for system in summary.get("evals", [{}])[0].get("systems", []):
        metrics = system["metrics"]
        print(
            f"{system['name']:<10} rows {system['rows']:>4}  prompt tokens "
            f"{metrics['prompt_tokens']:>8,}  median latency {metrics['latency_p50_s']:.2f} s"
        )
    if summary_file.exists():
        same, total, differences = compare_with_baseline(work)
        print(f"answers equal to the committed baseline: {same}/{total}")
        for line in differences:
            print(f"  differs: {line}")
    state = "ok" if wall <= TARGET_S and done.returncode == 0 else "MISSED"
    cold = "warm model cache" if args.warm_model else "model dequantized from the GGUF"
    print(f"cold pytest evals/ ({cold}): {wall:.1f} s (target <= {TARGET_S:.0f} s)  {state}")
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
