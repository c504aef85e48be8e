"""A one-line progress display for long runs: calls done, errors, retries, cache hits.

Shown only on an interactive terminal and never in CI logs (``CI`` set), so logs stay quiet.
``BRITTLE_PROGRESS=1`` forces it on, ``BRITTLE_PROGRESS=0`` off.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import IO, Any

ENV = "BRITTLE_PROGRESS"


def enabled(stream: IO[str] | None = None, *, tty: bool | None = None) -> bool:
    """Whether to show progress on ``stream`` (default stderr): a terminal, and not CI."""
    forced = os.environ.get(ENV, "").strip().lower()
    if forced in ("1", "true", "yes", "on"):
        return True
    if forced in ("0", "false", "no", "off"):
        return False
    if os.environ.get("CI"):
        return False
    if tty is not None:
        return tty
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """Redraws ``label: done/total calls · errors · retries · cached · elapsed`` in place.

    ``counters`` is read on each redraw (the gateway: ``errors``, ``retries``, ``cache_hits``);
    ``write`` receives the text to print (default: stderr). Redraws at most every ``interval``
    seconds; :meth:`close` prints the final line.
    """

    def __init__(
        self,
        total: int,
        label: str,
        counters: Any = None,
        *,
        write: Callable[[str], None] | None = None,
        interval: float = 0.25,
    ) -> None:
        self.total = total
        self.label = label
        self.counters = counters
        self.done = 0
        self.errors = 0
        self.interval = interval
        self._write = write or _stderr
        self._start = time.monotonic()
        self._last = 0.0
        self._base = self._snapshot()
        self._shown = False

    def _snapshot(self) -> tuple[int, int]:
        c = self.counters
        return (getattr(c, "retries", 0), getattr(c, "cache_hits", 0)) if c is not None else (0, 0)

    def line(self) -> str:
        retries, hits = self._snapshot()
        retries -= self._base[0]
        hits -= self._base[1]
        elapsed = time.monotonic() - self._start
        return (
            f"brittle {self.label}: {self.done}/{self.total} calls, {self.errors} errors, "
            f"{retries} retries, {hits} cached, {elapsed:.0f}s"
        )

    def start(self, total: int) -> None:
        """Set the number of calls expected (known once the run has built its rows)."""
        self.total = total

    def update(self, result: Any = None) -> None:
        """One row finished (``result``: its CallResult, to count errors)."""
        self.done += 1
        if result is not None and getattr(result, "error", None) is not None:
            self.errors += 1
        now = time.monotonic()
        if now - self._last >= self.interval or self.done == self.total:
            self._last = now
            self._draw(self.line())

    def _draw(self, text: str) -> None:
        prefix = "" if self._shown else "\n"
        self._shown = True
        self._write(f"{prefix}\r{text}\x1b[K")

    def close(self) -> None:
        if self._shown or self.done:
            self._draw(self.line())
            self._write("\n")


def _stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


__all__ = ["ENV", "Progress", "enabled"]
