"""The engine collects garbage less often while calls are in flight, and restores the setting."""

from __future__ import annotations

import asyncio
import gc

from brittle.run.engine import CALLS_GC_THRESHOLD, fewer_collections


def test_threshold_raised_while_calls_run_and_restored_after_overlapping_runs() -> None:
    saved = gc.get_threshold()
    seen: list[int] = []

    async def run(pause: float) -> None:
        with fewer_collections():
            await asyncio.sleep(pause)
            seen.append(gc.get_threshold()[0])

    async def both() -> None:  # the first to start ends first
        first = asyncio.create_task(run(0.01))
        await asyncio.sleep(0)
        await asyncio.gather(first, run(0.05))

    try:
        gc.set_threshold(700, 10, 10)
        asyncio.run(both())
        assert seen == [CALLS_GC_THRESHOLD, CALLS_GC_THRESHOLD]
        assert gc.get_threshold() == (700, 10, 10)
        gc.set_threshold(0, 10, 10)  # collection turned off by the user: left off
        asyncio.run(both())
        assert seen[2:] == [0, 0] and gc.get_threshold() == (0, 10, 10)
    finally:
        gc.set_threshold(*saved)
