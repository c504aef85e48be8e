"""Preflight (issue 14, acceptance 3): a failure no retry gets past (credentials refused, a
missing key, an unknown model, a refused connection, a failed name look-up) stops its system at
the first call, within 2 s, with one line naming the system, model, endpoint and cause, and no
retries counted at the server; the eval's other systems still run and report.

The endpoints are real: the stub server (``openai/fail-401``, ``openai/fail-404``,
``openai/stub``), a closed port, and litellm with no key set.
"""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from brittle.gateway import CallRequest, CallResult, Gateway, configure_litellm
from brittle.gateway.preflight import Endpoint, endpoint_of
from brittle.gateway.retry import (
    AUTHENTICATION,
    DNS,
    FAIL,
    MISSING_KEY,
    REFUSED,
    RETRY,
    STOP,
    UNKNOWN_MODEL,
    RetryPolicy,
    cause,
    classify,
)
from brittle.options import Options
from brittle.report.terminal import summary_lines
from brittle.run.session import BrittleSession
from brittle.run.verdicts import check_gate
from brittle.spec.eval import load_eval_file
from tests.support.sessions import finish
from tests.support.stubproject import FAKE_KEY, brittle, env, golden_rows, start_in_thread

#: retries an eval allows: any retry of a stopped system would cost it more than 2 s
RETRIES = "retries: {max: 4, backoff: 1.0, max_backoff: 2.0}\n"
GOOD_KEY = "sk-good-0123456789abcdefGHIJ"


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _eval(folder: Path, systems: dict[str, tuple[str, str, str | None]], cases: int = 20) -> Path:
    """An eval whose systems are ``name: (model, api_base, api_key or None)``, each case with
    one typo variant (``2 x cases`` calls per system); the stub answers the expected label."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "golden.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in golden_rows(cases))
    )
    (folder / "typos.yaml").write_text(
        "name: typos\nversion: 1\nseed: 7\nperturbations:\n"
        "  - family: typo\n    n: 1\n    params: {rate: 0.1}\n"
    )
    text = "name: pre\ngolden: golden.jsonl\nperturb_fields: [text]\nsystems:\n"
    for name, (model, base, key) in systems.items():
        params = f'api_base: "{base}", temperature: 0' + (f", api_key: {key}" if key else "")
        text += (
            f"  {name}:\n    kind: prompt\n    model: {model}\n"
            '    template: "{{ hint }} is what I think of {{ text }}"\n'
            f"    params: {{{params}}}\n"
        )
    text += (
        "checks:\n  - label: {choices: [positive, negative]}\nsuites: [typos.yaml]\n"
        "gates:\n  - accuracy >= 0.9\nconcurrency: 8\n" + RETRIES
    )
    path = folder / "pre.eval.yaml"
    path.write_text(text)
    return path


def _session(tmp_path: Path) -> BrittleSession:
    return BrittleSession(
        Options(report_dir=tmp_path / "reports", history="off", cache="off", progress=False)
    )


# ----------------------------------------------------------------------------- end to end


@pytest.mark.parametrize("failure", ["auth", "unknown-model", "refused", "missing-key"])
def test_a_failure_no_retry_gets_past_stops_its_system_at_once(
    failure: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_litellm()
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(latency=0.0) as stub:
        bad: tuple[str, str, str | None] = {
            "auth": ("openai/fail-401", stub.base_url, None),
            "unknown-model": ("openai/fail-404", stub.base_url, None),
            "refused": ("openai/stub", f"http://127.0.0.1:{_closed_port()}/v1", None),
            "missing-key": ("openai/stub", stub.base_url, None),
        }[failure]
        if failure == "missing-key":
            monkeypatch.delenv("OPENAI_API_KEY")
        path = _eval(tmp_path, {"bad": bad, "good": ("openai/stub", stub.base_url, GOOD_KEY)})
        spec = load_eval_file(path)
        session = _session(tmp_path)
        verdict = check_gate(session, spec, "bad", spec.gates[0])
        good = check_gate(session, spec, "good", spec.gates[0])
        finish(session)
        detail = stub.detail()
    gateway = session.state(spec).gateway
    assert gateway is not None and gateway.retries == 0 and gateway.fatal is None
    run = session.state(spec).run.systems["bad"]
    assert run.wall_s < 2.0, f"stopped after {run.wall_s:.2f} s"
    # at the server: the first call only (none when no request could be sent), no retry; the
    # good system's 40 calls all answered
    sent = 1 if failure in ("auth", "unknown-model") else 0
    assert detail["failures"] == sent
    assert detail["requests"] == sent + 40 and detail["successes"] == 40
    # every row an error with the cause; none scored
    errors = set(run.columns["error"])
    assert len(errors) == 1 and run.columns["passed"] == [None] * 40
    phrase = {
        "auth": AUTHENTICATION,
        "unknown-model": UNKNOWN_MODEL,
        "refused": REFUSED,
        "missing-key": MISSING_KEY,
    }[failure]
    assert run.stopped is not None
    assert run.stopped.startswith(f"stopped system 'bad': {bad[0]} at {bad[1]}: {phrase} (")
    assert "fix: " in run.stopped and "none retried" in run.stopped
    assert phrase in errors.pop()
    assert verdict.passed is False and phrase in verdict.message
    # the terminal: one line for the stopped system, and no key anywhere
    lines = summary_lines(session)
    assert [line.strip() for line in lines if "stopped system" in line] == [run.stopped]
    assert FAKE_KEY not in "\n".join(lines) and GOOD_KEY not in "\n".join(lines)
    # the rest of the eval ran and reported
    assert good.passed is True
    latest = tmp_path / "reports" / "latest"
    record = json.loads((latest / "run.json").read_text())
    assert set(record["evals"][0]["systems"]) == {"bad", "good"}
    assert record["evals"][0]["systems"]["bad"]["stopped"] == run.stopped
    summary = json.loads((latest / "summary.json").read_text())
    stopped = {s["name"]: s["stopped"] for s in summary["evals"][0]["systems"]}
    assert stopped == {"bad": run.stopped, "good": None}


def test_one_probe_per_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two systems on one unknown model: one request in all, both stopped; a third system on
    another endpoint is probed and runs."""
    configure_litellm()
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(latency=0.0) as stub:
        base = stub.base_url
        path = _eval(
            tmp_path,
            {
                "a": ("openai/fail-404", base, None),
                "b": ("openai/fail-404", base, None),
                "c": ("openai/stub", base, None),
            },
        )
        spec = load_eval_file(path)
        session = _session(tmp_path)
        for name in ("a", "b", "c"):
            session.run_system(spec, name)
        detail = stub.detail()
    runs = session.state(spec).run.systems
    assert detail["failures"] == 1 and detail["successes"] == 40
    assert runs["a"].stopped and runs["b"].stopped and runs["c"].stopped is None
    assert "stopped system 'b': openai/fail-404" in (runs["b"].stopped or "")


