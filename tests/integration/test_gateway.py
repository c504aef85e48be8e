"""The gateway: failures become error results, the concurrency limit holds, one factory builds it
from an eval, a scoped gateway carries its caller's scope, litellm reaches a local
OpenAI-compatible server (the benchmark's stub, on 127.0.0.1) and its HTTP errors are recorded,
not raised."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from brittle.gateway import CallRequest, CallResult, Gateway, LiteLLMTransport
from brittle.gateway.cache import ResponseCache
from brittle.gateway.core import DEFAULT_CONCURRENCY
from brittle.gateway.ratelimit import RateLimit
from brittle.gateway.retry import NO_RETRIES, RetryPolicy
from tests.support.stub_server import StubThread, start_in_thread

REQUEST = CallRequest(model="test/model", messages=({"role": "user", "content": "hi"},))


class FailingTransport:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def complete(self, request: CallRequest) -> CallResult:
        raise self.exc


class CountingTransport:
    """Sleeps a little per call and records the most calls it ever had in flight at once."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.in_flight = 0
        self.max_in_flight = 0
        self.calls = 0

    async def complete(self, request: CallRequest) -> CallResult:
        self.calls += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        return CallResult(text=request.messages[0]["content"])


def test_transport_exception_becomes_an_error_result() -> None:
    gateway = Gateway(FailingTransport(ValueError("boom")), concurrency=2)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.text is None
    assert result.error == "ValueError: boom"
    assert not result.ok
    assert result.latency_s >= 0
    assert (gateway.calls, gateway.errors) == (1, 1)


def test_exception_without_message_is_named() -> None:
    gateway = Gateway(FailingTransport(ConnectionResetError()), concurrency=1)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.error is not None and result.error.startswith("ConnectionResetError: ")


def test_many_failures_never_raise() -> None:
    gateway = Gateway(FailingTransport(RuntimeError("down")), concurrency=4)

    async def run() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(20)))

    results = asyncio.run(run())
    assert [r.error for r in results] == ["RuntimeError: down"] * 20
    assert gateway.errors == 20


def test_cancellation_is_not_swallowed() -> None:
    gateway = Gateway(FailingTransport(asyncio.CancelledError()), concurrency=1)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(gateway.complete(REQUEST))


def test_callable_exception_becomes_an_error_result() -> None:
    def broken(inputs: dict[str, Any]) -> str:
        raise KeyError("text")

    gateway = Gateway(concurrency=1)
    result = asyncio.run(gateway.run_callable(broken, {"x": 1}))
    assert result.error == "KeyError: 'text'"


@pytest.mark.parametrize("concurrency", [1, 5])
def test_concurrency_limit_is_honoured(concurrency: int) -> None:
    transport = CountingTransport()
    gateway = Gateway(transport, concurrency=concurrency)

    async def run() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(30)))

    results = asyncio.run(run())
    assert all(r.ok and r.text == "hi" for r in results)
    assert transport.calls == 30
    assert transport.max_in_flight == concurrency


def test_limit_holds_across_event_loops() -> None:
    transport = CountingTransport(delay=0.005)
    gateway = Gateway(transport, concurrency=3)

    async def run() -> None:
        await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(12)))

    asyncio.run(run())
    asyncio.run(run())  # a second loop gets a fresh semaphore, not one bound to the old loop
    assert transport.max_in_flight == 3


def test_callables_share_the_limit() -> None:
    in_flight = 0
    peak = 0

    async def system(inputs: dict[str, Any]) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return str(inputs["text"]).upper()

    gateway = Gateway(concurrency=4)

    async def run() -> list[CallResult]:
        return await asyncio.gather(
            *(gateway.run_callable(system, {"text": f"t{i}"}) for i in range(20))
        )

    results = asyncio.run(run())
    assert [r.text for r in results] == [f"T{i}" for i in range(20)]
    assert peak == 4


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Gateway(concurrency=0)


# --------------------------------------------------------------------------- factory and scope


class RecordingTransport:
    """Answers "ok" and keeps every request it was given."""

    def __init__(self) -> None:
        self.requests: list[CallRequest] = []

    async def complete(self, request: CallRequest) -> CallResult:
        self.requests.append(request)
        return CallResult(text="ok")


def test_for_spec_takes_an_evals_settings_and_defaults_without_one(tmp_path: Path) -> None:
    plain = Gateway.for_spec()
    assert (plain.concurrency, plain.retry, plain.timeout, plain.rate_limits) == (
        DEFAULT_CONCURRENCY,
        NO_RETRIES,
        None,
        {},
    )
    assert Gateway.for_spec(concurrency=1).concurrency == 1
    limits = {"*": RateLimit(rpm=60)}
    spec = SimpleNamespace(
        concurrency=7, retries=RetryPolicy(max_retries=2), timeout=30.0, rate_limits=limits
    )
    cache = ResponseCache(tmp_path / "c.sqlite")
    gateway = Gateway.for_spec(spec, cache=cache)
    assert (gateway.concurrency, gateway.retry, gateway.timeout, gateway.rate_limits) == (
        7,
        RetryPolicy(max_retries=2),
        30.0,
        limits,
    )
    assert gateway.cache is cache
    assert Gateway.for_spec(spec, concurrency=3).concurrency == 3  # --brittle-concurrency wins


