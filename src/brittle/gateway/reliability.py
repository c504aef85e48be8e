"""Provider faults handled so they never become wrong answers or lost work.

* :func:`classify` sorts an exception from a model call: ``retry`` (HTTP 429, 408, 409, 5xx,
  connection errors, timeouts), ``fatal`` (HTTP 401/403: bad credentials; the run stops) or
  ``fail`` (anything else: recorded as that row's error, not retried).
* :class:`RetryPolicy`: how often and how long to retry, exponential backoff with full jitter,
  honouring a ``Retry-After`` header.
* :class:`RateLimit` and :class:`RateLimiter`: per-model requests and tokens per minute (token
  buckets) and concurrency.
* :func:`parse_timeout`, :func:`parse_retries`, :func:`parse_rate_limits`: the eval keys
  ``timeout``, ``retries`` and ``rate_limits``.

An eval sets them like this::

    timeout: 60                    # seconds per call attempt (default 120 for API models)
    retries: 4                     # or {max: 4, backoff: 1.0, max_backoff: 30}
    rate_limits:
      openai/gpt-4o-mini: {rpm: 500, tpm: 200000, concurrency: 8}
      "*": {rpm: 60}               # every other model
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import random
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from brittle._errors import ConfigError

RETRY = "retry"
FATAL = "fatal"
FAIL = "fail"

#: per-attempt timeout of API model calls when the eval sets none (``local/`` models and Python
#: callables have none by default: they run in this process)
DEFAULT_TIMEOUT_S = 120.0

_RETRY_STATUS = frozenset({408, 409, 425, 429})
_FATAL_STATUS = frozenset({401, 403})
_RETRY_NAMES = frozenset(
    {
        "RateLimitError",
        "APIConnectionError",
        "APITimeoutError",
        "Timeout",
        "TimeoutError",
        "TimeoutException",
        "ServiceUnavailableError",
        "InternalServerError",
        "BadGatewayError",
        "ConnectError",
        "ReadTimeout",
        "ConnectTimeout",
        "RemoteProtocolError",
        "ServerDisconnectedError",
        "ClientConnectionError",
    }
)
_FATAL_NAMES = frozenset({"AuthenticationError", "PermissionDeniedError"})


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (``status_code`` or its response's), if any."""
    for candidate in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
    ):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return None


