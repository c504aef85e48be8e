"""Honest verdicts (issue 14): a run that measured nothing never passes and never becomes a
baseline, unless forced; the error budget says which errors it saw.

Every system here calls the local stub server through litellm; ``openai/fail-500`` answers every
request with HTTP 500, so each of its rows is an error (no retries: fast).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.stubproject import FAKE_KEY, StubThread, write_eval

CASES = 20  # and one typo variant each: 40 calls per system
RELATIVE = ("accuracy drop <= 0.02", "flip_rate rise <= 0.05")
FAST = "retries: 0\n"


def _eval(
    pytester: pytest.Pytester,
    stub: StubThread,
    systems: dict[str, str],
    *,
    gates: tuple[str, ...] = RELATIVE,
    extra: str = "",
) -> Path:
    return write_eval(
        pytester.path, stub.base_url, cases=CASES, systems=systems, gates=gates, extra=FAST + extra
    )


def _baseline(pytester: pytest.Pytester) -> Path:
    return pytester.path / "__baselines__" / "stubbed.json"


def _summary(pytester: pytest.Pytester) -> dict:  # type: ignore[type-arg]
    return json.loads((pytester.path / "reports" / "latest" / "summary.json").read_text())


def test_all_errors_with_only_relative_gates_and_a_large_budget_fail(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _eval(pytester, stub, {"down": "openai/fail-500"}, extra="error_budget: 1000\n")
    result = pytester.runpytest()
    out = result.stdout.str()
    result.assert_outcomes(failed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*gate 'accuracy drop <= 0.02' failed",
            "nothing measured: 40 of 40 calls errored; first error: *500*",
            "*errors by message (1 distinct):",
            "*40 x *500*",
        ],
        consecutive=False,
    )
    # said once, in the terminal and in summary.json: the budget allows every call to error
    assert out.count("error_budget 1000 is more than the 40 calls of each system") == 1
    summary = _summary(pytester)
    assert summary["status"] == "failed"
    (ev,) = summary["evals"]
    assert ev["notes"] and ev["notes"][0].startswith("error_budget 1000 is more than the 40")
    assert [g["status"] for g in ev["systems"][0]["gates"]] == ["failed", "failed"]
    assert FAKE_KEY not in out


def test_all_errors_without_gates_never_pass(pytester: pytest.Pytester, stub: StubThread) -> None:
    """No gates, a huge budget, every call errored: was '[passed] run: error_rate = 1.0000'."""
    path = _eval(
        pytester, stub, {"down": "openai/fail-500"}, gates=(), extra="error_budget: 1000\n"
    )
    path.write_text(path.read_text().replace("gates:\n", "gates: []\n"))
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*[[]FAILED[]] run: nothing measured: 40 of 40 calls errored*"])


def test_update_baseline_refuses_a_run_that_measured_nothing(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _eval(pytester, stub, {"down": "openai/fail-500"}, extra="error_budget: 1000\n")
    result = pytester.runpytest("--brittle-update-baseline")
    result.assert_outcomes(skipped=2)  # relative gates are not checked while updating
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not _baseline(pytester).exists()
    result.stdout.fnmatch_lines(
        [
            "baseline NOT written for stubbed / down: nothing measured: 40 of 40 calls errored; "
            "first error (*",
            "*fix: *pytest evals/ --brittle-update-baseline=force",
        ]
    )
    assert _summary(pytester)["baselines_refused"][0].startswith("baseline NOT written for")


def test_update_baseline_refuses_errors_over_the_budget_even_without_gates(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    path = _eval(pytester, stub, {"down": "openai/fail-500"}, gates=())  # error_budget: 0
    path.write_text(path.read_text().replace("gates:\n", "gates: []\n"))
    result = pytester.runpytest("--brittle-update-baseline")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert not _baseline(pytester).exists()
    assert "over the error budget of 0 errors" in result.stdout.str()


def test_forced_update_writes_and_records_the_errors(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _eval(pytester, stub, {"down": "openai/fail-500"}, extra="error_budget: 1000\n")
    result = pytester.runpytest("--brittle-update-baseline=force")
    result.assert_outcomes(skipped=2)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["baseline written anyway (=force) for stubbed / down: *"])
    down = json.loads(_baseline(pytester).read_text())["systems"]["down"]
    assert down["errors"] == 40
    assert down["forced"] == "nothing measured: 40 of 40 calls errored"
    # the next run compares with a baseline that measured nothing: it fails on its own errors
    # and never passes
    again = pytester.runpytest()
    again.assert_outcomes(failed=2)


def test_mixed_run_updates_the_good_system_only(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    _eval(pytester, stub, {"good": "openai/stub", "down": "openai/fail-500"})
    result = pytester.runpytest("--brittle-update-baseline", "stubbed.eval.yaml")
    result.assert_outcomes(skipped=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    systems = json.loads(_baseline(pytester).read_text())["systems"]
    assert list(systems) == ["good"]
    assert systems["good"]["errors"] == 0
    assert "forced" not in systems["good"]
    out = result.stdout.str()
    assert "baseline NOT written for stubbed / down: 40 of 40" not in out  # nothing measured
    assert "baseline NOT written for stubbed / down: nothing measured: 40 of 40 calls" in out
    assert "baseline NOT written for stubbed / good" not in out
    # the good system's relative gates are now decided against its baseline
    later = pytester.runpytest()
    later.assert_outcomes(passed=2, failed=2)


def test_brittle_run_refuses_and_forces_too(
    pytester: pytest.Pytester, stub: StubThread, monkeypatch: pytest.MonkeyPatch
) -> None:
    from brittle.cli import main

    _eval(pytester, stub, {"down": "openai/fail-500"}, extra="error_budget: 1000\n")
    monkeypatch.chdir(pytester.path)
    # the eval file after the bare flag is still the eval file
    assert main(["run", "--update-baseline", "stubbed.eval.yaml", "--no-report"]) == 1
    assert not _baseline(pytester).exists()
    assert main(["run", "stubbed.eval.yaml", "--update-baseline=force", "--no-report"]) == 0
    assert json.loads(_baseline(pytester).read_text())["systems"]["down"]["errors"] == 40
