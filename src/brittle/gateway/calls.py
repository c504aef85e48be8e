"""What a model call is and what it produced: :class:`CallRequest` in, :class:`CallResult` out.

A request carries everything its response-cache key depends on (:mod:`brittle.gateway.keys`):
besides the model, messages and parameters, the calling system's ``fingerprint`` and the
``repeat`` index. Callers that know them pass them; the engine passes them for every call a
system makes on a row through a scoped gateway (:meth:`brittle.gateway.Gateway.scoped`, which
fills in a :class:`CallScope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from brittle.redact import scrub

Message = Mapping[str, str]


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
        return replace(request, fingerprint=fingerprint, repeat=repeat, label=label)


def describe_error(exc: BaseException) -> str:
    """One line naming the exception type and its message, for results tables and summaries.

    Credentials are masked (:func:`brittle.redact.scrub`).
    """
    message = str(exc).strip() or repr(exc)
    return scrub(f"{type(exc).__name__}: {message}")


__all__ = ["CallRequest", "CallResult", "CallScope", "Message", "describe_error"]
