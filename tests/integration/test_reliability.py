"""Provider faults never become wrong answers or lost work: retries, timeouts, rate limits,
authentication failures, resuming a killed run, progress, and no credential in any artifact."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from brittle._errors import AuthenticationFailed, ConfigError
from brittle.gateway import CallRequest, CallResult, Gateway, configure_litellm
from brittle.gateway.ratelimit import RateLimit
from brittle.gateway.retry import FAIL, FATAL, RETRY, RetryPolicy, classify, retry_after
from brittle.gateway.settings import parse_rate_limits, parse_retries, parse_timeout
from brittle.report.terminal import summary_lines
from brittle.run.progress import Progress, enabled
from brittle.run.session import BrittleSession, Options
from brittle.run.verdicts import check_gate
from brittle.spec.eval import load_eval_file
from tests.support.sessions import finish
from tests.support.stubproject import (
    FAKE_KEY,
    add_preamble_suite,
    brittle,
    start_in_thread,
    write_eval,
)

REQUEST = CallRequest(model="test/model", messages=({"role": "user", "content": "hi"},))


class StatusError(Exception):
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.headers = headers


class RateLimitError(Exception):  # named like litellm's, without a status
    pass


class ScriptedTransport:
    """Raises the scripted exceptions in turn, then answers; counts attempts."""

    def __init__(self, *failures: BaseException, delay: float = 0.0) -> None:
        self.failures = list(failures)
        self.attempts = 0
        self.delay = delay

    async def complete(self, request: CallRequest) -> CallResult:
        self.attempts += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)
        return CallResult(text="ok", prompt_tokens=10, completion_tokens=2)


FAST = RetryPolicy(max_retries=3, backoff=0.001, max_backoff=0.01)


# ----------------------------------------------------------------------------- classification


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (StatusError(429), RETRY),
        (StatusError(500), RETRY),
        (StatusError(503), RETRY),
        (StatusError(408), RETRY),
        (StatusError(401), FATAL),
        (StatusError(403), FATAL),
        (StatusError(400), FAIL),
        (StatusError(404), FAIL),
        (TimeoutError(), RETRY),
        (ConnectionResetError(), RETRY),
        (RateLimitError("slow down"), RETRY),
        (ValueError("bad"), FAIL),
        (KeyError("text"), FAIL),
    ],
)
def test_classify(exc: BaseException, kind: str) -> None:
    assert classify(exc) == kind


def test_classify_litellm_exceptions() -> None:
    import litellm

    auth = litellm.AuthenticationError("no", llm_provider="openai", model="m")
    limited = litellm.RateLimitError("slow", llm_provider="openai", model="m")
    broken = litellm.BadRequestError("bad", llm_provider="openai", model="m")
    assert (classify(auth), classify(limited), classify(broken)) == (FATAL, RETRY, FAIL)
    assert classify(litellm.Timeout("t", model="m", llm_provider="openai")) == RETRY


def test_retry_after_seconds_date_and_millis() -> None:
    assert retry_after(StatusError(429, {"retry-after": "3"})) == 3.0
    assert retry_after(StatusError(429, {"retry-after-ms": "250"})) == 0.25
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 < (retry_after(StatusError(429, {"Retry-After": http_date})) or 0) <= 31
    assert retry_after(StatusError(429)) is None


def test_backoff_is_exponential_with_full_jitter_and_honours_retry_after() -> None:
    import random

    policy = RetryPolicy(max_retries=5, backoff=1.0, max_backoff=8.0)
    rng = random.Random(0)
    for retry, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0)):
        delays = [policy.delay(retry, rng=rng) for _ in range(200)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.8  # the whole range is used
    asked = policy.delay(1, StatusError(429, {"retry-after": "7"}), rng=rng)
    assert 7.0 <= asked <= 7.1
    capped = RetryPolicy(max_retry_after=2.0).delay(1, StatusError(429, {"retry-after": "99"}))
    assert capped <= 2.1


def test_eval_keys_parse_and_reject_bad_values() -> None:
    assert parse_timeout(30) == 30.0 and parse_timeout(None) is None
    assert parse_retries(2) == RetryPolicy(max_retries=2)
    assert parse_retries({"max": 1, "backoff": 0.5}) == RetryPolicy(max_retries=1, backoff=0.5)
    assert parse_rate_limits({"openai/x": {"rpm": 60, "concurrency": 2}}) == {
        "openai/x": RateLimit(rpm=60.0, concurrency=2)
    }
    for bad in (lambda: parse_timeout(-1), lambda: parse_retries("many")):
        with pytest.raises(ConfigError, match="fix:"):
            bad()
    with pytest.raises(ConfigError, match="unknown limit 'rps'"):
        parse_rate_limits({"m": {"rps": 3}})


# ----------------------------------------------------------------------------- the gateway


def test_retries_429_and_5xx_then_answers() -> None:
    transport = ScriptedTransport(StatusError(429), StatusError(502))
    gateway = Gateway(transport, retry=FAST)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.text == "ok" and result.error is None
    assert (transport.attempts, gateway.retries, gateway.errors, gateway.calls) == (3, 2, 0, 1)


def test_gives_up_after_the_last_attempt_with_an_error_not_an_answer() -> None:
    transport = ScriptedTransport(*(StatusError(503) for _ in range(10)))
    gateway = Gateway(transport, retry=FAST)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.text is None
    assert result.error == "StatusError: HTTP 503 (after 4 attempts)"
    assert (transport.attempts, gateway.retries, gateway.errors) == (4, 3, 1)


def test_client_errors_are_not_retried() -> None:
    transport = ScriptedTransport(StatusError(400))
    gateway = Gateway(transport, retry=FAST)
    assert asyncio.run(gateway.complete(REQUEST)).error == "StatusError: HTTP 400"
    assert transport.attempts == 1 and gateway.retries == 0


def test_per_call_timeout_is_retried() -> None:
    class Stalling:
        attempts = 0

        async def complete(self, request: CallRequest) -> CallResult:
            self.attempts += 1
            if self.attempts == 1:
                await asyncio.sleep(5)
            return CallResult(text="late but fine")

    transport = Stalling()
    gateway = Gateway(transport, retry=FAST, timeout=0.05)
    start = time.perf_counter()
    result = asyncio.run(gateway.complete(REQUEST))
    assert time.perf_counter() - start < 2
    assert result.text == "late but fine"
    assert (gateway.timeouts, gateway.retries) == (1, 1)


def test_timeout_error_message_names_the_limit() -> None:
    class Never:
        async def complete(self, request: CallRequest) -> CallResult:
            await asyncio.sleep(5)
            raise AssertionError

    gateway = Gateway(Never(), timeout=0.02)
    result = asyncio.run(gateway.complete(REQUEST))
    assert result.error == "CallTimeout: no response within 0.02 s (per-call timeout)"


def test_authentication_failure_stops_all_calls_without_retries() -> None:
    """After the endpoint has answered, a 401 stops every further call of the run (a 401 at
    the first call stops only that endpoint: tests/integration/test_preflight.py)."""
    transport = ScriptedTransport(delay=0.01)
    gateway = Gateway(transport, retry=FAST, concurrency=1)
    assert asyncio.run(gateway.complete(REQUEST)).text == "ok"
    transport.failures.append(StatusError(401))

    async def run() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(50)))

    results = asyncio.run(run())
    assert transport.attempts == 2  # one answer, one refused call, then nothing
    assert gateway.retries == 0
    assert isinstance(gateway.fatal, AuthenticationFailed)
    assert "authentication failed" in str(gateway.fatal) and "fix:" in str(gateway.fatal)
    assert all(r.error is not None for r in results)


def test_rate_limit_spaces_requests_per_model() -> None:
    transport = ScriptedTransport()
    limits = {"test/model": RateLimit(rpm=1200)}  # 20 per second, one second's burst
    gateway = Gateway(transport, concurrency=50, rate_limits=limits)
    other = CallRequest(model="other/model", messages=REQUEST.messages)

    async def run() -> tuple[float, float]:
        start = time.perf_counter()
        await asyncio.gather(*(gateway.complete(other) for _ in range(40)))
        unlimited = time.perf_counter() - start
        await asyncio.gather(*(gateway.complete(REQUEST) for _ in range(40)))
        return unlimited, time.perf_counter() - start - unlimited

    unlimited, limited = asyncio.run(run())
    assert 0.9 <= limited < max(5.0, unlimited * 10)  # 20 at once, then 20 more at 20/s


def test_token_rate_limit_and_model_concurrency() -> None:
    class NoUsage:  # no usage reported: the estimate (71 tokens) is what the call costs
        in_flight = peak = 0

        async def complete(self, request: CallRequest) -> CallResult:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            await asyncio.sleep(0.02)
            self.in_flight -= 1
            return CallResult(text="ok")

    transport = NoUsage()
    limits = {"*": RateLimit(tpm=60 * 300, concurrency=2)}  # 300 tokens/s; ~70 per call
    gateway = Gateway(transport, concurrency=50, rate_limits=limits)
    request = CallRequest(
        model="any/model",
        messages=({"role": "user", "content": "x" * 200},),
        params={"max_tokens": 20},
    )

    async def run() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(gateway.complete(request) for _ in range(12)))
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    assert elapsed > 1.0  # 12 x 71 estimated tokens at 300/s, less the first second's bucket
    assert transport.peak == 2


# ----------------------------------------------------------------------------- end to end


def _session(tmp_path: Path, cache: str = "rw", **extra: Any) -> BrittleSession:
    return BrittleSession(
        Options(
            report_dir=tmp_path / "reports",
            history="off",
            cache=cache,
            cache_path=tmp_path / "cache" / "cache.sqlite",
            progress=False,
            **extra,
        )
    )


def test_fault_injection_every_case_answered_or_an_explicit_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acceptance 1: 20 % of first attempts fail with 429 or 500 and some stall past the
    timeout; the run completes, retries are counted and no error is scored as a wrong answer."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(
        latency=0.002, first_fail_rate=0.2, stall_rate=0.05, stall_s=3.0, seed=3
    ) as stub:
        path = write_eval(
            tmp_path,
            stub.base_url,
            cases=50,  # and one typo variant each: 100 calls per system
            systems={"echo": "openai/stub", "down": "openai/fail-503"},
            extra="timeout: 1.5\nretries: {max: 3, backoff: 0.01, max_backoff: 0.05}\n"
            "error_budget: 0\n",
            concurrency=16,
        )
        spec = load_eval_file(path)
        session = _session(tmp_path)
        verdict = check_gate(session, spec, "echo", spec.gates[0])
        down = check_gate(session, spec, "down", spec.gates[0])
        finish(session)
        detail = stub.detail()
    echo = session.state(spec).run.systems["echo"]
    gateway = session.state(spec).gateway
    assert gateway is not None
    assert detail["first_attempt_failures"] > 10 and detail["stalls"] > 2
    # every case answered (the faults hit first attempts only) and scored correct
    assert echo.columns["error"] == [None] * 100
    assert all(echo.columns["passed"])
    assert verdict.passed is True
    # every injected fault (429 or 500 first attempt, stall) cost one retry, each 503 call
    # three; every stall timed out (a loaded machine may time out a few more, and a timed-out
    # attempt may still reach the stub and count as its failure too)
    assert gateway.timeouts >= detail["stalls"]
    injected = detail["first_attempt_failures"] + detail["stalls"]
    assert injected + 3 * 100 <= gateway.retries <= detail["failures"] + gateway.timeouts - 100
    # the system that never answers: every row an explicit error, none scored as wrong
    failed = session.state(spec).run.systems["down"]
    assert all(e and "(after 4 attempts)" in e for e in failed.columns["error"])
    assert failed.columns["passed"] == [None] * 100
    assert failed.metrics["overall"]["errors"] == 100
    assert down.passed is False and "error budget" in down.message
    # the report says the same
    table = pd.read_parquet(tmp_path / "reports" / "latest" / "results.parquet")
    assert table.groupby("system")["error"].count().to_dict() == {"down": 100, "echo": 0}
    assert "retries" in "\n".join(summary_lines(session))


def test_authentication_failure_stops_its_system_with_a_clear_message(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 401 at a system's first call stops that system (one request, no retries, one line
    naming the cause); the other system still runs and passes."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    configure_litellm()  # imported here, not inside (and undone after) an in-process run
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as stub:
        write_eval(
            pytester.path,
            stub.base_url,
            cases=30,
            systems={"denied": "openai/fail-401", "after": "openai/stub"},
            gates=("accuracy >= 0.9", "flip_rate <= 0.5"),
            extra="retries: {max: 3, backoff: 0.01}\n",
        )
        result = pytester.runpytest()
        detail = stub.detail()
    out = result.stdout.str()
    result.assert_outcomes(failed=2, passed=2)  # denied's two gates fail, after's pass
    assert "stopped system 'denied': openai/fail-401 at http://127.0.0.1:" in out
    assert "authentication failed (HTTP 401" in out and "fix: check the API key" in out
    assert detail["failures"] == 1  # the first call only: no retry, no other row called
    assert detail["successes"] == 60  # every call of 'after'
    assert FAKE_KEY not in out
    assert "Traceback" not in out


# ----------------------------------------------------------------------------- resume


def _rows(report: Path) -> pd.DataFrame:
    table = pd.read_parquet(report / "latest" / "results.parquet")
    return table[["row_id", "output", "passed", "answer", "error"]].sort_values("row_id")


def test_killed_run_resumes_making_only_the_missing_calls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Acceptance 2: a run of 600 calls is SIGKILLed midway; the rerun makes exactly the calls
    that had not completed, and its results equal those of an uninterrupted run."""
    from brittle.cli import main

    total = 600
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.chdir(tmp_path)
    with start_in_thread(latency=0.02) as stub:
        write_eval(tmp_path, stub.base_url, cases=total // 2, concurrency=8)
        process = brittle("run", "stubbed.eval.yaml", "--report-dir", "r1", cwd=tmp_path)
        deadline = time.monotonic() + 120
        while stub.stats.requests < total // 3:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the run never got going"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        _, err = process.communicate()
        assert process.returncode == -signal.SIGKILL
        assert "calls," not in err and "\r" not in err  # no progress line in a pipe
        first = stub.stats.requests
        assert first < total
        with sqlite3.connect(tmp_path / ".brittle" / "cache.sqlite") as db:
            completed = db.execute("SELECT count(*) FROM responses").fetchone()[0]
        assert 0 < completed <= first
        stub.server.stats.requests = 0

        capsys.readouterr()
        assert main(["run", "stubbed.eval.yaml", "--report-dir", "r2"]) == 0
        rerun = capsys.readouterr().out
        assert stub.stats.requests == total - completed  # only the missing calls
        assert f"{total - completed} made, {completed} from the response cache" in rerun

        args = ["run", "stubbed.eval.yaml", "--report-dir", "r3", "--cache", "off"]
        assert main(args) == 0
    resumed, uninterrupted = _rows(tmp_path / "r2"), _rows(tmp_path / "r3")
    assert len(resumed) == total
    pd.testing.assert_frame_equal(
        resumed.reset_index(drop=True), uninterrupted.reset_index(drop=True)
    )


# ----------------------------------------------------------------------------- secrets


def _strings_in_parquet(path: Path) -> str:
    table = pd.read_parquet(path)
    return "\n".join(str(v) for column in table.columns for v in table[column].tolist())


def test_no_artifact_of_a_run_contains_the_api_key(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acceptance 5: a fake key in the environment and in an eval's params; scan the cache, its
    export, the reports, the baselines, the history, the log file and the terminal output."""
    param_key = "sk-param-SECRET-9876543210fedcbaQQ"
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefghijklmnop-123")
    configure_litellm()  # imported here, not inside (and undone after) an in-process run
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as stub:
        path = write_eval(
            pytester.path,
            stub.base_url,
            cases=12,
            systems={"echo": "openai/stub", "keyed": "openai/stub", "denied": "openai/fail-401"},
            extra="retries: {max: 2, backoff: 0.01}\n",
        )
        text = path.read_text().replace(
            'params: {api_base: "' + stub.base_url + '", temperature: 0}',
            'params: {api_base: "'
            + stub.base_url
            + '", temperature: 0, api_key: '
            + param_key
            + "}",
            2,
        )
        # the second system gets the key in params (the first keeps the environment's)
        text = text.replace(f"api_key: {param_key}}}", "}", 1)
        path.write_text(text)
        assert param_key in path.read_text()
        result = pytester.runpytest(
            "--brittle-update-baseline",
            "--log-file=run.log",
            "--log-file-level=DEBUG",
            "-o",
            "log_cli=false",
        )
    out = result.stdout.str() + result.stderr.str()
    assert "authentication failed" in out  # the key did reach the failing call

    cache_dir = pytester.path / ".brittle"
    from brittle.cli import main

    monkeypatch.chdir(pytester.path)
    assert main(["cache", "export", "latest", "--out", "export.jsonl"]) == 0
    artifacts: dict[str, str] = {"terminal": out}
    for file in sorted(pytester.path.rglob("*")):
        if not file.is_file() or (
            file.suffix in (".yaml", ".jsonl") and file.name != "export.jsonl"
        ):
            continue  # the eval file itself holds the param key: it is the user's input
        if file.suffix == ".parquet":
            artifacts[str(file)] = _strings_in_parquet(file)
        else:
            artifacts[str(file)] = file.read_bytes().decode("utf-8", "replace")
    scanned = set(artifacts)
    assert any(name.endswith("cache.sqlite") for name in scanned)
    assert any(name.endswith("run.json") for name in scanned)
    assert any(name.endswith("results.parquet") for name in scanned)
    assert any(name.endswith("summary.md") for name in scanned)
    assert any(name.endswith("run.log") for name in scanned)
    assert any("__baselines__" in name for name in scanned)
    assert (cache_dir / "cache.sqlite").is_file()
    for secret in (FAKE_KEY, param_key, "tok-abcdefghijklmnop-123"):
        hits = [name for name, content in artifacts.items() if secret in content]
        assert hits == [], f"{secret[:10]}... found in {hits}"
    # the provider's 401 message quoted the key: brittle masked it
    assert "Incorrect API key provided: [REDACTED]" in out
    run = json.loads((pytester.path / "reports" / "latest" / "run.json").read_text())
    # the denied system was stopped at its first call; the others ran
    assert set(run["evals"][0]["systems"]) == {"echo", "keyed", "denied"}


# ----------------------------------------------------------------------------- progress


def test_progress_is_quiet_in_ci_and_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRITTLE_PROGRESS", raising=False)
    monkeypatch.setenv("CI", "true")
    assert enabled(tty=True) is False
    monkeypatch.delenv("CI")
    assert enabled(tty=True) is True
    assert enabled(io.StringIO()) is False
    monkeypatch.setenv("BRITTLE_PROGRESS", "1")
    assert enabled(io.StringIO()) is True
    monkeypatch.setenv("BRITTLE_PROGRESS", "0")
    assert enabled(tty=True) is False


def test_progress_total_counts_template_variants_and_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(latency=0.0) as stub:
        path = write_eval(tmp_path, stub.base_url, cases=3, extra="repeats: 2\n")
        add_preamble_suite(path)
        spec = load_eval_file(path)
        session = _session(tmp_path)
        session.options.progress = True
        lines: list[str] = []
        session.progress_write = lines.append
        session.run_system(spec, "echo")
        session.finish()
    # 3 cases x (original + typo + preamble of the template) x 2 repeats
    assert stub.stats.requests == 18
    final = [line for line in lines if "calls," in line][-1]
    assert "brittle stubbed / echo: 18/18 calls, 0 errors" in final


def test_progress_line_counts_calls_errors_retries_and_cache_hits() -> None:
    class Counters:
        retries = 0
        cache_hits = 0

    counters = Counters()
    written: list[str] = []
    progress = Progress(4, "demo / sys", counters, write=written.append, interval=0)
    progress.update(CallResult(text="a"))
    counters.retries, counters.cache_hits = 3, 1
    progress.update(CallResult(text=None, error="boom"))
    progress.update(CallResult(text="b"))
    progress.update(CallResult(text="c"))
    progress.close()
    assert written[-2].endswith(
        "brittle demo / sys: 4/4 calls, 1 errors, 3 retries, 1 cached, 0s\x1b[K"
    )
    assert written[-1] == "\n"
