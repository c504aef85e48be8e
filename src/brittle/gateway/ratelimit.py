"""Per-model rate limits: requests and tokens per minute (token buckets) and calls in flight.

:class:`RateLimit` is what an eval's ``rate_limits`` key says for one model; a
:class:`RateLimiter` enforces a set of them for one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RateLimit:
    """Limits for one model: requests and tokens per minute, calls in flight."""

    rpm: float | None = None
    tpm: float | None = None
    concurrency: int | None = None

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class TokenBucket:
    """``per_minute`` units per minute, refilled continuously; holds one second's worth.

    A request larger than the bucket waits for a full bucket and then drives the level negative,
    so the long-run rate holds for any request size.
    """

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, amount: float) -> None:
        async with self._lock:  # first come, first served
            needed = min(amount, self.capacity)
            while True:
                self._refill()
                if self.level >= needed:
                    self.level -= amount
                    return
                await asyncio.sleep((needed - self.level) / self.rate)

    def give_back(self, amount: float) -> None:
        """Correct an estimate: positive returns units, negative takes more."""
        self._refill()
        self.level = min(self.capacity, self.level + amount)


def estimate_tokens(messages: Any, params: Mapping[str, Any]) -> int:
    """A rough token count of a call (characters / 4, plus the completion allowance)."""
    chars = sum(len(str(m.get("content") or "")) for m in messages)
    completion = params.get("max_tokens") or params.get("max_completion_tokens") or 256
    try:
        completion = int(completion)
    except (TypeError, ValueError):
        completion = 256
    return chars // 4 + 1 + completion


class RateLimiter:
    """Per-model rate and concurrency limits; models without an entry use ``"*"`` if given.

    Bound to one event loop (the gateway makes a new one per loop).
    """

    def __init__(self, limits: Mapping[str, RateLimit]) -> None:
        self.limits = dict(limits)
        self._state: dict[str, tuple[TokenBucket | None, TokenBucket | None, Any]] = {}

    def _for(self, model: str) -> tuple[TokenBucket | None, TokenBucket | None, Any] | None:
        key = model if model in self.limits else "*"
        limit = self.limits.get(key)
        if limit is None:
            return None
        if key not in self._state:
            self._state[key] = (
                TokenBucket(limit.rpm) if limit.rpm else None,
                TokenBucket(limit.tpm) if limit.tpm else None,
                asyncio.Semaphore(limit.concurrency) if limit.concurrency else None,
            )
        return self._state[key]

    @contextlib.asynccontextmanager
    async def slot(self, model: str, tokens: int) -> AsyncIterator[list[int]]:
        """Wait for the model's limits; yields a list to append the call's actual tokens to."""
        state = self._for(model)
        actual: list[int] = []
        if state is None:
            yield actual
            return
        requests, token_bucket, semaphore = state
        if semaphore is not None:
            await semaphore.acquire()
        try:
            if requests is not None:
                await requests.take(1)
            if token_bucket is not None:
                await token_bucket.take(tokens)
            yield actual
        finally:
            if semaphore is not None:
                semaphore.release()
            if token_bucket is not None and actual:
                token_bucket.give_back(tokens - sum(actual))


__all__ = ["RateLimit", "RateLimiter", "TokenBucket", "estimate_tokens"]
