"""The one gateway every model call goes through.

A :class:`Gateway` owns the concurrency limit and turns every failure into a recorded error, so
an error is never scored as a wrong answer. The actual call is made by a :class:`Transport`, the
single seam of this module: :class:`LiteLLMTransport` (the default) reaches every litellm provider,
hosted APIs, provider fine-tuned ids, local OpenAI-compatible servers and brittle's in-process
``local/`` provider; tests and benchmarks plug in their own. Caching, retries and rate limits
belong here too, wrapped around the transport.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

Message = Mapping[str, str]


@dataclass(frozen=True)
class CallRequest:
    """One chat completion to make: model string, messages and call parameters."""

    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallResult:
    """What a call produced: text, or an error, with usage and timing."""

    text: str | None
    error: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Transport(Protocol):
    """Makes one call. Raise on failure; the gateway records the exception as an error."""

    async def complete(self, request: CallRequest) -> CallResult: ...


_litellm_ready = False


def configure_litellm() -> Any:
    """Import litellm with its offline-friendly settings, once.

    The cost map is read from the package instead of the internet, debug banners and message
    logging are off, and brittle's ``local/`` provider is registered.
    """
    global _litellm_ready
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _litellm_ready:
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.turn_off_message_logging = True
        from brittle.local import register

        register()
        _litellm_ready = True
    return litellm


class LiteLLMTransport:
    """Calls ``litellm.acompletion``: hosted APIs, local servers and the ``local/`` provider."""

    def __init__(self) -> None:
        self._litellm = configure_litellm()

    async def complete(self, request: CallRequest) -> CallResult:
        response = await self._litellm.acompletion(
            model=request.model, messages=list(request.messages), **request.params
        )
        choice = response.choices[0]
        text = choice.message.content or ""
        usage = getattr(response, "usage", None)
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        if cost is None and request.model.startswith("local/"):
            cost = 0.0
        return CallResult(
            text=text,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
            cost=cost,
        )


def describe_error(exc: BaseException) -> str:
    """One line naming the exception type and its message, for results tables and summaries."""
    message = str(exc).strip() or repr(exc)
    return f"{type(exc).__name__}: {message}"


class Gateway:
    """Limits concurrency and records failures; every model call in brittle goes through here."""

    def __init__(self, transport: Transport | None = None, *, concurrency: int = 16) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._transport = transport
        self.concurrency = concurrency
        self._semaphore: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.calls = 0
        self.errors = 0

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = LiteLLMTransport()
        return self._transport

    def _limit(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._semaphore is None or self._loop is not loop:
            self._semaphore = asyncio.Semaphore(self.concurrency)
            self._loop = loop
        return self._semaphore

    async def complete(self, request: CallRequest) -> CallResult:
        """Make the call; never raises for a failed call (except cancellation)."""
        async with self._limit():
            return await self.guarded(self.transport.complete, request)

    async def guarded(self, call: Any, *args: Any) -> CallResult:
        """Run ``await call(*args)``, timing it and turning an exception into an error result."""
        self.calls += 1
        start = time.perf_counter()
        try:
            result: CallResult = await call(*args)
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
        return CallResult(
            text=result.text,
            error=result.error,
            latency_s=latency,
            prompt_tokens=result.prompt_tokens,
            completion_tokens=result.completion_tokens,
            cost=result.cost,
        )

    async def run_callable(self, function: Any, inputs: Mapping[str, Any]) -> CallResult:
        """Run a Python-callable system under the same limit and error handling."""

        async def invoke(inputs: Mapping[str, Any]) -> CallResult:
            if asyncio.iscoroutinefunction(function):
                value = await function(dict(inputs))
            else:
                value = await asyncio.to_thread(function, dict(inputs))
            if isinstance(value, CallResult):
                return value
            return CallResult(text=value if isinstance(value, str) else str(value))

        async with self._limit():
            return await self.guarded(invoke, inputs)
