"""Which call failures to retry, and how long to wait.

* :func:`classify` sorts an exception from a model call: ``retry`` (HTTP 429, 408, 409, 5xx,
  connection errors, timeouts), ``fatal`` (HTTP 401/403: bad credentials; the run stops) or
  ``fail`` (anything else: recorded as that row's error, not retried).
* :class:`RetryPolicy`: how often and how long to retry, exponential backoff with full jitter,
  honouring a ``Retry-After`` header.
* :data:`DEFAULT_TIMEOUT_S` and :class:`CallTimeout`: the per-attempt timeout (a timed-out
  attempt is retried like a 5xx).
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

RETRY = "retry"
FATAL = "fatal"
FAIL = "fail"

#: per-attempt timeout of API model calls when the eval sets none (``local/`` models and Python
#: callables have none by default: they run in this process)
DEFAULT_TIMEOUT_S = 120.0


class CallTimeout(TimeoutError):
    """A call attempt ran past the gateway's per-call timeout."""


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


__all__ = [
    "DEFAULT_TIMEOUT_S",
    "FAIL",
    "FATAL",
    "NO_RETRIES",
    "RETRY",
    "CallTimeout",
    "RetryPolicy",
    "classify",
    "retry_after",
    "status_of",
]