def classify(exc: BaseException) -> str:
    """``"retry"``, ``"fatal"`` or ``"fail"`` for an exception raised by a model call."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    status = status_of(exc)
    if status in _FATAL_STATUS or names & _FATAL_NAMES:
        return FATAL
    if status is not None:
        if status in _RETRY_STATUS or status >= 500:
            return RETRY
        return FAIL
    if isinstance(exc, TimeoutError | ConnectionError) or names & _RETRY_NAMES:
        return RETRY
    return FAIL


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked to wait (``Retry-After``/``retry-after-ms``), if it said."""
    headers: Any = None
    for source in (
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
        getattr(exc, "headers", None),
    ):
        if source:
            headers = source
            break
    if not headers:
        return None
    try:
        millis = headers.get("retry-after-ms") or headers.get("Retry-After-Ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
        value = headers.get("retry-after") or headers.get("Retry-After")
    except (AttributeError, TypeError, ValueError):
        return None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except (TypeError, ValueError):
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one call: at most ``max_retries`` after the first attempt.

    The wait before retry ``n`` (1-based) is drawn uniformly from ``[0, min(max_backoff,
    backoff * 2**(n-1))]`` ("full jitter", so many callers hit by one 429 do not retry in step),
    unless the provider sent ``Retry-After``: then that (at most ``max_retry_after``) plus a little
    jitter.
    """

    max_retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 30.0
    max_retry_after: float = 120.0

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    def delay(self, retry: int, exc: BaseException | None = None, rng: Any = random) -> float:
        asked = retry_after(exc) if exc is not None else None
        if asked is not None:
            return min(asked, self.max_retry_after) + rng.uniform(0, min(0.1, self.backoff))
        ceiling = min(self.max_backoff, self.backoff * 2 ** max(0, retry - 1))
        return float(rng.uniform(0, ceiling))

    def describe(self) -> dict[str, Any]:
        return {
            "max": self.max_retries,
            "backoff": self.backoff,
            "max_backoff": self.max_backoff,
        }


NO_RETRIES = RetryPolicy(max_retries=0)


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


# ----------------------------------------------------------------------------- eval keys


def _positive_number(value: Any, *, where: str | None, key: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"'{key}' must be a positive number, not {value!r}", where=where, fix=fix)
    return float(value)


def parse_timeout(value: Any, *, where: str | None = None) -> float | None:
    """The eval key ``timeout``: seconds per call attempt, or None for the default."""
    if value is None:
        return None
    return _positive_number(
        value, where=where, key="timeout", fix="write e.g. 'timeout: 60' (seconds per call)"
    )


def parse_retries(value: Any, *, where: str | None = None) -> RetryPolicy:
    """The eval key ``retries``: a count, or ``{max, backoff, max_backoff}``."""
    fix = "write e.g. 'retries: 4' or 'retries: {max: 4, backoff: 1.0, max_backoff: 30}'"
    if value is None:
        return RetryPolicy()
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(
                f"'retries' must be 0 or more, not {value}", where=where, key="retries", fix=fix
            )
        return RetryPolicy(max_retries=value)
    if isinstance(value, Mapping):
        unknown = set(map(str, value)) - {"max", "backoff", "max_backoff", "max_retry_after"}
        if unknown:
            raise ConfigError(
                f"unknown key '{sorted(unknown)[0]}' in 'retries'",
                where=where,
                key="retries",
                fix=fix,
            )
        count = value.get("max", RetryPolicy.max_retries)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(
                f"'retries.max' must be 0 or more, not {count!r}", where=where, fix=fix
            )
        numbers = {}
        for name in ("backoff", "max_backoff", "max_retry_after"):
            if name in value:
                numbers[name] = _positive_number(
                    value[name], where=where, key=f"retries.{name}", fix=fix
                )
        return RetryPolicy(max_retries=count, **numbers)
    raise ConfigError(
        f"'retries' must be a count or a mapping, not {value!r}", where=where, fix=fix
    )


def parse_rate_limits(value: Any, *, where: str | None = None) -> dict[str, RateLimit]:
    """The eval key ``rate_limits``: ``{model: {rpm, tpm, concurrency}}`` (``"*"``: any model)."""
    fix = "write e.g. 'rate_limits: {openai/gpt-4o-mini: {rpm: 500, tpm: 200000}}'"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            "'rate_limits' must map model strings to limits",
            where=where,
            key="rate_limits",
            fix=fix,
        )
    out: dict[str, RateLimit] = {}
    for model, raw in value.items():
        key = f"rate_limits.{model}"
        if not isinstance(raw, Mapping):
            raise ConfigError("limits must be a mapping", where=where, key=key, fix=fix)
        unknown = set(map(str, raw)) - {"rpm", "tpm", "concurrency"}
        if unknown:
            raise ConfigError(
                f"unknown limit '{sorted(unknown)[0]}'",
                where=where,
                key=key,
                fix="use rpm (requests per minute), tpm (tokens per minute) or concurrency",
            )
        rpm = raw.get("rpm")
        tpm = raw.get("tpm")
        concurrency = raw.get("concurrency")
        out[str(model)] = RateLimit(
            rpm=_positive_number(rpm, where=where, key=f"{key}.rpm", fix=fix) if rpm else None,
            tpm=_positive_number(tpm, where=where, key=f"{key}.tpm", fix=fix) if tpm else None,
            concurrency=int(
                _positive_number(concurrency, where=where, key=f"{key}.concurrency", fix=fix)
            )
            if concurrency
            else None,
        )
    return out


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "FAIL",
    "FATAL",
    "NO_RETRIES",
    "RETRY",
    "RateLimit",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
    "classify",
    "estimate_tokens",
    "parse_rate_limits",
    "parse_retries",
    "parse_timeout",
    "retry_after",
    "status_of",
]
