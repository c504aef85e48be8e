"""The ``local/`` provider's environment settings, read when the first request needs them.

Each bad value is a :class:`~brittle._errors.ModelError` naming the variable, what it must be
and the default that unsetting it restores.

One library setting goes with them: ``OMP_WAIT_POLICY=PASSIVE``, which the pytest plugin (when
the first eval is collected) and the ``brittle`` command set unless the user has set it, before
torch loads (OpenMP reads it once). torch's OpenMP threads otherwise spin at every barrier
between operations; whenever another thread wants a core (the event loop handling finished
calls, other processes on a busy machine) a descheduled thread stalls the rest while they spin.
Waiting threads that sleep change no result (the same thread count splits the same work); on
2 cores at load average 10, 48 of the demo's zero-shot calls took 9.5 CPU seconds (32 s wall)
against 41.8 (174 s) with spinning threads (``benchmarks/bench_model.py``).
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
