"""The adapter check through the plugin: a fine-tune with a known base (``base: <model>`` beside
a provider fine-tune id) whose base answers the sampled originals, on the stub server.

The stub answers the first word of the prompt for any model name, so ``openai/ft-same`` and its
base ``openai/base-x`` answer alike (an adapter that changes nothing), while ``openai/ft-neg``
always answers "negative" (a fine-tune that changes the positive cases' answers).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.stubproject import FAKE_KEY, StubThread, start_in_thread, write_eval

CASES = 12  # one typo variant each: 24 calls per system, then 12 base calls (sample 30 > 12)
WARNING = f"the adapter changed 0 of {CASES} answers: is it applied?"


@pytest.fixture
def stub(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Iterator[StubThread]:
    """The stub server with one fine-tune that always answers "negative"."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0, replies={"ft-neg": "negative"}) as server:
        yield server


def _project(
    folder: Path,
    stub: StubThread,
    systems: dict[str, str],
    extra: dict[str, str],
    gates: Any,
    eval_keys: str = "",
) -> Path:
    """An eval whose systems named in ``extra`` are fine-tunes (``kind: model``) with those
    YAML lines added (``base: ...``, ``adapter_check: ...``)."""
    path = write_eval(
        folder, stub.base_url, cases=CASES, systems=systems, gates=gates, extra=eval_keys
    )
    text = path.read_text()
    for name, lines in extra.items():
        marker = f"  {name}:\n    kind: prompt\n"
        assert marker in text
        text = text.replace(marker, f"  {name}:\n    kind: model\n{lines}")
    path.write_text(text)
    return path


def _reports(
    folder: Path, reports: str = "reports"
) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    latest = folder / reports / "latest"
    return (
        json.loads((latest / "summary.json").read_text()),
        json.loads((latest / "run.json").read_text()),
        (latest / "summary.md").read_text(),
        (latest / "index.html").read_text(),
    )