def test_a_scoped_gateway_fills_in_its_callers_scope_and_shares_the_rest() -> None:
    transport = RecordingTransport()
    gateway = Gateway(transport, concurrency=2)
    scoped = gateway.scoped(fingerprint="fp", repeat=2, label="eval / system / r1")
    own = CallRequest(model="m", messages=REQUEST.messages, fingerprint="judge", repeat=0)

    async def run() -> None:
        await scoped.complete(REQUEST)
        await scoped.complete(own)
        await scoped.scoped(label="another").complete(REQUEST)  # a new scope replaces the old

    asyncio.run(run())
    assert [(r.fingerprint, r.repeat, r.label) for r in transport.requests] == [
        ("fp", 2, "eval / system / r1"),
        ("judge", 0, "eval / system / r1"),  # the request's own values win
        (None, None, "another"),
    ]
    assert gateway.calls == 3 and scoped.calls == 3  # one set of counters
    assert scoped.concurrency == 2 and scoped.transport is transport
    scoped.timeout = 5.0
    assert gateway.timeout == 5.0  # set through the scope, on the gateway
    assert isinstance(scoped, Gateway)


def test_callables_through_a_scoped_gateway_are_cached_by_the_scope(tmp_path: Path) -> None:
    runs: list[str] = []

    def system(inputs: dict[str, Any]) -> str:
        runs.append(inputs["text"])
        return inputs["text"].upper()

    gateway = Gateway(cache=ResponseCache(tmp_path / "c.sqlite"))

    async def run() -> list[CallResult]:
        return [
            await gateway.scoped(fingerprint="fp", repeat=repeat).run_callable(
                system, {"text": "a"}
            )
            for repeat in (0, 1, 0, 1)
        ]

    results = asyncio.run(run())
    assert runs == ["a", "a"]  # repeats are distinct calls; the second round is cached
    assert [r.cached for r in results] == [False, False, True, True]
    assert asyncio.run(gateway.run_callable(system, {"text": "a"})).cached is False  # unscoped:
    assert runs == ["a", "a", "a"]  # no fingerprint, so not cached


def test_importing_the_gateway_imports_no_heavy_library() -> None:
    code = (
        "import sys, brittle.gateway, brittle.gateway.cache, brittle.gateway.settings; "
        "print(sorted(m for m in ('litellm', 'numpy', 'pandas', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- litellm + stub


@pytest.fixture(scope="module")
def stub() -> Iterator[StubThread]:
    with start_in_thread(latency=0.0) as server:
        yield server


def _request(stub: StubThread, model: str, text: str) -> CallRequest:
    return CallRequest(
        model=model,
        messages=({"role": "user", "content": text},),
        params={"api_base": stub.base_url, "api_key": "sk-fake", "max_retries": 0},
    )


def test_litellm_transport_against_the_stub(stub: StubThread) -> None:
    gateway = Gateway(LiteLLMTransport(), concurrency=4)
    before = stub.stats.requests

    async def run() -> list[CallResult]:
        return await asyncio.gather(
            *(
                gateway.complete(_request(stub, "openai/stub", f"word{i} and more"))
                for i in range(6)
            )
        )

    results = asyncio.run(run())
    assert [r.error for r in results] == [None] * 6
    assert [r.text for r in results] == [f"word{i}" for i in range(6)]
    assert all(r.prompt_tokens == 3 and r.completion_tokens == 1 for r in results)
    assert all(r.latency_s > 0 for r in results)
    assert stub.stats.requests - before == 6


@pytest.mark.parametrize(("status", "name"), [(500, "InternalServerError"), (429, "RateLimit")])
def test_http_error_from_the_stub_becomes_an_error_result(
    stub: StubThread, status: int, name: str
) -> None:
    gateway = Gateway(LiteLLMTransport(), concurrency=1)
    result = asyncio.run(gateway.complete(_request(stub, f"openai/fail-{status}", "hello")))
    assert result.text is None
    assert result.error is not None
    assert name in result.error
    assert gateway.errors == 1


def test_stub_stats_endpoint(stub: StubThread) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{stub.port}/stats", timeout=5) as reply:
        stats = json.loads(reply.read())
    assert set(stats) == {"requests", "failures", "in_flight", "max_in_flight"}
    assert stats["requests"] == stub.stats.requests


def test_stub_fail_rate_is_seeded() -> None:
    with start_in_thread(latency=0.0, fail_rate=0.5, fail_status=503, seed=3) as server:
        gateway = Gateway(LiteLLMTransport(), concurrency=1)

        async def run() -> list[CallResult]:
            return [
                await gateway.complete(_request(server, "openai/stub", "x y")) for _ in range(8)
            ]

        results = asyncio.run(run())
    failed = [r.error is not None for r in results]
    assert 0 < sum(failed) < 8
    assert server.stats.failures == sum(failed)


def test_rows_run_in_order_with_a_bounded_number_in_flight() -> None:
    """The engine keeps at most ``workers`` rows in flight (not one coroutine per row) and
    returns results in row order whatever order they finish in."""
    import random

    from brittle.run.engine import _in_order

    rows = list(range(200))
    state = {"now": 0, "peak": 0}
    started: list[int] = []

    async def call(row: Any) -> CallResult:
        started.append(row)
        state["now"] += 1
        state["peak"] = max(state["peak"], state["now"])
        await asyncio.sleep(random.Random(row).random() / 1000)
        state["now"] -= 1
        return CallResult(text=str(row))

    results = asyncio.run(_in_order(call, rows, workers=7))  # type: ignore[arg-type]
    assert [r.text for r in results] == [str(row) for row in rows]
    assert state["peak"] == 7
    assert started == rows  # submitted in row order: the local provider batches neighbours
