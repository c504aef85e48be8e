"""Response-cache keys: a function of the call alone, so a rerun asks for the same keys.

**Key**: a SHA-256 over canonical JSON of the system's fingerprint, the rendered messages, the call
parameters without credentials (:func:`brittle.redact.public_params`) and the repeat index, all
fields of the :class:`~brittle.gateway.calls.CallRequest`; for Python-callable systems, the
fingerprint and the case's inputs. Changing what goes into a key, or how it is written, makes
every stored response unreachable: bump :data:`KEY_VERSION` when that is the intent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from brittle.gateway.calls import CallRequest
from brittle.redact import known_secrets, public_params

KEY_VERSION = 1


#: one encoder for every key: ``json.dumps`` with these options builds a new one per call
#: (a fifth of a key's time; a cached rerun of 10,000 calls computes 10,000 keys)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
)


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, non-JSON values as text."""
    return _CANONICAL.encode(value)


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(payload).encode("utf-8", "surrogatepass")).hexdigest()


def request_key(request: CallRequest) -> str:
    """The cache key of a chat call (a request without a repeat index is repeat 0).

    With a fingerprint (which covers the model string as written and the model files), the model
    string actually called is left out: it may hold an absolute adapter path that differs
    between checkouts.
    """
    fingerprint = request.fingerprint or None
    payload: dict[str, Any] = {
        "v": KEY_VERSION,
        "kind": "chat",
        "fingerprint": fingerprint,
        "messages": [dict(m) for m in request.messages],
        "params": _public(request.params),
        "repeat": request.repeat or 0,
    }
    if fingerprint is None:
        payload["model"] = request.model
    return _digest(payload)


#: :func:`public_params` of a system's parameters, the same for each of its calls (25 us a call)
_public_memo: dict[tuple[Any, ...], dict[str, Any]] = {}
_SCALARS = (str, int, float, bool, type(None))


def _public(params: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`public_params`, remembered for parameters of plain values (their types part of
    the memo: ``0``, ``0.0`` and ``False`` are equal but written differently) under the same
    known secrets (which decide how a URL is masked)."""
    if not all(type(value) in _SCALARS for value in params.values()):
        return public_params(params)
    memo = (tuple((k, type(v), v) for k, v in params.items()), known_secrets())
    found = _public_memo.get(memo)
    if found is None:
        if len(_public_memo) >= 256:
            _public_memo.clear()
        found = _public_memo[memo] = public_params(params)
    return found


def callable_key(fingerprint: str, inputs: Mapping[str, Any], repeat: int = 0) -> str:
    """The cache key of a Python-callable system's run on ``inputs``."""
    return _digest(
        {
            "v": KEY_VERSION,
            "kind": "callable",
            "fingerprint": fingerprint,
            "inputs": dict(inputs),
            "repeat": repeat,
        }
    )


__all__ = ["KEY_VERSION", "callable_key", "canonical", "request_key"]
