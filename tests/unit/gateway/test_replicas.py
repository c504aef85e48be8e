"""Replica sets (gateway/replicas.py): least outstanding requests, dead replicas taken out and
their calls sent elsewhere, one cache key whichever replica answers. A fake transport and a fake
clock; the real servers are in tests/integration/test_replicas.py."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.cache import ResponseCache
from brittle.gateway.keys import request_key
from brittle.gateway.openai_http import HTTPStatusError
from brittle.gateway.preflight import endpoint_of
from brittle.gateway.replicas import (
    MAX_SERVER_ERRORS,
    Replicas,
    ReplicaSet,
    broken_connection,
    cooldown,
    replica_urls,
)

A, B, C = "http://a:1/v1", "http://b:1/v1", "http://c:1/v1"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Fake:
    """Answers with the replica's URL; ``dead`` refuse, ``failing`` answer 500; ``gate`` holds
    every call until set."""

    def __init__(self, *, dead: set[str] | None = None, failing: set[str] | None = None) -> None:
        self.dead = dead or set()
        self.failing = failing or set()
        self.seen: list[str] = []
        self.gate: asyncio.Event | None = None

    async def complete(self, request: CallRequest) -> CallResult:
        url = request.params["api_base"]
        assert isinstance(url, str)
        self.seen.append(url)
        if self.gate is not None:
            await self.gate.wait()
        if url in self.dead:
            raise ConnectionRefusedError(111, "Connection refused")
        if url in self.failing:
            raise HTTPStatusError(500, "boom", {})
        return CallResult(text=url)


def _request(*urls: str, text: str = "hi") -> CallRequest:
    return CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": text},),
        params={"api_base": list(urls), "temperature": 0},
    )


def test_calls_go_to_the_replica_with_fewest_outstanding() -> None:
    async def main() -> Counter[str]:
        fake = Fake()
        fake.gate = asyncio.Event()
        replicas = ReplicaSet([A, B], clock=Clock())
        calls = [asyncio.create_task(replicas.complete(fake, _request(A, B))) for _ in range(6)]
        await asyncio.sleep(0)
        in_flight = Counter(r.url for r in replicas.replicas for _ in range(r.outstanding))
        fake.gate.set()
        await asyncio.gather(*calls)
        assert all(r.outstanding == 0 for r in replicas.replicas)
        return in_flight

    assert asyncio.run(main()) == {A: 3, B: 3}


def test_one_call_at_a_time_alternates() -> None:
    fake = Fake()
    replicas = ReplicaSet([A, B, C], clock=Clock())

    async def main() -> None:
        for _ in range(9):
            await replicas.complete(fake, _request(A, B, C))

    asyncio.run(main())
    assert Counter(fake.seen) == {A: 3, B: 3, C: 3}


def test_a_dead_replica_is_taken_out_and_its_call_answered_elsewhere() -> None:
    clock = Clock()
    fake = Fake(dead={A})
    replicas = ReplicaSet([A, B], clock=clock)

    async def call() -> CallResult:
        return await replicas.complete(fake, _request(A, B))

    assert asyncio.run(call()).text == B  # A tried first (a tie), refused, B answered
    assert fake.seen == [A, B]
    assert [r.taken_out for r in replicas.replicas] == [1, 0]
    for _ in range(3):
        assert asyncio.run(call()).text == B
    assert fake.seen[2:] == [B, B, B]  # out: not tried
    clock.now += cooldown(1) + 0.1  # back in after its time out: tried again, still dead
    assert asyncio.run(call()).text == B
    assert fake.seen[5:] == [A, B]
    assert replicas.replicas[0].out_until == pytest.approx(clock.now + cooldown(2))
    fake.dead.clear()  # restarted
    clock.now += cooldown(2) + 0.1
    assert asyncio.run(call()).text == A
    assert replicas.replicas[0].out_until == 0.0


def test_repeated_server_errors_take_a_replica_out() -> None:
    fake = Fake(failing={A})
    replicas = ReplicaSet([A, B], clock=Clock())

    async def main() -> list[str | None]:
        return [(await replicas.complete(fake, _request(A, B))).text for _ in range(8)]

    assert asyncio.run(main()) == [B] * 8  # each 500 went to B at once
    assert fake.seen.count(A) == MAX_SERVER_ERRORS
    assert replicas.replicas[0].taken_out == 1


def test_a_client_error_is_not_sent_elsewhere() -> None:
    class BadRequest:
        seen = 0

        async def complete(self, request: CallRequest) -> CallResult:
            self.seen += 1
            raise HTTPStatusError(400, "bad", {})

    fake = BadRequest()
    with pytest.raises(HTTPStatusError):
        asyncio.run(ReplicaSet([A, B], clock=Clock()).complete(fake, _request(A, B)))
    assert fake.seen == 1


def test_all_dead_raises_after_trying_each_once() -> None:
    fake = Fake(dead={A, B})
    replicas = ReplicaSet([A, B], clock=Clock())
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(replicas.complete(fake, _request(A, B)))
    assert fake.seen == [A, B]
    with pytest.raises(ConnectionRefusedError):  # all out: still tried, longest out first
        asyncio.run(replicas.complete(fake, _request(A, B)))
    assert fake.seen[2:] == [A, B]


def test_broken_connections() -> None:
    try:
        try:
            raise ConnectionResetError(104, "reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert broken_connection(outer)
    assert not broken_connection(HTTPStatusError(503, "busy", {}))
    assert not broken_connection(ValueError("no"))


def test_the_gateway_sends_each_call_to_one_replica_under_one_key(tmp_path: Path) -> None:
    """Through the gateway: both replicas answer, the transport sees one URL per call, the
    cache holds one entry per call keyed on the list; a rerun from the cache calls nobody."""
    fake = Fake(dead={C})
    requests = [_request(A, B, C, text=f"q{i}") for i in range(20)]

    async def run(gateway: Gateway) -> list[CallResult]:
        return list(await asyncio.gather(*(gateway.complete(r) for r in requests)))

    cache = ResponseCache(tmp_path / "cache.sqlite")
    results = asyncio.run(run(Gateway(fake, concurrency=4, cache=cache)))
    assert all(r.ok for r in results)
    assert set(fake.seen) == {A, B, C} and Counter(fake.seen)[C] == 1  # C: once, then out
    assert {r.text for r in results} == {A, B}
    for request in requests:
        assert cache.get(request_key(request)) is not None
    seen = len(fake.seen)
    again = asyncio.run(run(Gateway(fake, concurrency=4, cache=cache)))
    assert len(fake.seen) == seen and all(r.cached for r in again)


def test_replica_lists_in_params_and_preflight() -> None:
    assert replica_urls({"api_base": [A, B]}) == (A, B)
    assert replica_urls({"base_url": (A,)}) == (A,)
    assert replica_urls({"api_base": A}) is None
    endpoint = endpoint_of(_request(A, B))
    assert endpoint is not None and endpoint.describe() == f"openai/stub at {A}, {B}"


def test_calls_in_flight_when_a_replica_dies_take_it_out_once() -> None:
    async def main() -> ReplicaSet:
        fake = Fake(dead={A})
        fake.gate = asyncio.Event()
        replicas = ReplicaSet([A, B], clock=Clock())
        calls = [asyncio.create_task(replicas.complete(fake, _request(A, B))) for _ in range(4)]
        await asyncio.sleep(0)
        fake.gate.set()
        results = await asyncio.gather(*calls)
        assert [r.text for r in results] == [B] * 4
        return replicas

    replicas = asyncio.run(main())
    assert replicas.replicas[0].taken_out == 1 and replicas.replicas[0].dead_streak == 1


def test_the_terminal_line_names_each_replica() -> None:
    fake = Fake(dead={A})
    pool = Replicas(clock=Clock())

    async def main() -> None:
        for i in range(3):
            found = pool.of(_request(A, B, text=f"q{i}"))
            assert found is not None
            await found.complete(fake, _request(A, B, text=f"q{i}"))

    asyncio.run(main())
    assert pool.notes() == [f"replicas: {A} 1 call(s), taken out 1 time(s); {B} 3 call(s)"]
