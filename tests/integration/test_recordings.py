"""Recordings beside baselines (issue 17, acceptance 2): the pull-request story.

An author changes a prompt and updates the baseline with a key (``--brittle-update-baseline``),
which also writes the responses behind it to ``__recordings__/<eval>.jsonl.gz``; CI, with no
response cache, no key and no server listening, replays them (``--brittle-cache replay``) and
gates the change: it passes when the prompt is fine and fails when it regressed. The stub server
answers the first word of the prompt, so a template that starts with the case's hint answers
right and one that starts with another word answers wrong.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from brittle.gateway.recordings import read_recordings
from tests.support import ROOT
from tests.support.stubproject import FAKE_KEY, start_in_thread, write_eval

GOOD = "{{ hint }} is what I think of {{ text }}"
#: still starts with the hint: as right as before
FINE = "{{ hint }} is my verdict on {{ text }}"
#: starts with another word: every answer is wrong
REGRESSED = "Verdict: {{ hint }} for {{ text }}"
GATES = ("accuracy >= 0.8", "accuracy drop <= 0.1")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    monkeypatch.delenv("BRITTLE_RESPONSE_CACHE_DIR", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    return pytester


def _set_template(eval_file: Path, template: str) -> None:
    text = eval_file.read_text()
    current = next(t for t in (GOOD, FINE, REGRESSED) if t in text)
    eval_file.write_text(text.replace(current, template))


def _point_at(eval_file: Path, base_url: str) -> None:
    text = eval_file.read_text()
    eval_file.write_text(text.replace(text.split('api_base: "')[1].split('"')[0], base_url))


def _cut_off(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh CI checkout: no response cache, no key (the server is already stopped)."""
    shutil.rmtree(project.path / ".brittle", ignore_errors=True)
    monkeypatch.delenv("OPENAI_API_KEY")


