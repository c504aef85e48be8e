"""How fast is the in-process ``local/`` provider on this machine?

=================  ===========================================================================
figure             how it is measured
=================  ===========================================================================
cold load          fresh child process, empty temporary ``BRITTLE_CACHE_DIR``: the GGUF is
                   dequantized and the float32 copy saved (``load_base_model("smollm2")``)
warm load          another fresh child process on the now filled cache
latency            ``litellm.completion`` of one short classification prompt (``max_tokens`` 4,
                   temperature 0) after load and one warm-up call: median of ``--repeats``
single tok/s       16 prompts one after another through ``litellm.completion``, ``max_tokens`` 32:
                   generated tokens / wall time
batch-16 tok/s     the same 16 prompts as concurrent ``litellm.acompletion`` calls, micro-batched
                   by the provider into one ``generate`` call
prefix reuse       the demo's few-shot prompt (about 300 tokens) on 48 golden reviews, 32
                   concurrent calls, ``max_tokens`` 4: wall time with shared-prefix reuse off
                   (``BRITTLE_LOCAL_PREFIX_CACHE_MB=0``) and on, and whether the answers agree
=================  ===========================================================================

Targets: latency at most 0.5 s, batch-16 throughput at least 4x single. The batch outputs are
also compared with the single ones (temperature 0: they must be identical). The figures depend
on how busy the cores are, so the load average is printed with them.

    python -m benchmarks.bench_local
    python -m benchmarks.bench_local --skip-load --repeats 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

MODEL = "local/smollm2"
CLASSIFY = (
    "Is this review positive or negative? 'The pasta was cold and the waiter ignored us for "
    "twenty minutes.' Answer with one word."
)
TOPICS = [
    "a lighthouse keeper",
    "a lost umbrella",
    "the first snow",
    "a talking cat",
    "an old bicycle",
    "a night train",
    "a small bakery",
    "a broken clock",
    "a summer storm",
    "a chess match",
    "a paper boat",
    "a mountain village",
    "a forgotten letter",
    "a city garden",
    "a quiet library",
    "a red kite",
]
STORY_PROMPTS = [f"Write a short story about {topic}." for topic in TOPICS]
ROOT = Path(__file__).resolve().parent.parent
FEW_SHOT = ROOT / "fixtures" / "prompts" / "sentiment_few_shot.txt"
GOLDEN = ROOT / "fixtures" / "sentiment" / "golden.jsonl"

_CHILD_LOAD = """
import json, time
start = time.perf_counter()
from brittle.local.models import load_base_model
imported = time.perf_counter()
load_base_model("smollm2")
done = time.perf_counter()
print(json.dumps({"import_s": imported - start, "load_s": done - imported}))
"""


def load_in_child(cache: str) -> dict[str, float]:
    """Time a load in a fresh process: nothing is cached in memory, only (maybe) on disk."""
    env = {**os.environ, "BRITTLE_CACHE_DIR": cache}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD_LOAD],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    figures: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["process_s"] = time.perf_counter() - start
    return figures


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def few_shot_reuse(litellm: Any, calls: int = 48) -> dict[str, Any]:
    """The demo's few-shot prompt on golden reviews with shared-prefix reuse off, then on."""
    from brittle.local.prefix import PrefixStore, replace_shared_store
    from brittle.local.settings import prefix_cache_bytes

    template = FEW_SHOT.read_text(encoding="utf-8")
    reviews = [json.loads(line)["text"] for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    prompts = [template.replace("{{ text }}", review) for review in reviews[:calls]]

    async def run_all() -> list[Any]:
        gate = asyncio.Semaphore(32)

        async def one(prompt: str) -> Any:
            async with gate:
                return await litellm.acompletion(
                    model=MODEL, messages=user(prompt), temperature=0, max_tokens=4
                )

        return list(await asyncio.gather(*(one(prompt) for prompt in prompts)))

    figures: dict[str, Any] = {"calls": len(prompts)}
    answers = {}
    for mode, size in (("off", 0), ("on", prefix_cache_bytes())):
        store = PrefixStore(size)
        previous = replace_shared_store(store)
        try:
            start = time.perf_counter()
            responses = asyncio.run(run_all())
            figures[f"{mode}_s"] = time.perf_counter() - start
        finally:
            replace_shared_store(previous)
        answers[mode] = [r.choices[0].message.content for r in responses]
        figures["prompt_tokens"] = sum(r.usage.prompt_tokens for r in responses)
        figures["reused"] = store.stats.tokens_reused
        figures["computed"] = store.stats.computed
    figures["same"] = sum(a == b for a, b in zip(answers["off"], answers["on"], strict=True))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="latency samples (default 10)")
    parser.add_argument("--max-tokens", type=int, default=32, help="tokens per throughput call")
    parser.add_argument("--skip-load", action="store_true", help="skip the cold/warm load runs")
    args = parser.parse_args()

    rows: list[tuple[str, str, str]] = []
    print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})", flush=True)

    if not args.skip_load:
        with tempfile.TemporaryDirectory(prefix="brittle-bench-cache-") as cache:
            cold = load_in_child(cache)
            warm = load_in_child(cache)
        for name, fig in (("cold load", cold), ("warm load", warm)):
            rows.append(
                (
                    name,
                    f"{fig['load_s']:.2f} s",
                    f"process {fig['process_s']:.2f} s, imports {fig['import_s']:.2f} s",
                )
            )
            print(f"{name}: {fig}", flush=True)

    import litellm

    from brittle.local import register
    from brittle.local.provider import get_batcher

    litellm.suppress_debug_info = True
    register()

    def complete(prompt: str, max_tokens: int) -> Any:
        return litellm.completion(
            model=MODEL, messages=user(prompt), temperature=0, max_tokens=max_tokens
        )

    start = time.perf_counter()
    first = complete(CLASSIFY, 4)
    rows.append(("first call (load in-process)", f"{time.perf_counter() - start:.2f} s", ""))
    import torch

    threads = os.environ.get("BRITTLE_LOCAL_THREADS") or "unset"
    print(f"torch threads: {torch.get_num_threads()} (BRITTLE_LOCAL_THREADS={threads})")
    latencies = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        answer = complete(CLASSIFY, 4)
        latencies.append(time.perf_counter() - start)
    median = statistics.median(latencies)
    rows.append(
        (
            "latency, classify, max_tokens 4",
            f"{median:.3f} s",
            f"median of {args.repeats}; min {min(latencies):.3f}, max {max(latencies):.3f}; "
            f"answer {answer.choices[0].message.content!r}",
        )
    )
    assert first.choices[0].message.content == answer.choices[0].message.content

    start = time.perf_counter()
    singles = [complete(prompt, args.max_tokens) for prompt in STORY_PROMPTS]
    single_wall = time.perf_counter() - start
    single_tokens = sum(r.usage.completion_tokens for r in singles)
    single_rate = single_tokens / single_wall

    async def together() -> list[Any]:
        calls = [
            litellm.acompletion(
                model=MODEL, messages=user(prompt), temperature=0, max_tokens=args.max_tokens
            )
            for prompt in STORY_PROMPTS
        ]
        return list(await asyncio.gather(*calls))

    batcher = get_batcher()
    batcher.reset_stats()
    start = time.perf_counter()
    batched = asyncio.run(together())
    batch_wall = time.perf_counter() - start
    stats = batcher.stats
    batch_tokens = sum(r.usage.completion_tokens for r in batched)
    batch_rate = batch_tokens / batch_wall
    same = sum(
        a.choices[0].message.content == b.choices[0].message.content
        for a, b in zip(singles, batched, strict=True)
    )
    rows.append(
        (
            "throughput, 1 sequence",
            f"{single_rate:.1f} tok/s",
            f"{single_tokens} tokens in {single_wall:.1f} s over {len(singles)} calls",
        )
    )
    rows.append(
        (
            "throughput, batch of 16",
            f"{batch_rate:.1f} tok/s",
            f"{batch_tokens} tokens in {batch_wall:.1f} s; generate calls {stats.batches}, "
            f"largest batch {stats.largest}",
        )
    )

    reuse = few_shot_reuse(litellm)
    rows.append(
        (
            "few-shot x48, prefix reuse off",
            f"{reuse['off_s']:.1f} s",
            f"{reuse['prompt_tokens']:,} prompt tokens",
        )
    )
    rows.append(
        (
            "few-shot x48, prefix reuse on",
            f"{reuse['on_s']:.1f} s",
            f"{reuse['reused']:,} tokens taken from {reuse['computed']} stored prefix(es)",
        )
    )

    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    print()
    print(f"{'figure':<{width}}  {'value':>{value_width}}  notes")
    print(f"{'-' * width}  {'-' * value_width}  {'-' * 5}")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>{value_width}}  {note}")
    ratio = batch_rate / single_rate
    print()
    print(f"latency target <= 0.5 s: {median:.3f} s  {'ok' if median <= 0.5 else 'MISSED'}")
    print(
        f"batch-16 / single throughput: {ratio:.1f}x (target >= 4x)  "
        f"{'ok' if ratio >= 4 else 'MISSED'}"
    )
    print(f"batched outputs identical to single runs: {same}/{len(singles)}")
    print(
        f"few-shot with prefix reuse: {reuse['off_s'] / reuse['on_s']:.1f}x faster; answers "
        f"identical {reuse['same']}/{reuse['calls']}"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
