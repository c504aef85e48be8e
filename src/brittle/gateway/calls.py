"""What a model call is and what it produced: :class:`CallRequest` in, :class:`CallResult` out.

A request carries everything its response-cache key depends on (:mod:`brittle.gateway.keys`):
besides the model, messages and parameters, the calling system's ``fingerprint`` and the
``repeat`` index. Callers that know them pass them; the engine passes them for every call a
system makes on a row through a scoped gateway (:meth:`brittle.gateway.Gateway.scoped`, which
fills in a :class:`CallScope`).

**The edge** (:func:`at_edge`): every result a transport returns passes through it in the
gateway, before the response cache and before the caller sees it, so the cache, baselines,
history, reports, JUnit files and the terminal all get the same text:

* known secrets (in any letter case) and key-shaped strings are masked in the text and the error
  (:func:`brittle.redact.scrub`; the text without ``key=value`` pair masking, which could change
  an answer the model made up);
* invalid Unicode (lone surrogates such as ``"\\ud800"`` in valid JSON) is replaced by U+FFFD
  (:func:`brittle.sanitize.repair_unicode`), never an error; undecodable bytes are replaced
  where a transport decodes a body (:func:`load_json_body`);
* a reply with neither text nor an error (``"content": null`` and no tool call) raises
  :class:`EmptyResponse`: retried like a 5xx, recorded as an error, never cached as ``""``.

What was changed is said in the result's ``notes`` (the ``notes`` column of the results).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from brittle.redact import scrub
from brittle.sanitize import decode_utf8, repair_unicode

Message = Mapping[str, str]

#: one generated token's log-probability: ``(token, logprob, ((alternative, logprob), ...))``,
#: the alternatives the ``top_logprobs`` likeliest at its position (OpenAI's ``logprobs``)
TokenLogprob = tuple[str, float, tuple[tuple[str, float], ...]]
#: at most this many answer tokens' log-probabilities are kept per call (cache, recordings)
KEPT_LOGPROB_TOKENS = 16
#: decimals kept of a stored log-probability
LOGPROB_DIGITS = 5


@dataclass(frozen=True)
class CallRequest:
    """One chat completion to make: model string, messages and call parameters."""

    model: str
    messages: tuple[Message, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    #: the calling system's fingerprint, for the cache key (None: the model string is keyed)
    fingerprint: str | None = None
    #: the repeat index, for the cache key (None: not given, so 0 unless a scope says otherwise)
    repeat: int | None = None
    #: what the call is for (eval, system and row), for messages and the cache's records;
    #: not part of the key
    label: str | None = None
    #: ``"litellm"`` forces litellm; None (``auto``): the fast OpenAI transport where eligible
    #: (:mod:`brittle.gateway.openai_http`). Not part of the key: the answers are the same
    transport: str | None = None


@dataclass(frozen=True)
class CallResult:
    """What a call produced: text, or an error, with usage and timing."""

    text: str | None
    error: str | None = None
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    #: answered from the response cache (no model call)
    cached: bool = False
    #: replay mode and not in the cache: no call was made
    missing: bool = False
    #: what the gateway's edge changed in the text (invalid Unicode replaced, secrets masked)
    notes: tuple[str, ...] = ()
    #: the first :data:`KEPT_LOGPROB_TOKENS` answer tokens' log-probabilities, when the call
    #: asked for them (``logprobs: true``) and the endpoint gave them; None: unknown
    logprobs: tuple[TokenLogprob, ...] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class CallScope:
    """What a caller knows about the calls made on its behalf: set by the engine for one row.

    :meth:`apply` fills it into a request that leaves these unset, so a system need not pass
    them along (a custom :class:`~brittle.spec.systems.System` never sees them).
    """

    fingerprint: str | None = None
    repeat: int | None = None
    label: str | None = None

    def apply(self, request: CallRequest) -> CallRequest:
        """``request`` with this scope's values where it has none of its own."""
        fingerprint = request.fingerprint or self.fingerprint
        repeat = request.repeat if request.repeat is not None else self.repeat
        label = request.label or self.label
        if (fingerprint, repeat, label) == (request.fingerprint, request.repeat, request.label):
            return request
        if type(request) is not CallRequest:  # a subclass may have fields of its own
            return replace(request, fingerprint=fingerprint, repeat=repeat, label=label)
        # every field by name: dataclasses.replace looks them up each time (a third of a
        # cache hit's bookkeeping)
        return CallRequest(
            model=request.model,
            messages=request.messages,
            params=request.params,
            fingerprint=fingerprint,
            repeat=repeat,
            label=label,
            transport=request.transport,
        )


def describe_error(exc: BaseException) -> str:
    """One line naming the exception type and its message, for results tables and summaries.

    Credentials are masked (:func:`brittle.redact.scrub`), invalid Unicode replaced.
    """
    message = str(exc).strip() or repr(exc)
    return scrub(repair_unicode(f"{type(exc).__name__}: {message}")[0])


