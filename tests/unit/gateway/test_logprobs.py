"""Token log-probabilities at the gateway: read from a reply in OpenAI's shape, kept by the
response cache and the recordings, unknown (None) where an older entry has none."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from brittle._errors import ModelError
from brittle.gateway import CallResult
from brittle.gateway.cache import ResponseCache
from brittle.gateway.calls import KEPT_LOGPROB_TOKENS, at_edge, read_logprobs
from brittle.gateway.openai_http import parse_response
from brittle.gateway.recordings import read_recordings, write_recordings
from brittle.local.requests import params_from_optional

REPLY_LOGPROBS = {
    "content": [
        {
            "token": " positive",
            "logprob": -0.25,
            "bytes": [32, 112],
            "top_logprobs": [
                {"token": " positive", "logprob": -0.25, "bytes": None},
                {"token": " negative", "logprob": -1.75, "bytes": None},
            ],
        },
        {"token": ".", "logprob": -0.1, "bytes": [46], "top_logprobs": None},
    ],
    "refusal": None,
}
LOGPROBS = ((" positive", -0.25, ((" positive", -0.25), (" negative", -1.75))), (".", -0.1, ()))


def test_read_logprobs_from_openai_shape_and_junk() -> None:
    assert read_logprobs(REPLY_LOGPROBS) == LOGPROBS
    assert read_logprobs(None) is None
    assert read_logprobs({"content": None}) is None  # asked for, not given
    assert read_logprobs({"content": [{"token": "x", "logprob": "not a number"}]}) is None
    many = {"content": [{"token": "a", "logprob": -1.0}] * 40}
    assert len(read_logprobs(many) or ()) == KEPT_LOGPROB_TOKENS


def test_the_fast_transport_reads_them_from_a_chat_completion() -> None:
    body = {
        "choices": [{"message": {"content": " positive."}, "logprobs": REPLY_LOGPROBS}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 2},
    }
    assert parse_response(json.dumps(body).encode()).logprobs == LOGPROBS
    del body["choices"][0]["logprobs"]
    assert parse_response(json.dumps(body).encode()).logprobs is None


def test_masked_secrets_drop_the_logprobs_that_would_spell_them() -> None:
    result = at_edge(CallResult(text="ok", logprobs=LOGPROBS))
    assert result.logprobs == LOGPROBS
    key = "sk-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
    masked = at_edge(CallResult(text=f"the key is {key}", logprobs=LOGPROBS))
    assert key not in (masked.text or "") and masked.logprobs is None


def test_the_cache_keeps_them_and_old_entries_read_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as conn:  # a cache from before log-probabilities (and notes)
        conn.executescript(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO meta VALUES ('format', '1');"
            "CREATE TABLE responses (key TEXT PRIMARY KEY, text TEXT NOT NULL, prompt_tokens "
            "INTEGER, completion_tokens INTEGER, cost REAL, latency_s REAL, created REAL NOT "
            "NULL, model TEXT, fingerprint TEXT, label TEXT) WITHOUT ROWID;"
        )
        conn.execute("INSERT INTO responses (key, text, created) VALUES ('old', 'x', ?)", (1.0,))
    cache = ResponseCache(path)
    old = cache.get("old")
    assert old is not None and old.text == "x" and old.logprobs is None
    cache.put("new", CallResult(text=" positive.", logprobs=LOGPROBS))
    new = cache.get("new")
    assert new is not None and new.logprobs == LOGPROBS
    exported = tmp_path / "export.jsonl"
    cache.export(exported, ["new", "old"])
    other = ResponseCache(tmp_path / "other.sqlite")
    other.import_file(exported)
    assert (other.get("new") or CallResult(None)).logprobs == LOGPROBS
    assert (other.get("old") or CallResult(None)).logprobs is None


def test_recordings_keep_them_and_older_lines_read_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.jsonl.gz"
    write_recordings(
        path,
        "sentiment",
        {"s": {"k1": CallResult(text="a", logprobs=LOGPROBS), "k2": CallResult(text="b")}},
    )
    read = read_recordings(path)["s"]
    assert read["k1"].logprobs == LOGPROBS
    assert read["k2"].logprobs is None


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"logprobs": "yes"}, "logprobs='yes' is not valid"),
        ({"logprobs": True, "top_logprobs": 21}, "from 0 to 20"),
        ({"top_logprobs": 3}, "without logprobs: true"),
    ],
)
def test_local_requests_check_the_logprob_parameters(params: dict, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        params_from_optional(params)
    asked = params_from_optional({"logprobs": True, "top_logprobs": 5})
    assert (asked.logprobs, asked.top_logprobs) == (True, 5)
    assert params_from_optional({}).logprobs is False
