"""Replaying a fully cached run: what the harness costs when no model is called.

Pull-request CI replays recorded responses (``--brittle-cache=replay``), so its run time is the
harness's own: building the rows (cases and perturbation variants), a cache lookup per call,
scoring, metrics. This benchmark records a run of ``--calls`` model calls (default 10,000) into a
fresh cache through an in-process transport that answers at once (the cache keys are the same
as a real model's: fingerprint, rendered messages, parameters), then replays it with the same
code path as ``pytest`` and ``brittle run`` (``BrittleSession.run_system``), without a network
or litellm, and prints the wall and CPU time of each phase. Target: replay at most 5 s.

    python -m benchmarks.bench_cache [--calls 10000] [--repeat 3] [--reports]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")

VARIANTS = 9  # per case: typo, whitespace and punctuation, three each (as bench_overhead.py)
SENTENCE = (
    "the battery lasts all week and charging is quick but the screen scratches easily and the "
    "speaker crackles at high volume while the camera is sharp in daylight"
)
WORDS = SENTENCE.split()


def write_project(folder: Path, cases: int) -> Path:
    labels = ("positive", "negative")
    with (folder / "golden.jsonl").open("w") as handle:
        for i in range(cases):
            words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(12)]
            text = f"order {i}: " + " ".join(words)  # every case distinct: one call each
            row = {"id": f"c{i:05d}", "text": text, "expected": labels[i % 2]}
            handle.write(json.dumps(row) + "\n")
    (folder / "suite.yaml").write_text(
        "name: mixed\nversion: 1\nseed: 11\nperturbations:\n"
        "  - family: typo\n    n: 3\n    params: {rate: 0.06}\n"
        "  - family: whitespace\n    n: 3\n"
        "  - family: punctuation\n    n: 3\n"
    )
    path = folder / "bench.eval.yaml"
    path.write_text(
        "name: bench\n"
        "golden: golden.jsonl\n"
        "perturb_fields: [text]\n"
        "systems:\n"
        "  prompt:\n"
        "    kind: prompt\n"
        "    model: openai/gpt-4o-mini\n"
        '    template: "Is this review positive or negative? {{ text }}"\n'
        "    params: {temperature: 0, max_tokens: 4}\n"
        "checks:\n"
        "  - label: {choices: [positive, negative]}\n"
        "  - exact\n"
        "suites: [suite.yaml]\n"
        "gates:\n"
        "  - accuracy >= 0.0\n"
        "concurrency: 64\n"
    )
    return path


class InstantTransport:
    """Answers every call at once: records the cache without a model or a network."""

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, request: Any) -> Any:
        from brittle.gateway import CallResult

        self.calls += 1
        text = str(request.messages[-1]["content"])
        answer = "positive" if len(text) % 2 else "negative"
        return CallResult(text=answer, prompt_tokens=len(text.split()), completion_tokens=1)


def timed(function: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000, help="model calls in the run")
    parser.add_argument("--repeat", type=int, default=3, help="replays to time (best is kept)")
    parser.add_argument("--reports", action="store_true", help="also time writing the reports")
    parser.add_argument("--target", type=float, default=5.0, help="seconds allowed for a replay")
    args = parser.parse_args(argv)

    (_, import_s, _) = timed(lambda: __import__("brittle.run.session"))
    from tests.support.sessions import finish, run_eval

    from brittle.gateway import Gateway
    from brittle.gateway.cache import CacheMode, ResponseCache
    from brittle.run.engine import build_rows
    from brittle.run.session import BrittleSession, Options
    from brittle.spec.eval import load_eval_file

    folder = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    cases = -(-args.calls // (1 + VARIANTS))
    spec = load_eval_file(write_project(folder, cases))
    rows, _, _ = build_rows(spec)
    calls = len(rows)
    cache_path = folder / ".brittle" / "cache.sqlite"

    transport = InstantTransport()
    recorder = Gateway(transport, concurrency=64, cache=ResponseCache(cache_path))
    _, record_s, _ = timed(lambda: run_eval(spec, gateway=recorder))
    assert transport.calls == calls, (transport.calls, calls)

    print(f"eval: {cases} cases x (1 + {VARIANTS} variants) = {calls} calls, 2 checks")
    print(f"import brittle: {import_s:.2f} s (not counted below)")
    print(f"record (instant transport, {calls} cache writes): {record_s:.2f} s")

    best: tuple[float, float] | None = None
    for attempt in range(1, args.repeat + 1):
        session = BrittleSession(
            Options(
                report_dir=folder / "reports" if args.reports else None,
                history="off",
                cache=CacheMode.REPLAY.value,
                cache_path=cache_path,
                progress=False,
            )
        )
        current = load_eval_file(folder / "bench.eval.yaml")  # a fresh spec: rows built anew

        def replay(session: BrittleSession = session, current: Any = current) -> Any:
            return session.run_system(current, "prompt")

        run, wall, cpu = timed(replay)
        gateway = session.state(current).gateway
        assert gateway is not None
        assert (gateway.calls, gateway.cache_hits, gateway.missing) == (0, calls, 0)
        assert run.metrics["overall"]["errors"] == 0
        line = f"replay {attempt}: {wall:.2f} s wall, {cpu:.2f} s CPU ({calls} cache hits, 0 calls)"
        if args.reports:
            _, report_s, _ = timed(lambda session=session: finish(session))
            line += f"; reports {report_s:.2f} s"
        else:
            finish(session)
        print(line)
        if best is None or wall < best[0]:
            best = (wall, cpu)
    assert best is not None
    per_call_ms = best[0] / calls * 1000
    verdict = "within" if best[0] <= args.target else "OVER"
    print(
        f"best replay of {calls} calls: {best[0]:.2f} s wall ({per_call_ms:.3f} ms per call), "
        f"{best[1]:.2f} s CPU: {verdict} the {args.target:g} s target"
    )
    return 0 if best[0] <= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
