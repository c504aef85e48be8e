"""Recordings files: deterministic bytes, merged per system, damaged files named, and the
gateway replaying them before the cache (brittle.gateway.recordings)."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest

from brittle._errors import CacheError
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.cache import CacheMode, ResponseCache
from brittle.gateway.keys import request_key
from brittle.gateway.recordings import (
    Recorder,
    encode,
    read_recordings,
    recordings_path,
    replay_index,
    write_recordings,
)

A = CallResult(text="positive", prompt_tokens=7, completion_tokens=1, notes=("n1",))
B = CallResult(text="negative", prompt_tokens=5, completion_tokens=1, cost=0.25)


def test_the_same_recordings_give_the_same_bytes_in_any_order() -> None:
    one = encode("ev", {"s2": {"k2": B, "k1": A}, "s1": {"k9": A}})
    two = encode("ev", {"s1": {"k9": A}, "s2": {"k1": A, "k2": B}})
    assert one == two
    assert one[4:8] == b"\0\0\0\0"  # no timestamp in the gzip header
    lines = gzip.decompress(one).decode().splitlines()
    assert lines[0] == '{"brittle_recordings":1,"entries":3,"eval":"ev"}'
    assert [line.split('"key":"')[1][:2] for line in lines[1:]] == ["k9", "k1", "k2"]


def test_a_round_trip_keeps_what_replay_needs(tmp_path: Path) -> None:
    path = recordings_path(tmp_path, "ev")
    assert path == tmp_path / "__recordings__" / "ev.jsonl.gz"
    assert write_recordings(path, "ev", {"s": {"k1": A, "k2": B}}) == 2
    back = read_recordings(path)["s"]
    assert back["k1"] == CallResult(
        text="positive", prompt_tokens=7, completion_tokens=1, cached=True, notes=("n1",)
    )
    assert back["k2"].cost == 0.25 and back["k2"].latency_s == 0.0
    assert read_recordings(tmp_path / "none.jsonl.gz") == {}


def test_an_update_replaces_its_systems_and_keeps_the_others(tmp_path: Path) -> None:
    path = recordings_path(tmp_path, "ev")
    write_recordings(path, "ev", {"s1": {"k1": A}, "s2": {"k2": B}})
    assert write_recordings(path, "ev", {"s1": {"k3": B}}) == 2
    assert {s: set(e) for s, e in read_recordings(path).items()} == {"s1": {"k3"}, "s2": {"k2"}}


def test_an_unchanged_file_is_not_rewritten(tmp_path: Path) -> None:
    path = recordings_path(tmp_path, "ev")
    write_recordings(path, "ev", {"s": {"k": A}})
    before = path.stat().st_mtime_ns, path.stat().st_ino
    write_recordings(path, "ev", {"s": {"k": A}})
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


def test_secrets_are_masked_on_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "brittle-unit-Secret-93jf02kd"
    monkeypatch.setenv("MY_SERVICE_TOKEN", secret)
    data = encode("ev", {"s": {"k": CallResult(text=f"ok {secret.upper()}")}})
    assert secret.upper() not in gzip.decompress(data).decode()


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not gzip", "unreadable or truncated"),
        (gzip.compress(b'{"other": 1}\n'), "not a brittle recordings file"),
        (gzip.compress(b'{"brittle_recordings": 9}\n'), "in format 9"),
        (gzip.compress(b'{"brittle_recordings": 1}\n{"key": "k"}\n'), "invalid recording"),
        (gzip.compress(b'{"brittle_recordings": 1}\n{"sys'), "invalid recording"),
    ],
)
def test_a_damaged_file_is_named_with_the_fix(tmp_path: Path, data: bytes, problem: str) -> None:
    path = tmp_path / "ev.jsonl.gz"
    path.write_bytes(data)
    with pytest.raises(CacheError) as info:
        read_recordings(path)
    message = str(info.value)
    assert problem in message and str(path) in message and "--brittle-update-baseline" in message
    # an update repairs it
    write_recordings(path, "ev", {"s": {"k": A}})
    assert read_recordings(path) == {"s": {"k": read_recordings(path)["s"]["k"]}}


def test_the_gateway_replays_recordings_before_the_cache_and_collects_what_it_used(
    tmp_path: Path,
) -> None:
    request = CallRequest(model="openai/x", messages=({"role": "user", "content": "hi"},))
    other = CallRequest(model="openai/x", messages=({"role": "user", "content": "yo"},))
    cache = ResponseCache(tmp_path / "c.sqlite", CacheMode.REPLAY)
    cache.put(request_key(request), CallResult(text="from the cache"))
    cache.put(request_key(other), CallResult(text="only cached"))
    gateway = Gateway(cache=cache)
    recorded = {"s": {request_key(request): CallResult(text="from the recordings")}}
    gateway.recordings = Recorder(replay_index(recorded))

    async def go() -> list[CallResult]:
        return [await gateway.complete(r) for r in (request, other)]

    first, second = asyncio.run(go())
    assert first.text == "from the recordings" and first.cached
    assert second.text == "only cached"
    assert gateway.cache_hits == 2 and gateway.calls == 0
    used = gateway.recordings.take()
    assert {k: r.text for k, r in used.items()} == {
        request_key(request): "from the recordings",
        request_key(other): "only cached",
    }
    assert gateway.recordings.take() == {}
