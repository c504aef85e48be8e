"""The fast transport: OpenAI chat completions over one pooled aiohttp client, without litellm.

litellm's per-call machinery (cost calculation, logging, response objects, its openai client)
costs 3-9 ms of CPU per call and ``import litellm`` 2-4 s (``benchmarks/bench_lean.py``); on an
endpoint that speaks the OpenAI chat-completions API the call itself is one JSON POST. So for
the calls where litellm would send exactly that, brittle sends it itself:

* :func:`eligible` says which calls: a model string ``openai/NAME`` with an endpoint the user
  named (``api_base``/``base_url``, or ``OPENAI_BASE_URL``/``OPENAI_API_BASE``; without one
  litellm supplies the provider's default, so brittle names no hosted endpoint), an API key
  (``api_key`` or ``OPENAI_API_KEY``), messages of plain text, and only
  parameters whose mapping is litellm's identity for every such model (:data:`BODY_PARAMS`, plus
  ``api_base``/``base_url``, ``api_key``, ``timeout``, ``extra_headers`` and ``max_retries``).
  Model names litellm treats specially (o-series, gpt-5 and later reasoning models, audio and
  search models) and anything else go through litellm, unchanged.
* :func:`request_body` builds the JSON body as litellm 1.110 does for those calls, byte for
  byte: ``model`` (without ``openai/``), ``messages``, then the parameters that are not None in
  litellm's order, compact JSON with UTF-8 text (``tests/integration/test_openai_http.py``
  compares the two against the stub server).
* :class:`OpenAIHTTPTransport` POSTs it to ``{api_base}/chat/completions`` with one
  :class:`aiohttp.ClientSession` per event loop (closed on that loop when it shuts down), and
  reads the answer into a :class:`~brittle.gateway.calls.CallResult` as
  :class:`~brittle.gateway.transport.LiteLLMTransport` does: the content (tool calls as JSON;
  neither: :class:`~brittle.gateway.calls.EmptyResponse`), the token log-probabilities when
  the call asked (``choices[0].logprobs``), missing token counts as 0, no cost
  (priced per run from the token totals). A failed call raises
  :class:`HTTPStatusError` (with ``status_code`` and the response ``headers``, so
  :func:`brittle.gateway.retry.classify` and ``Retry-After`` work) or aiohttp's own connection
  errors and timeouts.

aiohttp rather than httpx: on 2,000 calls to the local stub a bare aiohttp loop spends about a
quarter of httpx's CPU per call (``benchmarks/bench_lean.py``, variants ``bare-aiohttp`` and
``bare-httpx``), and aiohttp is already a dependency.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import weakref
from collections.abc import AsyncIterator, Mapping
from typing import Any

from brittle.gateway.calls import (
    CallRequest,
    CallResult,
    load_json_body,
    message_text,
    read_logprobs,
)
from brittle.redact import SECRET_PARAMS, register

PREFIX = "openai/"
#: the body parameters sent as given, in the order litellm 1.110 writes them
#: (``litellm.constants.DEFAULT_CHAT_COMPLETION_PARAM_VALUES``)
BODY_PARAMS = (
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "response_format",
    "seed",
    "logprobs",
    "top_logprobs",
)
#: parameters that shape the HTTP call, not the body
CALL_PARAMS = frozenset(
    {"api_base", "base_url", "api_key", "timeout", "extra_headers", "max_retries"}
)
_KNOWN = frozenset(BODY_PARAMS) | CALL_PARAMS
#: model names litellm maps differently (max_tokens renamed, temperature dropped, ...)
_SPECIAL_MARKERS = ("gpt-5", "gpt-6", "gpt-7", "audio", "search", "realtime")
#: catalog models litellm refuses ``response_format`` for
_NO_RESPONSE_FORMAT = frozenset({"gpt-4", "gpt-3.5-turbo-16k"})
#: environment variables the openai client turns into headers or credentials of its own
_CLIENT_ENVIRONMENT = ("OPENAI_ORGANIZATION", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")
#: litellm's default request timeout, seconds (the gateway's per-attempt timeout is shorter)
DEFAULT_CLIENT_TIMEOUT_S = 600.0


def eligible(request: CallRequest) -> bool:
    """Whether litellm would send ``request`` as a plain OpenAI chat completion we can build."""
    model = request.model
    if not model.startswith(PREFIX):
        return False
    name = model[len(PREFIX) :]
    if not name or name.startswith("responses/"):
        return False
    if len(name) > 1 and name[0] == "o" and name[1].isdigit():
        return False
    if any(marker in name for marker in _SPECIAL_MARKERS):
        return False
    params = request.params
    if not _KNOWN.issuperset(params):
        return False
    if "response_format" in params and name in _NO_RESPONSE_FORMAT:
        return False
    timeout = params.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float)):
        return False
    headers = params.get("extra_headers")
    if headers is not None and not (
        isinstance(headers, Mapping) and all(isinstance(v, str) for v in headers.values())
    ):
        return False
    if _api_key(params) is None or any(os.environ.get(v) for v in _CLIENT_ENVIRONMENT):
        return False
    base = _api_base(params)
    if not isinstance(base, str) or "?" in base or not base.startswith(("http://", "https://")):
        return False
    return all(
        set(m) == {"role", "content"} and isinstance(m["content"], str) for m in request.messages
    )


class MissingAPIKey(Exception):
    """An ``openai/`` call with no key: no ``api_key`` in the system's params and no
    ``OPENAI_API_KEY`` (raised before any request, and without importing litellm)."""


def missing_key(request: CallRequest) -> MissingAPIKey | None:
    """The error for an ``openai/`` request that no key could authorise, if it is one.

    litellm would raise the same (``Missing credentials ...``) after its import, which takes
    seconds; a system with no key then stops at once (``gateway/preflight.py``). A request with
    OpenAI client settings from the environment (an organisation, a project) is left to litellm.
    """
    if not request.model.startswith(PREFIX) or _api_key(request.params) is not None:
        return None
    if any(os.environ.get(v) for v in _CLIENT_ENVIRONMENT):
        return None
    if any(name in request.params for name in ("azure_ad_token", "api_version")):
        return None
    return MissingAPIKey(
        "Missing credentials: no api_key in the system's params and OPENAI_API_KEY is not set; "
        "set OPENAI_API_KEY (or the key variable your endpoint reads), or pass params.api_key "
        "(any non-empty value for a local server that checks none)"
    )


def _api_key(params: Mapping[str, Any]) -> str | None:
    key = params.get("api_key") or os.environ.get("OPENAI_API_KEY")
    return key if isinstance(key, str) and key else None


def _api_base(params: Mapping[str, Any]) -> Any:
    """The endpoint the call names (params, then the openai client's environment variables);
    None when it names none: litellm then supplies the provider's default (brittle itself names
    no hosted endpoint, so only an endpoint the user gave is called directly)."""
    return (
        params.get("api_base")
        or params.get("base_url")
        or os.environ.get("OPENAI_BASE_URL")
        or os.environ.get("OPENAI_API_BASE")
    )


def request_body(request: CallRequest) -> bytes:
    """The JSON body litellm sends for an :func:`eligible` request."""
    body: dict[str, Any] = {
        "model": request.model[len(PREFIX) :],
        "messages": [{"role": m["role"], "content": m["content"]} for m in request.messages],
    }
    params = request.params
    for name in BODY_PARAMS:
        value = params.get(name)
        if value is not None:
            body[name] = value
    return _BODY_ENCODER.encode(body).encode("utf-8")


#: ``json.dumps(body, separators=(",", ":"), ensure_ascii=False)`` without building an encoder
#: for every call
_BODY_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def request_headers(request: CallRequest) -> dict[str, str]:
    """The headers that matter of an :func:`eligible` request (as litellm's openai client)."""
    params = request.params
    headers = {
        "Authorization": f"Bearer {_api_key(params)}",
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": "brittle",
    }
    headers.update(params.get("extra_headers") or {})
    return headers


def url_of(request: CallRequest) -> str:
    return str(_api_base(request.params)).rstrip("/") + "/chat/completions"


class HTTPStatusError(Exception):
    """The endpoint answered with an error status (``status_code``, response ``headers``)."""

    def __init__(self, status_code: int, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code
        self.headers = headers


class BadRequestError(HTTPStatusError):
    """400 and other client errors."""


class AuthenticationError(HTTPStatusError):
    """401."""


class PermissionDeniedError(HTTPStatusError):
    """403."""


class NotFoundError(HTTPStatusError):
    """404."""


class RateLimitError(HTTPStatusError):
    """429."""


class InternalServerError(HTTPStatusError):
    """5xx."""


class InvalidResponseError(Exception):
    """The endpoint answered 2xx with something that is not a chat completion."""


_BY_STATUS: dict[int, type[HTTPStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


def error_for(status: int, payload: bytes, headers: Mapping[str, str]) -> HTTPStatusError:
    """The exception for an error answer: its class by status, the provider's message."""
    text = payload.decode("utf-8", "replace").strip()
    message = text
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, Mapping):
        error = parsed.get("error", parsed)
        if isinstance(error, Mapping) and isinstance(error.get("message"), str):
            message = error["message"]
        elif isinstance(error, str):
            message = error
    kind = _BY_STATUS.get(status) or (InternalServerError if status >= 500 else BadRequestError)
    return kind(status, message[:2000] or "(no message)", headers)


def parse_response(payload: bytes) -> CallResult:
    """A chat completion's text and token counts, read as litellm reads them."""
    try:
        data, note = load_json_body(payload)  # undecodable bytes: U+FFFD and a note
        message = data["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise InvalidResponseError(
            "the endpoint's answer is not a chat completion: "
            + payload[:200].decode("utf-8", "replace")
        ) from None
    if not isinstance(message, Mapping):
        message = {}
    usage = data.get("usage") or {}
    choice = data["choices"][0]
    return CallResult(
        # content null and no tool call: EmptyResponse (retried, never cached as "")
        text=message_text(message.get("content"), message.get("tool_calls")),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        notes=(note,) if note else (),
        logprobs=read_logprobs(choice.get("logprobs") if isinstance(choice, Mapping) else None),
    )


class OpenAIHTTPTransport:
    """POSTs :func:`eligible` calls with one pooled aiohttp session per event loop.

    The session is made on the first call in a loop and closed on that loop when it shuts down
    (``asyncio.run`` closes asynchronous generators before the loop: an open one here closes the
    session), or by :meth:`aclose`.
    """

    def __init__(self) -> None:
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    async def _session(self) -> Any:
        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            import aiohttp  # a module-level import would cost every `import brittle` 0.1 s

            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300),
                skip_auto_headers=("User-Agent",),
            )
            self._sessions[loop] = session
            closer = _close_on_shutdown(session)
            await closer.__anext__()
            self._closers[loop] = closer
        return session

    async def complete(self, request: CallRequest) -> CallResult:
        params = request.params
        for name in SECRET_PARAMS.intersection(params):
            register(params[name])
        key = _api_key(params)
        if key is not None:
            register(key)
        session = await self._session()
        timeout = params.get("timeout") or DEFAULT_CLIENT_TIMEOUT_S
        async with session.post(
            url_of(request),
            data=request_body(request),
            headers=request_headers(request),
            timeout=_client_timeout(float(timeout)),
        ) as response:
            payload = await response.read()
            if response.status >= 400:
                raise error_for(response.status, payload, response.headers)
        return parse_response(payload)

    async def aclose(self) -> None:
        """Close this event loop's session (the next call opens a new one)."""
        loop = asyncio.get_running_loop()
        closer = self._closers.pop(loop, None)
        self._sessions.pop(loop, None)
        if closer is not None:
            await closer.aclose()


@functools.lru_cache(maxsize=16)
def _client_timeout(total: float) -> Any:
    """aiohttp's (frozen) timeout settings, one per value rather than one per call."""
    import aiohttp

    return aiohttp.ClientTimeout(total=total)


async def _close_on_shutdown(session: Any) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await session.close()


__all__ = [
    "BODY_PARAMS",
    "AuthenticationError",
    "HTTPStatusError",
    "InvalidResponseError",
    "OpenAIHTTPTransport",
    "RateLimitError",
    "eligible",
    "parse_response",
    "request_body",
]
