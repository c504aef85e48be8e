"""How much does brittle add on top of the model calls it makes?

The workload is an eval of cases x perturbation variants (10,000 rows by default) with two checks,
run at concurrency 64, compared with bare asyncio loops making the same calls:

===========================  =================================================================
variant                      what runs
===========================  =================================================================
bare-aiohttp                 one aiohttp ClientSession, semaphore 64, POST to the stub server
bare-litellm                 ``litellm.acompletion`` (``openai/stub`` at the stub), semaphore 64
harness-stub                 brittle end to end: PromptSystem ``openai/stub`` at the stub
bare-litellm-instant         ``litellm.acompletion`` on an in-process CustomLLM that answers at once
harness-litellm-instant      brittle end to end on that CustomLLM (litellm path, no network)
harness-callable             brittle end to end on an ``async def`` CallableSystem
harness-callable-sync        the same with a plain ``def`` (brittle runs it in a worker thread)
results-100k                 100,000 rows on the async CallableSystem, then ``write_parquet``
litellm-settings             bare-litellm, alternating blocks with and without each candidate
                             litellm setting (``--settings``), CPU per call before and after
===========================  =================================================================

The stub server (``stub_server.py``) runs as its own process and answers after ``--latency``
(default 50 ms). Each variant runs in a fresh child process, so that its CPU time
(``time.process_time()``, all threads) and its peak RSS (``ru_maxrss``) are its own; litellm is
imported and warmed up (64 calls, same event loop) before the timed window in every variant that
uses it, and all litellm variants use brittle's ``configure_litellm()`` settings. The harness
window is the engine's ``build_rows`` and ``run_system`` end to end (variant generation, calls,
checks, metrics); writing the results table with ``write_parquet`` is timed on its own. The
compared variants run ``--repeat`` times, interleaved, and keep their least wall time and CPU.
The figures are printed as a table, with the harness/bare-litellm ratios (targets: at most 1.2
for wall time and for CPU per call), and written to ``--out`` as ``figures.parquet`` and
``figures.json``. See README.md.

    python -m benchmarks.bench_overhead                  # everything, about 10 min on 2 idle cores
    python -m benchmarks.bench_overhead --only harness-stub,bare-litellm --calls 2000
    python -m benchmarks.bench_overhead --profile harness-stub   # cProfile of one variant
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

HERE = Path(__file__).resolve().parent

MAIN_VARIANTS = (
    "bare-aiohttp",
    "bare-litellm",
    "harness-stub",
    "bare-litellm-instant",
    "harness-litellm-instant",
    "harness-callable",
    "harness-callable-sync",
    "results-100k",
    "litellm-settings",
)
#: variants compared with each other; ``--repeat`` runs them several times, interleaved
GROUPS = (
    ("bare-aiohttp", "bare-litellm", "harness-stub"),
    ("bare-litellm-instant", "harness-litellm-instant"),
)
PAIRED = {v for group in GROUPS for v in group}
STUB_VARIANTS = {"bare-aiohttp", "bare-litellm", "harness-stub", "litellm-settings"}

#: litellm settings tried in the bare litellm loop (variant ``litellm-settings``), each against
#: brittle's ``configure_litellm()`` as it stands (see :func:`_setting`).
SETTINGS = (
    "litellm-defaults",
    "empty-callbacks",
    "disable-streaming-logging",
    "drop-params",
    "custom-llm-provider",
    "per-call-pricing",
    "httpx-transport",
    "shared-client",
    "no-cost-calc",
    "no-gc-freeze",
    "register-model",
)
WARMUP_CALLS = 64
BENCH_PROVIDER = "bench"


# --------------------------------------------------------------------------- measuring


def _proc_status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _mb(kb: int | None) -> float | None:
    return None if kb is None else round(kb / 1024, 1)


class GCClock:
    """CPU time spent in the garbage collector (``thread_time`` of the collecting thread) and the
    number of full (generation 2) collections."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started
            self.full += info["generation"] == 2


GC_CLOCK = GCClock()


