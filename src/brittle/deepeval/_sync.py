"""Running a coroutine to completion from synchronous code, even inside a running event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_sync(factory: Callable[[], Awaitable[T]]) -> T:
    """Run ``await factory()`` and return its result.

    Outside an event loop this is :func:`asyncio.run`. Inside one (a synchronous check called
    from the engine, a sync ``measure`` called from async code) the loop cannot be re-entered,
    so the coroutine runs on a fresh loop in a worker thread while this thread waits.
    """

    async def main() -> T:
        return await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(main())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="brittle-sync") as pool:
        return pool.submit(asyncio.run, main()).result()
