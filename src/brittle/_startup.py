"""One-time start-up costs of the process (a local model's load, litellm's import), counted so
that a run can show them apart from the time of the system that happened to pay them: the first
system of a run on the embedded model otherwise looks some 17 seconds slower than the others."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_spent = [0.0]


@contextmanager
def startup_cost() -> Iterator[None]:
    """Count the time of the ``with`` block as start-up (thread-safe: models load in threads)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        with _lock:
            _spent[0] += elapsed


def startup_spent() -> float:
    """Seconds of start-up counted so far in this process."""
    return _spent[0]


__all__ = ["startup_cost", "startup_spent"]
