"""The prompt-or-fine-tune decision (stats/decision.py): its p-value is a hand-computed clustered
paired test, its wording follows the evidence, and its break-even is the arithmetic it claims."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats

from brittle.stats.decision import break_even, compare_pair, paired_delta, primary_pair


def _table(passes: dict[str, list[int]], *, errors: frozenset[str] = frozenset()) -> pd.DataFrame:
    """An outcome table: per case, its original's pass then its variants' passes."""
    rows = []
    for case, outcome in passes.items():
        for index, passed in enumerate(outcome):
            row_id = case if index == 0 else f"{case}~v{index}"
            error = "boom" if row_id in errors else None
            rows.append(
                {
                    "case_id": case,
                    "row_id": row_id,
                    "family": "" if index == 0 else "typo",
                    "passed": None if error else bool(passed),
                    "answer": "yes" if passed else "no",
                    "error": error,
                }
            )
    return pd.DataFrame(rows)


def _random_pair(seed: int, n: int, variants: int, lift: float) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    a, b = {}, {}
    for i in range(n):
        ease = rng.uniform(0.3, 0.9)
        a[f"c{i:03d}"] = [int(rng.random() < ease) for _ in range(variants + 1)]
        b[f"c{i:03d}"] = [int(rng.random() < min(ease + lift, 1)) for _ in range(variants + 1)]
    return a, b


def _hand_clustered_p(a: dict, b: dict) -> float:
    """The paired t test on per-case differences of variant pass rates, cases as clusters, with
    Satterthwaite degrees of freedom matched to the differences' kurtosis, two-sided."""
    d = np.array([np.mean(b[c][1:]) - np.mean(a[c][1:]) for c in a])
    n = len(d)
    centred = d - d.mean()
    se = math.sqrt(np.sum(centred**2) / (n - 1)) / math.sqrt(n)
    kappa = n * np.sum(centred**4) / np.sum(centred**2) ** 2
    df = min(max(2 * n / (kappa - 1), 1.0), n - 1)
    return float(2 * scipy_stats.t.sf(abs(d.mean()) / se, df))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_p_value_is_the_hand_computed_clustered_paired_test(seed: int) -> None:
    a, b = _random_pair(seed, n=60, variants=4, lift=0.08)
    found = paired_delta(_table(a), _table(b), "variant_accuracy")
    assert found is not None
    assert found.cases == 60
    assert found.p_value == pytest.approx(_hand_clustered_p(a, b), rel=1e-9)
    delta = np.mean([np.mean(b[c][1:]) - np.mean(a[c][1:]) for c in a])
    assert found.delta == pytest.approx(delta)
    assert found.ci95[0] < found.delta < found.ci95[1]


def test_accuracy_with_one_unit_per_case_is_the_exact_two_sided_mcnemar_test() -> None:
    a, b = _random_pair(4, n=80, variants=1, lift=0.1)
    found = paired_delta(_table(a), _table(b), "accuracy")
    assert found is not None
    better = sum(b[c][0] > a[c][0] for c in a)
    worse = sum(b[c][0] < a[c][0] for c in a)
    hand = scipy_stats.binomtest(better, better + worse, 0.5).pvalue
    assert found.p_value == pytest.approx(hand, rel=1e-9)
    assert "McNemar" in found.method


def test_rows_one_system_errored_on_are_left_out_of_both() -> None:
    a = {f"c{i}": [1, 1, 0] for i in range(10)}
    b = {f"c{i}": [1, 1, 1] for i in range(10)}
    errored = frozenset(f"c{i}~v2" for i in range(5))
    found = paired_delta(_table(a), _table(b, errors=errored), "variant_accuracy")
    assert found is not None
    # c0..c4 keep only their first variant (passed by both); c5..c9 keep both
    assert found.a == pytest.approx((5 + 5) / 15)
    assert found.b == pytest.approx(1.0)


def _decide(a: dict, b: dict, **kwargs) -> dict:
    return compare_pair(
        ("few-shot", "lora"),
        (_table(a), _table(b)),
        per_1k=kwargs.get("per_1k", (0.4, 0.05)),
        training=kwargs.get("training", (0.0, 50.0)),
    )


def test_wording_better_when_the_second_system_is_significantly_more_accurate() -> None:
    a, b = _random_pair(5, n=80, variants=3, lift=0.3)
    decision = _decide(a, b)
    assert decision["verdict"] == "better"
    assert decision["p_value"] < 0.05
    text = decision["recommendation"]
    assert text.startswith("lora is better than few-shot on accuracy on reworded inputs")
    assert "The evidence supports lora." in text


def test_wording_worse_when_it_is_significantly_less_accurate() -> None:
    a, b = _random_pair(5, n=80, variants=3, lift=0.3)
    decision = _decide(b, a)
    assert decision["verdict"] == "worse"
    assert decision["recommendation"].startswith("lora is worse than few-shot")
    assert "The evidence supports keeping few-shot." in decision["recommendation"]


def test_wording_no_measurable_difference_names_the_cases_that_would_settle_it() -> None:
    a, b = _random_pair(6, n=20, variants=3, lift=0.05)
    decision = _decide(a, b)
    assert decision["verdict"] == "no measurable difference"
    assert decision["p_value"] >= 0.05
    needed = decision["cases_needed"]
    assert isinstance(needed, int) and needed > 20
    text = decision["recommendation"]
    assert text.startswith("No measurable difference between lora and few-shot")
    assert f"{needed} cases would settle it" in text
    assert "does not favour either" in text


def test_break_even_is_the_training_over_the_saving_per_call() -> None:
    found = break_even(("few-shot", "lora"), (0.40, 0.05), (0.0, 70.0))
    # $70 repaid at $0.35 per 1,000 calls: 200,000 calls
    assert found.calls == 200_000
    assert found.repaid_by == "lora"
    assert "repaid after 200,000 calls" in found.reason
    # both trained: only the difference is repaid; rounding up to a whole call
    assert break_even(("a", "b"), (1.0, 0.7), (10.0, 11.0)).calls == math.ceil(1 / 0.3 * 1000)


def test_no_break_even_says_why() -> None:
    never = break_even(("few-shot", "lora"), (0.05, 0.05), (0.0, 70.0))
    assert never.calls is None and never.reason.startswith("never: lora costs as much or more")
    unpriced = break_even(("few-shot", "lora"), (0.4, None), (0.0, 70.0))
    assert unpriced.calls is None and "no price for lora" in unpriced.reason
    untrained = break_even(("few-shot", "lora"), (0.4, 0.05), (0.0, None))
    assert untrained.calls is None and "no training_cost set for lora" in untrained.reason
    equal = break_even(("a", "b"), (0.4, 0.05), (0.0, 0.0))
    assert equal.calls is None and "no training cost to repay" in equal.reason


def test_the_primary_pair_is_the_most_accurate_on_reworded_inputs_of_each_kind() -> None:
    def system(kind: str, variant: float, flips: float = 0.1) -> dict:
        return {
            "kind": kind,
            "metrics": {"overall": {"variant_accuracy": variant, "flip_rate": flips}},
        }

    systems = {
        "zero-shot": system("prompt", 0.6),
        "few-shot": system("prompt", 0.8),
        "lora": system("model", 0.7),
        "full": system("model", 0.75),
        "rules": system("python", 0.99),
    }
    assert primary_pair(systems) == ("few-shot", "full")
    assert primary_pair({k: v for k, v in systems.items() if k != "lora" and k != "full"}) is None
