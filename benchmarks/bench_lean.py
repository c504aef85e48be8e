"""Is brittle lean and fast? Every figure of issue 15's targets, in one run.

The workload: 2,000 short classification calls (``--calls``) to the local OpenAI-compatible stub
server answering after 50 ms (``--latency``), concurrency 32 (``--concurrency``); the physical
limit is calls x latency / concurrency (3.125 s). Every variant runs as its own child process,
timed from its start to its exit, so start-up (interpreter, imports) is counted; its CPU time and
peak RSS come from ``os.wait4``.

======================  ========================================================================
variant                 what runs
======================  ========================================================================
bare-aiohttp            one aiohttp session, a semaphore, the same POSTs to the stub
bare-httpx              the same with one ``httpx.AsyncClient``
brittle-run             ``brittle run`` of a YAML eval (one prompt system ``openai/stub``, a
                        label check, one gate), cache off, reports and history written
brittle-cached          the same eval run twice with the response cache on; the second is timed
cached-10k              10,000 calls recorded from an instant server, then a timed cached run
instant-256             ``run_system`` on 10,000 rows at concurrency 256 against an instant
                        local server (``--instant-calls``): calls/s from its start to the last
                        call's result (scoring and metrics after that are shown apart)
import                  ``python -c "import brittle"`` (least of 5)
pytest-plugin           pytest on one trivial test, plugin on against ``-p no:brittle``
                        (least of 5 each; deepeval's own plugin off in both, as in a default
                        install, which has no deepeval: its 3 s start-up made the difference
                        noise)
======================  ========================================================================

The instant server is a minimal asyncio HTTP/1.1 server in its own process that answers every
POST at once with a fixed chat completion, so that the server is not what limits calls/s.

Targets (checked at the end; exit status 1 when one is missed): brittle-run wall at most 1.3x
bare-aiohttp's, CPU at most 1.5 ms per call (start-up included), peak RSS at most 150 MB; the
cached rerun at most 1.5 s; 10,000 cached calls at most 2 s; at least 3,000 calls/s at
concurrency 256; ``import brittle`` at most 0.15 s; the plugin at most 0.3 s.

    python -m benchmarks.bench_lean                    # about 1-2 min on 2 idle cores
    python -m benchmarks.bench_lean --only brittle-run,bare-aiohttp --profile brittle-run

The load average is printed before and after: on a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import ROOT
from tests.support.stub_server import start_subprocess

VARIANTS = (
    "bare-aiohttp",
    "bare-httpx",
    "brittle-run",
    "brittle-cached",
    "cached-10k",
    "instant-256",
    "import",
    "pytest-plugin",
)
MB = 1024 * 1024


@dataclass
class Figure:
    """One child process: wall from start to exit, CPU (user + system), peak RSS."""

    wall_s: float
    cpu_s: float
    rss_mb: float
    out: str = ""


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        DEEPEVAL_TELEMETRY_OPT_OUT="YES",
        OPENAI_API_KEY="sk-bench",
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")]),
    )
    for name in ("BRITTLE_CACHE", "BRITTLE_RESPONSE_CACHE_DIR"):
        env.pop(name, None)
    env.update(extra)
    return env


def measure(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Figure:
    """Run ``argv`` to its end; its wall time, CPU time and peak RSS (``os.wait4``)."""
    start = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env or child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):  # 1: a gate failed, still a measured run
        raise RuntimeError(f"{argv[:4]} exited {process.returncode}:\n{out[-3000:]}")
    return Figure(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out)


# --- the bare loops ---------------------------------------------------------------------------

_BARE = """
import asyncio, json, sys
base, calls, concurrency, client = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
bodies = [json.dumps({"model": "stub", "messages": [{"role": "user", "content":
          f"positive is what I think of review {i}"}], "temperature": 0}).encode()
          for i in range(calls)]
headers = {"Authorization": "Bearer sk-bench", "Content-Type": "application/json"}

async def main():
    semaphore = asyncio.Semaphore(concurrency)
    if client == "aiohttp":
        import aiohttp
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        async def one(body):
            async with semaphore:
                async with session.post(base + "/chat/completions", data=body,
                                        headers=headers) as reply:
                    return json.loads(await reply.read())["choices"][0]["message"]["content"]
    else:
        import httpx
        session = httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency))
        async def one(body):
            async with semaphore:
                reply = await session.post(base + "/chat/completions", content=body,
                                           headers=headers)
                return reply.json()["choices"][0]["message"]["content"]
    answers = await asyncio.gather(*(one(b) for b in bodies))
    await (session.close() if client == "aiohttp" else session.aclose())
    assert answers.count("positive") == calls, answers[:3]
