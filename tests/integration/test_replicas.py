"""Replicas on real servers (issue 16, acceptance 3): one system behind two local stub servers
(``api_base: [url1, url2]``); both receive calls, and killing one mid-run loses no row (its calls
go to the other), through the fast OpenAI transport and through litellm, with no retries
allowed. A system stops at its first call only when all its replicas refuse."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import pytest

from brittle.gateway import configure_litellm
from brittle.options import Options
from brittle.report.terminal import summary_lines
from brittle.run.session import BrittleSession
from brittle.run.verdicts import check_gate
from brittle.spec.eval import load_eval_file
from tests.support.sessions import finish
from tests.support.stubproject import FAKE_KEY, golden_rows, start_in_thread

CASES = 60


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _eval(folder: Path, urls: list[str], *, transport: str = "auto") -> Path:
    """``CASES`` cases, each with one typo variant, on one system listing ``urls``; no retries."""
    (folder / "golden.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in golden_rows(CASES))
    )
    (folder / "typos.yaml").write_text(
        "name: typos\nversion: 1\nseed: 7\nperturbations:\n"
        "  - family: typo\n    n: 1\n    params: {rate: 0.1}\n"
    )
    bases = ", ".join(f'"{url}"' for url in urls)
    path = folder / "rep.eval.yaml"
    path.write_text(
        "name: rep\ngolden: golden.jsonl\nperturb_fields: [text]\nsystems:\n"
        "  served:\n    kind: prompt\n    model: openai/stub\n"
        f"    transport: {transport}\n"
        '    template: "{{ hint }} is what I think of {{ text }}"\n'
        f"    params: {{api_base: [{bases}], temperature: 0}}\n"
        "checks:\n  - label: {choices: [positive, negative]}\nsuites: [typos.yaml]\n"
        "gates:\n  - accuracy >= 0.9\nconcurrency: 4\nretries: 0\n"
    )
    return path


def _session(tmp_path: Path) -> BrittleSession:
    return BrittleSession(
        Options(report_dir=tmp_path / "reports", history="off", cache="off", progress=False)
    )


@pytest.mark.parametrize("transport", ["auto", "litellm"])
def test_both_replicas_answer_and_killing_one_mid_run_loses_no_row(
    transport: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if transport == "litellm":
        configure_litellm()
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(latency=0.01) as one, start_in_thread(latency=0.01) as two:
        spec = load_eval_file(_eval(tmp_path, [one.base_url, two.base_url], transport=transport))
        killed = threading.Event()

        def kill_one_mid_run() -> None:
            deadline = time.monotonic() + 60
            while one.stats.requests < 20 and time.monotonic() < deadline:
                time.sleep(0.002)
            one.stop()
            killed.set()

        killer = threading.Thread(target=kill_one_mid_run, daemon=True)
        killer.start()
        session = _session(tmp_path)
        verdict = check_gate(session, spec, "served", spec.gates[0])
        killer.join(30)
        finish(session)
        answered = {"one": one.stats.requests, "two": two.stats.requests}
    assert killed.is_set()
    run = session.state(spec).run.systems["served"]
    rows = len(run.columns["error"])
    assert rows == 2 * CASES
    assert run.columns["error"] == [None] * rows, set(run.columns["error"])
    assert all(run.columns["passed"])
    assert verdict.passed is True
    gateway = session.state(spec).gateway
    assert gateway is not None and gateway.retries == 0 and gateway.errors == 0
    # both received calls; the killed one no more than it had answered by then (+ in flight)
    assert answered["one"] >= 20 and answered["two"] >= 20, answered
    assert answered["two"] > answered["one"], answered
    assert run.stopped is None
    # the terminal says how the calls were spread and that the killed one was taken out
    (line,) = [line for line in summary_lines(session) if line.startswith("replicas: ")]
    first, second = line.removeprefix("replicas: ").split("; ")
    # (once, or again after its 5 s out if the run outlasts that on a loaded machine)
    assert first.startswith(f"{one.base_url} ") and "taken out " in first, line
    assert second.startswith(f"{two.base_url} ") and "taken out" not in second, line


def test_a_system_stops_only_when_all_its_replicas_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    down = f"http://127.0.0.1:{_closed_port()}/v1"
    with start_in_thread(latency=0.0) as up:
        folder = tmp_path / "half"
        folder.mkdir()
        spec = load_eval_file(_eval(folder, [down, up.base_url]))
        session = _session(folder)
        verdict = check_gate(session, spec, "served", spec.gates[0])
        finish(session)
        assert up.stats.requests == 2 * CASES
    run = session.state(spec).run.systems["served"]
    assert run.stopped is None and verdict.passed is True
    assert run.columns["error"] == [None] * (2 * CASES)

    other = f"http://127.0.0.1:{_closed_port()}/v1"
    folder = tmp_path / "none"
    folder.mkdir()
    spec = load_eval_file(_eval(folder, [down, other]))
    session = _session(folder)
    verdict = check_gate(session, spec, "served", spec.gates[0])
    finish(session)
    run = session.state(spec).run.systems["served"]
    assert verdict.passed is False
    assert run.stopped is not None
    assert run.stopped.startswith(
        f"stopped system 'served': openai/stub at {down}, {other}: connection refused ("
    )