def test_a_prompt_change_is_gated_from_committed_recordings(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    recordings = project.path / "__recordings__" / "stubbed.jsonl.gz"
    baseline = project.path / "__baselines__" / "stubbed.json"
    with start_in_thread(latency=0.0) as stub:
        eval_file = write_eval(project.path, stub.base_url, cases=8, gates=GATES)
        # main: the baseline and its recordings, made with a key
        result = project.runpytest("--brittle-update-baseline")
        assert result.ret == 0, result.stdout.str()
        result.stdout.fnmatch_lines(["*recordings written: *stubbed.jsonl.gz (16 responses*"])
        first = recordings.read_bytes()
        assert first[4:8] == b"\0\0\0\0"  # gzip without a timestamp
        main_baseline = baseline.read_bytes()
        # an unchanged update writes the same bytes: no churn in git
        assert project.runpytest("--brittle-update-baseline").ret == 0
        assert recordings.read_bytes() == first

        # the pull request: a reworded prompt, re-recorded by its author
        _set_template(eval_file, FINE)
        assert project.runpytest("--brittle-update-baseline").ret == 0
        assert recordings.read_bytes() != first
        made = stub.stats.requests
    assert made == 32  # the first prompt's 16 calls and the reworded one's

    # CI: no cache, no key, nothing listening
    _cut_off(project, monkeypatch)
    result = project.runpytest("--brittle-cache=replay")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*model calls: 0 made, 16 from the response cache*"])
    assert not (project.path / ".brittle" / "cache.sqlite").exists()  # read from the recordings
    assert _against(baseline, main_baseline, project).parseoutcomes() == {"passed": 2}

    # a prompt that regressed, recorded by its author: CI fails it
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with start_in_thread(latency=0.0) as stub:
        _set_template(eval_file, REGRESSED)
        _point_at(eval_file, stub.base_url)  # this stub's port
        project.runpytest("--brittle-update-baseline")  # its accuracy gate fails here already
    _cut_off(project, monkeypatch)
    result = project.runpytest("--brittle-cache=replay")
    result.assert_outcomes(passed=1, failed=1)  # its own new baseline: no drop, yet inaccurate
    out = result.stdout.str()
    assert "FAILED stubbed.eval.yaml::echo::accuracy>=0.8" in out
    assert "0 made, 16 from the response cache" in out
    # against the base branch's baseline, the relative gate fails it too
    result = _against(baseline, main_baseline, project)
    result.assert_outcomes(failed=2)
    assert "accuracy drop <= 0.1" in result.stdout.str()


def _against(baseline: Path, other: bytes, project: pytest.Pytester) -> pytest.RunResult:
    """Replay with ``other`` as the baseline (CI checking out the base branch's baselines)."""
    own = baseline.read_bytes()
    baseline.write_bytes(other)
    try:
        return project.runpytest("--brittle-cache=replay")
    finally:
        baseline.write_bytes(own)


def test_a_replay_miss_names_the_command_that_records_it(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_in_thread(latency=0.0) as stub:
        eval_file = write_eval(project.path, stub.base_url, cases=6, gates=GATES)
        assert project.runpytest("--brittle-update-baseline").ret == 0
    _set_template(eval_file, FINE)  # changed, and not recorded
    _cut_off(project, monkeypatch)
    result = project.runpytest("--brittle-cache=replay")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    assert (
        "replay mode: 12 call(s) of stubbed / echo are not in the recordings "
        "(__recordings__/stubbed.jsonl.gz) or the response cache" in out
    )
    assert "pytest stubbed.eval.yaml --brittle-update-baseline" in out
    assert "brittle run stubbed.eval.yaml --update-baseline" in out
    assert "--brittle-cache record" in out
    assert "Traceback" not in out


def test_recordings_hold_no_key_and_no_prompt(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The echo-key model quotes the bearer token in three letter cases; the recordings hold the
    answers masked, and nothing of the prompts but what the model answered."""
    with start_in_thread(latency=0.0) as stub:
        write_eval(
            project.path,
            stub.base_url,
            cases=4,
            systems={"echo": "openai/stub", "leaky": "openai/echo-key"},
            gates=("accuracy >= 0",),
        )
        project.runpytest("--brittle-update-baseline")
    path = project.path / "__recordings__" / "stubbed.jsonl.gz"
    raw = gzip.decompress(path.read_bytes()).decode("utf-8")
    for form in (FAKE_KEY, FAKE_KEY.upper(), FAKE_KEY.lower(), FAKE_KEY.swapcase()):
        assert form not in raw
    assert "what I think of" not in raw and "of a product" not in raw  # the template, the input
    lines = [json.loads(line) for line in raw.splitlines()]
    assert lines[0] == {"brittle_recordings": 1, "entries": 16, "eval": "stubbed"}
    assert {line["system"] for line in lines[1:]} == {"echo", "leaky"}
    assert all(
        set(line)
        <= {"system", "key", "text", "prompt_tokens", "completion_tokens", "cost", "notes"}
        for line in lines[1:]
    )
    leaky = read_recordings(path)["leaky"]
    assert all("secrets masked in the output" in r.notes for r in leaky.values())
    assert [line["key"] for line in lines[1:9]] == sorted(line["key"] for line in lines[1:9])


def test_recordings_off_writes_none_and_replays_none(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start_in_thread(latency=0.0) as stub:
        write_eval(project.path, stub.base_url, cases=4, gates=("accuracy >= 0.8",))
        assert project.runpytest("--brittle-update-baseline", "--brittle-recordings=off").ret == 0
        assert not (project.path / "__recordings__").exists()
        assert project.runpytest("--brittle-update-baseline").ret == 0
    _cut_off(project, monkeypatch)
    result = project.runpytest("--brittle-cache=replay", "--brittle-recordings", "off")
    result.assert_outcomes(failed=1)
    assert "not in the response cache (recordings are off)" in result.stdout.str()
    result = project.runpytest("--brittle-recordings=maybe")
    assert "'maybe' is not one of on, off" in result.stderr.str()


def test_a_damaged_recordings_file_fails_the_gates_naming_it(project: pytest.Pytester) -> None:
    write_eval(project.path, "http://127.0.0.1:9/v1", cases=3, gates=("accuracy >= 0.8",))
    damaged = project.path / "__recordings__" / "stubbed.jsonl.gz"
    damaged.parent.mkdir()
    damaged.write_bytes(gzip.compress(b"{}\n")[:12])  # truncated
    result = project.runpytest("--brittle-cache=replay")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "the recordings are unreadable or truncated" in out
    assert "stubbed.jsonl.gz" in out and "--brittle-update-baseline" in out
    assert "Traceback" not in out


def test_the_ci_example_is_a_users_workflow() -> None:
    """docs/github-actions.yml: a key-less pull-request job replaying the recordings, a nightly
    job recording with the key from secrets, reports as artifacts; nothing of this repository's
    own setup."""
    yaml = pytest.importorskip("yaml")
    text = (ROOT / "docs" / "github-actions.yml").read_text()
    assert "scripts/setup.sh" not in text and ".venv/bin" not in text
    jobs = yaml.safe_load(text)["jobs"]
    gate, nightly = jobs["gate"], jobs["nightly"]
    gate_runs = " ".join(step.get("run", "") for step in gate["steps"])
    assert "pip install brittle" in gate_runs
    assert "--brittle-cache replay" in gate_runs and "secrets." not in str(gate)
    assert nightly["env"]["OPENAI_API_KEY"] == "${{ secrets.OPENAI_API_KEY }}"
    nightly_runs = " ".join(step.get("run", "") for step in nightly["steps"])
    assert "--brittle-cache record" in nightly_runs
    for job in (gate, nightly):
        assert any("upload-artifact" in step.get("uses", "") for step in job["steps"])


def test_brittle_run_writes_and_replays_recordings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same story through ``brittle run``: ``--update-baseline`` records, ``--cache
    replay`` in a checkout without the cache and the key gates from the recordings alone."""
    from brittle.cli import main

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    with start_in_thread(latency=0.0) as stub:
        write_eval(tmp_path, stub.base_url, cases=5)
        assert main(["run", "stubbed.eval.yaml", "--no-report", "--update-baseline"]) == 0
    out = capsys.readouterr().out
    assert "recordings written: " in out and "stubbed.jsonl.gz (10 responses" in out
    shutil.rmtree(tmp_path / ".brittle")
    monkeypatch.delenv("OPENAI_API_KEY")
    assert main(["run", "stubbed.eval.yaml", "--no-report", "--cache", "replay"]) == 0
    assert "0 made, 10 from the response cache" in capsys.readouterr().out
    args = ["run", "stubbed.eval.yaml", "--no-report", "--cache", "replay", "--recordings", "off"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "not in the response cache (recordings are off)" in out
    assert "brittle run stubbed.eval.yaml --update-baseline" in out