asyncio.run(main())
"""


def bare(client: str, base: str, calls: int, concurrency: int, cwd: Path) -> Figure:
    return measure(
        [sys.executable, "-c", _BARE, base, str(calls), str(concurrency), client], cwd=cwd
    )


# --- brittle run ------------------------------------------------------------------------------


def write_eval(folder: Path, base: str, calls: int, concurrency: int) -> Path:
    """A YAML eval of ``calls`` short classification cases on ``openai/stub``."""
    folder.mkdir(parents=True, exist_ok=True)
    labels = ("positive", "negative")
    with (folder / "golden.jsonl").open("w") as handle:
        for i in range(calls):
            label = labels[i % 2]
            row = {"id": f"c{i:05d}", "text": f"review {i}", "hint": label, "expected": label}
            handle.write(json.dumps(row) + "\n")
    path = folder / "bench.eval.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: bench
            golden: golden.jsonl
            systems:
              stub:
                kind: prompt
                model: openai/stub
                template: "{{{{ hint }}}} is what I think of {{{{ text }}}}"
                params: {{api_base: "{base}", temperature: 0}}
            checks:
              - label: {{choices: [positive, negative]}}
            gates:
              - accuracy >= 0.9
            concurrency: {concurrency}
            """
        )
    )
    return path


def brittle_run(
    eval_path: Path, *, cache: str, profile: Path | None = None, extra: tuple[str, ...] = ()
) -> Figure:
    folder = eval_path.parent
    argv = [sys.executable]
    if profile is not None:
        argv += ["-m", "cProfile", "-o", str(profile)]
    argv += ["-m", "brittle.cli", "run", str(eval_path), "--cache", cache]
    argv += ["--cache-dir", str(folder / "cache"), "--report-dir", str(folder / "reports")]
    return measure([*argv, *extra], cwd=folder)


# --- the instant server -----------------------------------------------------------------------

_INSTANT = r"""
import asyncio, json, sys
body = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "stub",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "positive"},
                 "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 7, "completion_tokens": 1, "total_tokens": 8}}).encode()
reply = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
         + str(len(body)).encode() + b"\r\n\r\n" + body)

class Instant(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buffer[:end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15:].split(b"\r\n", 1)[0]) if at >= 0 else 0
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length:]
            self.transport.write(reply)

async def main():
    server = await asyncio.get_running_loop().create_server(Instant, "127.0.0.1", 0, backlog=1024)
    print("port", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


class InstantServer:
    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _INSTANT], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline().split()[1])
        return f"http://127.0.0.1:{port}/v1"

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(10)


_SUSTAINED = """
import asyncio, sys, time
from pathlib import Path
from brittle.gateway import Gateway
from brittle.run.engine import build_rows, run_system
from brittle.spec.eval import load_eval_file
spec = load_eval_file(Path(sys.argv[1]))
rows, _, _ = build_rows(spec)
gateway = Gateway.for_spec(spec)
last = []
start = time.perf_counter()
run = asyncio.run(run_system(spec, spec.systems[0], rows, gateway,
                             on_result=lambda result: last.append(time.perf_counter())))
