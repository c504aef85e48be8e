"""Generating and meaning-filtering 10,000 variants: the budget is 60 s on 2 cores, embeddings in.

    python -m benchmarks.bench_variants                 # 10,000 variants, cold and warm cache
    python -m benchmarks.bench_variants --variants 2000 # a quicker look

The workload is every case of the demo's golden and training sets (422 distinct reviews) under a
suite of ten input-level families (typo, casing, whitespace, punctuation, contractions, prefix,
distractor, synonyms, reorder, numbers) with ``min_similarity`` and ``label_guard`` on every
entry, so every variant is embedded and scored. ``n`` per entry is scaled until the suite yields
at least ``--variants`` variants.

Three timings, each in the same fresh process:

- ``generate``: the variants alone (``Suite.variants`` per case), no embedding;
- ``cold``: ``build_rows`` (generation + meaning filter) with an empty on-disk embedding cache,
  including loading torch and the embedding model;
- ``warm``: ``build_rows`` again in a "new run" (a fresh embedder on the same on-disk cache).

It also checks that no text was embedded twice (texts sent to the model == distinct texts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

FAMILIES: list[dict[str, Any]] = [
    {"family": "typo", "params": {"rate": 0.05}},
    {"family": "casing", "params": {"mode": "random", "rate": 0.1}},
    {"family": "whitespace", "params": {"rate": 0.15}},
    {"family": "punctuation", "params": {"rate": 0.15}},
    {"family": "contractions"},
    {"family": "prefix", "params": {"kind": "filler"}},
    {"family": "distractor", "params": {"position": "random"}},
    {"family": "synonyms", "params": {"rate": 0.3}},
    {"family": "reorder"},
    {"family": "numbers"},
]


def workload(target: int) -> tuple[Any, int]:
    from brittle import CallableSystem, checks
    from brittle.spec.cases import Case
    from brittle.spec.eval import Eval, build_spec
    from brittle.spec.golden import load_golden
    from brittle.spec.suites import suite_from_mapping

    cases: list[Case] = []
    for name in ("golden.jsonl", "train.jsonl"):
        for case in load_golden(ROOT / "fixtures" / "sentiment" / name):
            cases.append(Case(f"{name[:5]}-{case.id}", case.inputs, case.expected))
    per_entry = 1
    while True:
        suite = suite_from_mapping(
            {
                "name": "bench",
                "seed": 11,
                "min_similarity": 0.75,
                "label_guard": ["positive", "negative"],
                "perturbations": [{**f, "n": per_entry} for f in FAMILIES],
            }
        )
        spec = build_spec(
            Eval(
                golden=cases,
                systems=[CallableSystem("noop", lambda inputs: "")],
                checks=[checks.label(["positive", "negative"])],
                suites=[suite],
            ),
            source=ROOT / "benchmarks" / "bench.eval.yaml",
        )
        count = sum(len(suite.variants(c, fields=["text"])[0]) for c in cases[:40])
        if count * len(cases) / 40 >= target * 1.02:
            return spec, per_entry
        per_entry += 1


class Counting:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.texts: list[str] = []

    def encode(self, texts: Any, **kwargs: Any) -> Any:
        self.texts.extend(texts)
        return self.model.encode(texts, **kwargs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=10_000)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cache = tempfile.mkdtemp(prefix="brittle-bench-embeddings-")
    os.environ["BRITTLE_EMBEDDINGS_DIR"] = cache

    from brittle.run.engine import build_rows
    from brittle.search import embeddings

    spec, per_entry = workload(args.variants)
    suite = spec.suites[0]
    figures: dict[str, Any] = {"cases": len(spec.cases), "n_per_family": per_entry}

    start = time.perf_counter()
    generated = 0
    for case in spec.cases:
        generated += len(suite.variants(case, fields=["text"])[0])
    figures["variants"] = generated
    figures["generate_s"] = round(time.perf_counter() - start, 2)

    start = time.perf_counter()
    model = embeddings._load_model()
    figures["model_load_s"] = round(time.perf_counter() - start, 2)
    counting = Counting(model)
    embeddings._embedder = embeddings.Embedder(
        counting, store=embeddings.default_store(), uncased=True
    )

    start, cpu = time.perf_counter(), time.process_time()
    dropped: dict[str, int] = {}
    rows, _, kept = build_rows(spec, dropped=dropped)
    figures["cold_s"] = round(time.perf_counter() - start + figures["model_load_s"], 2)
    figures["filter_cpu_s"] = round(time.process_time() - cpu, 2)
    distinct = len(set(counting.texts))
    figures["texts_embedded"] = len(counting.texts)
    figures["distinct_texts"] = distinct
    figures["embedded_twice"] = len(counting.texts) - distinct
    figures["kept"] = sum(kept.values())
    figures["dropped"] = dict(sorted(dropped.items()))

    counting.texts.clear()
    embeddings._embedder = embeddings.Embedder(
        counting, store=embeddings.default_store(), uncased=True
    )
    start = time.perf_counter()
    again, _, _ = build_rows(spec, dropped={})
    figures["warm_s"] = round(time.perf_counter() - start, 2)
    figures["warm_texts_embedded"] = len(counting.texts)
    assert [r.row_id for r in again] == [r.row_id for r in rows], "variants differ between runs"
    figures["cpus"] = os.cpu_count()
    figures["load_average"] = round(os.getloadavg()[0], 1)

    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['variants']} variants of {figures['cases']} cases "
            f"(n={per_entry} per family, 10 families)\n"
            f"  generate only:              {figures['generate_s']:6.2f} s\n"
            f"  generate + filter, cold:    {figures['cold_s']:6.2f} s "
            f"(model load {figures['model_load_s']:.2f} s; {figures['texts_embedded']} texts "
            f"embedded, {figures['embedded_twice']} twice)\n"
            f"  generate + filter, warm:    {figures['warm_s']:6.2f} s "
            f"({figures['warm_texts_embedded']} texts embedded; the rest from the disk cache)\n"
            f"  kept {figures['kept']}, dropped {figures['dropped']}\n"
            f"  CPU time of generate + filter (all threads): {figures['filter_cpu_s']:.1f} s; "
            f"{figures['cpus']} CPUs, load average {figures['load_average']} (other processes "
            "slow every figure down)"
        )
    budget_ok = figures["cold_s"] <= 60 and figures["embedded_twice"] == 0
    print("within budget (<= 60 s cold, no text embedded twice):", budget_ok)
    return 0 if budget_ok else 1


if __name__ == "__main__":
    sys.exit(main())