def test_brittle_run_names_the_cause_and_exits_non_zero(tmp_path: Path) -> None:
    """``brittle run`` in a child process: refused connection and a missing key."""
    refused = f"http://127.0.0.1:{_closed_port()}/v1"
    with start_in_thread(latency=0.0) as stub:
        _eval(
            tmp_path,
            {
                "down": ("openai/stub", refused, GOOD_KEY),
                "keyless": ("openai/stub", stub.base_url, None),
                "good": ("openai/stub", stub.base_url, GOOD_KEY),
            },
        )
        child_env = env()
        child_env.pop("OPENAI_API_KEY")
        process = brittle("run", "pre.eval.yaml", cwd=tmp_path, env=child_env)
        out, err = process.communicate(timeout=120)
        detail = stub.detail()
    assert process.returncode == 1, out + err
    stopped = [line.strip() for line in out.splitlines() if "stopped system" in line]
    assert len(stopped) == 2, out
    assert stopped[0].startswith(f"stopped system 'down': openai/stub at {refused}: {REFUSED} (")
    assert stopped[1].startswith(f"stopped system 'keyless': openai/stub at {stub.base_url}: ")
    assert MISSING_KEY in stopped[1]
    assert detail["failures"] == 0 and detail["successes"] == 40  # only 'good' reached it
    assert "Traceback" not in out + err and GOOD_KEY not in out + err
    assert "[passed] accuracy >= 0.9" in out  # the good system still ran and passed


def test_the_pytest_plugin_names_the_cause(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    configure_litellm()
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as stub:
        _eval(
            pytester.path,
            {
                "ghost": ("openai/fail-404", stub.base_url, None),
                "good": ("openai/stub", stub.base_url, None),
            },
        )
        result = pytester.runpytest()
        detail = stub.detail()
    out = result.stdout.str()
    result.assert_outcomes(failed=1, passed=1)
    assert f"stopped system 'ghost': openai/fail-404 at {stub.base_url}: {UNKNOWN_MODEL}" in out
    assert detail["failures"] == 1
    assert "Traceback" not in out


# ----------------------------------------------------------------------------- the gateway


class Scripted:
    """Raises the scripted exceptions in turn (None: answers); counts attempts."""

    def __init__(self, *script: BaseException | None) -> None:
        self.script = list(script)
        self.attempts = 0

    async def complete(self, request: CallRequest) -> CallResult:
        self.attempts += 1
        await asyncio.sleep(0.001)
        failure = self.script.pop(0) if self.script else None
        if failure is not None:
            raise failure
        return CallResult(text="ok")


REQUEST = CallRequest(
    model="openai/m",
    messages=({"role": "user", "content": "hi"},),
    params={"api_base": "http://user:pw@host.example:8000/v1", "api_key": "sk-param-1234567890ab"},
)
FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.01)