class Window:
    """Wall time, process CPU time (all threads) and garbage-collector time of a ``with`` block."""

    def __enter__(self) -> Window:
        self.gc0 = (GC_CLOCK.seconds, GC_CLOCK.full)
        self.cpu0 = time.process_time()
        self.wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0
        self.gc = GC_CLOCK.seconds - self.gc0[0]
        self.gc_full = GC_CLOCK.full - self.gc0[1]


# --------------------------------------------------------------------------- workload


def _case_text(index: int) -> str:
    label = "positive" if index % 2 == 0 else "negative"
    adjective = ("great", "awful", "fine", "broken", "lovely", "slow")[index % 6]
    return (
        f"{label} review number {index}: the product was {adjective}, arrived on time, "
        f"and I would tell my friends about it."
    )


def _suite() -> Any:
    from brittle.spec.suites import suite_from_mapping

    return suite_from_mapping(
        {
            "name": "bench",
            "perturbations": [
                {"family": "typo", "n": 3, "params": {"rate": 0.05}},
                {"family": "whitespace", "n": 3, "params": {"rate": 0.2}},
                {"family": "punctuation", "n": 3, "params": {"rate": 0.5}},
            ],
        }
    )


def build_eval(system: Any, rows: int) -> tuple[Any, list[Any]]:
    """An eval of enough cases for at least ``rows`` rows; returns the spec and its rows."""
    from brittle import Case, Eval
    from brittle.checks import exact, label
    from brittle.run.engine import build_rows
    from brittle.spec.eval import build_spec

    suite = _suite()

    def spec_for(count: int) -> Any:
        cases = [
            Case(f"c{i}", {"text": _case_text(i)}, expected=_case_text(i).split()[0])
            for i in range(count)
        ]
        return build_spec(
            Eval(
                golden=cases,
                systems=[system],
                checks=[exact(), label(["positive", "negative"])],
                suites=[suite],
                concurrency=64,
                seed=7,
            ),
            source=Path("bench.eval.yaml"),
        )

    probe = build_rows(spec_for(50))[0]
    per_case = len(probe) / 50
    spec = spec_for(math.ceil(rows / per_case) + 1)
    all_rows = build_rows(spec)[0]
    while len(all_rows) < rows:  # no-op perturbations made a few cases short
        spec = spec_for(len(spec.cases) + math.ceil((rows - len(all_rows)) / per_case) + 1)
        all_rows = build_rows(spec)[0]
    return spec, all_rows


def _first_word(messages: Sequence[Any]) -> tuple[str, int]:
    last = next((m["content"] for m in reversed(messages) if m.get("role") == "user"), "")
    words = str(last or "").split()
    return (words[0] if words else ""), sum(len(str(m["content"]).split()) for m in messages)


def register_instant_provider() -> None:
    """A litellm CustomLLM under ``bench/`` that echoes the first word at once (no network)."""
    import litellm
    from litellm import CustomLLM
    from litellm.types.utils import ModelResponse, Usage

    def respond(model: str, messages: Any, model_response: ModelResponse) -> ModelResponse:
        word, prompt_tokens = _first_word(messages)
        choice = model_response.choices[0]
        choice.message.content = word
        choice.finish_reason = "stop"
        model_response.model = f"{BENCH_PROVIDER}/{model}"
        usage = Usage(
            prompt_tokens=prompt_tokens, completion_tokens=1, total_tokens=prompt_tokens + 1
        )
        setattr(model_response, "usage", usage)  # noqa: B010 - not a declared field
        return model_response

    class InstantLLM(CustomLLM):
        def completion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return respond(model, messages, kwargs["model_response"])

        async def acompletion(self, model: str, messages: list, *args: Any, **kwargs: Any) -> Any:
            return respond(model, messages, kwargs["model_response"])

    entries = [e for e in litellm.custom_provider_map if e["provider"] != BENCH_PROVIDER]
    entries.append({"provider": BENCH_PROVIDER, "custom_handler": InstantLLM()})
    litellm.custom_provider_map = entries


async def bounded(
    items: Sequence[Any], call: Callable[[Any], Awaitable[Any]], concurrency: int
) -> list[Any]:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(item: Any) -> Any:
        async with semaphore:
            try:
                return await call(item)
            except Exception as exc:
                return exc

    return await asyncio.gather(*(one(item) for item in items))


