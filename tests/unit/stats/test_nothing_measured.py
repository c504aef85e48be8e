"""A verdict needs measurements: gates over what no scored row measured fail, whatever the
budget; a run that measured nothing, or errored past its budget, never becomes a baseline."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from brittle.options import DISPLACED, OPTIONS, argparse_kwargs
from brittle.stats.gates import ErrorBudget, Gate, baseline_refusal

HUGE = ErrorBudget(count=1000)


def metrics(
    *, errors: int = 0, cases: int = 40, variants: int = 80, **overall: Any
) -> dict[str, Any]:
    families = overall.pop("families", {})
    return {
        "overall": {"errors": errors, "cases": cases, "variants": variants, **overall},
        "families": families,
    }


#: every call errored: what compute_metrics gives (error_rate 1, the rest undefined)
ALL_ERRORS = metrics(
    errors=120,
    error_rate=1.0,
    accuracy=None,
    variant_accuracy=None,
    flip_rate=None,
    pairs=0,
    families={"typo": {"errors": 120, "cases": 40, "variants": 80, "pairs": 0}},
)
GOOD = metrics(accuracy=0.9, variant_accuracy=0.9, flip_rate=0.1, pairs=80, error_rate=0.0)


@pytest.mark.parametrize(
    "gate",
    [
        "accuracy >= 0.5",
        "error_rate <= 1",  # the no-gates case: the budget's own gate
        "flip_rate[typo] <= 0.5",
        "accuracy drop <= 0.02",
        "flip_rate rise <= 0.03",
        "excess_flip_rate <= 0.5",
        "self_disagreement <= 0.5",
    ],
)
@pytest.mark.parametrize("baseline", [None, GOOD])
def test_a_run_that_measured_nothing_fails_every_gate(
    gate: str, baseline: dict[str, Any] | None
) -> None:
    verdict = Gate.parse(gate).evaluate(ALL_ERRORS, baseline, HUGE)
    assert verdict.passed is False
    assert verdict.message == "nothing measured: 120 of 120 calls errored"
    assert verdict.details == {"errors": 120, "calls": 120, "nothing_measured": True}


def test_a_run_without_rows_fails() -> None:
    verdict = Gate.parse("accuracy drop <= 0.1").evaluate(metrics(cases=0, variants=0), GOOD, HUGE)
    assert verdict.passed is False
    assert verdict.message == "nothing measured: the run has no rows"


def test_over_the_budget_with_nothing_measured_says_both() -> None:
    verdict = Gate.parse("accuracy >= 0.5").evaluate(ALL_ERRORS, None, ErrorBudget())
    assert verdict.passed is False
    first = verdict.message.splitlines()[0]
    assert first == "nothing measured: 120 of 120 calls errored, over the error budget of 0 errors"
    assert verdict.details["nothing_measured"] is True


def test_a_metric_whose_rows_all_errored_fails_even_relative() -> None:
    # the originals answered, every variant errored: no pair, within a budget of 80
    run = metrics(
        errors=80,
        accuracy=1.0,
        variant_accuracy=None,
        flip_rate=None,
        pairs=0,
        families={"typo": {"errors": 80, "cases": 40, "variants": 80, "pairs": 0}},
    )
    for text in ("flip_rate rise <= 0.03", "flip_rate[typo] <= 0.5", "variant_accuracy >= 0"):
        verdict = Gate.parse(text).evaluate(run, GOOD, ErrorBudget(count=80))
        assert verdict.passed is False, text
        assert verdict.message.startswith("nothing measured for "), verdict.message
        assert "(80 of 120 calls errored)" in verdict.message
    # what was measured is still decided
    assert Gate.parse("accuracy >= 0.9").evaluate(run, None, ErrorBudget(count=80)).passed


def test_a_baseline_that_measured_nothing_skips_saying_so() -> None:
    verdict = Gate.parse("accuracy drop <= 0.02").evaluate(GOOD, ALL_ERRORS, ErrorBudget())
    assert verdict.passed is None
    assert verdict.message.startswith("the baseline measured nothing for accuracy")
    assert "--brittle-update-baseline" in verdict.message


@pytest.mark.parametrize(
    ("run", "budget", "reason"),
    [
        (GOOD, ErrorBudget(), None),
        (metrics(errors=3, accuracy=0.9), ErrorBudget(count=3), None),
        (
            metrics(errors=4, accuracy=0.9),
            ErrorBudget(count=3),
            "4 of 120 calls errored, over the error budget of 3 errors",
        ),
        (ALL_ERRORS, HUGE, "nothing measured: 120 of 120 calls errored"),
        (metrics(cases=0, variants=0), HUGE, "nothing measured: the run has no rows"),
    ],
)
def test_baseline_refusal(run: dict[str, Any], budget: ErrorBudget, reason: str | None) -> None:
    assert baseline_refusal(run, budget) == reason


def test_a_budget_over_the_rows_is_noted() -> None:
    note = ErrorBudget(count=1000).note(120)
    assert note is not None
    assert note.startswith("error_budget 1000 is more than the 120 calls of each system")
    assert ErrorBudget(count=120).note(120) is None
    assert ErrorBudget(count=None, share=0.5).note(120) is None


# --- --update-baseline[=force] ----------------------------------------------------------------


def _parser(*, hand_back: bool) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("files", nargs="*")
    (option,) = [o for o in OPTIONS if o.flag == "update-baseline"]
    parser.add_argument(
        "--update-baseline", dest="mode", **argparse_kwargs(option, hand_back=hand_back)
    )
    return parser


@pytest.mark.parametrize(
    ("argv", "mode", "files"),
    [
        ([], None, []),
        (["--update-baseline"], "yes", []),
        (["--update-baseline=force"], "force", []),
        (["--update-baseline", "force", "a.eval.yaml"], "force", ["a.eval.yaml"]),
        (["a.eval.yaml", "--update-baseline"], "yes", ["a.eval.yaml"]),
        # a path after the bare flag goes back to the positional arguments
        (["--update-baseline", "evals/a.eval.yaml"], "yes", ["evals/a.eval.yaml"]),
        (["--update-baseline", "one.eval.yaml::a"], "yes", ["one.eval.yaml::a"]),
    ],
)
def test_update_baseline_flag(argv: list[str], mode: str | None, files: list[str]) -> None:
    args, extra = _parser(hand_back=True).parse_known_args(argv)
    assert args.mode == mode
    assert [*args.files, *extra] == files
    kept = _parser(hand_back=False).parse_args(argv)  # brittle run: kept aside, no leftovers
    assert [*kept.files, *getattr(kept, DISPLACED, [])] == files


def test_a_misspelt_mode_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parser(hand_back=True).parse_known_args(["--update-baseline=forse"])
    assert "'forse' is not one of yes, force" in capsys.readouterr().err
