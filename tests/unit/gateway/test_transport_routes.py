"""gateway/transport.AutoTransport: a keyless ``openai/`` call fails at once, without litellm."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from brittle.gateway import retry
from brittle.gateway.calls import CallRequest
from brittle.gateway.openai_http import MissingAPIKey, missing_key
from brittle.gateway.transport import AutoTransport

MESSAGES = ({"role": "user", "content": "hi"},)


def test_a_keyless_openai_call_is_a_missing_key_without_litellm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    transport = AutoTransport()
    request = CallRequest("openai/gpt-4o-mini", MESSAGES, {"api_base": "http://127.0.0.1:9/v1"})
    with pytest.raises(MissingAPIKey) as raised:
        asyncio.run(transport.complete(request))
    assert transport._litellm is None  # litellm's transport (and its import) never made
    assert retry.cause(raised.value) == retry.MISSING_KEY
    assert retry.classify(raised.value) == retry.FAIL  # never retried
    assert retry.classify(raised.value, first_contact=True) == retry.STOP


def test_only_keyless_openai_calls_are_short_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert missing_key(CallRequest("openai/x", MESSAGES)) is not None
    assert missing_key(CallRequest("openai/x", MESSAGES, {"api_key": "sk-local"})) is None
    assert missing_key(CallRequest("anthropic/claude", MESSAGES)) is None  # litellm decides
    assert missing_key(CallRequest("local/smollm2", MESSAGES)) is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    assert missing_key(CallRequest("openai/x", MESSAGES)) is None


def test_a_keyless_system_stops_without_importing_litellm(tmp_path: object) -> None:
    """End to end in a fresh interpreter: the stopped system's error names the missing key and
    litellm is never imported (its import alone takes seconds)."""
    code = """
import asyncio, os, sys
os.environ.pop("OPENAI_API_KEY", None)
from brittle.gateway import Gateway, CallRequest
gateway = Gateway()
request = CallRequest("openai/gpt-4o-mini", ({"role": "user", "content": "hi"},),
                      {"api_base": "http://127.0.0.1:9/v1"})
result = asyncio.run(gateway.complete(request))
print(result.error)
print("litellm" in sys.modules)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    lines = done.stdout.strip().splitlines()
    assert done.returncode == 0, done.stderr
    assert "Missing credentials" in lines[-2], done.stdout
    assert lines[-1] == "False", done.stdout
