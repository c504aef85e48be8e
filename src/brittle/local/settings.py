"""The ``local/`` provider's environment settings, read when the first request needs them.

Each bad value is a :class:`~brittle._errors.ModelError` naming the variable, what it must be
and the default that unsetting it restores.

One library setting goes with them, left to the user: ``OMP_WAIT_POLICY`` (read once, when torch
loads). torch's OpenMP threads spin a while at every barrier between operations. On a busy
machine a descheduled thread then stalls the rest: there ``OMP_WAIT_POLICY=PASSIVE`` (threads
sleep while they wait; same results) is far faster: on 2 cores at load average 10, 48 of the
demo's zero-shot calls took 9.5 CPU seconds (32 s wall) against 41.8 (174 s). On idle cores the
spinning default is the faster: the cold demo used 1.33 cores on average with ``PASSIVE`` (400 s
wall), and 150 demo calls per system took 47 s against 52 s (``benchmarks/bench_model.py``).
So brittle sets nothing; set ``PASSIVE`` on a shared machine.
"""

from __future__ import annotations

import os

from brittle._errors import ModelError

MAX_BATCH_ENV = "BRITTLE_LOCAL_MAX_BATCH"
WINDOW_ENV = "BRITTLE_LOCAL_BATCH_WINDOW_MS"
THREADS_ENV = "BRITTLE_LOCAL_THREADS"
PREFIX_CACHE_ENV = "BRITTLE_LOCAL_PREFIX_CACHE_MB"
DEFAULT_MAX_BATCH = 16
DEFAULT_WINDOW_MS = 8.0
DEFAULT_PREFIX_CACHE_MB = 256.0


def env_number(
    name: str, default: float, *, minimum: float, kind: type, default_text: str | None = None
) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        noun = "an integer" if kind is int else "a number"
        raise ModelError(
            f"environment variable {name}={raw!r} is not valid: expected {noun} of at least "
            f"{minimum:g}\n  fix: set {name} to such a value, or unset it (default: "
            f"{default_text or format(default, 'g')})"
        )
    return float(value)


def prefix_cache_bytes() -> int:
    """``BRITTLE_LOCAL_PREFIX_CACHE_MB`` in bytes (0 turns prefix reuse off)."""
    megabytes = env_number(PREFIX_CACHE_ENV, DEFAULT_PREFIX_CACHE_MB, minimum=0, kind=float)
    return int(megabytes * 2**20)