def _litellm() -> Any:
    from brittle.gateway import configure_litellm

    return configure_litellm()


Revert = Callable[[], None]


def _setting(litellm: Any, name: str, base_url: str) -> tuple[dict[str, Any], Revert | None]:
    """Apply one candidate setting; returns extra call arguments and how to undo it (if it can).

    ``litellm-defaults`` undoes what ``configure_litellm()`` sets (message logging back on);
    ``no-gc-freeze`` undoes its ``gc.freeze()``; ``no-cost-calc`` is not a setting but a patch of
    litellm's cost calculator, to show its share; brittle never applies it.
    """

    def restore(attribute: str) -> Revert:
        old = getattr(litellm, attribute)
        return lambda: setattr(litellm, attribute, old)

    if name == "litellm-defaults":
        undo = restore("turn_off_message_logging")
        litellm.turn_off_message_logging = False
        return {}, undo
    if name == "empty-callbacks":
        names = (
            "callbacks",
            "success_callback",
            "failure_callback",
            "input_callback",
            "_async_success_callback",
            "_async_failure_callback",
            "_async_input_callback",
            "service_callback",
        )
        undos = [restore(n) for n in names]
        for n in names:
            setattr(litellm, n, [])

        def undo_all() -> None:
            for undo in undos:
                undo()

        return {}, undo_all
    if name == "disable-streaming-logging":
        undo = restore("disable_streaming_logging")
        litellm.disable_streaming_logging = True
        return {}, undo
    if name == "drop-params":
        undo = restore("drop_params")
        litellm.drop_params = True
        return {}, undo
    if name == "custom-llm-provider":
        return {"custom_llm_provider": "openai"}, lambda: None
    if name == "per-call-pricing":
        return {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}, lambda: None
    if name == "httpx-transport":
        undo = restore("disable_aiohttp_transport")
        litellm.disable_aiohttp_transport = True
        return {}, undo
    if name == "shared-client":
        import openai

        client = openai.AsyncOpenAI(base_url=base_url, api_key="sk-fake", max_retries=0)
        return {"client": client}, lambda: None
    if name == "no-cost-calc":
        from litellm.litellm_core_utils.litellm_logging import Logging

        original = Logging.response_cost_calculator
        Logging.response_cost_calculator = lambda self, *a, **k: None  # type: ignore[method-assign]

        def undo_patch() -> None:
            Logging.response_cost_calculator = original  # type: ignore[method-assign]

        return {}, undo_patch
    if name == "no-gc-freeze":  # undoes the gc.freeze() of configure_litellm()
        gc.unfreeze()
        return {}, gc.freeze

    if name == "register-model":  # model-info look-ups are cached: cannot be undone cleanly
        litellm.register_model(
            {
                "openai/stub": {
                    "litellm_provider": "openai",
                    "mode": "chat",
                    "input_cost_per_token": 0.0,
                    "output_cost_per_token": 0.0,
                    "max_tokens": 4096,
                }
            }
        )
        return {}, None
    raise SystemExit(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}")