def test_an_adapter_that_changes_nothing_is_a_warning_in_every_output(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _project(
        pytester.path,
        stub,
        {"prompt": "openai/stub", "ft": "openai/ft-same"},
        {"ft": "    base: openai/base-x\n"},
        ("accuracy >= 0.9", "adapter_changed >= 0.1"),
    )
    result = pytester.runpytest("-rs")
    # the prompt system's adapter gate does not apply (skipped); the fine-tune's fails
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    # every original of each system and its typo, then the fine-tune's base on all 12 originals
    assert stub.stats.requests == 2 * 2 * CASES + CASES

    terminal = result.stdout.str()
    assert f"note: system 'ft': {WARNING}" in terminal
    assert "adapter_changed does not apply to 'prompt'" in terminal
    assert "adapter_changed = 0.0000, required >= 0.1" in terminal

    summary, run, markdown, page = _reports(pytester.path)
    (ev,) = summary["evals"]
    assert any(note.startswith(f"system 'ft': {WARNING}") for note in ev["notes"])
    systems = {s["name"]: s for s in ev["systems"]}
    check = systems["ft"]["adapter_check"]
    assert check["base"] == "openai/base-x"
    assert (check["sample"], check["changed"], check["share_changed"]) == (CASES, 0, 0.0)
    assert check["warning"].startswith(WARNING)
    assert systems["prompt"]["adapter_check"] is None

    record = run["evals"][0]["systems"]["ft"]["adapter_check"]
    assert record["warning"] == check["warning"] and len(record["cases"]) == CASES
    assert sorted(record["unchanged"]) == sorted(record["cases"])
    assert run["evals"][0]["notes"] == ev["notes"]
    assert WARNING in markdown
    assert "adapter-warning" in page and WARNING in page


def test_a_fine_tune_that_changes_answers_passes_without_a_warning(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _project(
        pytester.path,
        stub,
        {"ft": "openai/ft-neg"},
        {"ft": "    base: openai/base-x\n    adapter_check: {sample: 8}\n"},
        ("adapter_changed >= 0.1",),
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert stub.stats.requests == 2 * CASES + 8  # the sample asked for

    summary, _, markdown, page = _reports(pytester.path)
    (ev,) = summary["evals"]
    check = ev["systems"][0]["adapter_check"]
    # the fine-tune answers "negative" to all; the base the expected label: the positive cases
    assert check["sample"] == 8 and check["warning"] is None
    assert 0 < check["changed"] < 8 and check["share_changed"] == check["changed"] / 8
    assert not any("adapter" in note for note in ev["notes"])
    assert "is it applied" not in markdown + page + result.stdout.str()
    assert f"changed {check['changed']} of 8 sampled answers" in page
    counted = f"adapter check: changed {check['changed']} of 8 sampled answers of its base"
    assert f"- ft: {counted} openai/base-x" in markdown
    assert f"{counted} openai/base-x" in result.stdout.str()


def test_a_gate_on_a_check_that_did_not_run_fails_with_nothing_measured(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _project(
        pytester.path,
        stub,
        {"unchecked": "openai/ft-neg", "broken": "openai/ft-neg"},
        {
            "unchecked": "    base: openai/base-x\n    adapter_check: false\n",
            # the stub answers the model name fail-500 with HTTP 500, every time
            "broken": "    base: openai/fail-500\n",
        },
        ("adapter_changed >= 0.1",),
        eval_keys="retries: 0\n",
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=2)
    terminal = result.stdout.str()
    assert (
        "nothing measured for adapter_changed: the adapter check did not run (turned off by "
        "'adapter_check: false')" in terminal
    )
    assert "the base model openai/fail-500 answered none of the 12 sampled cases" in terminal
    summary, _, _, _ = _reports(pytester.path)
    (ev,) = summary["evals"]
    systems = {s["name"]: s for s in ev["systems"]}
    assert systems["unchecked"]["adapter_check"]["share_changed"] is None
    assert systems["broken"]["adapter_check"]["errors"] == CASES
    # turned off is the user's choice: no note; a check that failed to run is said
    notes = " ".join(ev["notes"])
    assert "system 'unchecked': the adapter" not in notes
    assert "system 'broken': the adapter check did not run" in notes


def test_the_python_api_takes_base_and_adapter_check(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    pytester.makepyfile(
        test_api=f"""
        import brittle

        @brittle.evaluation
        def test_adapter():
            params = {{"api_base": "{stub.base_url}", "temperature": 0}}
            return brittle.Eval(
                name="api",
                golden=[
                    brittle.Case(id=f"c{{i}}", inputs={{"text": "positive review {{i}}"}},
                                 expected="positive")
                    for i in range(6)
                ],
                systems=[
                    brittle.ModelSystem("ft", "openai/ft-same", "{{{{ text }}}}", params=params,
                                        base="openai/base-x", adapter_check={{"sample": 4}}),
                ],
                checks=[brittle.checks.label(["positive", "negative"])],
                gates=["adapter_changed >= 0.5"],
            )
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert stub.stats.requests == 6 + 4
    assert "the adapter changed 0 of 4 answers: is it applied?" in result.stdout.str()


def test_the_base_answers_are_recorded_with_the_baseline_and_replayed(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _project(
        pytester.path,
        stub,
        {"ft": "openai/ft-neg"},
        {"ft": "    base: openai/base-x\n    adapter_check: {sample: 5}\n"},
        ("adapter_changed >= 0.1",),
    )
    assert pytester.runpytest("--brittle-update-baseline").ret == 0
    recorded = stub.stats.requests
    assert recorded == 2 * CASES + 5
    first, _, _, _ = _reports(pytester.path)
    stub.stop()  # CI: no server, no key, no response cache; the recordings alone
    result = pytester.runpytest("--brittle-cache=replay")
    result.assert_outcomes(passed=1)
    assert stub.stats.requests == recorded
    summary, _, _, _ = _reports(pytester.path)
    replayed = summary["evals"][0]["systems"][0]["adapter_check"]
    assert replayed == first["evals"][0]["systems"][0]["adapter_check"]
    assert replayed["sample"] == 5 and replayed["changed"] > 0


def test_shards_merged_sum_their_checks(
    pytester: pytest.Pytester, stub: StubThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brittle.cli import main

    _project(
        pytester.path,
        stub,
        {"ft": "openai/ft-same"},
        {"ft": "    base: openai/base-x\n"},
        ("adapter_changed >= 0.1",),
    )
    monkeypatch.chdir(pytester.path)
    folders = []
    for k in (1, 2):
        folder = f"s{k}"
        assert (
            pytester.runpytest(f"--brittle-shard={k}/2", f"--brittle-report-dir={folder}").ret == 0
        )
        folders.append(folder)
    shards = [
        json.loads((pytester.path / f / "latest" / "summary.json").read_text()) for f in folders
    ]
    samples = [s["evals"][0]["systems"][0]["adapter_check"]["sample"] for s in shards]
    assert sum(samples) == CASES and all(samples)  # each shard checks its own cases

    assert main(["merge", *folders, "--report-dir", "merged"]) == 1  # the gate fails
    merged, run, _, _ = _reports(pytester.path, "merged")
    check = merged["evals"][0]["systems"][0]["adapter_check"]
    assert (check["sample"], check["changed"]) == (CASES, 0)
    assert check["warning"].startswith(WARNING)
    assert any(note.startswith(f"system 'ft': {WARNING}") for note in merged["evals"][0]["notes"])
    (gate,) = merged["evals"][0]["systems"][0]["gates"]
    assert gate["status"] == "failed" and "adapter_changed = 0.0000" in gate["message"]
    assert sorted(run["evals"][0]["systems"]["ft"]["adapter_check"]["cases"]) == [
        f"r{i:04d}" for i in range(CASES)
    ]
