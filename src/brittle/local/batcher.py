"""Dynamic micro-batching on one dedicated worker thread.

Callers (the asyncio loop, or threads using the sync API) submit a job and get a
``concurrent.futures.Future``; nothing they do blocks on the model. The worker takes the oldest
job, then keeps collecting while jobs with the same batch key keep arriving: it waits until the
stream has been quiet for ``window_s``, at most ``max_wait_s`` after the oldest job was
submitted, or until ``max_batch`` jobs are in hand. A batch key (model reference and sampling
parameters) that ``batchable`` rejects runs alone.

Jobs that piled up while a batch was generating are past their wait and go in the next batch
at once, so under load batches fill without any extra waiting.

The batcher knows nothing of models: ``run`` turns a key and a list of payloads into one result
per payload (a result that is an exception fails that job alone; a raised exception fails them
all).
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

RunBatch = Callable[[Hashable, Sequence[Any]], Sequence[Any]]
Batchable = Callable[[Hashable], bool]


@dataclass
class BatchStats:
    """What the worker did: how many ``generate`` calls, and how full they were."""

    batches: int = 0
    requests: int = 0
    largest: int = 0
    sizes: Counter[int] = field(default_factory=Counter)

    def record(self, size: int) -> None:
        self.batches += 1
        self.requests += size
        self.largest = max(self.largest, size)
        self.sizes[size] += 1


@dataclass
class _Job:
    key: Hashable
    payload: Any
    future: concurrent.futures.Future[Any]
    submitted: float


class MicroBatcher:
    """Groups jobs with equal keys into batches and runs them on one worker thread."""

    def __init__(
        self,
        run: RunBatch,
        *,
        window_s: float = 0.008,
        max_batch: int = 16,
        max_wait_s: float | None = None,
        batchable: Batchable | None = None,
        name: str = "brittle-batcher",
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self.window_s = window_s
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s if max_wait_s is not None else 6 * window_s
        self._batchable = batchable
        self._name = name
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._stats = BatchStats()

    @property
    def stats(self) -> BatchStats:
        """A copy of the counters, safe to read while the worker runs."""
        with self._stats_lock:
            stats = self._stats
            return BatchStats(stats.batches, stats.requests, stats.largest, Counter(stats.sizes))

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._stats = BatchStats()

    def submit(self, key: Hashable, payload: Any) -> concurrent.futures.Future[Any]:
        """Queue one job; its future gets the job's result or exception."""
        self._ensure_worker()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put(_Job(key, payload, future, time.monotonic()))
        return future

    def _ensure_worker(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                thread.start()
                self._thread = thread

    def _limit(self, key: Hashable) -> int:
        if self._batchable is not None and not self._batchable(key):
            return 1
        return self.max_batch

    def _collect(self, pending: list[_Job]) -> list[_Job]:
        """Wait for more jobs like the oldest one, then take the batch out of ``pending``."""
        first = pending[0]
        limit = self._limit(first.key)
        give_up = first.submitted + self.max_wait_s
        while True:
            while True:  # take what is already queued, without waiting
                try:
                    pending.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if sum(1 for job in pending if job.key == first.key) >= limit:
                break
            last_arrival = max(job.submitted for job in pending)
            wait = min(last_arrival + self.window_s, give_up) - time.monotonic()
            if wait <= 0:
                break
            try:
                pending.append(self._queue.get(timeout=wait))
            except queue.Empty:
                break
        batch = [job for job in pending if job.key == first.key][:limit]
        taken = {id(job) for job in batch}
        pending[:] = [job for job in pending if id(job) not in taken]
        return batch

    def _work(self) -> None:
        pending: list[_Job] = []
        while True:
            if not pending:
                pending.append(self._queue.get())
            batch = [
                job for job in self._collect(pending) if job.future.set_running_or_notify_cancel()
            ]
            if not batch:
                continue
            with self._stats_lock:
                self._stats.record(len(batch))
            try:
                results = self._run(batch[0].key, [job.payload for job in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"{len(results)} results for a batch of {len(batch)}")
            except BaseException as exc:  # the worker must survive whatever a batch does
                for job in batch:
                    job.future.set_exception(exc)
                continue
            for job, result in zip(batch, results, strict=True):
                if isinstance(result, BaseException):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