async def _settings_run(
    litellm: Any, names: Sequence[str], base_url: str, block: int, concurrency: int, rounds: int
) -> dict[str, Any]:
    """Baseline (B) and candidate (C) blocks in one process and one event loop, in the order
    B C C B per round, so that drift and periodic costs (a full garbage collection comes about
    every 600 litellm calls) weigh on both sides alike; the change is the median over rounds of
    (C + C) / (B + B). A setting that cannot be undone runs last, as C C after the last B B."""
    texts = [_case_text(i) for i in range(block)]
    base = {"api_base": base_url, "api_key": "sk-fake"}

    gc_ms: dict[bool, list[float]] = {False: [], True: []}

    async def measure(extra: dict[str, Any], candidate: bool = False) -> tuple[float, int]:
        model = "stub" if "custom_llm_provider" in extra else "openai/stub"
        with Window() as window:
            results = await _bare_litellm(litellm, model, texts, concurrency, {**base, **extra})
        gc_ms[candidate].append(window.gc / block * 1000)
        return window.cpu / block * 1000, _errors(results)

    async def candidate(name: str) -> tuple[float, int, Revert | None]:
        extra, undo = _setting(litellm, name, base_url)
        after, failed = await measure(extra, candidate=True)
        if undo is not None:
            undo()
        return after, failed, undo

    await _bare_litellm(litellm, "openai/stub", texts[:WARMUP_CALLS], 64, base)
    found: dict[str, Any] = {}
    last_baseline: list[float] = []
    for name in names:
        gc_ms[False].clear()
        gc_ms[True].clear()
        befores: list[float] = []
        afters: list[float] = []
        errors = 0
        for _ in range(rounds):
            b1 = (await measure({}))[0]
            c1, failed1, undo = await candidate(name)
            if undo is None:  # stays applied: B B C C
                c2, failed2, _ = await candidate(name)
                b2 = last_baseline[-1] if last_baseline else b1
                befores += [b1, b2]
            else:
                c2, failed2, _ = await candidate(name)
                b2 = (await measure({}))[0]
                befores += [b1, b2]
                last_baseline = [b1, b2]
            afters += [c1, c2]
            errors += failed1 + failed2
        ratios = [
            (afters[i] + afters[i + 1]) / (befores[i] + befores[i + 1])
            for i in range(0, len(afters), 2)
        ]
        found[name] = {
            "before": round(statistics.mean(befores), 3),
            "after": round(statistics.mean(afters), 3),
            "change_pct": round((statistics.median(ratios) - 1) * 100, 1),
            "ratios": [round(r, 3) for r in ratios],
            "gc_before": round(statistics.mean(gc_ms[False]), 3),
            "gc_after": round(statistics.mean(gc_ms[True]), 3),
            "errors": errors,
        }
    return found


def _texts(rows: Sequence[Any]) -> list[str]:
    return [str(row.inputs["text"]) for row in rows]


async def _bare_litellm(
    litellm: Any, model: str, texts: Sequence[str], concurrency: int, extra: dict[str, Any]
) -> list[Any]:
    async def call(text: str) -> tuple[str, Any]:
        response = await litellm.acompletion(
            model=model, messages=[{"role": "user", "content": text}], **extra
        )
        return response.choices[0].message.content, response.usage

    return await bounded(texts, call, concurrency)


async def _bare_aiohttp(
    base_url: str, texts: Sequence[str], concurrency: int
) -> tuple[list[Any], Window]:
    import aiohttp

    url = base_url + "/chat/completions"
    headers = {"Authorization": "Bearer sk-fake"}
    async with aiohttp.ClientSession(headers=headers) as session:

        async def call(text: str) -> tuple[str, Any]:
            body = {"model": "stub", "messages": [{"role": "user", "content": text}]}
            async with session.post(url, json=body) as reply:
                reply.raise_for_status()
                data = await reply.json()
            return data["choices"][0]["message"]["content"], data["usage"]

        await bounded(texts[:WARMUP_CALLS], call, concurrency)
        with Window() as window:
            results = await bounded(texts, call, concurrency)
    return results, window


def _errors(results: Sequence[Any]) -> int:
    return sum(isinstance(r, BaseException) for r in results)


# --------------------------------------------------------------------------- child variants