wall = time.perf_counter() - start
assert gateway.errors == 0 and len(run) == len(rows), run.errors()[:3]
print("SUSTAINED", len(rows), max(last) - start, wall)
"""


# --- start-up ---------------------------------------------------------------------------------


def least(times: int, function: Callable[[], float]) -> float:
    return min(function() for _ in range(times))


def import_time(cwd: Path) -> float:
    return least(5, lambda: measure([sys.executable, "-c", "import brittle"], cwd=cwd).wall_s)


def plugin_overhead(cwd: Path) -> tuple[float, float]:
    folder = cwd / "trivial"
    folder.mkdir(exist_ok=True)
    (folder / "test_trivial.py").write_text("def test_one():\n    assert True\n")
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:deepeval"]
    pytest.append("test_trivial.py")
    on = least(5, lambda: measure(pytest, cwd=folder).wall_s)
    off = least(5, lambda: measure([*pytest, "-p", "no:brittle"], cwd=folder).wall_s)
    return on, off


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--cached-calls", type=int, default=10_000)
    parser.add_argument("--instant-calls", type=int, default=10_000)
    parser.add_argument("--instant-concurrency", type=int, default=256)
    parser.add_argument("--only", default=",".join(VARIANTS), help="comma-separated variants")
    parser.add_argument("--profile", default=None, help="cProfile brittle-run into this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    unknown = only - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant {sorted(unknown)[0]!r}; choose from {', '.join(VARIANTS)}")
    work = Path(tempfile.mkdtemp(prefix="brittle-bench-lean-"))
    print(f"load average before: {load()}   ({os.cpu_count()} cores)")
    figures: dict[str, Any] = {}
    checks: list[tuple[str, bool]] = []
    limit = args.calls * args.latency / args.concurrency
    try:
        stub = start_subprocess(latency=args.latency)
        try:
            for client in ("aiohttp", "httpx"):
                if f"bare-{client}" in only:
                    figure = bare(client, stub.base_url, args.calls, args.concurrency, work)
                    figures[f"bare-{client}"] = figure
                    print(f"  bare-{client}: {figure.wall_s:.2f} s")
            if "brittle-run" in only:
                path = write_eval(work / "run", stub.base_url, args.calls, args.concurrency)
                profile = Path(args.profile).resolve() if args.profile else None
                figures["brittle-run"] = figure = brittle_run(path, cache="off", profile=profile)
                print(f"  brittle-run: {figure.wall_s:.2f} s")
                if "model calls" not in figure.out and "accuracy" not in figure.out:
                    print(figure.out[-2000:])
            if "brittle-cached" in only:
                path = write_eval(work / "cached", stub.base_url, args.calls, args.concurrency)
                brittle_run(path, cache="rw")
                figures["brittle-cached"] = figure = brittle_run(path, cache="rw")
                print(f"  brittle-cached: {figure.wall_s:.2f} s")
        finally:
            stub.stop()
        with InstantServer() as base:
            if "cached-10k" in only:
                path = write_eval(work / "cached10k", base, args.cached_calls, 256)
                brittle_run(path, cache="rw")
                figures["cached-10k"] = figure = brittle_run(path, cache="rw")
                print(f"  cached-10k: {figure.wall_s:.2f} s")
            if "instant-256" in only:
                path = write_eval(
                    work / "instant", base, args.instant_calls, args.instant_concurrency
                )
                figure = measure([sys.executable, "-c", _SUSTAINED, str(path)], cwd=work)
                rows, wall, whole = figure.out.split("SUSTAINED")[1].split()[:3]
                figures["instant-256"] = (int(rows), float(wall), float(whole))
                print(f"  instant-256: {int(rows) / float(wall):,.0f} calls/s")
        if "import" in only:
            figures["import"] = import_time(work)
        if "pytest-plugin" in only:
            figures["pytest-plugin"] = plugin_overhead(work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nload average after: {load()}")
    print(
        f"\nworkload: {args.calls:,} calls, {args.latency * 1000:.0f} ms stub, concurrency "
        f"{args.concurrency} (physical limit {limit:.3f} s)\n"
    )
    print(f"{'variant':<16} {'wall s':>8} {'x limit':>8} {'CPU ms/call':>12} {'peak RSS MB':>12}")
    for name in ("bare-aiohttp", "bare-httpx", "brittle-run", "brittle-cached"):
        if name in figures:
            f = figures[name]
            print(
                f"{name:<16} {f.wall_s:>8.2f} {f.wall_s / limit:>8.2f} "
                f"{f.cpu_s / args.calls * 1000:>12.2f} {f.rss_mb:>12.0f}"
            )
    print()
    if "brittle-run" in figures:
        run = figures["brittle-run"]
        if "bare-aiohttp" in figures:
            ratio = run.wall_s / figures["bare-aiohttp"].wall_s
            checks.append((f"brittle run wall / bare aiohttp = {ratio:.2f} (<= 1.3)", ratio <= 1.3))
        per_call = run.cpu_s / args.calls * 1000
        checks.append((f"brittle run CPU = {per_call:.2f} ms/call (<= 1.5)", per_call <= 1.5))
        checks.append((f"brittle run peak RSS = {run.rss_mb:.0f} MB (<= 150)", run.rss_mb <= 150))
    if "brittle-cached" in figures:
        wall = figures["brittle-cached"].wall_s
        checks.append(
            (f"cached rerun of {args.calls:,} calls = {wall:.2f} s (<= 1.5)", wall <= 1.5)
        )
    if "cached-10k" in figures:
        f = figures["cached-10k"]
        checks.append(
            (
                f"{args.cached_calls:,} cached calls = {f.wall_s:.2f} s, "
                f"{f.cpu_s:.2f} s CPU, {f.rss_mb:.0f} MB (<= 2 s)",
                f.wall_s <= 2.0,
            )
        )
    if "instant-256" in figures:
        rows, wall, whole = figures["instant-256"]
        rate = rows / wall
        checks.append(
            (
                f"concurrency {args.instant_concurrency}, instant server: {rate:,.0f} calls/s "
                f"({rows:,} calls in {wall:.2f} s, {whole:.2f} s with scoring and metrics; "
                ">= 3,000)",
                rate >= 3000,
            )
        )
    if "import" in figures:
        value = figures["import"]
        checks.append((f"python -c 'import brittle' = {value:.3f} s (<= 0.15)", value <= 0.15))
    if "pytest-plugin" in figures:
        on, off = figures["pytest-plugin"]
        checks.append(
            (
                f"pytest, one trivial test: {on:.2f} s with brittle's plugin, {off:.2f} s "
                f"without: +{on - off:.2f} s (<= 0.3)",
                on - off <= 0.3,
            )
        )
    for text, ok in checks:
        print(f"{'ok  ' if ok else 'MISS'} {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