class EmptyResponse(Exception):
    """A successful reply that holds no answer: ``"content": null`` and no tool call.

    Retried like a bad gateway (its ``status_code`` is 502, which
    :func:`brittle.gateway.retry.classify` retries), then recorded as the row's error; never
    cached, so it is never scored as an empty answer.
    """

    status_code = 502

    def __init__(self, message: str = "the model's reply has no content and no tool call") -> None:
        super().__init__(message)


def message_text(content: Any, tool_calls: Any = None) -> str:
    """The text of a reply's message: its ``content``, else its tool calls as JSON (name and
    arguments of each); raises :class:`EmptyResponse` when it has neither."""
    if isinstance(content, str):
        return content
    if tool_calls:
        calls = []
        for call in tool_calls:
            function = _field(call, "function")
            calls.append(
                {"name": _field(function, "name"), "arguments": _field(function, "arguments")}
            )
        return json.dumps(calls, ensure_ascii=False)
    if content is not None:  # a list of content parts, say: kept as JSON text
        return json.dumps(content, ensure_ascii=False, default=str)
    raise EmptyResponse()


def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)


def load_json_body(raw: bytes) -> tuple[Any, str | None]:
    """A reply body parsed as JSON, with undecodable bytes replaced by U+FFFD (and a note
    saying so) instead of failing; a body that is not JSON raises ``ValueError``."""
    text, note = decode_utf8(raw)
    return json.loads(text), note


def read_logprobs(value: Any) -> tuple[TokenLogprob, ...] | None:
    """``choices[0].logprobs`` of a reply (a dict as sent, or litellm's objects) as
    :attr:`CallResult.logprobs`; None when absent or not in OpenAI's shape (never an error)."""
    content = _field(value, "content") if value is not None else None
    if not isinstance(content, list | tuple):
        return None
    out: list[TokenLogprob] = []
    try:
        for item in content[:KEPT_LOGPROB_TOKENS]:
            top = _field(item, "top_logprobs") or ()
            out.append(
                (
                    str(_field(item, "token")),
                    float(_field(item, "logprob")),
                    tuple((str(_field(t, "token")), float(_field(t, "logprob"))) for t in top),
                )
            )
    except (TypeError, ValueError):
        return None
    return tuple(out)


def logprobs_rows(logprobs: tuple[TokenLogprob, ...]) -> list[Any]:
    """:attr:`CallResult.logprobs` as compact JSON-ready lists (cache and recordings):
    ``[token, logprob, [[alternative, logprob], ...]]`` per token, log-probabilities rounded to
    :data:`LOGPROB_DIGITS` decimals (a relative error of 1e-5 on a probability)."""
    return [
        [t, round(lp, LOGPROB_DIGITS), [[a, round(b, LOGPROB_DIGITS)] for a, b in top]]
        for t, lp, top in logprobs
    ]


def logprobs_from_rows(rows: Any) -> tuple[TokenLogprob, ...] | None:
    """The inverse of :func:`logprobs_rows`; an absent (an entry written before them) or
    unreadable value is None: unknown, never an error."""
    if not isinstance(rows, list):
        return None
    try:
        return tuple(
            (str(t), float(lp), tuple((str(a), float(b)) for a, b in top)) for t, lp, top in rows
        )
    except (ValueError, TypeError):
        return None


def logprobs_json(logprobs: tuple[TokenLogprob, ...] | None) -> str | None:
    """:func:`logprobs_rows` as compact JSON text for the cache (None stays None)."""
    if logprobs is None:
        return None
    return json.dumps(logprobs_rows(logprobs), separators=(",", ":"), ensure_ascii=False)


def logprobs_from_json(text: Any) -> tuple[TokenLogprob, ...] | None:
    """:func:`logprobs_from_rows` of the cache's JSON text."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return logprobs_from_rows(json.loads(text))
    except ValueError:
        return None


def at_edge(result: CallResult) -> CallResult:
    """A transport's result as the gateway hands it on and caches it (see the module's
    docstring): secrets masked, invalid Unicode replaced, each change noted in ``notes``.

    Raises :class:`EmptyResponse` for a result with neither text nor an error.
    """
    if result.error is not None:
        error = scrub(repair_unicode(result.error)[0])
        return result if error == result.error else replace(result, error=error)
    if result.text is None:
        raise EmptyResponse()
    text, note = repair_unicode(result.text)
    notes = result.notes if note is None else (*result.notes, note)
    masked = scrub(text, pairs=False)
    logprobs = result.logprobs
    if masked != text:
        notes = (*notes, "secrets masked in the output")
        logprobs = None  # their tokens would spell the secret out
    if masked == result.text and notes == result.notes:
        return result
    return replace(result, text=masked, notes=notes, logprobs=logprobs)


__all__ = [
    "KEPT_LOGPROB_TOKENS",
    "CallRequest",
    "CallResult",
    "CallScope",
    "EmptyResponse",
    "Message",
    "TokenLogprob",
    "at_edge",
    "describe_error",
    "load_json_body",
    "logprobs_from_json",
    "logprobs_from_rows",
    "logprobs_json",
    "logprobs_rows",
    "message_text",
    "read_logprobs",
]
