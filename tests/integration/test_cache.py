"""The response cache: keys, modes, export and import, replay with the network blocked, and
processes sharing one cache (pytest-xdist workers, concurrent CI jobs)."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import brittle.gateway
from brittle import Case, Eval, System
from brittle._errors import CacheError, ConfigError
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.cache import CacheMode, ResponseCache, resolve_mode, resolve_path
from brittle.gateway.keys import callable_key, request_key
from brittle.spec.eval import build_spec
from tests.support.sessions import run_eval
from tests.support.stubproject import (
    FAKE_KEY,
    add_preamble_suite,
    golden_rows,
    start_in_thread,
    write_eval,
)
from tests.support.stubproject import brittle as start_brittle
from tests.support.stubproject import env as child_env

MESSAGES = ({"role": "user", "content": "hello"},)


def _request(
    fingerprint: str | None = "fp", repeat: int | None = None, **params: Any
) -> CallRequest:
    return CallRequest(
        model="openai/x", messages=MESSAGES, params=params, fingerprint=fingerprint, repeat=repeat
    )


class EchoTransport:
    """Answers the prompt upper-cased after ``delay``; counts calls per prompt."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail
        self.calls: dict[str, int] = {}

    async def complete(self, request: CallRequest) -> CallResult:
        prompt = request.messages[-1]["content"]
        self.calls[prompt] = self.calls.get(prompt, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise RuntimeError("backend down")
        return CallResult(text=prompt.upper(), prompt_tokens=1, completion_tokens=1, cost=0.5)


def _requests(n: int) -> list[CallRequest]:
    return [
        CallRequest(model="m", messages=({"role": "user", "content": f"p{i}"},)) for i in range(n)
    ]


def _run(gateway: Gateway, requests: list[CallRequest]) -> list[CallResult]:
    async def go() -> list[CallResult]:
        return await asyncio.gather(*(gateway.complete(r) for r in requests))

    return asyncio.run(go())


# ----------------------------------------------------------------------------- keys


def test_key_ignores_credentials_and_covers_what_determines_the_output() -> None:
    base = request_key(_request(temperature=0))
    assert request_key(_request(temperature=0, api_key="sk-a")) == base
    assert request_key(_request(temperature=0, extra_headers={"Authorization": "Bearer x"})) == base
    assert request_key(_request(temperature=0.7)) != base
    assert request_key(_request("other", temperature=0)) != base
    assert request_key(_request(repeat=1, temperature=0)) != base
    assert request_key(_request(repeat=0, temperature=0)) == base  # no repeat index: repeat 0
    assert request_key(replace(_request(temperature=0), label="eval / system / row")) == base
    with_url = request_key(_request(None, api_base="https://user:pw@host/v1"))
    assert with_url == request_key(_request(None, api_base="https://host/v1"))
    assert callable_key("fp", {"text": "a"}) != callable_key("fp", {"text": "b"})
    assert callable_key("fp", {"text": "a"}, 2) != callable_key("fp", {"text": "a"})


def test_model_path_is_not_in_the_key_when_the_fingerprint_covers_it() -> None:
    here = CallRequest(model="local/smollm2+/home/a/adapter", messages=MESSAGES)
    there = CallRequest(model="local/smollm2+/ci/b/adapter", messages=MESSAGES)
    assert request_key(here) != request_key(there)
    here, there = replace(here, fingerprint="fp"), replace(there, fingerprint="fp")
    assert request_key(here) == request_key(there)


def test_keys_stay_byte_identical() -> None:
    """Keys of caches recorded by earlier versions: a change here makes every cache miss."""
    request = CallRequest(
        model="openai/x",
        messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": "héllo"}),
        params={"temperature": 0.5, "api_key": "sk-secret"},
    )
    assert request_key(request) == (
        "76cb39e63833e8655595bd7f8f1f013ad25136bb2517d72e5342f7c324e06900"
    )
    assert request_key(replace(request, fingerprint="c50b41016997b83b", repeat=2)) == (
        "d7a058d42b2be335071a57ffcfedf75a9f16f529877caa8e70883f6990ece1b1"
    )
    assert callable_key("aa17162ab823f789", {"text": "a"}, 1) == (
        "49af6b49fe95c0612822307176247550a77a193c4620dac8925072a7c7b3baba"
    )


def test_repeats_are_distinct_calls(tmp_path: Path) -> None:
    transport = EchoTransport()
    gateway = Gateway(transport, cache=ResponseCache(tmp_path / "c.sqlite"))

    async def go() -> None:
        for index in range(3):
            await gateway.complete(replace(_requests(1)[0], repeat=index))

    asyncio.run(go())
    asyncio.run(go())
    assert transport.calls == {"p0": 3}
    assert gateway.cache_hits == 3


def test_a_custom_systems_calls_are_keyed_by_its_fingerprint_and_the_repeat(
    tmp_path: Path,
) -> None:
    class Shouting(System):
        name, kind = "shouting", "custom"

        def spec(self) -> dict[str, Any]:
            return {"kind": "custom", "v": 1}

        async def run(self, inputs: Mapping[str, Any], gateway: Gateway) -> CallResult:
            text = str(inputs["text"])
            return await gateway.complete(
                CallRequest(model="m", messages=({"role": "user", "content": text},))
            )

    transport = EchoTransport()
    definition = Eval(
        golden=[Case("c1", {"text": "a"}, "A")], systems=[Shouting()], checks=["exact"], repeats=2
    )
    spec = build_spec(definition, source=tmp_path / "custom.py")
    gateway = Gateway(transport, cache=ResponseCache(tmp_path / "c.sqlite"))
    run_eval(spec, gateway=gateway)
    run_eval(spec, gateway=gateway)
    assert transport.calls == {"a": 2}  # two repeats, each called once, then both cached
    assert gateway.cache_hits == 2
    stored = sqlite3.connect(tmp_path / "c.sqlite").execute(
        "SELECT fingerprint, label FROM responses ORDER BY label"
    )
    fingerprint = Shouting().fingerprint()
    assert stored.fetchall() == [(fingerprint, "custom / shouting / c1")] * 2


# ----------------------------------------------------------------------------- modes


def test_rw_records_then_answers_from_the_cache(tmp_path: Path) -> None:
    transport = EchoTransport()
    cache = ResponseCache(tmp_path / "c.sqlite")
    first = _run(Gateway(transport, cache=cache), _requests(20))
    second_gateway = Gateway(transport, cache=cache)
    second = _run(second_gateway, _requests(20))
    assert sum(transport.calls.values()) == 20
    assert [r.text for r in first] == [r.text for r in second]
    assert all(r.cached for r in second) and not any(r.cached for r in first)
    assert second[0].cost == 0.5 and second[0].prompt_tokens == 1
    assert second_gateway.cache_hits == 20 and second_gateway.calls == 0


def test_errors_are_never_cached(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    failing = EchoTransport(fail=True)
    results = _run(Gateway(failing, cache=cache), _requests(5))
    assert all(r.error == "RuntimeError: backend down" for r in results)
    assert cache.count() == 0
    working = EchoTransport()
    assert [r.text for r in _run(Gateway(working, cache=cache), _requests(5))] == [
        f"P{i}" for i in range(5)
    ]
    assert sum(working.calls.values()) == 5  # the errors were retried, not replayed
    with pytest.raises(ValueError, match="never cached"):
        cache.put("k", CallResult(text=None, error="boom"))


def test_replay_makes_no_calls_and_flags_misses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(Gateway(EchoTransport(), cache=ResponseCache(tmp_path / "c.sqlite")), _requests(3))

    def no_transport(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("replay must not create a transport")

    monkeypatch.setattr(brittle.gateway.LiteLLMTransport, "__init__", no_transport)
    gateway = Gateway(cache=ResponseCache(tmp_path / "c.sqlite", CacheMode.REPLAY))
    results = _run(gateway, _requests(4))
    assert [r.text for r in results[:3]] == ["P0", "P1", "P2"]
    assert results[3].missing and results[3].text is None
    assert results[3].error is not None and "replay mode makes no model calls" in results[3].error
    assert (gateway.calls, gateway.cache_hits, gateway.missing) == (0, 3, 1)


def test_record_calls_again_and_refreshes(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")
    _run(Gateway(EchoTransport(), cache=cache), _requests(3))
    before = cache.conn.execute("SELECT max(created) FROM responses").fetchone()[0]
    transport = EchoTransport()
    recorder = Gateway(transport, cache=ResponseCache(tmp_path / "c.sqlite", CacheMode.RECORD))
    _run(recorder, _requests(3) + _requests(3))  # the same call twice: made once in this run
    assert transport.calls == {"p0": 1, "p1": 1, "p2": 1}
    after = cache.conn.execute("SELECT min(created) FROM responses").fetchone()[0]
    assert after > before


def test_off_touches_nothing(tmp_path: Path) -> None:
    transport = EchoTransport()
    cache = ResponseCache(tmp_path / "sub" / "c.sqlite", CacheMode.OFF)
    _run(Gateway(transport, cache=cache), _requests(2) * 2)
    assert sum(transport.calls.values()) == 4
    assert not (tmp_path / "sub").exists()


def test_mode_and_folder_from_option_environment_ini(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    monkeypatch.delenv("BRITTLE_RESPONSE_CACHE_DIR", raising=False)
    assert resolve_mode() is CacheMode.RW
    assert resolve_mode(ini="off") is CacheMode.OFF
    monkeypatch.setenv("BRITTLE_CACHE", "replay")
    assert resolve_mode(ini="off") is CacheMode.REPLAY
    assert resolve_mode("record") is CacheMode.RECORD
    with pytest.raises(ConfigError, match="unknown response cache mode 'sometimes'"):
        resolve_mode("sometimes")
    assert resolve_path(root=tmp_path) == tmp_path / ".brittle" / "cache.sqlite"
    monkeypatch.setenv("BRITTLE_RESPONSE_CACHE_DIR", "shared")
    assert resolve_path(root=tmp_path) == tmp_path / "shared" / "cache.sqlite"
    assert resolve_path("/abs", root=tmp_path) == Path("/abs/cache.sqlite")


def test_corrupt_cache_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CacheError) as info:
        ResponseCache(path).count()
    message = str(info.value)
    assert str(path) in message and "corrupt" in message and "fix: delete the cache file" in message


def test_cache_write_failure_costs_the_entry_not_the_result(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "c.sqlite")

    def locked(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("database is locked")

    cache.put = locked  # type: ignore[method-assign]
    gateway = Gateway(EchoTransport(), cache=cache)
    assert [r.text for r in _run(gateway, _requests(2))] == ["P0", "P1"]
    assert gateway.cache_failures == 2


# ----------------------------------------------------------------------------- export / import


def test_export_and_import_a_run(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "a.sqlite", run_id="run-1")
    _run(Gateway(EchoTransport(), cache=cache), _requests(4))
    cache.flush()
    assert cache.latest_run() == "run-1"
    count = cache.export(tmp_path / "run.jsonl", cache.run_keys("run-1"), source="run run-1")
    assert count == 4
    lines = (tmp_path / "run.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["brittle_cache_export"] == 1 and len(lines) == 5
    other = ResponseCache(tmp_path / "b.sqlite", CacheMode.REPLAY)
    assert other.import_file(tmp_path / "run.jsonl") == (4, 0)
    assert other.import_file(tmp_path / "run.jsonl") == (0, 4)  # not newer: kept
    results = _run(Gateway(cache=other), _requests(4))
    assert [r.text for r in results] == ["P0", "P1", "P2", "P3"]


def test_truncated_export_names_the_line(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "a.sqlite")
    _run(Gateway(EchoTransport(), cache=cache), _requests(3))
    keys = [r[0] for r in cache.conn.execute("SELECT key FROM responses")]
    cache.export(tmp_path / "e.jsonl", keys)
    text = (tmp_path / "e.jsonl").read_text()
    (tmp_path / "e.jsonl").write_text(text[: len(text) - 40])
    with pytest.raises(CacheError, match=r"e\.jsonl:4: invalid entry .*truncated"):
        ResponseCache(tmp_path / "b.sqlite").import_file(tmp_path / "e.jsonl")
    (tmp_path / "x.jsonl").write_text('{"something": "else"}\n')
    with pytest.raises(CacheError, match="not a brittle cache export"):
        ResponseCache(tmp_path / "b.sqlite").import_file(tmp_path / "x.jsonl")


def test_cli_export_of_an_eval_and_import_then_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from brittle.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.chdir(tmp_path)
    with start_in_thread(latency=0.0) as stub:
        write_eval(tmp_path, stub.base_url, cases=6)
        assert main(["run", "stubbed.eval.yaml", "--no-report"]) == 0
        made = stub.stats.requests
    assert main(["cache", "export", "stubbed.eval.yaml", "--out", "ci/responses.jsonl"]) == 0
    assert "exported 12 response(s) of eval stubbed.eval.yaml" in capsys.readouterr().out
    assert main(["cache", "export", "latest", "--out", "latest.jsonl"]) == 0
    assert main(["cache", "export", "no-such-run", "--out", "x.jsonl"]) == 2
    assert "no run 'no-such-run' in the response cache" in capsys.readouterr().err
    # a fresh machine: an empty cache, the export imported, replay with the stub gone
    args = ["--cache-dir", "fresh"]
    assert main(["cache", "import", "ci/responses.jsonl", *args]) == 0
    assert main(["cache", "info", *args]) == 0
    assert "12 response(s); integrity: ok" in capsys.readouterr().out
    code = main(["run", "stubbed.eval.yaml", "--no-report", "--cache", "replay", *args])
    assert code == 0
    assert "0 made, 12 from the response cache" in capsys.readouterr().out
    assert made == 12


def test_cli_export_of_an_eval_covers_template_variants_and_repeats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Template-level variants are answered by a rewritten copy of the system, and each repeat
    is its own call: an export made from the eval file must hold them all for replay."""
    from brittle.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.chdir(tmp_path)
    with start_in_thread(latency=0.0) as stub:
        spec = write_eval(tmp_path, stub.base_url, cases=4, extra="repeats: 2\n")
        add_preamble_suite(spec)
        assert main(["run", "stubbed.eval.yaml", "--no-report"]) == 0
        made = stub.stats.requests
    # 4 cases x (original + typo + preamble) x 2 repeats
    assert made == 24
    assert main(["cache", "export", "stubbed.eval.yaml", "--out", "responses.jsonl"]) == 0
    assert "exported 24 response(s) of eval stubbed.eval.yaml" in capsys.readouterr().out
    args = ["--cache-dir", "fresh"]
    assert main(["cache", "import", "responses.jsonl", *args]) == 0
    code = main(["run", "stubbed.eval.yaml", "--no-report", "--cache", "replay", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 made, 24 from the response cache" in out


# ----------------------------------------------------------------------------- callables


def test_callable_systems_are_cached_by_fingerprint_and_inputs(tmp_path: Path) -> None:
    from brittle.spec.eval import Eval, build_spec
    from brittle.spec.systems import CallableSystem

    calls: list[str] = []

    def pipeline(inputs: dict[str, Any]) -> str:
        calls.append(inputs["text"])
        return inputs["hint"]

    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps(r) + "\n" for r in golden_rows(5)))

    def spec(version: str | None) -> Any:
        system = CallableSystem("pipe", pipeline, version=version)
        return build_spec(
            Eval(golden=str(golden), systems=[system], checks=["exact"], perturb_fields=["text"]),
            source=tmp_path / "x.py",
        )

    def cached() -> Gateway:
        return Gateway(cache=ResponseCache(tmp_path / "c.sqlite"))

    first = run_eval(spec(None), gateway=cached())
    run_eval(spec(None), gateway=cached())
    assert len(calls) == 5
    run_eval(spec("2"), gateway=cached())  # another version: another fingerprint
    assert len(calls) == 10
    assert first.systems["pipe"].metrics["overall"]["accuracy"] == 1.0


# ----------------------------------------------------------------------------- replay (pytest)


def test_replay_with_the_network_blocked_and_a_new_case_named(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acceptance 3: a recorded run replays with the network blocked and zero model calls;
    one added case makes it fail with a message naming that case."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    brittle.gateway.configure_litellm()  # imported here, not inside (and undone after) a run
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as stub:
        write_eval(
            pytester.path, stub.base_url, cases=10, gates=("accuracy >= 0.9", "flip_rate <= 0.2")
        )
        pytester.runpytest("--brittle-cache=record").assert_outcomes(passed=2)
        recorded = stub.stats.requests
    assert recorded == 20

    def blocked(*args: Any, **kwargs: Any) -> None:
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", blocked)
    monkeypatch.setattr(socket.socket, "connect_ex", blocked)
    monkeypatch.setattr(brittle.gateway.LiteLLMTransport, "__init__", blocked)
    monkeypatch.setenv("BRITTLE_CACHE", "replay")  # the variable CI sets
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model calls: 0 made, 20 from the response cache*"])

    golden = pytester.path / "golden.jsonl"
    extra = golden_rows(1, start=10)[0]
    golden.write_text(golden.read_text() + json.dumps(extra) + "\n")
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert "replay mode: 2 call(s) of stubbed / echo are not in the recordings" in out
    assert "r0010, r0010[typo#1]" in out
    assert "fix: record them" in out
    assert "Traceback" not in out
    assert "0 made, 20 from the response cache, 0 retries (0 timeouts), 0 errors, 2 missing" in out


# ----------------------------------------------------------------------------- concurrency


def test_two_processes_opening_a_new_cache_together_both_succeed(tmp_path: Path) -> None:
    """Switching a new file to WAL answers "database is locked" at once, without SQLite's
    busy wait, when two connections try it together (it failed about 1 time in 6 before the
    retry); parallel test workers opening a fresh cache hit exactly this."""
    for trial in range(60):
        path = tmp_path / f"c{trial}.sqlite"
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path,
            start: threading.Barrier = start,
            errors: list[BaseException] = errors,
        ) -> None:
            cache = ResponseCache(path)
            start.wait()
            try:
                cache.conn.execute("SELECT count(*) FROM meta").fetchone()
            except BaseException as exc:  # collected: the assertion below shows it
                errors.append(exc)
            finally:
                cache.close()

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, f"trial {trial}: {errors}"


def test_two_gateways_with_their_own_owners_make_each_call_once(tmp_path: Path) -> None:
    """Two "processes" (each its own cache connection, owner and event loop, in threads)
    run the same 60 calls at the same time: every call is made exactly once."""
    transport = EchoTransport(delay=0.02)
    results: dict[int, list[CallResult]] = {}
    start = threading.Barrier(2)

    def worker(index: int) -> None:
        gateway = Gateway(transport, concurrency=6, cache=ResponseCache(tmp_path / "c.sqlite"))
        start.wait()
        results[index] = _run(gateway, _requests(60))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert transport.calls == {f"p{i}": 1 for i in range(60)}
    assert (
        [r.text for r in results[0]] == [r.text for r in results[1]] == [f"P{i}" for i in range(60)]
    )


def test_a_dead_owners_claim_is_taken_over(tmp_path: Path) -> None:
    dead = ResponseCache(tmp_path / "c.sqlite")
    dead.owner = f"{socket.gethostname()}|999999999|gone"  # no such process
    assert dead.claim("k") == "claimed"
    live = ResponseCache(tmp_path / "c.sqlite")
    assert live.claim("k") == "claimed"
    assert live.stats.takeovers == 1
    other = ResponseCache(tmp_path / "c.sqlite")
    assert other.claim("k") == "busy"  # this process is alive
    live.put("k", CallResult(text="x"))
    assert other.claim("k") == "done"


def test_two_processes_share_one_cache_without_duplicate_calls(tmp_path: Path) -> None:
    """Acceptance 4: two concurrent `brittle run` processes on one cache (as two CI jobs):
    no corruption, and no call made twice (the only allowance is a claim whose owner died or
    outlived its lease, which does not happen here)."""
    go = tmp_path / "go"
    with start_in_thread(latency=0.03) as stub:
        write_eval(tmp_path, stub.base_url, cases=120, concurrency=8)  # 240 calls
        processes = [
            start_brittle(
                "run",
                "stubbed.eval.yaml",
                "--report-dir",
                f"r{i}",
                cwd=tmp_path,
                env=child_env(BRITTLE_TEST_GO=str(go)),
            )
            for i in range(2)
        ]
        deadline = time.monotonic() + 120
        while len(list(tmp_path.glob("go.*"))) < 2:
            assert all(p.poll() is None for p in processes), [p.communicate() for p in processes]
            assert time.monotonic() < deadline
            time.sleep(0.02)
        go.touch()
        outputs = [p.communicate(timeout=180) for p in processes]
        detail = stub.detail()
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert detail["unique"] == 240
    assert detail["duplicates"] == 0
    assert detail["requests"] == 240
    assert detail["max_in_flight"] > 8  # both processes were calling at the same time
    made = [int(out.split("model calls: ")[1].split(" made")[0]) for out, _ in outputs]
    assert sum(made) == 240 and min(made) > 0
    cache = tmp_path / ".brittle" / "cache.sqlite"
    assert not cache.with_name("cache.sqlite-wal").exists()  # closed: the file is complete
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 240
        assert db.execute("SELECT count(*) FROM claims").fetchone()[0] == 0
    tables = [pd.read_parquet(tmp_path / f"r{i}" / "latest" / "results.parquet") for i in (0, 1)]
    columns = ["row_id", "output", "passed"]
    pd.testing.assert_frame_equal(tables[0][columns], tables[1][columns])


def test_pytest_xdist_workers_share_the_cache(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acceptance 4: `pytest -n 2`; the gates of each system are spread over both workers."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.02) as stub:
        write_eval(
            pytester.path,
            stub.base_url,
            cases=40,
            systems={"a": "openai/stub", "b": "openai/stub-b"},
            gates=("accuracy >= 0.9", "flip_rate <= 0.2", "agreement >= 0.5", "error_rate <= 0"),
        )
        result = pytester.runpytest_subprocess("-n", "2", timeout=300)
        detail = stub.detail()
    result.assert_outcomes(passed=8)
    assert detail["unique"] == 160
    assert detail["duplicates"] == 0 and detail["requests"] == 160
    cache = pytester.path / ".brittle" / "cache.sqlite"
    assert not cache.with_name("cache.sqlite-wal").exists()  # closed: the file is complete
    with sqlite3.connect(cache) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT count(*) FROM responses").fetchone()[0] == 160