def child(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run one variant in this (fresh) process; returns its figures."""
    from brittle.spec.systems import CallableSystem, LLMSystem, PromptSystem, System

    info: dict[str, Any] = {}
    stub_params = {"api_base": args.stub_url, "api_key": "sk-fake"}

    async def instant(inputs: dict[str, Any]) -> str:
        return str(inputs["text"]).split()[0]

    def instant_sync(inputs: dict[str, Any]) -> str:
        return str(inputs["text"]).split()[0]

    if variant == "litellm-settings":
        litellm = _litellm()
        names = [n for n in args.settings.split(",") if n]
        with Window() as window:
            found = asyncio.run(
                _settings_run(
                    litellm,
                    names,
                    args.stub_url,
                    args.settings_calls,
                    args.concurrency,
                    args.settings_rounds,
                )
            )
        info["settings"] = found
        calls = args.settings_calls * 4 * len(names) * args.settings_rounds
        errors = sum(f["errors"] for f in found.values())
        return _figures(variant, calls, errors, window, args, info)

    system: System
    if variant in ("bare-aiohttp", "bare-litellm", "bare-litellm-instant"):
        system = PromptSystem("p", "openai/stub", "{{ text }}", params=stub_params)
        _, rows = build_eval(system, args.calls)
        texts = _texts(rows)
        if variant == "bare-aiohttp":
            results, window = asyncio.run(_bare_aiohttp(args.stub_url, texts, args.concurrency))
            return _figures(variant, len(texts), _errors(results), window, args, info)
        litellm = _litellm()
        if variant == "bare-litellm":
            model, extra = "openai/stub", dict(stub_params)
        else:
            register_instant_provider()
            model, extra = f"{BENCH_PROVIDER}/instant", {}

        async def bare() -> tuple[list[Any], Window]:
            await _bare_litellm(litellm, model, texts[:WARMUP_CALLS], 64, extra)
            with Window() as window:
                results = await _bare_litellm(litellm, model, texts, args.concurrency, extra)
            return results, window

        results, window = asyncio.run(bare())
        return _figures(variant, len(texts), _errors(results), window, args, info)

    calls = args.calls
    if variant == "harness-stub":
        system = PromptSystem("p", "openai/stub", "{{ text }}", params=stub_params)
    elif variant == "harness-litellm-instant":
        system = PromptSystem("p", f"{BENCH_PROVIDER}/instant", "{{ text }}")
    elif variant in ("harness-callable", "results-100k"):
        system = CallableSystem("p", instant)
        calls = args.rows_100k if variant == "results-100k" else calls
    elif variant == "harness-callable-sync":
        system = CallableSystem("p", instant_sync)
    else:
        raise SystemExit(f"unknown variant {variant!r}")
    spec, rows = build_eval(system, calls)
    texts = _texts(rows)[:WARMUP_CALLS]
    del rows  # the harness builds its own; keeping these would count twice in the RSS figures
    from brittle.run.engine import build_rows

    with Window() as build:
        build_rows(spec)
    info["build_rows_s"] = round(build.wall, 3)
    warmup: Callable[[], Awaitable[Any]] | None = None
    if isinstance(system, LLMSystem):
        litellm = _litellm()
        extra = stub_params if variant == "harness-stub" else {}
        if variant == "harness-litellm-instant":
            register_instant_provider()
        model = system.model

        def warm() -> Awaitable[Any]:
            return _bare_litellm(litellm, model, texts, 64, extra)

        warmup = warm
    return _run_harness(variant, spec, args, info, warmup)


def _run_harness(
    variant: str,
    spec: Any,
    args: argparse.Namespace,
    info: dict[str, Any],
    warmup: Callable[[], Awaitable[Any]] | None,
) -> dict[str, Any]:
    from brittle.gateway import Gateway
    from brittle.report.parquet import write_parquet
    from brittle.run.engine import EvalRun, build_rows, run_system
    from brittle.run.session import EvalState

    gc.collect()
    rss_before = _proc_status_kb("VmRSS")

    async def harness() -> tuple[Any, Window]:
        if warmup is not None:
            await warmup()
        with Window() as window:  # the eval's one system, as a session runs it
            gateway = Gateway(concurrency=args.concurrency)
            rows, _, _ = build_rows(spec)
            system_run = await run_system(spec, spec.systems[0], rows, gateway)
        return system_run, window

    system_run, window = asyncio.run(harness())
    run = EvalRun(spec=spec, systems={system_run.system: system_run})
    rows = len(system_run)
    errors = len(system_run.errors())
    overall = system_run.metrics["overall"]
    info["accuracy"] = overall.get("accuracy")
    info["flip_rate"] = round(overall["flip_rate"], 4) if overall.get("flip_rate") else None
    if errors:
        info["first_error"] = system_run.errors()[0]["error"]
    figures = _figures(variant, rows, errors, window, args, info)

    # the results table, written as the run report does (chunk by chunk)
    rss_after_run = _proc_status_kb("VmRSS")
    peak_after_run = _proc_status_kb("VmHWM")
    reset = _reset_peak_rss()
    out = Path(tempfile.mkdtemp(prefix="brittle-bench-"))
    path = out / "results.parquet"
    try:
        with Window() as write:
            written = write_parquet(path, [EvalState(spec=spec, run=run)])
    except Exception as exc:  # a broken report writer should not hide the run's figures
        info["write_error"] = f"{type(exc).__name__}: {exc}"
        written = rows
    peak_write = _proc_status_kb("VmHWM") if reset else None
    if "write_error" not in info:
        info["write_s"] = round(write.wall, 3)
        info["parquet_mb"] = round(path.stat().st_size / 2**20, 1)
    path.unlink(missing_ok=True)
    out.rmdir()
    assert written == rows, (written, rows)
    if variant == "results-100k":
        import pyarrow as pa

        from brittle.run.engine import RESULT_COLUMNS

        info["rss_before_run_mb"] = _mb(rss_before)
        info["peak_rss_run_mb"] = _mb(peak_after_run)
        info["rss_holding_results_mb"] = _mb(rss_after_run)
        info["peak_rss_write_mb"] = _mb(peak_write)
        info["write_peak_over_holding_mb"] = (
            round((peak_write - rss_after_run) / 1024, 1)
            if peak_write is not None and rss_after_run is not None
            else None
        )
        info["results_python_mb"] = round(_python_size(system_run.columns) / 2**20, 1)
        # one full Arrow copy, built only now that the peaks are recorded
        table = pa.table({name: system_run.columns[name] for name in RESULT_COLUMNS})
        info["results_arrow_mb"] = round(table.nbytes / 2**20, 1)
    return figures


def _python_size(columns: dict[str, list[Any]]) -> int:
    """Bytes held by the result columns: the lists and every distinct object in them."""
    seen: set[int] = set()
    total = 0
    for values in columns.values():
        total += sys.getsizeof(values)
        for value in values:
            if id(value) not in seen:
                seen.add(id(value))
                total += sys.getsizeof(value)
    return total


def _figures(
    variant: str,
    calls: int,
    errors: int,
    window: Window,
    args: argparse.Namespace,
    info: dict[str, Any],
) -> dict[str, Any]:
    latency = args.latency if variant in STUB_VARIANTS else 0.0
    ideal = calls * latency / args.concurrency
    return {
        "variant": variant,
        "calls": calls,
        "errors": errors,
        "wall_s": round(window.wall, 3),
        "ideal_s": round(ideal, 3),
        "wall_over_ideal": round(window.wall / ideal, 2) if ideal else None,
        "cpu_s": round(window.cpu, 3),
        "cpu_ms_per_call": round(window.cpu / calls * 1000, 4),
        "calls_per_s": round(calls / window.wall, 1),
        "cpu_over_wall": round(window.cpu / window.wall, 2),
        "gc_ms_per_call": round(window.gc / calls * 1000, 4),
        "gc_full": window.gc_full,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "info": info,
    }


# --------------------------------------------------------------------------- parent


def schedule(variants: Sequence[str], repeat: int) -> list[str]:
    """The order of child runs: the compared variants ``repeat`` times, each group in reverse
    order every other round (so neither side always goes first), then the rest once."""
    order: list[str] = []
    for round_ in range(max(1, repeat)):
        for group in GROUPS:
            chosen = [v for v in group if v in variants]
            order += chosen if round_ % 2 == 0 else chosen[::-1]
    return order + [v for v in variants if v not in PAIRED]


def combine(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One figure per variant: the least wall time and the least CPU per call over its runs
    (the least disturbed by other load on the machine), the largest peak RSS."""
    good = [r for r in runs if "failed" not in r]
    if not good:
        return runs[0]
    best = dict(min(good, key=lambda r: r["wall_s"]))
    best["cpu_ms_per_call"] = min(r["cpu_ms_per_call"] for r in good)
    best["cpu_s"] = min(r["cpu_s"] for r in good)
    best["peak_rss_mb"] = max(r["peak_rss_mb"] for r in good)
    best["errors"] = max(r["errors"] for r in good)
    if len(good) > 1:
        best["info"] = {
            **best["info"],
            "runs_wall_s": [r["wall_s"] for r in good],
            "runs_cpu_ms_per_call": [r["cpu_ms_per_call"] for r in good],
        }
    return best


def _run_child(variant: str, args: argparse.Namespace, stub_url: str) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        variant,
        "--stub-url",
        stub_url,
        "--calls",
        str(args.calls),
        "--concurrency",
        str(args.concurrency),
        "--latency",
        str(args.latency),
        "--settings-calls",
        str(args.settings_calls),
        "--settings",
        args.settings,
        "--settings-rounds",
        str(args.settings_rounds),
        "--rows-100k",
        str(args.rows_100k),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.child_timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        sys.stderr.write(done.stderr[-3000:])
        return {"variant": variant, "failed": f"exit status {done.returncode}"}
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(results: Sequence[dict[str, Any]]) -> None:
    header = (
        f"{'variant':<34} {'calls':>7} {'err':>4} {'wall s':>8} {'ideal s':>8} {'x ideal':>8} "
        f"{'CPU ms/call':>11} {'CPU/wall':>8} {'GC ms/call':>10} {'full GCs':>8} {'calls/s':>8} "
        f"{'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if "failed" in r:
            print(f"{r['variant']:<34} FAILED ({r['failed']})")
            continue
        print(
            f"{r['variant']:<34} {r['calls']:>7} {r['errors']:>4} {_fmt(r['wall_s']):>8} "
            f"{_fmt(r['ideal_s']):>8} {_fmt(r['wall_over_ideal']):>8} "
            f"{_fmt(r['cpu_ms_per_call'], 3):>11} {_fmt(r['cpu_over_wall']):>8} "
            f"{_fmt(r['gc_ms_per_call'], 3):>10} {r['gc_full']:>8} {_fmt(r['calls_per_s'], 0):>8} "
            f"{_fmt(r['peak_rss_mb'], 0):>11}"
        )


def print_settings(settings: dict[str, dict[str, Any]]) -> None:
    print()
    print("litellm settings, bare litellm loop, CPU ms per call (baseline: configure_litellm()):")
    print(
        f"  {'setting':<28} {'before':>8} {'after':>8} {'change':>8} "
        f"{'GC before':>10} {'GC after':>9} {'errors':>7}  ratios"
    )
    for name, f in settings.items():
        print(
            f"  {name:<28} {f['before']:>8.3f} {f['after']:>8.3f} {f['change_pct']:>+7.1f}% "
            f"{f['gc_before']:>10.3f} {f['gc_after']:>9.3f} {f['errors']:>7}  {f['ratios']}"
        )


def ratios(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Harness over bare litellm, for the stub and for the in-process CustomLLM."""
    by_name = {r["variant"]: r for r in results if "failed" not in r}
    out = []
    for harness, bare in (
        ("harness-stub", "bare-litellm"),
        ("harness-litellm-instant", "bare-litellm-instant"),
    ):
        if harness in by_name and bare in by_name:
            h, b = by_name[harness], by_name[bare]
            out.append(
                {
                    "harness": harness,
                    "bare": bare,
                    "wall_ratio": round(h["wall_s"] / b["wall_s"], 3),
                    "cpu_per_call_ratio": round(h["cpu_ms_per_call"] / b["cpu_ms_per_call"], 3),
                }
            )
    if "bare-litellm" in by_name and "bare-aiohttp" in by_name:
        lite, raw = by_name["bare-litellm"], by_name["bare-aiohttp"]
        out.append(
            {
                "harness": "bare-litellm",
                "bare": "bare-aiohttp",
                "wall_ratio": round(lite["wall_s"] / raw["wall_s"], 3),
                "cpu_per_call_ratio": round(lite["cpu_ms_per_call"] / raw["cpu_ms_per_call"], 3),
            }
        )
    return out


def write_figures(out: Path, results: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.mkdir(parents=True, exist_ok=True)
    rows = [r for r in results if "failed" not in r]
    columns = [k for k in rows[0] if k != "info"] if rows else []
    table = pa.table(
        {
            **{name: [r.get(name) for r in rows] for name in columns},
            "info": [json.dumps(r.get("info", {}), default=str) for r in rows],
        }
    )
    pq.write_table(table, out / "figures.parquet")
    (out / "figures.json").write_text(
        json.dumps({"meta": meta, "results": list(results)}, indent=1, default=str) + "\n",
        encoding="utf-8",
    )
    return out / "figures.parquet"


def _profile(variant: str, args: argparse.Namespace, stub_url: str) -> None:
    """Run ``variant`` in this process under cProfile and print the top of brittle's own code."""
    import cProfile
    import pstats

    args.stub_url = stub_url
    profiler = cProfile.Profile()
    profiler.enable()
    figures = child(variant, args)
    profiler.disable()
    print(json.dumps(figures))
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats("brittle", 30)
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=10_000, help="rows/calls per variant")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05, help="stub latency in seconds")
    parser.add_argument("--only", help="comma-separated variants (default: all)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="litellm settings to try")
    parser.add_argument("--settings-calls", type=int, default=300, help="calls per block")
    parser.add_argument("--settings-rounds", type=int, default=1, help="B C C B rounds per setting")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each bare/harness variant (least taken)"
    )
    parser.add_argument("--rows-100k", type=int, default=100_000)
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE.parent / "reports" / "bench-overhead",
        help="where figures.parquet and figures.json go (default: reports/bench-overhead)",
    )
    parser.add_argument("--profile", metavar="VARIANT", help="cProfile one variant in-process")
    parser.add_argument("--child-timeout", type=float, default=600)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--stub-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, args), default=str), flush=True)
        return

    from tests.support.stub_server import start_subprocess

    stub = start_subprocess(latency=args.latency)
    try:
        if args.profile:
            _profile(args.profile, args, stub.base_url)
            return
        variants = args.only.split(",") if args.only else list(MAIN_VARIANTS)
        print(
            f"stub at {stub.base_url} answering after {args.latency * 1000:.0f} ms; "
            f"{args.calls} calls per variant at concurrency {args.concurrency}; "
            f"ideal wall time {args.calls * args.latency / args.concurrency:.2f} s",
            flush=True,
        )
        runs: dict[str, list[dict[str, Any]]] = {}
        for variant in schedule(variants, args.repeat):
            started = time.perf_counter()
            figures = _run_child(variant, args, stub.base_url)
            runs.setdefault(variant, []).append(figures)
            note = figures.get("failed") or (
                f"{figures['wall_s']:.2f} s, {figures['cpu_ms_per_call']:.3f} CPU ms/call, "
                f"CPU/wall {figures['cpu_over_wall']:.2f}, {figures['errors']} errors"
            )
            print(f"  {variant}: {note} ({time.perf_counter() - started:.0f} s with start-up)")
            sys.stdout.flush()
        results = [combine(runs[v]) for v in variants if v in runs]
        stub_stats = stub.stats()
    finally:
        stub.stop()

    print()
    print_table(results)
    found = ratios(results)
    if found:
        print()
        print("ratios (target: harness/bare-litellm <= 1.20 for wall time and CPU per call):")
        for r in found:
            verdict = (
                ""
                if r["bare"] == "bare-aiohttp"
                else (
                    "  OK"
                    if r["wall_ratio"] <= 1.2 and r["cpu_per_call_ratio"] <= 1.2
                    else "  ABOVE TARGET"
                )
            )
            print(
                f"  {r['harness']} / {r['bare']}: wall {r['wall_ratio']:.2f}x, "
                f"CPU per call {r['cpu_per_call_ratio']:.2f}x{verdict}"
            )
    print()
    print("details:")
    for r in results:
        info = dict(r.get("info") or {})
        settings = info.pop("settings", None)
        if info:
            print(f"  {r['variant']}: " + ", ".join(f"{k}={v}" for k, v in info.items()))
        if settings:
            print_settings(settings)
    print(f"  stub server counted: {stub_stats}")
    meta = {
        "calls": args.calls,
        "concurrency": args.concurrency,
        "latency_s": args.latency,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "ratios": found,
    }
    path = write_figures(args.out, results, meta)
    print(f"figures written to {path} and {path.with_suffix('.json')}")


if __name__ == "__main__":
    main()
