"""The fast OpenAI transport against litellm: on the local stub server both send the same request,
byte for byte, and read the same result; errors are classified alike; ``transport: litellm``
and ineligible calls go through litellm; a run whose calls all take the fast transport never
imports litellm and leaves no unclosed client behind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brittle.gateway import AutoTransport, CallRequest, CallResult, Gateway, LiteLLMTransport
from brittle.gateway.keys import request_key
from brittle.gateway.openai_http import OpenAIHTTPTransport, eligible
from brittle.gateway.retry import FAIL, FATAL, RETRY, classify, retry_after
from brittle.spec.systems import PromptSystem
from tests.support import ROOT
from tests.support.stub_server import StubThread, start_in_thread

KEY = "sk-fast-0123456789abcdefXYZ"


@pytest.fixture(scope="module")
def stub() -> Iterator[StubThread]:
    with start_in_thread(latency=0.0) as server:
        yield server


def _request(stub: StubThread, model: str = "openai/stub", **params: Any) -> CallRequest:
    messages = params.pop("messages", ({"role": "user", "content": "hello there"},))
    base = {"api_base": stub.base_url, "api_key": KEY, "max_retries": 0}
    return CallRequest(model=model, messages=tuple(messages), params={**base, **params})


PARAMS: list[dict[str, Any]] = [
    {},
    {"temperature": 0},
    {"temperature": 0.7, "max_tokens": 4, "seed": 3, "top_p": 1.0, "stop": ["\n"]},
    {"response_format": {"type": "json_object"}, "max_completion_tokens": 5},
    {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "x", "schema": {"type": "object"}},
        },
        "stop": "x",
        "logit_bias": {"12": 1},
    },
    {
        "n": 1,
        "presence_penalty": 0.2,
        "frequency_penalty": 0.1,
        "logprobs": True,
        "top_logprobs": 2,
    },
    {"extra_headers": {"X-Trace": "abc"}, "timeout": 30, "temperature": None},
    {
        "messages": (
            {"role": "system", "content": "Réponds en un mot. \u2014 \u00e9\u4e2d"},
            {"role": "user", "content": '  spaced\ttext "quoted" \\ back\n'},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "emoji \U0001f600 last"},
        )
    },
]
#: the headers whose values must be equal (litellm's openai client adds its own user agent and
#: x-stainless-* headers: they carry no meaning for the endpoint)
HEADERS = ("authorization", "content-type", "accept", "x-trace")


async def _both(stub: StubThread, request: CallRequest) -> list[tuple[CallResult, dict[str, Any]]]:
    out = []
    for transport in (LiteLLMTransport(), OpenAIHTTPTransport()):
        captured: list[dict[str, Any]] = []
        stub.server.captured = captured
        try:
            result = await transport.complete(request)
        finally:
            stub.server.captured = None
        assert len(captured) == 1
        out.append((result, captured[0]))
    return out


@pytest.mark.parametrize("params", PARAMS, ids=range(len(PARAMS)))
def test_both_transports_send_the_same_request_and_read_the_same_result(
    stub: StubThread, params: dict[str, Any]
) -> None:
    request = _request(stub, **dict(params))
    assert eligible(request)
    (slow, sent_slow), (fast, sent_fast) = asyncio.run(_both(stub, request))
    assert sent_fast["body"] == sent_slow["body"]
    lower_slow = {k.lower(): v for k, v in sent_slow["headers"].items()}
    lower_fast = {k.lower(): v for k, v in sent_fast["headers"].items()}
    for name in HEADERS:
        assert lower_fast.get(name) == lower_slow.get(name), name
    assert lower_fast["authorization"] == f"Bearer {KEY}"
    assert (fast.text, fast.prompt_tokens, fast.completion_tokens) == (
        slow.text,
        slow.prompt_tokens,
        slow.completion_tokens,
    )
    assert fast.text and fast.error is None and fast.prompt_tokens


def test_the_key_from_the_environment_and_base_url(
    stub: StubThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    request = CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": "from env"},),
        params={"base_url": stub.base_url, "max_retries": 0},
    )
    assert eligible(request)
    (slow, sent_slow), (fast, sent_fast) = asyncio.run(_both(stub, request))
    assert sent_fast["body"] == sent_slow["body"]
    assert sent_fast["headers"]["Authorization"] == sent_slow["headers"]["Authorization"]
    assert fast.text == slow.text == "from"


@pytest.mark.parametrize(
    ("status", "kind", "name"),
    [
        (429, RETRY, "RateLimitError"),
        (500, RETRY, "InternalServerError"),
        (503, RETRY, "InternalServerError"),
        (401, FATAL, "AuthenticationError"),
        (400, FAIL, "BadRequestError"),
    ],
)
def test_http_errors_are_classified_as_litellm_errors_are(
    stub: StubThread, status: int, kind: str, name: str
) -> None:
    request = _request(stub, f"openai/fail-{status}")

    async def both() -> list[BaseException]:
        errors = []
        for transport in (LiteLLMTransport(), OpenAIHTTPTransport()):
            with pytest.raises(Exception) as info:
                await transport.complete(request)
            errors.append(info.value)
        return errors

    slow, fast = asyncio.run(both())
    assert classify(fast) == classify(slow) == kind
    assert type(fast).__name__ == name and getattr(fast, "status_code", None) == status
    assert f"injected failure ({status})" in str(fast)
    if status == 429:
        assert retry_after(fast) == retry_after(slow) == 0.0


def test_a_401_is_recorded_with_the_key_masked(stub: StubThread) -> None:
    gateway = Gateway(OpenAIHTTPTransport(), concurrency=1)
    result = asyncio.run(gateway.complete(_request(stub, "openai/fail-401")))
    assert result.error is not None and "401" in result.error
    assert "Incorrect API key provided" in result.error and KEY not in result.error
    assert gateway.errors == 1


def test_connection_refused_is_retried() -> None:
    request = CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": "x"},),
        params={"api_base": "http://127.0.0.1:9/v1", "api_key": KEY},
    )
    with pytest.raises(Exception) as info:
        asyncio.run(OpenAIHTTPTransport().complete(request))
    assert classify(info.value) == RETRY


def test_which_calls_take_the_fast_transport(
    stub: StubThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    for name in ("OPENAI_ORGANIZATION", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    route = AutoTransport().route
    assert route(_request(stub)) == "openai-http"
    assert route(_request(stub, "openai/meta-llama/Llama-3.1-8B-Instruct")) == "openai-http"
    for model in ("openai/o3-mini", "openai/gpt-5-mini", "openai/gpt-4o-audio-preview"):
        assert route(_request(stub, model)) == "litellm", model
    assert route(_request(stub, "local/smollm2")) == "litellm"
    assert route(_request(stub, "anthropic/claude-3-5-haiku")) == "litellm"
    assert route(_request(stub, user="u")) == "litellm"  # litellm maps it per model
    assert route(_request(stub, "openai/gpt-4", response_format={"type": "json_object"})) == (
        "litellm"
    )
    forced = CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": "x"},),
        params={"api_key": KEY},
        transport="litellm",
    )
    assert route(forced) == "litellm"
    keyless = CallRequest(
        model="openai/stub", messages=({"role": "user", "content": "x"},), params={}
    )
    assert route(keyless) == "litellm"  # litellm's own error says which key is missing
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    nowhere = CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": "x"},),
        params={"api_key": KEY},
    )
    assert route(nowhere) == "litellm"  # no endpoint named: the provider's default is litellm's
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    assert route(nowhere) == "openai-http"
    monkeypatch.delenv("OPENAI_BASE_URL")
    monkeypatch.setenv("OPENAI_ORGANIZATION", "org-1")
    assert route(_request(stub)) == "litellm"  # the openai client would send its header


def test_the_transport_changes_no_fingerprint_and_no_cache_key() -> None:
    auto = PromptSystem("p", "openai/stub", "{{ text }}", params={"temperature": 0})
    forced = PromptSystem(
        "p", "openai/stub", "{{ text }}", params={"temperature": 0}, transport="litellm"
    )
    assert auto.fingerprint() == forced.fingerprint()
    inputs = {"text": "hi"}
    assert forced.request(inputs).transport == "litellm" and auto.request(inputs).transport is None
    assert request_key(auto.request(inputs)) == request_key(forced.request(inputs))


_RUN = """
import sys, warnings
warnings.simplefilter("error", ResourceWarning)
from tests.support.stubproject import write_eval
from tests.support.stub_server import start_in_thread
import brittle.cli
from pathlib import Path
folder = Path(sys.argv[1])
with start_in_thread(latency=0.0) as stub:
    write_eval(folder, stub.base_url, cases=6, systems={"a": "openai/stub", "b": "openai/stub2"})
    code = brittle.cli.main(["run", str(folder / "stubbed.eval.yaml"), "--cache", "off",
                             "--report-dir", str(folder / "reports")])
    requests = stub.stats.requests
import gc; gc.collect()
heavy = sorted(m for m in ("litellm", "openai", "deepeval", "torch") if m in sys.modules)
print("RESULT", code, requests, heavy)
"""


def test_a_run_on_openai_endpoints_never_imports_litellm(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "OPENAI_API_KEY": KEY, "PYTHONPATH": str(ROOT / "src")}
    env.pop("BRITTLE_CACHE", None)
    done = subprocess.run(
        [sys.executable, "-X", "dev", "-c", textwrap.dedent(_RUN), str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "RESULT 0 24 []" in done.stdout, done.stdout + done.stderr
    noise = [
        line
        for line in done.stderr.splitlines()
        if "Unclosed" in line or "Event loop is closed" in line or "ResourceWarning" in line
    ]
    assert not noise, done.stderr
