"""The seam where a call leaves brittle: a :class:`Transport` makes one call.

:class:`AutoTransport` (the gateway's default) sends each call where it is cheapest with the same
answer: calls that litellm would send as a plain OpenAI chat completion (``openai/...`` models,
see :func:`brittle.gateway.openai_http.eligible`) go straight to the endpoint over one pooled
aiohttp client (:class:`~brittle.gateway.openai_http.OpenAIHTTPTransport`); every other call,
and every call of a system with ``transport: litellm``, goes through :class:`LiteLLMTransport`,
which reaches every litellm provider: hosted APIs, provider fine-tuned ids and brittle's
in-process ``local/`` provider. Tests and benchmarks plug in their own. litellm is imported when
the first call needs it (:func:`configure_litellm`), never when brittle is imported, and never
in a run whose calls all take the fast transport.
"""

from __future__ import annotations

import gc
import os
import warnings
from typing import Any, Protocol

from brittle._startup import startup_cost
from brittle.gateway.calls import (
    CallRequest,
    CallResult,
    load_json_body,
    message_text,
    read_logprobs,
)
from brittle.gateway.openai_http import OpenAIHTTPTransport, eligible, missing_key
from brittle.redact import SECRET_PARAMS, register, scrub_loggers


class Transport(Protocol):
    """Makes one call. Raise on failure; the gateway records the exception as an error."""

    async def complete(self, request: CallRequest) -> CallResult: ...


_litellm_ready = False

#: warnings that brittle's use of litellm causes and a user cannot act on, as (message regex,
#: category, module regex of the line that warns): pydantic, building schemas for litellm's
#: TypedDicts at the first call litellm answers, warns 13 times that their ``ReadOnly`` items
#: are not protected; litellm's own deprecation notices concern its internals
LIBRARY_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    (
        r"Items? '.*' on TypedDict class '.*' (is|are) using the `ReadOnly` qualifier",
        UserWarning,
        r"pydantic\._internal\._generate_schema$",
    ),
    ("", DeprecationWarning, r"litellm(\.|$)"),
)


def filter_library_warnings() -> None:
    """Ignore :data:`LIBRARY_WARNINGS` from here on (each filter once, however often called).

    :func:`configure_litellm` calls it for the command line; the pytest plugin calls it before
    each gate runs, since pytest restores the warning filters after every test."""
    for message, category, module in LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


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
    filter_library_warnings()
    with startup_cost():  # seconds, once: shown apart from the first system's time
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
        try:
            response = await self._litellm.acompletion(
                model=request.model, messages=list(request.messages), **params
            )
        except Exception as exc:
            recovered = _undecodable_reply(exc)
            if recovered is None:
                raise
            return recovered
        choice = response.choices[0]
        text = message_text(choice.message.content, getattr(choice.message, "tool_calls", None))
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
            logprobs=read_logprobs(getattr(choice, "logprobs", None)),
        )


def _undecodable_reply(exc: BaseException) -> CallResult | None:
    """The answer in a reply body that is not valid UTF-8, read with those bytes replaced by
    U+FFFD (and a note), when that is why the call failed; else None.

    The OpenAI client decodes a body with ``json.loads``, whose ``UnicodeDecodeError`` keeps
    the whole body (``.object``); litellm raises it as a 500 wrapped around it.
    """
    link: BaseException | None = exc
    for _ in range(8):
        if link is None:
            return None
        if isinstance(link, UnicodeDecodeError) and isinstance(link.object, bytes):
            break
        link = link.__cause__ or link.__context__
    else:
        return None
    assert isinstance(link, UnicodeDecodeError)
    try:
        data, note = load_json_body(bytes(link.object))
        message = data["choices"][0]["message"]
        usage = data.get("usage") or {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return CallResult(
        text=message_text(message.get("content"), message.get("tool_calls")),
        prompt_tokens=usage.get("prompt_tokens"),
        completion_tokens=usage.get("completion_tokens"),
        notes=(note,) if note else (),
    )


#: the values of a system's ``transport`` key
TRANSPORTS = ("auto", "litellm")


class AutoTransport:
    """The fast OpenAI transport where :func:`~brittle.gateway.openai_http.eligible`, else litellm.

    A request whose ``transport`` is ``"litellm"`` always goes through litellm. Both transports
    are made on first use, so a run that needs only one never loads the other.
    """

    def __init__(self) -> None:
        self._fast: OpenAIHTTPTransport | None = None
        self._litellm: LiteLLMTransport | None = None

    def route(self, request: CallRequest) -> str:
        """``"openai-http"`` or ``"litellm"``: which transport makes ``request``."""
        if request.transport != "litellm" and eligible(request):
            return "openai-http"
        return "litellm"

    async def complete(self, request: CallRequest) -> CallResult:
        if self.route(request) == "openai-http":
            if self._fast is None:
                self._fast = OpenAIHTTPTransport()
            return await self._fast.complete(request)
        missing = missing_key(request)
        if missing is not None:
            raise missing
        if self._litellm is None:
            self._litellm = LiteLLMTransport()
        return await self._litellm.complete(request)

    async def aclose(self) -> None:
        """Close the fast transport's client on this event loop."""
        if self._fast is not None:
            await self._fast.aclose()


__all__ = ["TRANSPORTS", "AutoTransport", "LiteLLMTransport", "Transport", "configure_litellm"]
