"""The seam where a call leaves brittle: a :class:`Transport` makes one call.

:class:`LiteLLMTransport` (the default) reaches every litellm provider: hosted APIs, provider
fine-tuned ids, local OpenAI-compatible servers and brittle's in-process ``local/`` provider.
Tests and benchmarks plug in their own. litellm is imported when the first transport is made
(:func:`configure_litellm`), never when brittle is imported.
"""

from __future__ import annotations

import gc
import os
from typing import Any, Protocol

from brittle.gateway.calls import CallRequest, CallResult
from brittle.redact import SECRET_PARAMS, register, scrub_loggers


class Transport(Protocol):
    """Makes one call. Raise on failure; the gateway records the exception as an error."""

    async def complete(self, request: CallRequest) -> CallResult: ...


_litellm_ready = False


def configure_litellm() -> Any:
    """Import litellm with its offline-friendly settings, once.

    The cost map is read from the package instead of the internet, debug banners and message
    logging are off, and brittle's ``local/`` provider is registered.

    The objects that exist once litellm is imported (about 400,000, nearly all of them module
    state that lives as long as the process) are then frozen out of the garbage collector's
    reach (``gc.freeze()``): otherwise every full collection, one about every 600 calls,
    traverses them all, which costs about 0.5 ms of CPU per call, some 10% of litellm's own
    (``benchmarks/bench_overhead.py``). Frozen objects are still freed when their reference
    count drops to zero; only reference cycles among them are never collected.
    """
    global _litellm_ready
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _litellm_ready:
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.turn_off_message_logging = True
        # the local/ provider joins litellm here, when litellm itself is imported (kept out of
        # this module's imports: gateway/ depends on local/ only once a call is made)
        from brittle.local import register as register_local

        register_local()
        scrub_loggers("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "openai")
        gc.freeze()
        _litellm_ready = True
    return litellm


class LiteLLMTransport:
    """Calls ``litellm.acompletion``: hosted APIs, local servers and the ``local/`` provider."""

    def __init__(self) -> None:
        self._litellm = configure_litellm()

    async def complete(self, request: CallRequest) -> CallResult:
        params = dict(request.params)
        for name in SECRET_PARAMS.intersection(params):
            register(params[name])
        if not request.model.startswith("local/"):
            # brittle retries (counted, honouring Retry-After); the OpenAI client would
            # otherwise retry 429 and 5xx itself, unseen
            params.setdefault("max_retries", 0)
        response = await self._litellm.acompletion(
            model=request.model, messages=list(request.messages), **params
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


__all__ = ["LiteLLMTransport", "Transport", "configure_litellm"]
