"""Which call failures to retry, and how long to wait.

* :func:`classify` sorts an exception from a model call: ``retry`` (HTTP 429, 408, 409, 5xx,
  connection errors, timeouts), ``fatal`` (HTTP 401/403: bad credentials; the run stops),
  ``fail`` (anything else, and a missing API key however it is reported: recorded as that
  row's error, not retried) or, for an endpoint's first call (``first_contact=True``, see
  :mod:`brittle.gateway.preflight`), ``stop`` when :func:`cause` finds a failure that no retry
  and no other row can get past: the endpoint is not called again.
* :func:`cause`: that failure, read from the exception's type names, status and message along
  its ``__cause__``/``__context__`` chain (litellm wraps a refused connection as a 500
  ``InternalServerError`` around ``openai.APIConnectionError`` around aiohttp's
  ``ClientConnectorError`` around ``ConnectionRefusedError``; aiohttp clients raise the inner
  ones directly): authentication refused (401/403), missing API key, unknown model (404,
  litellm's "LLM Provider NOT provided"), connection refused, DNS failure. Once an endpoint has
  answered, a refused or reset connection is retried like a 5xx (a replica restarting).
* :class:`RetryPolicy`: how often and how long to retry, exponential backoff with full jitter,
  honouring a ``Retry-After`` header.
* :data:`DEFAULT_TIMEOUT_S` and :class:`CallTimeout`: the per-attempt timeout (a timed-out
  attempt is retried like a 5xx).
"""

from __future__ import annotations

import email.utils
import errno
import random
import re
import socket
import time
from dataclasses import dataclass
from typing import Any

RETRY = "retry"
FATAL = "fatal"
FAIL = "fail"
STOP = "stop"

# what :func:`cause` finds: failures no retry gets past (each a phrase for messages)
AUTHENTICATION = "authentication failed"
MISSING_KEY = "missing API key"
UNKNOWN_MODEL = "unknown model"
REFUSED = "connection refused"
DNS = "DNS failure"

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
# litellm reports a missing key as a 500 (openai provider) or a 401 (anthropic, mistral, ...),
# each provider in its own words
_MISSING_KEY = re.compile(
    r"(?i)\bmissing\b[^.\n]{0,40}\b(api[ _-]?key|credentials)\b|api_key client option must be "
    r"set|\bno api[ _-]?key (is |was )?(set|provided|passed|given|found)|no api key passed in"
)
_UNKNOWN_MODEL = re.compile(
    r"(?i)LLM Provider NOT provided|\bmodel\b[^.\n]{0,80}\b(does not exist|not found|not "
    r"supported|is unknown)|\b(unknown|invalid|unsupported) model\b"
)
_DNS = re.compile(
    r"(?i)name or service not known|nodename nor servname|getaddrinfo failed|failure in name "
    r"resolution|no address associated with hostname|could not resolve host"
)
_DNS_NAMES = frozenset({"gaierror", "ClientConnectorDNSError", "NameResolutionError"})
_NOT_FOUND_NAMES = frozenset({"NotFoundError"})


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an exception carries (``status_code``, its response's, or aiohttp's
    ``status``), if any."""
    for candidate in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
        getattr(exc, "status", None),
    ):
        if isinstance(candidate, int) and not isinstance(candidate, bool):
            return candidate
    return None


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or during (``__cause__``, ``__context__``,
    aiohttp's ``os_error``), outermost first."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(found) < 16 and all(current is not e for e in found):
        found.append(current)
        inner = getattr(current, "os_error", None)
        if not isinstance(inner, BaseException):
            inner = current.__cause__ or current.__context__
        current = inner
    return found


def cause(exc: BaseException) -> str | None:
    """Which failure no retry gets past, if ``exc`` shows one: :data:`MISSING_KEY`,
    :data:`AUTHENTICATION`, :data:`UNKNOWN_MODEL`, :data:`DNS` or :data:`REFUSED` (else None)."""
    links = chain(exc)
    names = {cls.__name__ for link in links for cls in type(link).__mro__}
    text = "\n".join(str(link)[:2000] for link in links)
    if _MISSING_KEY.search(text):
        return MISSING_KEY
    status = status_of(exc)
    if status in _FATAL_STATUS or names & _FATAL_NAMES:
        return AUTHENTICATION
    if status == 404 or names & _NOT_FOUND_NAMES or _UNKNOWN_MODEL.search(text):
        return UNKNOWN_MODEL
    if names & _DNS_NAMES or any(isinstance(link, socket.gaierror) for link in links):
        return DNS
    if _DNS.search(text):
        return DNS
    if any(
        isinstance(link, ConnectionRefusedError)
        or (isinstance(link, OSError) and link.errno == errno.ECONNREFUSED)
        for link in links
    ):
        return REFUSED
    return None


def classify(exc: BaseException, *, first_contact: bool = False) -> str:
    """``"retry"``, ``"fatal"``, ``"fail"`` or (``first_contact`` only) ``"stop"`` for an
    exception raised by a model call.

    ``first_contact``: the call is an endpoint's first (its preflight probe), so a refused
    connection, a failed name look-up, an unknown model or refused credentials say the endpoint
    cannot answer any row: ``"stop"``.
    """
    found = cause(exc)
    if found is not None and first_contact:
        return STOP
    if found == MISSING_KEY:
        return FAIL  # no key appears between attempts, whatever status litellm gave it
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
    "AUTHENTICATION",
    "DEFAULT_TIMEOUT_S",
    "DNS",
    "FAIL",
    "FATAL",
    "MISSING_KEY",
    "NO_RETRIES",
    "REFUSED",
    "RETRY",
    "STOP",
    "UNKNOWN_MODEL",
    "CallTimeout",
    "RetryPolicy",
    "cause",
    "chain",
    "classify",
    "retry_after",
    "status_of",
]