def _dns_error() -> BaseException:
    import aiohttp
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("nowhere.invalid", 80, False, True, None, None, None)
    return aiohttp.ClientConnectorDNSError(key, socket.gaierror(-2, "Name or service not known"))


def test_a_dns_failure_at_the_first_call_stops_the_endpoint() -> None:
    transport = Scripted(_dns_error())
    gateway = Gateway(transport, retry=FAST, concurrency=4)

    async def run() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(30)))

    results = asyncio.run(run())
    assert transport.attempts == 1 and gateway.retries == 0
    (error,) = {r.error for r in results}
    assert error is not None and DNS in error
    assert "host.example:8000" in error and "pw@" not in error  # credentials stripped
    assert "sk-param" not in error


def test_after_an_answer_a_refused_connection_is_retried() -> None:
    """A replica restarting: once the endpoint has answered, refused connections are retried."""
    transport = Scripted(None, ConnectionRefusedError(111, "Connection refused"), None)
    gateway = Gateway(transport, retry=FAST, concurrency=1)
    first = asyncio.run(gateway.complete(REQUEST))
    second = asyncio.run(gateway.complete(REQUEST))
    assert (first.text, second.text) == ("ok", "ok")
    assert gateway.retries == 1 and not gateway.preflight.stops


def test_a_retryable_first_call_is_retried_and_opens_the_endpoint() -> None:
    """A 503 or a timeout at the first call is retried as before; the other calls then go."""

    class Unavailable(Exception):
        status_code = 503

    transport = Scripted(Unavailable("busy"), Unavailable("busy"))
    gateway = Gateway(transport, retry=FAST, concurrency=4)

    async def run() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(10)))

    results = asyncio.run(run())
    assert [r.text for r in results] == ["ok"] * 10
    assert gateway.retries == 2 and not gateway.preflight.stops


def test_local_models_and_callables_are_not_probed() -> None:
    assert endpoint_of(CallRequest(model="local/smollm2", messages=())) is None
    described = endpoint_of(REQUEST)
    assert isinstance(described, Endpoint)
    assert described.describe() == "openai/m at http://host.example:8000/v1"
    other_key = CallRequest(REQUEST.model, REQUEST.messages, {**REQUEST.params, "api_key": "x"})
    assert endpoint_of(other_key) != described  # another key: probed on its own


# ----------------------------------------------------------------------------- classification


def _raised(model: str, base: str, key: str | None, monkeypatch: pytest.MonkeyPatch) -> Any:
    litellm = configure_litellm()
    if key is None:
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", key)

    async def call() -> None:
        await litellm.acompletion(
            model=model, messages=[{"role": "user", "content": "hi"}], api_base=base, max_retries=0
        )

    with pytest.raises(Exception) as caught:
        asyncio.run(call())
    return caught.value


def test_litellm_failures_are_told_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}/v1"
    with start_in_thread(latency=0.0) as stub:
        base = stub.base_url
        found = {
            "401": _raised("openai/fail-401", base, FAKE_KEY, monkeypatch),
            "404": _raised("openai/fail-404", base, FAKE_KEY, monkeypatch),
            "503": _raised("openai/fail-503", base, FAKE_KEY, monkeypatch),
            "no provider": _raised("nosuchprovider/x", base, FAKE_KEY, monkeypatch),
            "refused": _raised("openai/stub", closed, FAKE_KEY, monkeypatch),
            "no key": _raised("openai/stub", base, None, monkeypatch),
        }
    causes = {name: cause(exc) for name, exc in found.items()}
    assert causes == {
        "401": AUTHENTICATION,
        "404": UNKNOWN_MODEL,
        "503": None,
        "no provider": UNKNOWN_MODEL,
        "refused": REFUSED,
        "no key": MISSING_KEY,
    }
    # litellm reports both a refused connection and a missing key as a 500
    assert type(found["refused"]).__name__ == type(found["no key"]).__name__
    assert classify(found["no key"]) == FAIL  # never retried, first call or not
    assert classify(found["refused"]) == RETRY  # mid-run: a replica restarting
    assert classify(found["refused"], first_contact=True) == STOP
    assert classify(found["503"], first_contact=True) == RETRY


def test_aiohttp_failures_are_told_apart() -> None:
    """The fast transport raises aiohttp's own connection errors."""
    import aiohttp
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connect call failed"))
    reset = aiohttp.ServerDisconnectedError()
    assert (cause(refused), cause(_dns_error()), cause(reset)) == (REFUSED, DNS, None)
    assert classify(refused) == RETRY and classify(refused, first_contact=True) == STOP
    assert classify(reset, first_contact=True) == RETRY
