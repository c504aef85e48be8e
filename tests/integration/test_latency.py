"""Honest latency (issue 17): a call's latency is timed from its request being sent (the waits
of the harness left out), the reports say under what concurrency it was measured, and the
process's start-up is shown apart from the time of the system that paid it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from brittle.gateway import CallRequest, Gateway
from brittle.gateway.ratelimit import RateLimit
from tests.support.evalproject import eval_yaml, write_project
from tests.support.stubproject import FAKE_KEY, start_in_thread

STUB_LATENCY = 0.15


def test_latency_leaves_out_the_rate_limiters_queue() -> None:
    # four calls at once, one allowed in flight by the rate limit: they answer one after the
    # other, but each took the server STUB_LATENCY seconds
    with start_in_thread(latency=STUB_LATENCY) as stub:
        gateway = Gateway(concurrency=4, rate_limits={"*": RateLimit(concurrency=1)})

        def request(i: int) -> CallRequest:
            return CallRequest(
                model="openai/stub",
                messages=({"role": "user", "content": f"word{i} please"},),
                params={"api_base": stub.base_url, "api_key": FAKE_KEY},
            )

        async def calls() -> list[float]:
            results = await asyncio.gather(*(gateway.complete(request(i)) for i in range(4)))
            assert all(r.error is None for r in results), [r.error for r in results]
            return [r.latency_s for r in results]

        started = time.perf_counter()
        latencies = asyncio.run(calls())
        wall = time.perf_counter() - started
    assert wall >= 4 * STUB_LATENCY  # they did queue
    assert all(STUB_LATENCY <= x < 2 * STUB_LATENCY for x in latencies), latencies


SLOW_START = """
import threading, time
from brittle._startup import startup_cost

_lock = threading.Lock()
_loaded = []


def slow_start(inputs):
    with _lock:  # a model loaded once, on the first call
        if not _loaded:
            with startup_cost():
                time.sleep(0.8)
            _loaded.append(True)
    return inputs["hint"]
"""


def test_reports_say_the_concurrency_and_startup_is_apart(pytester: pytest.Pytester) -> None:
    write_project(pytester)
    pytester.makepyfile(slowstart=SLOW_START)
    text = eval_yaml({"first": "stable", "second": "stable"}, ["accuracy >= 0.5"])
    text = text.replace("callable: sysmod:stable", "callable: slowstart:slow_start", 1)
    pytester.makefile(".eval.yaml", demo=text + "concurrency: 3\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    first = next(line for line in out.splitlines() if line.strip().startswith("first "))
    second = next(line for line in out.splitlines() if line.strip().startswith("second "))
    assert "s start-up: model load, imports)" in first
    assert "start-up" not in second
    latest = pytester.path / "reports" / "latest"
    run = json.loads((latest / "run.json").read_text())
    ev = run["evals"][0]
    assert ev["concurrency"] == 3
    assert 0.8 <= ev["systems"]["first"]["startup_s"] <= ev["systems"]["first"]["wall_s"]
    assert ev["systems"]["second"]["startup_s"] < 0.5
    summary = json.loads((latest / "summary.json").read_text())
    assert summary["evals"][0]["concurrency"] == 3
    caveat = "Latency measured at concurrency 3 (calls in flight at once)"
    assert caveat in (latest / "summary.md").read_text()
    assert caveat in (latest / "index.html").read_text()
    # --brittle-concurrency overrides the eval's: the reports name the one used
    pytester.runpytest("--brittle-concurrency", "2").assert_outcomes(passed=2)
    run = json.loads((latest / "run.json").read_text())
    assert run["evals"][0]["concurrency"] == 2
