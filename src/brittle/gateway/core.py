"""The :class:`Gateway`: every model call in brittle goes through one.

Around the transport, in order: the response cache (:mod:`brittle.gateway.cache`; a hit makes no
call, replay mode makes none at all), one caller per key across processes (cache claims), the
concurrency limit, per-model rate limits (:mod:`brittle.gateway.ratelimit`), a per-attempt
timeout, and retries with backoff on 429, 5xx and timeouts (:mod:`brittle.gateway.retry`).
A system that lists several endpoints (``api_base: [url1, url2]``) has each attempt sent to one
of them, a dead one taken out (:mod:`brittle.gateway.replicas`).
The first call to each endpoint is its preflight probe (:mod:`brittle.gateway.preflight`): if it
fails in a way no retry gets past (credentials refused, missing key, unknown model, connection
refused, DNS failure), the endpoint's other calls are not made. Authentication failures
(401/403) after an endpoint has answered stop all further calls (:attr:`Gateway.fatal`). Error
messages are scrubbed of credentials (:mod:`brittle.redact`).

The cache key is a function of the request alone (:mod:`brittle.gateway.keys`). A caller that
makes calls on behalf of a system passes what the key needs besides the call (the system's
fingerprint, the repeat index) through :meth:`Gateway.scoped`.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from brittle._errors import AuthenticationFailed
from brittle.gateway.cache import ResponseCache
from brittle.gateway.calls import CallRequest, CallResult, CallScope, at_edge, describe_error
from brittle.gateway.keys import callable_key, request_key
from brittle.gateway.preflight import Endpoint, Preflight, endpoint_of
from brittle.gateway.ratelimit import RateLimit, RateLimiter, estimate_tokens
from brittle.gateway.recordings import Recorder
from brittle.gateway.replicas import Replicas
from brittle.gateway.retry import (
    DEFAULT_TIMEOUT_S,
    FATAL,
    NO_RETRIES,
    RETRY,
    STOP,
    CallTimeout,
    RetryPolicy,
    classify,
)
from brittle.gateway.settings import CallSettings
from brittle.gateway.transport import AutoTransport, Transport

#: model calls in flight at once when neither the eval nor the caller says
DEFAULT_CONCURRENCY = 16


class Gateway:
    """Limits concurrency and records failures; every model call in brittle goes through here.

    Optional layers: ``cache`` (a :class:`~brittle.gateway.cache.ResponseCache`), ``retry`` (a
    :class:`~brittle.gateway.retry.RetryPolicy`; default: no retries), ``timeout`` (seconds
    per attempt; default :data:`~brittle.gateway.retry.DEFAULT_TIMEOUT_S` for API models,
    none for ``local/`` models and callables) and ``rate_limits`` (per model
    string, ``"*"`` for any). :meth:`for_spec` builds one from an eval's settings.

    Counters: ``calls`` (calls made, retries not counted), ``errors``, ``retries``,
    ``timeouts``, ``cache_hits`` and ``missing`` (replay misses).
    """

    def __init__(
        self,
        transport: Transport | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        cache: ResponseCache | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | None = None,
        rate_limits: Mapping[str, RateLimit] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._transport = transport
        self.concurrency = concurrency
        self.cache = cache if cache is not None and cache.mode.value != "off" else None
        self.retry = retry or NO_RETRIES
        self.timeout = timeout
        self.rate_limits = dict(rate_limits or {})
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._limiter: RateLimiter | None = None
        self._inflight: dict[str, asyncio.Future[CallResult]] = {}
        self.started = time.time()
        self.calls = 0
        self.errors = 0
        self.retries = 0
        self.timeouts = 0
        self.cache_hits = 0
        self.missing = 0
        self.cache_failures = 0
        #: set on the first authentication failure: no further calls are made
        self.fatal: AuthenticationFailed | None = None
        #: each endpoint's probe, and the endpoints stopped by theirs
        self.preflight = Preflight()
        #: the committed recordings replayed before the cache, and the responses used, for
        #: the recordings an update writes (:mod:`brittle.gateway.recordings`); set by the run
        self.recordings: Recorder | None = None
        #: the replica sets of systems that list several endpoints (:mod:`.replicas`)
        self.replicas = Replicas()

    @classmethod
    def for_spec(
        cls,
        spec: CallSettings | None = None,
        *,
        concurrency: int | None = None,
        cache: ResponseCache | None = None,
        transport: Transport | None = None,
    ) -> Gateway:
        """The gateway of an eval run, or of a tool that makes calls of its own.

        With ``spec`` (an :class:`~brittle.spec.eval.EvalSpec`), its ``concurrency``, ``retries``,
        ``timeout`` and ``rate_limits``; without, the defaults: no retries, the default timeout,
        no rate limits. ``concurrency`` overrides the spec's (``--brittle-concurrency``); without
        either it is :data:`DEFAULT_CONCURRENCY`.
        """
        if spec is None:
            return cls(transport, concurrency=concurrency or DEFAULT_CONCURRENCY, cache=cache)
        return cls(
            transport,
            concurrency=concurrency or spec.concurrency,
            cache=cache,
            retry=spec.retries,
            timeout=spec.timeout,
            rate_limits=spec.rate_limits,
        )

    def scoped(
        self,
        *,
        fingerprint: str | None = None,
        repeat: int | None = None,
        label: str | None = None,
    ) -> Gateway:
        """This gateway, filling in the calls made through it with what their caller knows.

        The engine gives each system, for each row, ``gateway.scoped(fingerprint=...,
        repeat=..., label=...)``: the system's calls are then keyed by its fingerprint and the
        row's repeat index, and named after the row in messages, without the system passing them
        (a request's own values win). Limits, cache and counters stay this gateway's. A scope
        of a scoped gateway replaces its scope.
        """
        return _Scoped(self, CallScope(fingerprint=fingerprint, repeat=repeat, label=label))

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = AutoTransport()
        return self._transport

    def _limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._limiter = RateLimiter(self.rate_limits) if self.rate_limits else None
            self._inflight = {}
            self.preflight.new_loop()
            self._loop = loop
        return self._semaphore

    async def complete(self, request: CallRequest) -> CallResult:
        """Make the call; never raises for a failed call (except cancellation)."""
        keyed = self.cache is not None or self.recordings is not None
        key = request_key(request) if keyed else None
        timeout = self.timeout
        if timeout is None and not request.model.startswith("local/"):
            timeout = DEFAULT_TIMEOUT_S
        # several endpoints (api_base: [...]): each attempt goes to one; the key holds the list
        # (looked up for a cache hit too, as before: the set is known once a request names it)
        calls = self.cache is None or self.cache.mode.calls
        replicas = self.replicas.of(request) if calls else None

        def call() -> Awaitable[CallResult]:
            # what only a call made needs, worked out when one is (a cache hit needs none of it)
            transport = self.transport
            tokens = estimate_tokens(request.messages, request.params) if self.rate_limits else 0

            def invoke() -> Awaitable[CallResult]:
                if replicas is not None:
                    return replicas.complete(transport, request)
                return transport.complete(request)

            def attempts(probe: Endpoint | None = None) -> Awaitable[CallResult]:
                return self._attempts(
                    invoke, model=request.model, tokens=tokens, timeout=timeout, probe=probe
                )

            endpoint = endpoint_of(request)
            return attempts() if endpoint is None else self.preflight.gate(endpoint, attempts)

        return await self._through_cache(
            key,
            call,
            model=request.model,
            fingerprint=request.fingerprint,
            label=request.label,
        )

    async def _through_cache(
        self,
        key: str | None,
        call: Callable[[], Awaitable[CallResult]],
        *,
        model: str | None,
        fingerprint: str | None,
        label: str | None,
    ) -> CallResult:
        """Answer from the recordings, else as :meth:`_cached` does; a successful response is
        remembered for the recordings an update writes."""
        recordings = self.recordings
        if recordings is None or key is None:
            return await self._cached(key, call, model=model, fingerprint=fingerprint, label=label)
        hit = recordings.get(key)
        if hit is not None:
            self.cache_hits += 1
            result = at_edge(hit)
        else:
            result = await self._cached(
                key, call, model=model, fingerprint=fingerprint, label=label
            )
        recordings.use(key, result)
        return result

    async def _cached(
        self,
        key: str | None,
        call: Callable[[], Awaitable[CallResult]],
        *,
        model: str | None,
        fingerprint: str | None,
        label: str | None,
    ) -> CallResult:
        """Answer from the cache, or make the call once (per key, across processes) and store it."""
        semaphore = self._limit()
        if self.fatal is not None:
            return self._aborted()
        cache = self.cache
        if cache is None or key is None:
            async with semaphore:
                if self.fatal is not None:
                    return self._aborted()
                return await call()
        if cache.mode.reads:
            hit = cache.get(key)
            if hit is not None:
                return self._hit(key, hit, label)
        if not cache.mode.calls:
            self.missing += 1
            where = f" ({label})" if label else ""
            return CallResult(
                text=None,
                error=f"ReplayMiss: not in the response cache{where}; replay mode makes no "
                "model calls",
                missing=True,
            )
        pending = self._inflight.get(key)
        if pending is not None:  # the same call is being made in this process: share it
            result = await asyncio.shield(pending)
            if result.ok:
                self.cache_hits += 1
                return replace(result, cached=True)
            return result
        future: asyncio.Future[CallResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._claimed(
                key, call, model=model, fingerprint=fingerprint, label=label
            )
        except BaseException:
            future.cancel()
            raise
        finally:
            self._inflight.pop(key, None)
        future.set_result(result)
        return result

    async def _claimed(
        self,
        key: str,
        call: Callable[[], Awaitable[CallResult]],
        *,
        model: str | None,
        fingerprint: str | None,
        label: str | None,
    ) -> CallResult:
        cache = self.cache
        assert cache is not None
        # record mode reads nothing older than this run: it refreshes every entry it needs
        newer = None if cache.mode.reads else self.started
        lease = (self.timeout or DEFAULT_TIMEOUT_S) * self.retry.attempts + 60.0
        while True:
            async with self._limit():
                if self.fatal is not None:
                    return self._aborted()
                claim = cache.claim(key, lease_s=max(lease, cache.lease_s), newer_than=newer)
                if claim == "done":
                    hit = cache.get(key)
                    if hit is not None:
                        return self._hit(key, hit, label)
                    continue  # (responses are never deleted: not reached)
                if claim == "claimed":
                    try:
                        result = await call()
                    except BaseException:
                        self._cache_op(cache.release, key)
                        raise
                    if result.ok and result.text is not None:
                        stored = self._cache_op(
                            functools.partial(
                                cache.put,
                                key,
                                result,
                                model=model,
                                fingerprint=fingerprint,
                                label=label,
                            )
                        )
                        if stored:
                            cache.note_use(key, label)
                    else:
                        self._cache_op(cache.release, key)  # errors are never cached
                    return result
            await cache.wait(key, newer_than=newer)  # another process is making this call

    def _hit(self, key: str, hit: CallResult, label: str | None) -> CallResult:
        self.cache_hits += 1
        assert self.cache is not None
        self.cache.note_use(key, label)
        return at_edge(hit)  # an entry stored before a secret was known (or by an older brittle)

    def _cache_op(self, operation: Callable[..., Any], *args: Any) -> bool:
        """Run a cache write; a locked or full disk costs the cache entry, never the result."""
        try:
            operation(*args)
        except sqlite3.Error:
            self.cache_failures += 1
            return False
        return True

    def _aborted(self) -> CallResult:
        assert self.fatal is not None
        return CallResult(text=None, error=f"not called: {self.fatal.args[0].splitlines()[0]}")

    def _rate_limiter(self) -> RateLimiter | None:
        self._limit()
        return self._limiter

    async def _attempts(
        self,
        invoke: Callable[[], Awaitable[CallResult]],
        *,
        model: str | None,
        tokens: int,
        timeout: float | None,
        probe: Endpoint | None = None,
    ) -> CallResult:
        """Call with retries (429, 5xx, timeouts), rate limits and the per-attempt timeout.

        ``probe``: this is the endpoint's first call; a failure no retry gets past stops the
        endpoint (:meth:`Preflight.stop`) instead of being retried.
        """
        self.calls += 1
        # a call's latency is its answering attempt's, from the request being sent: the waits
        # for the concurrency limit, the endpoint's probe and the rate limiter, earlier attempts
        # and their backoff are the harness's, not the model's
        sent = time.perf_counter()
        limiter = self._rate_limiter() if model is not None else None
        attempt = 0
        while True:
            attempt += 1
            try:
                if limiter is not None and model is not None:
                    async with limiter.slot(model, tokens) as used:
                        sent = time.perf_counter()
                        result = await _with_timeout(invoke(), timeout)
                        if result.prompt_tokens is not None:
                            used.append(result.prompt_tokens + (result.completion_tokens or 0))
                else:
                    sent = time.perf_counter()
                    result = await _with_timeout(invoke(), timeout)
                result = at_edge(result)  # secrets masked, Unicode repaired; null: EmptyResponse
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                kind = classify(exc, first_contact=probe is not None)
                if isinstance(exc, TimeoutError):
                    self.timeouts += 1
                if kind == STOP and probe is not None:
                    self.errors += 1
                    latency = time.perf_counter() - sent
                    return self.preflight.stop(probe, exc, latency_s=latency)
                if kind == FATAL:
                    self.errors += 1
                    if self.fatal is None:
                        self.fatal = AuthenticationFailed(
                            f"authentication failed for {model or 'a model call'}: "
                            f"{describe_error(exc)}\n  fix: check the API key (environment "
                            "variable or 'api_key' in params) and its permissions for this "
                            "model; brittle stopped making calls"
                        )
                    return CallResult(
                        text=None,
                        error=describe_error(exc),
                        latency_s=time.perf_counter() - sent,
                    )
                if kind == RETRY and attempt < self.retry.attempts and self.fatal is None:
                    self.retries += 1
                    await asyncio.sleep(self.retry.delay(attempt, exc))
                    continue
                self.errors += 1
                message = describe_error(exc)
                if attempt > 1:
                    message += f" (after {attempt} attempts)"
                return CallResult(text=None, error=message, latency_s=time.perf_counter() - sent)
            if result.error is not None:
                self.errors += 1
            if result.latency_s:
                return result
            return replace(result, latency_s=time.perf_counter() - sent)

    async def guarded(self, call: Any, *args: Any) -> CallResult:
        """Run ``await call(*args)``, timing it and turning an exception into an error result."""
        self.calls += 1
        start = time.perf_counter()
        try:
            result: CallResult = at_edge(await call(*args))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors += 1
            return CallResult(
                text=None, error=describe_error(exc), latency_s=time.perf_counter() - start
            )
        latency = time.perf_counter() - start
        if result.latency_s:
            return result
        return replace(result, latency_s=latency, cached=False, missing=False)

    async def run_callable(
        self,
        function: Any,
        inputs: Mapping[str, Any],
        *,
        fingerprint: str | None = None,
        repeat: int | None = None,
        label: str | None = None,
    ) -> CallResult:
        """Run a Python-callable system under the same limit, cache, retries and error handling.

        It is cached (keyed by the system's ``fingerprint``, the inputs and the ``repeat``
        index) when a fingerprint is known: given here or by the gateway's scope.
        """

        async def invoke(inputs: Mapping[str, Any]) -> CallResult:
            if asyncio.iscoroutinefunction(function):
                value = await function(dict(inputs))
            else:
                value = await asyncio.to_thread(function, dict(inputs))
            if isinstance(value, CallResult):
                return value
            return CallResult(text=value if isinstance(value, str) else str(value))

        key = None
        if (self.cache is not None or self.recordings is not None) and fingerprint:
            key = callable_key(fingerprint, inputs, repeat or 0)
        return await self._through_cache(
            key,
            lambda: self._attempts(
                lambda: invoke(inputs), model=None, tokens=0, timeout=self.timeout
            ),
            model=None,
            fingerprint=fingerprint,
            label=label,
        )


class _Scoped(Gateway):
    """A gateway as one caller sees it: its calls carry the caller's :class:`CallScope`.

    Everything else (limits, cache, counters, :attr:`~Gateway.fatal`) is the scoped gateway's:
    reading or setting an attribute here reads or sets it there.
    """

    _gateway: Gateway
    _scope: CallScope

    def __init__(self, gateway: Gateway, scope: CallScope) -> None:
        # no Gateway.__init__: the state is the scoped gateway's, reached by __getattr__
        object.__setattr__(self, "_gateway", gateway)
        object.__setattr__(self, "_scope", scope)

    def __getattr__(self, name: str) -> Any:
        if name in ("_gateway", "_scope"):  # not set yet (a copy being made)
            raise AttributeError(name)
        return getattr(self._gateway, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._gateway, name, value)

    @property
    def transport(self) -> Transport:
        return self._gateway.transport

    def scoped(
        self,
        *,
        fingerprint: str | None = None,
        repeat: int | None = None,
        label: str | None = None,
    ) -> Gateway:
        return self._gateway.scoped(fingerprint=fingerprint, repeat=repeat, label=label)

    async def complete(self, request: CallRequest) -> CallResult:
        return await self._gateway.complete(self._scope.apply(request))

    async def guarded(self, call: Any, *args: Any) -> CallResult:
        return await self._gateway.guarded(call, *args)

    async def run_callable(
        self,
        function: Any,
        inputs: Mapping[str, Any],
        *,
        fingerprint: str | None = None,
        repeat: int | None = None,
        label: str | None = None,
    ) -> CallResult:
        scope = self._scope
        return await self._gateway.run_callable(
            function,
            inputs,
            fingerprint=fingerprint or scope.fingerprint,
            repeat=repeat if repeat is not None else scope.repeat,
            label=label or scope.label,
        )


async def _with_timeout(call: Awaitable[CallResult], timeout: float | None) -> CallResult:
    if timeout is None:
        return await call
    try:
        # in this task: asyncio.wait_for would make a task per call (~10% of a call's CPU at
        # concurrency 256 against an instant server, benchmarks/bench_lean.py)
        async with asyncio.timeout(timeout):
            return await call
    except TimeoutError:
        raise CallTimeout(f"no response within {timeout:g} s (per-call timeout)") from None
