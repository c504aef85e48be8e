"""Preflight: an endpoint's first call decides whether its other calls are worth making.

A system whose model string is unknown, whose key is missing or refused, or whose ``api_base``
refuses connections or names no host fails every row the same way; retrying each row only
hides the cause behind "N of N calls errored". So the gateway treats the first call to each
distinct endpoint (model string, ``api_base`` and credentials, :class:`Endpoint`) as its probe:

* the probe is a real row's call, not an extra request: its answer is kept (and cached) like
  any other, so a healthy endpoint costs nothing but the wait for its first answer before the
  rest of its calls start;
* the endpoint's other calls wait for the probe's outcome. If the probe fails in a way no retry
  gets past (:func:`brittle.gateway.retry.cause`: credentials refused, missing key, unknown
  model, connection refused, DNS failure), it is not retried and the endpoint is *stopped*:
  every call to it, the probe's included, returns the same error (:meth:`Stop.error`) at once,
  without a request. Otherwise (an answer, or an error worth retrying: 429, 5xx, timeouts,
  which the probe retried as usual) the waiting calls go ahead, each with the usual retries,
  and a refused or reset connection later on is retried (a replica restarting);
* calls answered from the response cache never reach the probe: a cached run needs no endpoint;
* a system with several replicas (``api_base: [url1, url2]``, :mod:`brittle.gateway.replicas`)
  is one endpoint whose probe tries each replica in turn: it is stopped only when all refuse.

``local/`` models and Python callables run in this process and are not probed. The engine
names the stopped system in one line (:meth:`Stop.line`, the terminal summary); each of its
rows is recorded as an error with the cause, so its gates report "nothing measured".
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from brittle.gateway.calls import CallRequest, CallResult
from brittle.gateway.retry import (
    AUTHENTICATION,
    DNS,
    MISSING_KEY,
    REFUSED,
    UNKNOWN_MODEL,
    cause,
    chain,
    status_of,
)
from brittle.redact import SECRET_PARAMS, public_url, scrub

#: what to do about each cause, for the stop line
FIXES = {
    AUTHENTICATION: "check the API key (environment variable or 'api_key' in params) and its "
    "permissions for this model",
    MISSING_KEY: "set the provider's key (e.g. OPENAI_API_KEY) or 'api_key' in the system's "
    "params (any value for a local server that checks none)",
    UNKNOWN_MODEL: "check the model string (provider/name, e.g. openai/gpt-4o-mini) and that the "
    "server at api_base serves that model",
    REFUSED: "start the server, or fix the host and port of 'api_base'",
    DNS: "check the host name in 'api_base' (and that this machine can resolve it)",
}
_DETAIL_LIMIT = 240
# litellm's repeated prefixes: "litellm.AuthenticationError: AuthenticationError: X -"
_PREFIX = re.compile(r"^(?:(?:(?:litellm\.)?\w*(?:Error|Exception)|HTTP \d{3})(?::| -)\s*)+")
#: statuses shown with the provider's words (litellm gives a missing key or an unknown provider
#: a status of its own, though no request was made)
_SHOWN_STATUS = frozenset({401, 403, 404})


@dataclass(frozen=True)
class Endpoint:
    """Where calls go: the model string, the public ``api_base`` (None: the provider's own) and
    a digest of the credentials passed in params (never shown)."""

    model: str
    api_base: str | None
    credentials: str = ""

    def describe(self) -> str:
        where = self.api_base or "the provider's default endpoint"
        return f"{self.model} at {where}"


def endpoint_of(request: CallRequest) -> Endpoint | None:
    """The endpoint a request goes to, or None for in-process ``local/`` models."""
    if request.model.startswith("local/"):
        return None
    params = request.params
    base = params.get("api_base") or params.get("base_url")
    secrets = [(name, value) for name, value in params.items() if name.lower() in SECRET_PARAMS]
    # replicas (a list, gateway/replicas.py) are one endpoint: stopped only when all refuse
    bases = tuple(map(str, base)) if isinstance(base, list | tuple) else (str(base),)
    return _endpoint(request.model, bases if base else None, repr(secrets) if secrets else "")


@functools.lru_cache(maxsize=256)
def _endpoint(model: str, bases: tuple[str, ...] | None, secrets: str) -> Endpoint:
    # once per distinct endpoint: every call asks (about 2 us, against 16 us unmemoized)
    digest = hashlib.sha256(secrets.encode()).hexdigest()[:12] if secrets else ""
    public = ", ".join(public_url(base) for base in bases) if bases else None
    return Endpoint(model, public, digest)


@dataclass(frozen=True)
class Stop:
    """Why an endpoint was stopped at its first call: the cause and the provider's words."""

    endpoint: Endpoint
    cause: str
    detail: str

    def error(self) -> str:
        """The error recorded for each of the endpoint's calls (one line, no credentials)."""
        return (
            f"stopped at the first call: {self.endpoint.describe()}: {self.cause} ({self.detail})"
        )

    def line(self, system: str, rows: int) -> str:
        """One line for the terminal: system, model, endpoint, cause and fix."""
        return (
            f"stopped system '{system}': {self.endpoint.describe()}: {self.cause} "
            f"({self.detail}); {rows} call(s) errored with it, none retried; "
            f"fix: {FIXES[self.cause]}"
        )


def describe_cause(exc: BaseException) -> str:
    """The provider's words for a stop, on one line without litellm's prefixes or credentials:
    the HTTP status and message, or the socket error at the bottom of a connection failure."""
    links = chain(exc)
    status = status_of(exc)
    found = cause(exc)
    if found in (REFUSED, DNS):
        source = links[-1]  # ConnectionRefusedError, gaierror: the system's own words
        text = f"{type(source).__name__}: {source}"
    else:
        text = _PREFIX.sub("", str(exc).strip()) or type(exc).__name__
        if status in _SHOWN_STATUS and found != MISSING_KEY:
            text = f"HTTP {status}: {text}"
    text = scrub(" ".join(text.split()))
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


@dataclass
class _State:
    probed: asyncio.Future[None]


@dataclass
class Preflight:
    """The endpoints one gateway has called: probed, being probed, or stopped."""

    stops: dict[Endpoint, Stop] = field(default_factory=dict)
    _states: dict[Endpoint, _State] = field(default_factory=dict)

    def new_loop(self) -> None:
        """Forget probes left unfinished by an event loop that ended (each run has its own)."""
        self._states = {e: s for e, s in self._states.items() if s.probed.done()}

    async def gate(
        self, endpoint: Endpoint, call: Callable[[Endpoint | None], Awaitable[CallResult]]
    ) -> CallResult:
        """Make ``call``: as the endpoint's probe (``call(endpoint)``) if it is the first, after
        the probe otherwise (``call(None)``), or not at all once the endpoint is stopped."""
        state = self._states.get(endpoint)
        if state is None:
            probed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._states[endpoint] = _State(probed)
            try:
                return await call(endpoint)
            finally:
                probed.set_result(None)
        if not state.probed.done():
            await asyncio.shield(state.probed)
        stop = self.stops.get(endpoint)
        if stop is not None:
            return CallResult(text=None, error=stop.error())
        return await call(None)

    def stop(self, endpoint: Endpoint, exc: BaseException, *, latency_s: float) -> CallResult:
        """Stop ``endpoint`` for the failure of its probe; the probe's own result."""
        found = cause(exc) or AUTHENTICATION
        stop = self.stops.setdefault(endpoint, Stop(endpoint, found, describe_cause(exc)))
        return CallResult(text=None, error=stop.error(), latency_s=latency_s)

    def stop_among(self, errors: Iterable[str | None]) -> Stop | None:
        """The stop behind the first of ``errors`` that one caused (a system's rows)."""
        if not self.stops:
            return None
        by_error = {stop.error(): stop for stop in self.stops.values()}
        return next((by_error[e] for e in errors if e is not None and e in by_error), None)


__all__ = ["FIXES", "Endpoint", "Preflight", "Stop", "describe_cause", "endpoint_of"]
