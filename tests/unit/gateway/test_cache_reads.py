"""The response cache's reads inside an event loop: the hits read before the loop next runs its
callbacks share one read transaction (gateway/cache.py, ``ResponseCache._reader``). It must never
hide what another connection wrote once the loop has had control, nor get in the way of a claim,
a write or a second loop."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

from brittle.gateway.cache import CacheMode, ResponseCache
from brittle.gateway.calls import CallResult


def _store(cache: ResponseCache, key: str, text: str) -> None:
    cache.put(key, CallResult(text=text, latency_s=0.1))


def test_reads_in_one_step_share_a_snapshot_and_the_next_step_sees_other_writes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cache.sqlite"
    reader, writer = ResponseCache(path), ResponseCache(path)
    _store(writer, "a", "first")

    async def main() -> tuple[str | None, ...]:
        before = reader.get("a")
        assert reader.conn.in_transaction is False  # any other use ends the batch
        again = reader.get("a")  # a new batch
        assert reader._conn is not None and reader._conn.in_transaction
        _store(writer, "b", "written meanwhile")  # another connection (another process)
        inside = reader.get("b")  # the batch's snapshot predates it
        await asyncio.sleep(0)  # the loop runs its callbacks: the batch ends
        assert not reader._conn.in_transaction
        after = reader.get("b")
        return tuple(r.text if r else None for r in (before, again, inside, after))

    assert asyncio.run(main()) == ("first", "first", None, "written meanwhile")
    reader.close()
    writer.close()


def test_a_miss_then_a_claim_and_a_write_in_the_same_step(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite", CacheMode.RW, run_id="r1")
    _store(cache, "hit", "cached")

    async def main() -> None:
        assert cache.get("hit") is not None
        cache.note_use("hit")
        assert cache.get("miss") is None
        assert cache.claim("miss") == "claimed"  # BEGIN IMMEDIATE: not inside the reads
        _store(cache, "miss", "made")
        hit = cache.get("miss")
        assert hit is not None and hit.text == "made" and hit.cached
        cache.release("other")
        cache.flush()

    asyncio.run(main())
    cache.close()
    check = sqlite3.connect(tmp_path / "cache.sqlite")
    assert check.execute("SELECT count(*) FROM responses").fetchone()[0] == 2
    assert check.execute("SELECT key FROM runs WHERE run_id = 'r1'").fetchall() == [("hit",)]
    check.close()


def test_outside_a_loop_each_read_is_its_own_transaction(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    reader, writer = ResponseCache(path), ResponseCache(path)
    _store(writer, "a", "first")
    assert reader.get("a") is not None
    assert reader._conn is not None and not reader._conn.in_transaction
    _store(writer, "b", "second")
    hit = reader.get("b")
    assert hit is not None and hit.text == "second"
    reader.close()
    writer.close()


def test_a_batch_left_by_a_finished_loop_is_ended_by_the_next_reader(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    reader, writer = ResponseCache(path), ResponseCache(path)
    _store(writer, "a", "first")
    loop = asyncio.new_event_loop()
    call_soon = loop.call_soon

    def drop_the_end(callback: Any, *args: Any, **kwargs: Any) -> Any:
        if callback != reader._end_reads:  # a loop gone before it ran the batch's end
            return call_soon(callback, *args, **kwargs)
        return None

    loop.call_soon = drop_the_end  # type: ignore[method-assign,assignment]

    async def read() -> None:
        reader.get("a")

    loop.run_until_complete(read())
    loop.close()
    assert reader._conn is not None and reader._conn.in_transaction
    _store(writer, "b", "after the loop")
    hit = reader.get("b")  # outside any loop
    assert hit is not None and hit.text == "after the loop"

    async def read_in_another_loop() -> str | None:
        _store(writer, "c", "in the next loop")
        found = reader.get("c")
        return found.text if found else None

    assert asyncio.run(read_in_another_loop()) == "in the next loop"
    reader.close()
    writer.close()
