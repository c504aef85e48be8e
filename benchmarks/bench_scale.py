"""How far does one process go, and what do shards and a merge cost? Issue 16's scaling figures.

The workload: a YAML eval on an instant synthetic system (a python system, :func:`instant`, that
answers the expected label at once), each case with ``--variants`` typo variants (default 4, so
5 rows per case), one label check, an absolute gate. Every run is ``brittle run`` (or ``brittle
merge``) in its own child process, timed from its start to its exit (interpreter start-up and
imports included), its CPU time and peak RSS read from ``os.wait4`` (``ru_maxrss``). The response
cache is off (a cache of an instant system only measures SQLite); reports and the run history
are written, as a user's run writes them.

======================  ========================================================================
variant                 what runs
======================  ========================================================================
single-SIZE             ``brittle run`` of SIZE rows in one process
shard-K/4-SIZE          ``brittle run --shard K/4`` of the same eval (one after the other here;
                        on 4 CI runners they run side by side: the slowest shard is the wall)
merge-SIZE              ``brittle merge`` of the 4 shard folders: checks, rows rebuilt from
                        results.parquet, metrics, intervals and gates recomputed, one report
======================  ========================================================================

The sizes are ``--sizes`` (default 10k, 100k and 1M rows) and ``--shard-sizes`` (4 shards and a
merge; default 100k and 1M). Then, from the largest measured figures, an extrapolation to
``--target`` rows (default 10M) on ``--runners`` CI runners: each runner's rows at the measured
rows/s of a shard, plus the merge, scaled linearly in rows from the largest merge measured.

    python -m benchmarks.bench_scale                           # everything: about 15-30 min
    python -m benchmarks.bench_scale --sizes 10k,100k --shard-sizes 100k   # a few minutes
    python -m benchmarks.bench_scale --sizes "" --shard-sizes 1M --wrong 0.12  # a failing gate

Figures go to ``--out`` (default ``reports/bench-scale/figures.json``). The load average is
printed before and after: on a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT

SHARDS = 4
MB = 1024 * 1024


async def instant(inputs: dict[str, Any]) -> str:
    """The synthetic system: the expected label, at once (a python system's ``callable``);
    with ``--wrong SHARE`` (``BENCH_SCALE_WRONG``) the other label for that share of texts,
    chosen by a stable hash of the text, so a typo variant can flip and the gate can fail."""
    label = str(inputs["hint"])
    if WRONG and zlib.crc32(str(inputs["text"]).encode()) % 10_000 < WRONG * 10_000:
        return "negative" if label == "positive" else "positive"
    return label


WRONG = float(os.environ.get("BENCH_SCALE_WRONG") or 0)


@dataclass
class Figure:
    """One child process: what ran, its rows, wall from start to exit, CPU, peak RSS."""

    variant: str
    rows: int
    wall_s: float
    cpu_s: float
    rss_mb: float
    exit: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def show_size(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
    )
    for name in ("BRITTLE_CACHE", "BRITTLE_RESPONSE_CACHE_DIR", "GITHUB_STEP_SUMMARY"):
        env.pop(name, None)
    return env


def measure(variant: str, rows: int, argv: list[str], *, cwd: Path) -> Figure:
    """Run ``brittle ARGV`` to its end: wall time, CPU time and peak RSS (``os.wait4``)."""
    command = [sys.executable, "-c", "import sys; from brittle.cli import main; sys.exit(main())"]
    start = time.perf_counter()
    process = subprocess.Popen(
        [*command, *argv],
        cwd=cwd,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1: a gate failed, still a measured run
        raise RuntimeError(f"brittle {' '.join(argv[:3])} exited {code}:\n{out[-3000:]}")
    figure = Figure(
        variant, rows, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, code
    )
    print(
        f"  {variant:<22} {rows:>9,} rows  {wall:7.1f} s  {figure.rows_per_s:>8,.0f} rows/s  "
        f"{figure.rss_mb:6.0f} MB  (load {os.getloadavg()[0]:.1f})",  # noisy when loaded
        flush=True,
    )
    return figure


def write_eval(folder: Path, rows: int, variants: int) -> Path:
    """An eval of ``rows`` rows: ``rows / (1 + variants)`` cases on :func:`instant`."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = max(1, rows // (1 + variants))
    labels = ("positive", "negative")
    with (folder / "golden.jsonl").open("w") as handle:
        for i in range(cases):
            label = labels[i % 2]
            text = f"review {i} of a product, mostly about item {i % 7}"
            handle.write(
                json.dumps({"id": f"c{i:07d}", "text": text, "hint": label, "expected": label})
                + "\n"
            )
    (folder / "typos.yaml").write_text(
        "name: typos\nversion: 1\nseed: 7\nperturbations:\n"
        f"  - family: typo\n    n: {variants}\n    params: {{rate: 0.1}}\n"
    )
    path = folder / "scale.eval.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: scale
            golden: golden.jsonl
            perturb_fields: [text]
            systems:
              instant:
                callable: benchmarks.bench_scale:instant
            checks:
              - label: {choices: [positive, negative]}
            suites: [typos.yaml]
            gates:
              - accuracy >= 0.9
            concurrency: 256
            """
        )
    )
    return path


def run_single(work: Path, rows: int, variants: int) -> Figure:
    folder = work / f"single-{show_size(rows)}"
    eval_path = write_eval(folder, rows, variants)
    actual = (1 + variants) * max(1, rows // (1 + variants))
    return measure(
        f"single-{show_size(rows)}",
        actual,
        ["run", eval_path.name, "--cache", "off", "--report-dir", "reports"],
        cwd=folder,
    )


def run_shards(work: Path, rows: int, variants: int) -> list[Figure]:
    folder = work / f"shards-{show_size(rows)}"
    eval_path = write_eval(folder, rows, variants)
    actual = (1 + variants) * max(1, rows // (1 + variants))
    figures = []
    for k in range(1, SHARDS + 1):
        figure = measure(
            f"shard-{k}/{SHARDS}-{show_size(rows)}",
            _shard_rows(folder, k, variants),
            [
                "run",
                eval_path.name,
                "--shard",
                f"{k}/{SHARDS}",
                "--cache",
                "off",
                "--history",
                "off",
                "--report-dir",
                f"shard-{k}",
            ],
            cwd=folder,
        )
        figures.append(figure)
    figures.append(
        measure(
            f"merge-{show_size(rows)}",
            actual,
            ["merge", *(f"shard-{k}" for k in range(1, SHARDS + 1)), "--report-dir", "merged"],
            cwd=folder,
        )
    )
    return figures


def _shard_rows(folder: Path, k: int, variants: int) -> int:
    """The rows of shard ``k``: its cases (brittle's own stable hash) times rows per case."""
    from brittle.run.shards import shard_of

    with (folder / "golden.jsonl").open() as handle:
        cases = sum(shard_of(json.loads(line)["id"], SHARDS) == k for line in handle)
    return cases * (1 + variants)


def fit(points: list[Figure], attribute: str) -> tuple[float, float]:
    """Seconds = fixed + per_row x rows through the two largest sizes (start-up apart from the
    per-row cost); with one size, all of it per row (an overestimate)."""
    ordered = sorted(points, key=lambda f: f.rows)
    big = ordered[-1]
    small = next((f for f in reversed(ordered) if f.rows < big.rows), None)
    if small is None:
        return 0.0, getattr(big, attribute) / big.rows
    per_row = (getattr(big, attribute) - getattr(small, attribute)) / (big.rows - small.rows)
    per_row = max(per_row, 0.0)
    return max(0.0, getattr(big, attribute) - per_row * big.rows), per_row


def extrapolate(figures: list[Figure], target: int, runners: list[int]) -> list[str]:
    """Lines: ``target`` rows on each count of runners, from the measured figures: a shard's and
    the merge's time as fixed + per-row (:func:`fit`), by wall time here and by CPU time (the
    wall of an idle runner: the run is CPU-bound on an instant system)."""
    merges = [f for f in figures if f.variant.startswith("merge-")]
    shards: dict[int, Figure] = {}
    for f in figures:  # the slowest shard of each size stands for all of that size
        if f.variant.startswith("shard-"):
            size = f.variant.rsplit("-", 1)[1]
            key = next((m.rows for m in merges if m.variant == f"merge-{size}"), None)
            if key is None:
                continue
            if key not in shards or f.wall_s / f.rows > shards[key].wall_s / shards[key].rows:
                shards[key] = f
    if not shards or not merges:
        return ["(no shard and merge measured: nothing to extrapolate from)"]
    biggest = max(merges, key=lambda f: f.rows)
    lines = [
        f"{show_size(target)} rows on N runners, fitted as fixed + per-row time through the "
        f"largest sizes measured (shards and merge up to {show_size(biggest.rows)} rows; merge "
        f"peak RSS there {biggest.rss_mb:.0f} MB):",
        f"  {'runners':>7} {'rows each':>11} {'shard min':>10} {'merge min':>10} "
        f"{'total min':>10}   (wall here / CPU = idle runner)",
    ]
    for attribute in ("wall_s", "cpu_s"):
        shard_fixed, shard_row = fit(list(shards.values()), attribute)
        merge_fixed, merge_row = fit(merges, attribute)
        merge_s = merge_fixed + merge_row * target
        for n in runners:
            shard_s = shard_fixed + shard_row * target / n
            lines.append(
                f"  {n:>7} {target // n:>11,} {shard_s / 60:>10.1f} {merge_s / 60:>10.1f} "
                f"{(shard_s + merge_s) / 60:>10.1f}   ({attribute[:-2]})"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1M", help="rows of the single-process runs")
    parser.add_argument("--shard-sizes", default="100k,1M", help="rows of the 4 shards + merge")
    parser.add_argument("--variants", type=int, default=4, help="typo variants per case")
    parser.add_argument(
        "--wrong",
        type=float,
        default=0.0,
        help="share of texts the synthetic system answers wrong (default 0): wrong rows, "
        "flips and, above 0.1, a failing gate, whose evidence the reports then gather",
    )
    parser.add_argument("--target", default="10M", help="rows to extrapolate to")
    parser.add_argument("--runners", default="1,4,8,16,32", help="runner counts to extrapolate")
    parser.add_argument("--out", default="reports/bench-scale", help="folder for figures.json")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--figures", default=None, help="a figures.json: print its table and extrapolation only"
    )
    args = parser.parse_args(argv)
    os.environ["BENCH_SCALE_WRONG"] = str(args.wrong)  # read by the children's instant()
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    shard_sizes = [parse_size(s) for s in args.shard_sizes.split(",") if s.strip()]

    out = Path(args.out)
    if args.figures is not None:
        data = json.loads(Path(args.figures).read_text())
        keys = ("variant", "rows", "wall_s", "cpu_s", "rss_mb", "exit")
        figures = [Figure(**{k: f[k] for k in keys}) for f in data["figures"]]
        report(figures, shard_sizes, parse_size(args.target), args.runners)
        return 0
    load = os.getloadavg()
    print(
        f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (cores: {os.cpu_count()})",
        flush=True,
    )
    work = Path(tempfile.mkdtemp(prefix="brittle-bench-scale-"))
    figures: list[Figure] = []
    try:
        for rows in sorted(set(sizes) | set(shard_sizes)):  # the smaller figures first
            if rows in sizes:
                figures.append(run_single(work, rows, args.variants))
                save(out, figures, args.variants, [])
            if rows in shard_sizes:
                figures.extend(run_shards(work, rows, args.variants))
                save(out, figures, args.variants, [])
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")

    lines = report(figures, shard_sizes, parse_size(args.target), args.runners)
    save(out, figures, args.variants, lines)
    return 0


def report(figures: list[Figure], shard_sizes: list[int], target: int, runners: str) -> list[str]:
    """Print the table, the shards' wall per size and the extrapolation (its lines returned)."""
    head = f"{'variant':<22} {'rows':>10} {'wall s':>8} {'rows/s':>9} {'CPU s':>8}"
    print(f"\n{head} {'peak RSS MB':>12}")
    for f in figures:
        print(
            f"{f.variant:<22} {f.rows:>10,} {f.wall_s:>8.1f} {f.rows_per_s:>9,.0f} "
            f"{f.cpu_s:>8.1f} {f.rss_mb:>12.0f}"
        )
    for rows in shard_sizes:
        size = show_size(rows)
        shard = [f for f in figures if f.variant.startswith("shard-") and f.variant.endswith(size)]
        merge = [f for f in figures if f.variant == f"merge-{size}"]
        if shard and merge:
            slowest = max(f.wall_s for f in shard)
            print(
                f"{size} rows on {SHARDS} runners: slowest shard {slowest:.1f} s + merge "
                f"{merge[0].wall_s:.1f} s = {slowest + merge[0].wall_s:.1f} s wall (merge peak "
                f"RSS {merge[0].rss_mb:.0f} MB)"
            )
    counts = [int(n) for n in runners.split(",") if n.strip()]
    lines = extrapolate(figures, target, counts)
    print("\n" + "\n".join(lines))
    return lines


def save(out: Path, figures: list[Figure], variants: int, lines: list[str]) -> None:
    """figures.json in ``out`` (written after each size, so a long run keeps what it measured)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "figures.json").write_text(
        json.dumps(
            {
                "figures": [asdict(f) | {"rows_per_s": f.rows_per_s} for f in figures],
                "variants_per_case": variants,
                "load_average": os.getloadavg(),
                "extrapolation": lines,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    raise SystemExit(main())
