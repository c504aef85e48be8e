"""Report generation over 100,000 result rows: time and size.

    python -m benchmarks.bench_report                 # 100,000 rows, 30 nights of history
    python -m benchmarks.bench_report --rows 20000 --nights 5

Builds synthetic runs (tests/support/synthetic_runs.py: three systems, four perturbation families;
the first nights small, the last one with ``--rows`` rows), then times the end of the last run:
``tests.support.sessions.finish`` writes run.json, results.parquet, summary.md, records the run in
the history, and writes index.html and summary.json. It also times ``brittle report`` (the HTML
alone, regenerated from the history). Targets: at most 10 s and an index.html of at most 5 MB, with
every metric present (a heatmap cell per family x system, an interval per system). Exits 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from tests.support.sessions import finish
from tests.support.synthetic_runs import FAMILIES, SYSTEMS, synthetic_session

from brittle.report.artifacts import render_run
from brittle.report.history import list_runs

MAX_SECONDS = 10.0
MAX_BYTES = 5_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="result rows of the last run")
    parser.add_argument("--nights", type=int, default=30, help="runs in the history")
    parser.add_argument("--variants", type=int, default=2, help="variants per case and family")
    args = parser.parse_args(argv)
    per_case = 1 + len(FAMILIES) * args.variants
    cases = -(-args.rows // (per_case * len(SYSTEMS)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        for night in range(args.nights - 1):
            finish(synthetic_session(folder, run_index=night, cases=40, intervals=False))
        history_s = time.perf_counter() - start
        start = time.perf_counter()
        session = synthetic_session(
            folder, run_index=args.nights - 1, cases=cases, variants=args.variants
        )
        build_s = time.perf_counter() - start
        rows = sum(len(r) for s in session.evals.values() for r in s.run.systems.values())
        start = time.perf_counter()
        finish(session)
        finish_s = time.perf_counter() - start
        latest = (folder / "reports" / "latest").resolve()
        history = folder / "reports" / "history.sqlite"
        start = time.perf_counter()
        regenerated = render_run(history, "latest", out=folder / "again.html")
        html_s = time.perf_counter() - start
        document = (latest / "index.html").read_text()
        size = len(document.encode())
        cells = len(re.findall(r'<g class="cell"', document))
        marks = len(re.findall(r'<circle class="mark"', document))
        points = len(re.findall(r'<circle class="point"', document))
        summary = json.loads((latest / "summary.json").read_text())
        figures = {
            "rows": rows,
            "cases": cases,
            "nights": len(list_runs(history)),
            "build_history_s": round(history_s, 2),
            "build_last_run_s": round(build_s, 2),
            "write_reports_s": round(finish_s, 2),
            "brittle_report_s": round(html_s, 2),
            "index_html_bytes": size,
            "regenerated_html_bytes": regenerated.stat().st_size,
            "results_parquet_bytes": (latest / "results.parquet").stat().st_size,
            "run_json_bytes": (latest / "run.json").stat().st_size,
            "history_bytes": history.stat().st_size
            + sum(p.stat().st_size for p in history.parent.glob("history.sqlite-*")),
            "heatmap_cells": cells,
            "interval_marks": marks,
            "trend_points": points,
            "summary_systems": len(summary["evals"][0]["systems"]),
        }
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(
            f"{key:<{width}}  {value:,}" if isinstance(value, int) else f"{key:<{width}}  {value}"
        )
    problems = []
    if finish_s > MAX_SECONDS:
        problems.append(f"writing the reports took {finish_s:.1f} s (> {MAX_SECONDS:g} s)")
    if size > MAX_BYTES:
        problems.append(f"index.html is {size:,} bytes (> {MAX_BYTES:,})")
    if cells != len(FAMILIES) * len(SYSTEMS) or marks != 2 * len(SYSTEMS):
        problems.append(f"metrics missing: {cells} heatmap cells, {marks} interval marks")
    if points != 2 * len(SYSTEMS) * args.nights:
        problems.append(f"{points} trend points, expected {2 * len(SYSTEMS) * args.nights}")
    for problem in problems:
        print("FAIL:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
