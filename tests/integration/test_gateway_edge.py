"""Hostile replies at the gateway's edge, from the stub server through both transports: a reply
with ``content: null`` is an error that is retried and never cached; a lone surrogate or invalid
UTF-8 in a reply is text with U+FFFD and a note, scored like any answer, in a run with the cache
on and off."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.cache import ResponseCache
from brittle.gateway.retry import RetryPolicy
from tests.support.stub_server import StubThread, start_in_thread

KEY = "sk-edge-0123456789abcdefXYZ"
FAST = RetryPolicy(max_retries=2, backoff=0.001, max_backoff=0.01)
TRANSPORTS = [None, "litellm"]  # None: auto (the fast OpenAI transport for openai/ models)


@pytest.fixture(scope="module")
def stub() -> object:
    with start_in_thread(latency=0.0) as server:
        yield server


def _call(stub: StubThread, gateway: Gateway, model: str, transport: str | None) -> CallResult:
    request = CallRequest(
        model=f"openai/{model}",
        messages=({"role": "user", "content": f"positive words for {transport}"},),
        params={"api_base": stub.base_url, "api_key": KEY},
        transport=transport,
    )
    return asyncio.run(gateway.complete(request))


def _cached(path: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT text, notes FROM responses").fetchall()


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_null_content_is_retried_and_never_cached(
    stub: StubThread, tmp_path: Path, transport: str | None
) -> None:
    cache = tmp_path / "cache.sqlite"
    for run in (1, 2):  # a second run calls again: nothing was cached
        before = stub.stats.requests
        gateway = Gateway(cache=ResponseCache(cache), retry=FAST)
        result = _call(stub, gateway, "null-content", transport)
        assert result.text is None, run
        assert result.error is not None
        assert result.error.startswith("EmptyResponse: the model's reply has no content")
        assert result.error.endswith("(after 3 attempts)")
        assert stub.stats.requests - before == 3  # the first attempt and two retries
        assert (gateway.retries, gateway.errors, gateway.cache_hits) == (2, 1, 0)
        assert _cached(cache) == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_null_then_an_answer_is_cached_as_the_answer(
    stub: StubThread, tmp_path: Path, transport: str | None
) -> None:
    cache = tmp_path / "cache.sqlite"
    before = stub.stats.requests
    result = _call(stub, Gateway(cache=ResponseCache(cache), retry=FAST), "null-once", transport)
    assert (result.text, result.error) == ("positive", None)
    assert stub.stats.requests - before == 2
    assert _cached(cache) == [("positive", None)]


@pytest.mark.parametrize(
    ("model", "text", "note"),
    [
        ("surrogate", "positive \ufffd", "1 lone surrogate(s) replaced with U+FFFD"),
        ("bad-bytes", "positive \ufffd\ufffd", "undecodable bytes replaced with 2 U+FFFD"),
    ],
)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_invalid_unicode_is_text_with_a_note(
    stub: StubThread, tmp_path: Path, transport: str | None, model: str, text: str, note: str
) -> None:
    cache = tmp_path / "cache.sqlite"
    before = stub.stats.requests
    result = _call(stub, Gateway(cache=ResponseCache(cache), retry=FAST), model, transport)
    assert (result.text, result.error, result.notes) == (text, None, (note,))
    assert stub.stats.requests - before == 1  # not an error, so not retried
    assert _cached(cache) == [(text, note)]
    hit = _call(stub, Gateway(cache=ResponseCache(cache), retry=FAST), model, transport)
    assert (hit.text, hit.notes, hit.cached) == (text, (note,), True)


def _project(folder: Path, base_url: str) -> None:
    """Four systems, hostile in two ways through two transports; each answers the prompt's
    first word (the expected label) and then the hostile part, so every answer passes."""
    rows = [
        {"id": f"r{i}", "text": f"{label} review {i}", "expected": label}
        for i, label in enumerate(["positive", "negative"] * 3)
    ]
    (folder / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    systems = ""
    for model in ("surrogate", "bad-bytes"):
        for transport in ("auto", "litellm"):
            systems += (
                f"  {model}-{transport}:\n"
                "    kind: prompt\n"
                f"    model: openai/{model}\n"
                f"    transport: {transport}\n"
                '    template: "{{ text }}"\n'
                f'    params: {{api_base: "{base_url}", api_key: {KEY}}}\n'
            )
    (folder / "edge.eval.yaml").write_text(
        "name: edge\ngolden: golden.jsonl\n"
        f"systems:\n{systems}"
        "checks:\n  - label: {choices: [positive, negative]}\n"
        "gates:\n  - accuracy >= 0.9\n"
    )


@pytest.mark.parametrize("cache", ["rw", "off"])
def test_a_run_scores_invalid_unicode_as_text_with_a_note(
    pytester: pytest.Pytester, stub: StubThread, cache: str
) -> None:
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    _project(pytester.path, stub.base_url)
    result = pytester.runpytest(f"--brittle-cache={cache}")
    result.assert_outcomes(passed=4)
    rows = pd.read_parquet(next(pytester.path.glob("reports/*/results.parquet")))
    assert len(rows) == 24 and rows["error"].isna().all() and rows["passed"].all()
    for model, note in (
        ("surrogate", "1 lone surrogate(s) replaced with U+FFFD"),
        ("bad-bytes", "undecodable bytes replaced with 2 U+FFFD"),
    ):
        mine = rows[rows["system"].str.startswith(model)]
        assert (mine["notes"] == note).all()
        assert mine["output"].str.contains("\ufffd").all()
    assert (pytester.path / "reports" / "latest" / "index.html").is_file()
