"""The adapter check's pure parts: the sample (deterministic, independent of order), the count
of changed answers and its record, and the gate's three outcomes (skipped, nothing measured,
the threshold), without a model or a server."""

from __future__ import annotations

import pytest

from brittle._errors import ConfigError
from brittle.gateway import CallResult
from brittle.run.adapter_check import WARNING_START, adapter_verdict, compare, sample_ids
from brittle.spec.systems import ModelSystem, PromptSystem
from brittle.stats.gates import ErrorBudget, Gate

IDS = [f"c{i:03d}" for i in range(100)]
GATE = Gate.parse("adapter_changed >= 0.1")


def test_the_sample_is_deterministic_and_independent_of_order_and_of_other_cases() -> None:
    sample = sample_ids(IDS, 30)
    assert len(sample) == 30 == len(set(sample))
    assert sample == sample_ids(list(reversed(IDS)), 30)
    # a case added to the golden set enters only by displacing one that ranks after it
    grown = sample_ids([*IDS, "new-case"], 30)
    assert len(set(sample) - set(grown)) <= 1
    assert sample_ids(IDS[:5], 30) == sample_ids(IDS[:5], 5)  # fewer cases: all of them


def _answer(text: str | None, error: str | None = None, missing: bool = False) -> CallResult:
    return CallResult(text=text, error=error, missing=missing)


def test_changed_answers_are_counted_whitespace_aside() -> None:
    answered = {"a": "positive", "b": "negative ", "c": "positive", "d": "negative"}
    results = [_answer(" positive"), _answer("positive"), _answer(None, "HTTP 500"), _answer("x")]
    check = compare("ft", "openai/base", 30, ["a", "b", "c", "d"], answered, results)
    assert (check.sample, check.changed, check.share_changed) == (3, 2, 2 / 3)
    assert check.warning is None and check.unchanged == ("a",)
    assert (check.errors, check.first_error) == (1, "HTTP 500")


def test_nothing_changed_is_the_warning() -> None:
    answered = {"a": "positive", "b": "negative"}
    check = compare(
        "ft", "local/smollm2", 30, ["a", "b"], answered, [_answer("positive"), _answer("negative")]
    )
    assert check.share_changed == 0.0
    assert check.warning is not None
    assert check.warning.startswith(f"{WARNING_START} 2 answers: is it applied?")
    assert "local/smollm2" in check.warning and "'ft'" in check.warning


def test_no_base_answer_means_not_run_and_says_why() -> None:
    failed = compare("ft", "openai/b", 30, ["a"], {"a": "x"}, [_answer(None, "HTTP 500")])
    assert failed.share_changed is None and failed.warning is None
    assert failed.not_run is not None and "answered none of the 1 sampled cases" in failed.not_run
    missed = compare("ft", "openai/b", 30, ["a"], {"a": "x"}, [_answer(None, "miss", True)])
    assert missed.not_run is not None and "--brittle-update-baseline" in missed.not_run


class _Run:
    """The part of a SystemRun an adapter gate reads."""

    def __init__(self, share: float | None, not_run: str | None = None) -> None:
        record = {"share_changed": share, "not_run": not_run}
        overall = {"cases": 4, "variants": 0, "errors": 0, "adapter_changed": share}
        self.metrics = {"overall": overall, "families": {}, "adapter_check": record}


FT = ModelSystem("ft", "openai/ft-x", base="openai/x")


def test_the_gate_is_skipped_without_a_base_and_fails_when_nothing_was_measured() -> None:
    prompt = PromptSystem("p", "openai/x", "{{ text }}")
    budget = ErrorBudget()
    skipped = adapter_verdict(GATE, prompt, _Run(None), None, budget)  # type: ignore[arg-type]
    assert skipped is not None and skipped.passed is None and "does not apply" in skipped.message
    off = adapter_verdict(GATE, FT, _Run(None, "turned off"), None, budget)  # type: ignore[arg-type]
    assert off is not None and off.passed is False
    assert (
        off.message.startswith("nothing measured for adapter_changed")
        and "turned off" in off.message
    )
    low = adapter_verdict(GATE, FT, _Run(0.05), None, budget)  # type: ignore[arg-type]
    high = adapter_verdict(GATE, FT, _Run(0.5), None, budget)  # type: ignore[arg-type]
    assert low is not None and low.passed is False
    assert high is not None and high.passed is True
    other = Gate.parse("accuracy >= 0.5")
    assert adapter_verdict(other, FT, _Run(0.5), None, budget) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["adapter_changed drop <= 0.1", "adapter_changed rise <= 0.1"])
def test_adapter_changed_is_gated_absolutely_only(text: str) -> None:
    with pytest.raises(ConfigError, match="can only be gated absolutely"):
        Gate.parse(text)
