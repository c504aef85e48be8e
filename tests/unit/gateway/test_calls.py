"""The gateway's edge (brittle.gateway.calls.at_edge): secrets masked, invalid Unicode replaced
with a note, a reply without content an error that is retried and never cached."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.cache import ResponseCache
from brittle.gateway.calls import (
    EmptyResponse,
    at_edge,
    describe_error,
    load_json_body,
    message_text,
)
from brittle.gateway.retry import RETRY, RetryPolicy, classify
from brittle.redact import MASK

KEY = "edge-Key-0123456789abcdef"
REQUEST = CallRequest(model="test/model", messages=({"role": "user", "content": "hi"},))


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_TEST_API_KEY", KEY)


def test_secrets_in_text_and_error_are_masked_in_any_case() -> None:
    result = at_edge(CallResult(text=f"k={KEY.upper()} and {KEY.swapcase()}"))
    assert result.text == f"k={MASK} and {MASK}"
    assert result.notes == ("secrets masked in the output",)
    error = at_edge(CallResult(text=None, error=f"HTTP 500: echoed {KEY.lower()}"))
    assert error.error == f"HTTP 500: echoed {MASK}"
    assert describe_error(ValueError(f"bad {KEY}")) == f"ValueError: bad {MASK}"


def test_a_plain_answer_passes_unchanged() -> None:
    result = CallResult(text='{"password": "made up", "label": "positive"}', cost=0.1)
    assert at_edge(result) is result  # pairs in an answer are the answer, not a leak


def test_lone_surrogates_become_replacement_characters_with_a_note() -> None:
    result = at_edge(CallResult(text="positive \ud800 and \udfff", notes=("earlier",)))
    assert result.text == "positive \ufffd and \ufffd"
    assert result.notes == ("earlier", "2 lone surrogate(s) replaced with U+FFFD")
    assert result.text.encode("utf-8")  # writable to SQLite, parquet and every report
    assert "\ud800" not in describe_error(ValueError("bad \ud800"))


def test_undecodable_bytes_in_a_body_are_replaced_with_a_note() -> None:
    body = b'{"choices": [{"message": {"content": "positive \xff\xfe"}}]}'
    data, note = load_json_body(body)
    assert data["choices"][0]["message"]["content"] == "positive \ufffd\ufffd"
    assert note == "undecodable bytes replaced with 2 U+FFFD"
    assert load_json_body(b'{"a": "\xc3\xa9"}') == ({"a": "\u00e9"}, None)
    with pytest.raises(ValueError):
        load_json_body(b"not json \xff")


def test_message_text() -> None:
    assert message_text("positive") == "positive"
    assert message_text("") == ""  # an empty answer is an answer
    calls = [{"function": {"name": "lookup", "arguments": '{"q": 1}'}}]
    assert json.loads(message_text(None, calls)) == [{"name": "lookup", "arguments": '{"q": 1}'}]
    with pytest.raises(EmptyResponse):
        message_text(None)
    with pytest.raises(EmptyResponse):
        message_text(None, [])
    with pytest.raises(EmptyResponse):
        at_edge(CallResult(text=None))
    assert classify(EmptyResponse()) == RETRY


class NullThenAnswer:
    """Returns ``text=None`` (content null) ``nulls`` times, then an answer; counts calls."""

    def __init__(self, nulls: int) -> None:
        self.nulls = nulls
        self.attempts = 0

    async def complete(self, request: CallRequest) -> CallResult:
        self.attempts += 1
        if self.attempts <= self.nulls:
            return CallResult(text=None)
        return CallResult(text="positive \ud800")


FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01)


def _stored(path: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT text, notes FROM responses").fetchall()


def test_null_content_is_retried_and_never_cached(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    transport = NullThenAnswer(nulls=10)
    gateway = Gateway(transport, cache=ResponseCache(cache_path), retry=FAST)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.text is None
    assert result.error is not None and result.error.startswith("EmptyResponse: ")
    assert "(after 3 attempts)" in result.error
    assert transport.attempts == 3 and gateway.errors == 1 and gateway.retries == 2
    assert _stored(cache_path) == []  # never cached as ""


def test_a_retried_null_then_an_answer_is_cached_with_its_note(tmp_path: Path) -> None:
    cache_path = tmp_path / "cache.sqlite"
    transport = NullThenAnswer(nulls=1)
    gateway = Gateway(transport, cache=ResponseCache(cache_path), retry=FAST)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.text == "positive \ufffd" and result.error is None
    assert result.notes == ("1 lone surrogate(s) replaced with U+FFFD",)
    assert transport.attempts == 2
    assert _stored(cache_path) == [("positive \ufffd", "1 lone surrogate(s) replaced with U+FFFD")]
    # a second run answers from the cache: the same text and the same note, no call
    again = Gateway(transport, cache=ResponseCache(cache_path), retry=FAST)
    hit = asyncio.run(again.complete(REQUEST))
    assert (hit.text, hit.notes, hit.cached) == (result.text, result.notes, True)
    assert transport.attempts == 2


def test_a_cache_entry_older_than_a_secret_is_masked_when_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An entry recorded before the key was known (or by an older brittle) is masked on the way
    out of the cache too."""
    later = "later-Key-0123456789abcdef"
    cache = ResponseCache(tmp_path / "cache.sqlite")

    class Echo:
        async def complete(self, request: CallRequest) -> CallResult:
            return CallResult(text=f"my key: {later.upper()}")

    first = asyncio.run(Gateway(Echo(), cache=cache).complete(REQUEST))
    assert later.upper() in (first.text or "")  # not a secret yet
    monkeypatch.setenv("LATER_TOKEN", later)
    hit = asyncio.run(
        Gateway(Echo(), cache=ResponseCache(tmp_path / "cache.sqlite")).complete(REQUEST)
    )
    assert hit.cached and hit.text == f"my key: {MASK}"


def test_callables_pass_the_edge_too() -> None:
    gateway = Gateway()

    def system(inputs: dict[str, str]) -> str:
        return f"{KEY.lower()} \udc80"

    result = asyncio.run(gateway.run_callable(system, {"text": "x"}))
    assert result.text == f"{MASK} \ufffd"
    assert len(result.notes) == 2


def test_a_scope_fills_in_only_what_the_request_leaves_unset_and_keeps_every_other_field() -> None:
    from dataclasses import fields, replace

    from brittle.gateway.calls import CallScope

    request = CallRequest(
        model="openai/x",
        messages=({"role": "user", "content": "hi"},),
        params={"temperature": 0},
        transport="litellm",
    )
    scoped = CallScope(fingerprint="f", repeat=2, label="e / s / c1").apply(request)
    assert scoped == replace(request, fingerprint="f", repeat=2, label="e / s / c1")
    assert [f.name for f in fields(CallRequest)] == [
        "model",
        "messages",
        "params",
        "fingerprint",
        "repeat",
        "label",
        "transport",
    ], "a new CallRequest field: CallScope.apply must carry it"
    own = replace(request, fingerprint="own", repeat=0, label="mine")
    assert CallScope(fingerprint="f", repeat=2, label="x").apply(own) is own
