"""Where does the embedded model's time go on the demo's own prompts? A/B figures in CPU seconds.

The prompts of a finished demo run (``reports/latest/results.parquet``: every row's rendered
prompt and answer) are replayed through the ``local/`` provider as the engine sends them: 32
concurrent requests per system, micro-batched, greedy, ``max_tokens`` 4. For each system it
prints wall seconds, CPU seconds of the whole process (user + sys: on a shared 2-core machine
the wall time is noisy, the CPU time much less so), the ``generate`` batches, and how many
answers differ from the recorded ones (must be 0).

    python -m benchmarks.bench_model                    # first 120 rows of each system
    python -m benchmarks.bench_model --rows 0           # every row (the demo: 2,007 calls)
    python -m benchmarks.bench_model --results PATH     # another run's results.parquet

Settings under test go in the environment (``OMP_WAIT_POLICY``, which brittle's plugin and
command set to ``PASSIVE`` but this script does not, ``BRITTLE_LOCAL_THREADS``,
``BRITTLE_LOCAL_*``); run two settings one after the other, twice each, to compare them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "fixtures/adapters/sentiment-lora"
MODELS = {
    "zero-shot": "smollm2",
    "few-shot": "smollm2",
    "lora": f"smollm2+{ADAPTER}",
}
PARAMS = {"temperature": 0, "max_tokens": 4}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def replay(model: str, prompts: list[str], concurrency: int) -> list[str]:
    from brittle.local.provider import submit

    gate = asyncio.Semaphore(concurrency)

    async def one(prompt: str) -> str:
        async with gate:
            future = submit(model, [{"role": "user", "content": prompt}], dict(PARAMS))
            completion: Any = await asyncio.wrap_future(future)
            return str(completion.text)

    return list(await asyncio.gather(*(one(prompt) for prompt in prompts)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "reports/latest/results.parquet")
    parser.add_argument("--rows", type=int, default=120, help="rows per system (0: all)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--systems", default="zero-shot,few-shot,lora")
    args = parser.parse_args()

    import pandas as pd

    table = pd.read_parquet(args.results, columns=["system", "prompt", "output"])
    print(
        f"load average {os.getloadavg()[0]:.2f}; cores {os.cpu_count()}; "
        f"BRITTLE_LOCAL_THREADS={os.environ.get('BRITTLE_LOCAL_THREADS', '')!r}",
        flush=True,
    )
    start_cpu, start = cpu_seconds(), time.perf_counter()
    import litellm  # noqa: F401 - first, so that brittle's import hook registers local/ whole

    from brittle.local.models import load_base_model
    from brittle.local.provider import get_batcher

    load_base_model("smollm2")
    print(
        f"{'start-up':10} wall {time.perf_counter() - start:6.1f} s  cpu "
        f"{cpu_seconds() - start_cpu:6.1f} s",
        flush=True,
    )
    total_cpu = 0.0
    for system in args.systems.split(","):
        rows = table[table.system == system]
        if args.rows:
            rows = rows.head(args.rows)
        prompts, expected = list(rows.prompt), [str(x) for x in rows.output]
        get_batcher().reset_stats()
        cpu, wall = cpu_seconds(), time.perf_counter()
        answers = asyncio.run(replay(f"local/{MODELS[system]}", prompts, args.concurrency))
        cpu, wall = cpu_seconds() - cpu, time.perf_counter() - wall
        total_cpu += cpu
        stats = get_batcher().stats
        differ = sum(1 for a, b in zip(answers, expected, strict=True) if a != b)
        print(
            f"{system:10} wall {wall:6.1f} s  cpu {cpu:6.1f} s  rows {len(prompts):4}  "
            f"batches {stats.batches:3} (largest {stats.largest})  answers differing {differ}",
            flush=True,
        )
    print(f"{'total':10} cpu {total_cpu:6.1f} s (model calls only)")


if __name__ == "__main__":
    main()
