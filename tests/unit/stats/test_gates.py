"""Gates: parsing, names, helpful errors, and verdicts at and around their thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from brittle._errors import ConfigError
from brittle.stats.gates import ErrorBudget, Gate, Verdict

NO_ERRORS = ErrorBudget()


def metrics(
    *,
    errors: int = 0,
    cases: int = 10,
    variants: int = 10,
    families: dict[str, dict[str, Any]] | None = None,
    **overall: Any,
) -> dict[str, Any]:
    """A compute_metrics-shaped result with only the numbers a test needs."""
    return {
        "overall": {"errors": errors, "cases": cases, "variants": variants, **overall},
        "families": families or {},
    }


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gate"),
    [
        ("accuracy >= 0.8", Gate("accuracy", "min", 0.8)),
        ("accuracy>=0.8", Gate("accuracy", "min", 0.8)),
        ("  worst_case_accuracy >= 1  ", Gate("worst_case_accuracy", "min", 1.0)),
        ("flip_rate <= 0.1", Gate("flip_rate", "max", 0.1)),
        ("flip_rate[typo] <= 0.1", Gate("flip_rate", "max", 0.1, family="typo")),
        ("flip_rate[ typo ]<=0.1", Gate("flip_rate", "max", 0.1, family="typo")),
        ("agreement[char-swap.v2] >= 0.9", Gate("agreement", "min", 0.9, "char-swap.v2")),
        ("accuracy drop <= 0.02", Gate("accuracy", "max_drop", 0.02)),
        ("accuracy  drop<=0.02", Gate("accuracy", "max_drop", 0.02)),
        ("flip_rate rise <= 3%", Gate("flip_rate", "max_rise", 0.03)),
        ("flip_rate[casing] rise <= 0.05", Gate("flip_rate", "max_rise", 0.05, "casing")),
        ("error_rate <= 50%", Gate("error_rate", "max", 0.5)),
    ],
)
def test_parse_string(text: str, gate: Gate) -> None:
    assert Gate.parse(text) == gate


@pytest.mark.parametrize(
    ("spec", "gate"),
    [
        ({"metric": "accuracy", "min": 0.8}, Gate("accuracy", "min", 0.8)),
        (
            {"metric": "flip_rate", "family": "typo", "max": 0.1},
            Gate("flip_rate", "max", 0.1, "typo"),
        ),
        ({"metric": "accuracy", "max_drop": "2%"}, Gate("accuracy", "max_drop", 0.02)),
        ({"metric": "pdr", "max_rise": 0}, Gate("pdr", "max_rise", 0.0)),
        ({"metric": "agreement", "min": "0.9"}, Gate("agreement", "min", 0.9)),
    ],
)
def test_parse_mapping(spec: dict[str, Any], gate: Gate) -> None:
    assert Gate.parse(spec) == gate


def test_parse_returns_a_gate_unchanged() -> None:
    gate = Gate("accuracy", "min", 0.8)
    assert Gate.parse(gate) is gate


def test_string_and_mapping_forms_are_the_same_gate() -> None:
    assert Gate.parse("flip_rate[typo] <= 0.1") == Gate.parse(
        {"metric": "flip_rate", "family": "typo", "max": 0.1}
    )


@pytest.mark.parametrize(
    ("text", "name", "item_name", "relative"),
    [
        ("accuracy >= 0.8", "accuracy >= 0.8", "accuracy>=0.8", False),
        ("flip_rate[typo] <= 0.10", "flip_rate[typo] <= 0.1", "flip_rate[typo]<=0.1", False),
        ("accuracy drop <= 0.02", "accuracy drop <= 0.02", "accuracy-drop<=0.02", True),
        ("flip_rate rise <= 3%", "flip_rate rise <= 0.03", "flip_rate-rise<=0.03", True),
        (
            "flip_rate[typo] rise <= 0.03",
            "flip_rate[typo] rise <= 0.03",
            "flip_rate[typo]-rise<=0.03",
            True,
        ),
    ],
)
def test_names(text: str, name: str, item_name: str, relative: bool) -> None:
    gate = Gate.parse(text)
    assert gate.name == name
    assert gate.item_name == item_name
    assert " " not in gate.item_name
    assert gate.relative is relative


def test_unknown_metric_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse("acuracy >= 0.8", where="evals/s.eval.yaml:12", key="gates[0]")
    message = str(info.value)
    assert message.startswith("evals/s.eval.yaml:12: 'gates[0]': unknown metric 'acuracy'")
    assert "did you mean 'accuracy'?" in message
    assert "fix: use one of: accuracy, variant_accuracy, flip_rate" in message


def test_unknown_metric_in_a_mapping_names_the_metric_key() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse({"metric": "flip_rat", "max": 0.1}, where="e.yaml", key="gates[2]")
    assert info.value.key == "gates[2].metric"
    assert "unknown metric 'flip_rat' (did you mean 'flip_rate'?)" in str(info.value)


def test_unknown_metric_without_a_close_match_lists_the_metrics() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse("latency <= 3")
    assert "unknown metric 'latency'" in str(info.value)
    assert "did you mean" not in str(info.value)
    assert "worst_case_accuracy" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "accuracy > 0.8",
        "accuracy = 0.8",
        "accuracy >= -0.1",
        "accuracy >= high",
        "accuracy 0.8",
        "accuracy fall <= 0.02",
        "",
    ],
)
def test_unreadable_string_shows_the_forms(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse(text, where="e.yaml:4", key="gates[1]")
    message = str(info.value)
    assert message.startswith(f"e.yaml:4: 'gates[1]': cannot read gate {text!r}")
    assert "'accuracy >= 0.8'" in message
    assert "'flip_rate[typo] <= 0.1'" in message
    assert "'accuracy drop <= 0.02'" in message


def test_mapping_with_two_ops() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse({"metric": "accuracy", "min": 0.8, "max": 0.9}, where="e.yaml")
    message = str(info.value)
    assert "gate on 'accuracy' needs exactly one of min, max, max_drop, max_rise" in message
    assert "fix: write e.g. {metric: flip_rate, family: typo, max: 0.1}" in message


def test_mapping_with_no_op() -> None:
    with pytest.raises(ConfigError, match="needs exactly one of min, max"):
        Gate.parse({"metric": "accuracy"})


def test_mapping_with_an_unknown_key_names_it() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse({"metric": "accuracy", "minimum": 0.8})
    assert "unknown key 'minimum'" in str(info.value)
    assert "did you mean 'min'?" in str(info.value)


def test_mapping_without_metric() -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse({"min": 0.8}, where="e.yaml", key="gates[0]")
    assert "gate has no 'metric'" in str(info.value)
    assert "fix: add e.g. 'metric: accuracy'" in str(info.value)


@pytest.mark.parametrize("value", ["high", None, [0.8], "0.8.1%"])
def test_mapping_threshold_that_is_not_a_number(value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse({"metric": "accuracy", "min": value}, where="e.yaml", key="gates[3]")
    assert info.value.key == "gates[3].min"
    assert f"gate threshold {value!r} is not a number" in str(info.value)
    assert "fix: write e.g. 0.8" in str(info.value)


def test_string_threshold_that_is_not_a_number() -> None:
    with pytest.raises(ConfigError, match=r"gate threshold '0\.8\.1' is not a number"):
        Gate.parse("accuracy >= 0.8.1")


@pytest.mark.parametrize("spec", [0.8, ["accuracy", ">=", 0.8], None])
def test_gate_of_the_wrong_type(spec: Any) -> None:
    with pytest.raises(ConfigError, match="a gate must be a string or a mapping"):
        Gate.parse(spec)


# --- absolute verdicts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "passed"), [(0.8, True), (0.81, True), (0.7999, False), (0.0, False), (1.0, True)]
)
def test_min_gate_at_and_around_the_threshold(now: float, passed: bool) -> None:
    verdict = Gate.parse("accuracy >= 0.8").evaluate(metrics(accuracy=now), None, NO_ERRORS)
    assert verdict.passed is passed
    assert verdict.now == now
    assert verdict.baseline is None
    assert verdict.message == f"accuracy = {now:.4f}, required >= 0.8"
    assert verdict.status == ("passed" if passed else "FAILED")


@pytest.mark.parametrize(("now", "passed"), [(0.1, True), (0.0, True), (0.1001, False)])
def test_max_gate_at_and_around_the_threshold(now: float, passed: bool) -> None:
    verdict = Gate.parse("flip_rate <= 0.1").evaluate(metrics(flip_rate=now), None, NO_ERRORS)
    assert verdict.passed is passed
    assert verdict.message == f"flip_rate = {now:.4f}, required <= 0.1"


def test_share_exactly_at_a_percent_threshold_passes() -> None:
    # 3 flips of 100 pairs against "3%": both are 0.03 exactly
    verdict = Gate.parse("flip_rate <= 3%").evaluate(metrics(flip_rate=3 / 100), None, NO_ERRORS)
    assert verdict.passed is True


def test_family_gate_reads_the_family_block() -> None:
    run = metrics(flip_rate=0.0, families={"typo": {"flip_rate": 0.25}, "casing": {}})
    verdict = Gate.parse("flip_rate[typo] <= 0.1").evaluate(run, None, NO_ERRORS)
    assert verdict.passed is False
    assert verdict.now == 0.25


def test_absolute_gate_on_an_undefined_metric_fails() -> None:
    verdict = Gate.parse("flip_rate <= 0.1").evaluate(metrics(flip_rate=None), None, NO_ERRORS)
    assert verdict.passed is False
    assert verdict.message.startswith(
        "nothing measured for flip_rate: no (original, variant) pair was scored"
    )
    undefined = metrics(accuracy=0.0, variant_accuracy=0.5, pdr=None)  # pdr: 0 / 0
    verdict = Gate.parse("pdr <= 0.1").evaluate(undefined, None, NO_ERRORS)
    assert verdict.passed is False
    assert verdict.message == "pdr is undefined (no scored rows)"


def test_family_missing_from_the_run_fails_and_lists_the_families() -> None:
    run = metrics(families={"casing": {"flip_rate": 0.0}, "whitespace": {"flip_rate": 0.0}})
    verdict = Gate.parse("flip_rate[typo] <= 0.1").evaluate(run, None, NO_ERRORS)
    assert verdict.passed is False
    assert verdict.message == (
        "no variants of family 'typo' were run (families run: casing, whitespace)"
    )


def test_family_missing_from_a_run_without_variants() -> None:
    verdict = Gate.parse("accuracy[typo] drop <= 0.02").evaluate(
        metrics(variants=0), metrics(), NO_ERRORS
    )
    assert verdict.passed is False
    assert verdict.message.endswith("(families run: none)")


# --- relative verdicts -------------------------------------------------------------------------


def test_relative_gate_without_baseline_is_skipped() -> None:
    verdict = Gate.parse("accuracy drop <= 0.02").evaluate(metrics(accuracy=0.1), None, NO_ERRORS)
    assert verdict.passed is None
    assert verdict.status == "skipped"
    assert verdict.message == "no baseline: relative gate skipped"


def test_relative_gate_with_metric_undefined_in_the_baseline_is_skipped() -> None:
    verdict = Gate.parse("flip_rate rise <= 0.03").evaluate(
        metrics(flip_rate=0.5, pairs=10), metrics(flip_rate=None), NO_ERRORS
    )
    assert verdict.passed is None
    assert "the baseline measured nothing for flip_rate" in verdict.message
    verdict = Gate.parse("pdr rise <= 0.03").evaluate(
        metrics(accuracy=0.5, variant_accuracy=0.5, pdr=0.0),
        metrics(accuracy=0.0, variant_accuracy=0.5, pdr=None),
        NO_ERRORS,
    )
    assert verdict.passed is None
    assert "undefined in the run or the baseline" in verdict.message


def test_relative_family_gate_when_the_baseline_lacks_the_family_is_skipped() -> None:
    run = metrics(families={"typo": {"flip_rate": 0.2}})
    verdict = Gate.parse("flip_rate[typo] rise <= 0.03").evaluate(run, metrics(), NO_ERRORS)
    assert verdict.passed is None
    assert verdict.now == 0.2


@pytest.mark.parametrize(
    ("before", "now", "passed", "delta"),
    [
        (0.80, 0.78, True, "-0.0200"),  # a drop of exactly the allowance (0.78 - 0.80 != -0.02)
        (0.80, 0.79, True, "-0.0100"),
        (0.80, 0.95, True, "+0.1500"),  # an improvement is never a drop
        (0.80, 0.80, True, "+0.0000"),
        (0.80, 0.7799, False, "-0.0201"),
        (0.80, 0.50, False, "-0.3000"),
    ],
)
def test_drop_gate(before: float, now: float, passed: bool, delta: str) -> None:
    gate = Gate.parse("accuracy drop <= 0.02")
    verdict = gate.evaluate(metrics(accuracy=now), metrics(accuracy=before), NO_ERRORS)
    assert verdict.passed is passed
    assert verdict.now == now
    assert verdict.baseline == before
    assert verdict.details["delta"] == pytest.approx(now - before)
    assert verdict.message == (
        f"baseline {before:.4f}, now {now:.4f}, delta {delta}, allowed a drop of at most 0.02"
    )


@pytest.mark.parametrize(
    ("before", "now", "passed"),
    [
        (0.10, 0.13, True),  # a rise of exactly the allowance (0.13 - 0.10 > 0.03 in floats)
        (0.10, 0.05, True),  # a fall is never a rise
        (0.10, 0.1301, False),
        (0.0, 0.25, False),
    ],
)
def test_rise_gate(before: float, now: float, passed: bool) -> None:
    gate = Gate.parse("flip_rate rise <= 3%")
    verdict = gate.evaluate(metrics(flip_rate=now), metrics(flip_rate=before), NO_ERRORS)
    assert verdict.passed is passed
    assert verdict.message == (
        f"baseline {before:.4f}, now {now:.4f}, delta {now - before:+.4f}, "
        "allowed a rise of at most 0.03"
    )


def test_relative_family_gate_compares_the_family_blocks() -> None:
    run = metrics(flip_rate=0.0, families={"typo": {"flip_rate": 0.30}})
    base = metrics(flip_rate=0.9, families={"typo": {"flip_rate": 0.10}})
    verdict = Gate.parse("flip_rate[typo] rise <= 0.05").evaluate(run, base, NO_ERRORS)
    assert verdict.passed is False
    assert (verdict.baseline, verdict.now) == (0.10, 0.30)
    assert "delta +0.2000" in verdict.message


def test_the_baselines_error_count_does_not_matter() -> None:
    verdict = Gate.parse("accuracy drop <= 0.02").evaluate(
        metrics(accuracy=0.9), metrics(accuracy=0.9, errors=5), NO_ERRORS
    )
    assert verdict.passed is True


# --- error budget ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "budget"),
    [
        (None, ErrorBudget(count=0)),
        (0, ErrorBudget(count=0)),
        (3, ErrorBudget(count=3)),
        ("5%", ErrorBudget(count=None, share=0.05)),
        (" 2.5% ", ErrorBudget(count=None, share=0.025)),
        (0.05, ErrorBudget(count=None, share=0.05)),
        (0.0, ErrorBudget(count=None, share=0.0)),
    ],
)
def test_error_budget_parse(value: Any, budget: ErrorBudget) -> None:
    assert ErrorBudget.parse(value) == budget


@pytest.mark.parametrize("value", [-1, 1.0, 1.5, -0.1, "3", "a lot", True, [3]])
def test_error_budget_invalid(value: Any) -> None:
    with pytest.raises(ConfigError) as info:
        ErrorBudget.parse(value, where="evals/s.eval.yaml")
    message = str(info.value)
    assert message.startswith("evals/s.eval.yaml: 'error_budget': ")
    if value is not True:
        assert f"error_budget {value!r} is neither a count nor a share" in message
        assert "fix: write a whole number of calls (e.g. 0 or 3)" in message


@pytest.mark.parametrize("value", ["-5%", "150%"])
def test_error_budget_percent_out_of_range(value: str) -> None:
    with pytest.raises(ConfigError, match="error_budget"):
        ErrorBudget.parse(value)


def test_error_budget_unreadable_percent_talks_about_the_budget() -> None:
    with pytest.raises(ConfigError) as info:
        ErrorBudget.parse("many%")
    assert "gate threshold" not in str(info.value)
    assert "2%" in str(info.value)


@pytest.mark.parametrize(
    ("budget", "errors", "calls", "allowed"),
    [
        (ErrorBudget(), 0, 20, True),
        (ErrorBudget(), 1, 20, False),
        (ErrorBudget(count=3), 3, 20, True),
        (ErrorBudget(count=3), 4, 20, False),
        (ErrorBudget(count=None, share=0.05), 1, 20, True),  # exactly 5%
        (ErrorBudget(count=None, share=0.05), 2, 20, False),
        (ErrorBudget(count=None, share=0.05), 0, 0, True),
    ],
)
def test_error_budget_allows(budget: ErrorBudget, errors: int, calls: int, allowed: bool) -> None:
    assert budget.allows(errors, calls) is allowed


def test_error_budget_describe() -> None:
    assert ErrorBudget().describe() == "0 errors"
    assert ErrorBudget(count=1).describe() == "1 error"
    assert ErrorBudget(count=None, share=0.05).describe() == "5% of calls"


@pytest.mark.parametrize(
    "gate",
    ["accuracy >= 0.5", "flip_rate <= 0.5", "accuracy drop <= 0.5", "flip_rate[typo] rise <= 1"],
)
def test_error_over_budget_fails_an_otherwise_passing_gate(gate: str) -> None:
    run = metrics(
        errors=2,
        cases=10,
        variants=30,
        accuracy=0.9,
        flip_rate=0.0,
        families={"typo": {"flip_rate": 0.0}},
    )
    base = metrics(accuracy=0.9, flip_rate=0.0, families={"typo": {"flip_rate": 0.0}})
    parsed = Gate.parse(gate)
    assert parsed.evaluate(run, base, ErrorBudget(count=2)).passed is True
    verdict = parsed.evaluate(run, base, ErrorBudget(count=1))
    assert verdict.passed is False
    assert verdict.message == (
        "2 of 40 calls errored, over the error budget of 1 error: the gate cannot pass on "
        "incomplete results (brittle's summary at the end of the output shows the first error; "
        "the report lists them in summary.md and run.json, and every one in results.parquet's "
        "'error' column)"
    )
    assert verdict.details == {"errors": 2, "calls": 40}


def test_error_budget_as_a_share_in_a_verdict() -> None:
    run = metrics(errors=3, cases=10, variants=40, accuracy=1.0)  # 3 of 50 = 6%
    gate = Gate.parse("accuracy >= 0.5")
    assert gate.evaluate(run, None, ErrorBudget.parse("6%")).passed is True
    verdict = gate.evaluate(run, None, ErrorBudget.parse("5%"))
    assert verdict.passed is False
    assert "3 of 50 calls errored, over the error budget of 5% of calls" in verdict.message


def test_error_budget_also_fails_a_relative_gate_without_baseline() -> None:
    verdict = Gate.parse("accuracy drop <= 0.02").evaluate(metrics(errors=1), None, NO_ERRORS)
    assert verdict.passed is False


def test_verdict_status() -> None:
    gate = Gate("accuracy", "min", 0.8)
    assert [Verdict(gate, p, "").status for p in (True, False, None)] == [
        "passed",
        "FAILED",
        "skipped",
    ]
