"""One generation request of the ``local/`` provider: messages and checked parameters.

Parameters are checked in the caller's thread, before anything is queued, so a bad value fails
at once with a clear message instead of after a model load. This module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from brittle._errors import ModelError
from brittle.local.logprobs import MAX_TOP_LOGPROBS, TokenLogprob

DEFAULT_MAX_TOKENS = 256

# Parameters a local model cannot honour; silently dropping them would change what a test means.
_UNSUPPORTED = {
    "tools": "tool calling",
    "functions": "function calling",
    "tool_choice": "tool calling",
    "response_format": "structured output (response_format)",
}


@dataclass(frozen=True)
class SamplingParams:
    """The parameters that must agree between requests sharing one ``generate`` call.

    ``temperature`` 0 means greedy decoding, and then ``top_p`` and ``seed`` are dropped (None)
    so that greedy requests differing only in those still share a batch.
    """

    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    @property
    def batchable(self) -> bool:
        """A seeded sample must not depend on what else is in its batch, so it runs alone."""
        return self.greedy or self.seed is None


@dataclass(frozen=True)
class RequestParams:
    """Per-request limits, honoured row by row inside a shared batch."""

    max_tokens: int = DEFAULT_MAX_TOKENS
    stop: tuple[str, ...] = ()
    sampling: SamplingParams = SamplingParams()
    #: return each token's log-probability (``logprobs: true``) and the ``top_logprobs``
    #: likeliest alternatives per position (:mod:`brittle.local.logprobs`); changes no answer
    logprobs: bool = False
    top_logprobs: int = 0


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[Mapping[str, str], ...]
    params: RequestParams


@dataclass(frozen=True)
class Completion:
    """What one request produced: text, why it ended, and token counts for ``usage``."""

    text: str
    finish_reason: Literal["stop", "length"]  # end of turn or a stop string; max_tokens
    prompt_tokens: int
    completion_tokens: int
    #: per generated token, when the request asked (``logprobs: true``), else None
    logprobs: tuple[TokenLogprob, ...] | None = None


def _bad(name: str, value: Any, expected: str) -> ModelError:
    return ModelError(
        f"local model parameter {name}={value!r} is not valid: expected {expected}\n"
        f"  fix: pass {name} as {expected}, or leave it out"
    )


def _number(params: Mapping[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(name, value, "a number")
    return float(value)


def _integer(params: Mapping[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(name, value, "an integer")
    return value


def _stop(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(item, str) for item in value):
        raise _bad("stop", value, "a string or a list of strings")
    return tuple(item for item in value if item)


def params_from_optional(optional_params: Mapping[str, Any]) -> RequestParams:
    """Turn litellm's ``optional_params`` into checked :class:`RequestParams`."""
    for name, feature in _UNSUPPORTED.items():
        if optional_params.get(name) not in (None, False, [], {}):
            raise ModelError(
                f"local models do not support {feature}, but {name} was passed\n"
                f"  fix: drop {name} from the call's parameters, or use a hosted model"
            )
    n = _integer(optional_params, "n")
    if n not in (None, 1):
        raise ModelError(
            f"local models return one choice per call, but n={n} was asked\n"
            "  fix: make n separate calls (with different seeds when sampling)"
        )
    max_tokens = _integer(optional_params, "max_tokens")
    if max_tokens is None:
        max_tokens = _integer(optional_params, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = DEFAULT_MAX_TOKENS
    if max_tokens < 1:
        raise _bad("max_tokens", max_tokens, "an integer of at least 1")
    temperature = _number(optional_params, "temperature") or 0.0
    if temperature < 0:
        raise _bad("temperature", temperature, "a number of at least 0")
    top_p = _number(optional_params, "top_p")
    if top_p is not None and not 0 < top_p <= 1:
        raise _bad("top_p", top_p, "a number above 0 and at most 1")
    seed = _integer(optional_params, "seed")
    sampling = (
        SamplingParams(temperature=temperature, top_p=top_p, seed=seed)
        if temperature > 0
        else SamplingParams()
    )
    logprobs, top = _logprobs(optional_params)
    return RequestParams(
        max_tokens=max_tokens,
        stop=_stop(optional_params.get("stop")),
        sampling=sampling,
        logprobs=logprobs,
        top_logprobs=top,
    )


def _logprobs(params: Mapping[str, Any]) -> tuple[bool, int]:
    """``logprobs`` and ``top_logprobs``, checked as OpenAI checks them."""
    asked = params.get("logprobs")
    if asked is not None and not isinstance(asked, bool):
        raise _bad("logprobs", asked, "true or false")
    top = _integer(params, "top_logprobs")
    if top is not None and not 0 <= top <= MAX_TOP_LOGPROBS:
        raise _bad("top_logprobs", top, f"an integer from 0 to {MAX_TOP_LOGPROBS}")
    if top and not asked:
        raise ModelError(
            f"top_logprobs={top} was passed without logprobs: true\n"
            "  fix: pass logprobs: true with it, or leave top_logprobs out"
        )
    return bool(asked), top or 0


def _text_of(content: Any, index: int) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                raise ModelError(
                    f"message {index}: local models read text only, but a '{kind}' part was "
                    "passed\n  fix: send the content as text"
                )
        return "".join(parts)
    raise ModelError(
        f"message {index}: content of type {type(content).__name__} is not text\n"
        "  fix: pass each message's content as a string"
    )


def normalise_messages(messages: Sequence[Any]) -> tuple[dict[str, str], ...]:
    """Plain ``{"role", "content"}`` dicts, as chat templates expect."""
    if not messages:
        raise ModelError("no messages were passed\n  fix: pass at least one user message")
    out = []
    for index, message in enumerate(messages):
        if not isinstance(message, Mapping) or "role" not in message:
            raise ModelError(
                f"message {index} is not a {{'role': ..., 'content': ...}} mapping\n"
                "  fix: pass messages in the OpenAI chat format"
            )
        out.append(
            {"role": str(message["role"]), "content": _text_of(message.get("content"), index)}
        )
    return tuple(out)
