"""Cache keys: remembering a system's public parameters changes no key."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from brittle import redact
from brittle.gateway import keys
from brittle.gateway.calls import CallRequest


def _unremembered(request: CallRequest, errors: str = "strict") -> str:
    """The key as written out in keys.py's docstring, public_params computed afresh (texts
    encoded with ``errors``: ``surrogatepass`` for lone surrogates)."""
    payload: dict[str, Any] = {
        "v": keys.KEY_VERSION,
        "kind": "chat",
        "fingerprint": request.fingerprint,
        "messages": [dict(m) for m in request.messages],
        "params": redact.public_params(request.params),
        "repeat": request.repeat or 0,
    }
    if request.fingerprint is None:
        payload["model"] = request.model
    return hashlib.sha256(keys.canonical(payload).encode("utf-8", errors)).hexdigest()


@pytest.mark.parametrize(
    "params",
    [
        {"temperature": 0},
        {"temperature": 0.0},
        {"temperature": False},
        {"temperature": 1, "seed": 1},
        {"temperature": 1.0, "seed": True},
        {"api_base": "http://user:pw-long-enough-1234@127.0.0.1:9/v1", "api_key": "sk-abcdefgh"},
        {"stop": ["a", "b"], "extra_headers": {"X-Key": "secret-value-123"}},
        {},
    ],
)
def test_keys_equal_freshly_computed_ones(params: dict[str, Any]) -> None:
    request = CallRequest(
        model="openai/x",
        messages=({"role": "user", "content": "hi"},),
        params=params,
        fingerprint="f",
    )
    for _ in range(2):  # the second time from the memo
        assert keys.request_key(request) == _unremembered(request)


def test_equal_values_of_other_types_give_other_keys() -> None:
    def key(value: Any) -> str:
        request = CallRequest(model="openai/x", messages=(), params={"temperature": value})
        return keys.request_key(request)

    assert len({key(0), key(0.0), key(False)}) == 3


def test_a_newly_known_secret_is_masked_in_remembered_params(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "http://127.0.0.1:9/v1?tenant=abcdefgh12345"
    request = CallRequest(model="openai/x", messages=(), params={"api_base": url})
    before = keys.request_key(request)
    monkeypatch.setattr(redact, "_registered", {"abcdefgh12345"})
    assert keys.request_key(request) == _unremembered(request) != before


@pytest.mark.parametrize(
    "request_",
    [
        CallRequest(model="openai/x", messages=({"role": "user", "content": "hi"},)),
        CallRequest(
            model="local/m+adapters/a",
            messages=(
                {"role": "system", "content": 'Sé brève \u2014 "quoted" \\ back'},
                {"role": "user", "content": "lone \ud800 surrogate", "name": "u"},
            ),
            params={"temperature": 0.7, "stop": ["\n"], "logprobs": True},
            fingerprint="abc123",
            repeat=3,
        ),
        CallRequest(
            model="openai/x",
            messages=(),
            params={"response_format": {"type": "json_object"}, "seed": None},
            repeat=0,
        ),
        CallRequest(model="openai/x", messages=({"role": "user", "content": "x"},), repeat=True),
    ],
)
def test_keys_written_piece_by_piece_equal_the_whole_payloads(request_: CallRequest) -> None:
    for _ in range(2):  # the second time from the memo
        assert keys.request_key(request_) == _unremembered(request_, "surrogatepass")
