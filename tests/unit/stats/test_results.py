"""The brittleness metrics, against values computed by hand from small tables; case sums and
intervals, against the metrics."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brittle.stats.intervals import wilson_interval
from brittle.stats.metrics import METRICS, metric_value
from brittle.stats.results import (
    Flip,
    add_intervals,
    case_sums,
    compute_metrics,
    find_flips,
    metric_statistic,
)
from tests.unit.stats.simulation import COLUMNS, flip_table


def table(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Rows are (case_id, row_id, family, passed, answer, error); originals have family ''."""
    return pd.DataFrame(rows, columns=COLUMNS)


def orig(case: str, passed: bool, answer: str | None) -> tuple[Any, ...]:
    return (case, case, "", passed, answer, None)


def var(
    case: str, label: str, passed: bool | None, answer: str | None, error: str | None = None
) -> tuple[Any, ...]:
    return (case, f"{case}[{label}]", label.split("#")[0], passed, answer, error)


def approx(value: float | Fraction) -> Any:
    return pytest.approx(float(value), abs=1e-12)


# 4 cases x 2 families (casing, typo) x 2 variants.
#
#        original      typo#1        typo#2        casing#1           casing#2
#  c1    pass pos      pass pos      FAIL neg      pass pos           pass pos
#  c2    pass neg      pass neg      pass neg      ERROR              pass neg
#  c3    FAIL pos      pass neg      FAIL pos      FAIL pos           FAIL pos
#  c4    pass pos      pass pos      pass pos      FAIL None          pass pos
#
# flips: c1[typo#2] (pass->fail), c3[typo#1] (fail->pass), c4[casing#1] (pass->fail)
# disagreements: the same three pairs (neg/pos, neg/pos, None/pos)
GRID = table(
    [
        orig("c1", True, "pos"),
        orig("c2", True, "neg"),
        orig("c3", False, "pos"),
        orig("c4", True, "pos"),
        var("c1", "typo#1", True, "pos"),
        var("c1", "typo#2", False, "neg"),
        var("c1", "casing#1", True, "pos"),
        var("c1", "casing#2", True, "pos"),
        var("c2", "typo#1", True, "neg"),
        var("c2", "typo#2", True, "neg"),
        var("c2", "casing#1", None, None, "TimeoutError: no answer in 30 s"),
        var("c2", "casing#2", True, "neg"),
        var("c3", "typo#1", True, "neg"),
        var("c3", "typo#2", False, "pos"),
        var("c3", "casing#1", False, "pos"),
        var("c3", "casing#2", False, "pos"),
        var("c4", "typo#1", True, "pos"),
        var("c4", "typo#2", True, "pos"),
        var("c4", "casing#1", False, None),
        var("c4", "casing#2", True, "pos"),
    ]
)

EXPECTED_GRID: dict[str, Any] = {
    "overall": {
        "cases": 4,
        "variants": 16,
        "pairs": 15,  # 16 variants less the errored c2[casing#1]
        "errors": 1,
        "error_rate": Fraction(1, 20),  # 1 errored row of 4 + 16
        "accuracy": Fraction(3, 4),  # c1, c2, c4 pass
        "variant_accuracy": Fraction(10, 15),  # c1 3, c2 3, c3 1, c4 3 of 15 scored
        "flip_rate": Fraction(3, 15),
        "agreement": Fraction(12, 15),
        "pdr": 1 - Fraction(10, 15) / Fraction(3, 4),  # 1/9
        "worst_case_accuracy": Fraction(0, 4),  # c1 fails typo, c2 errored, c3, c4 fails casing
        "prob_shift": None,  # no token log-probabilities
    },
    "families": {
        "casing": {
            "cases": 4,
            "variants": 8,
            "pairs": 7,
            "errors": 1,
            "error_rate": Fraction(1, 12),  # 4 originals + 8 casing variants
            "accuracy": Fraction(3, 4),
            "variant_accuracy": Fraction(4, 7),  # c1 2, c2 1 (one errored), c3 0, c4 1
            "flip_rate": Fraction(1, 7),  # c4[casing#1]
            "agreement": Fraction(6, 7),
            "pdr": 1 - Fraction(4, 7) / Fraction(3, 4),  # 5/21
            "worst_case_accuracy": Fraction(1, 4),  # c1 only; c2's casing variant errored
            "prob_shift": None,  # no token log-probabilities
        },
        "typo": {
            "cases": 4,
            "variants": 8,
            "pairs": 8,
            "errors": 0,
            "error_rate": Fraction(0, 12),
            "accuracy": Fraction(3, 4),
            "variant_accuracy": Fraction(6, 8),  # c1 1, c2 2, c3 1, c4 2
            "flip_rate": Fraction(2, 8),  # c1[typo#2], c3[typo#1]
            "agreement": Fraction(6, 8),
            "pdr": Fraction(0),  # 1 - 0.75 / 0.75
            "worst_case_accuracy": Fraction(2, 4),  # c2, c4 (c2's errored variant is casing)
            "prob_shift": None,  # no token log-probabilities
        },
    },
}


def assert_block(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    assert set(actual) == set(expected)
    for name, value in expected.items():
        if value is None:
            assert actual[name] is None, name
        elif name in ("cases", "variants", "pairs", "errors"):
            assert actual[name] == value, name
        else:
            assert actual[name] == approx(value), name


def test_grid_overall_metrics_match_hand_computed_values() -> None:
    assert_block(compute_metrics(GRID)["overall"], EXPECTED_GRID["overall"])


@pytest.mark.parametrize("family", ["casing", "typo"])
def test_grid_family_metrics_match_hand_computed_values(family: str) -> None:
    metrics = compute_metrics(GRID)
    assert sorted(metrics["families"]) == ["casing", "typo"]
    assert_block(metrics["families"][family], EXPECTED_GRID["families"][family])


def test_every_gateable_metric_is_computed() -> None:
    block = compute_metrics(GRID)["overall"]
    assert set(METRICS) <= set(block)


def test_row_order_does_not_change_metrics() -> None:
    shuffled = GRID.sample(frac=1, random_state=3).reset_index(drop=True)
    assert compute_metrics(shuffled) == compute_metrics(GRID)


def test_errored_original_is_left_out_of_pairs_and_accuracy() -> None:
    # c1's original errored: its variants still count for variant_accuracy, but form no pairs.
    results = table(
        [
            (*orig("c1", True, "pos")[:3], None, None, "HTTP 503"),
            orig("c2", True, "neg"),
            orig("c3", False, "neg"),
            var("c1", "typo#1", False, "neg"),
            var("c2", "typo#1", False, "pos"),
            var("c3", "typo#1", False, "neg"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert_block(
        overall,
        {
            "cases": 3,
            "variants": 3,
            "pairs": 2,  # c2, c3
            "errors": 1,
            "error_rate": Fraction(1, 6),
            "accuracy": Fraction(1, 2),  # c2 of c2, c3
            "variant_accuracy": Fraction(0, 3),
            "flip_rate": Fraction(1, 2),  # c2 pass -> fail
            "agreement": Fraction(1, 2),  # c3 neg == neg
            "pdr": Fraction(1),  # 1 - 0 / 0.5
            "worst_case_accuracy": Fraction(0, 2),
            "prob_shift": None,  # no token log-probabilities
        },
    )
    assert [f.case_id for f in find_flips(results)] == ["c2"]


def test_errored_variant_is_left_out_but_breaks_worst_case() -> None:
    results = table(
        [
            orig("c1", True, "pos"),
            orig("c2", True, "pos"),
            var("c1", "typo#1", True, "pos"),
            var("c1", "typo#2", None, None, "RuntimeError: boom"),
            var("c2", "typo#1", True, "pos"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["pairs"] == 2
    assert overall["variant_accuracy"] == 1.0  # the errored variant is not counted as a fail
    assert overall["flip_rate"] == 0.0
    assert overall["errors"] == 1
    assert overall["error_rate"] == approx(Fraction(1, 5))
    # c1 passes wherever it was scored, but one of its variants errored: not worst-case-correct
    assert overall["worst_case_accuracy"] == 0.5


def test_errored_variant_with_passed_left_true_still_does_not_count() -> None:
    # 'passed' of an errored row is meaningless; only 'error' decides
    results = table(
        [orig("c1", False, "neg"), var("c1", "typo#1", True, "pos", "ValueError: bad output")]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["variant_accuracy"] is None
    assert overall["flip_rate"] is None
    assert overall["pairs"] == 0


def test_fail_to_pass_counts_as_a_flip() -> None:
    results = table([orig("c1", False, "neg"), var("c1", "casing#1", True, "pos")])
    overall = compute_metrics(results)["overall"]
    assert overall["flip_rate"] == 1.0
    assert overall["accuracy"] == 0.0
    assert overall["variant_accuracy"] == 1.0
    assert overall["worst_case_accuracy"] == 0.0
    assert find_flips(results) == [
        Flip("c1", "c1[casing#1]", "casing", False, True, "neg", "pos"),
    ]


def test_agreement_treats_missing_answers() -> None:
    # None vs None agree; None vs an answer disagree (in either direction)
    results = table(
        [
            orig("c1", False, None),
            orig("c2", True, "pos"),
            var("c1", "typo#1", False, None),
            var("c1", "typo#2", False, "neg"),
            var("c2", "typo#1", False, None),
            var("c2", "typo#2", True, "pos"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["pairs"] == 4
    assert overall["agreement"] == 0.5  # c1[typo#1], c2[typo#2]
    assert overall["flip_rate"] == 0.25  # c2[typo#1]


def test_agreement_is_independent_of_pass_fail() -> None:
    # same wrong answer on both: agree, no flip; different right-by-check answers: disagree
    results = table(
        [
            orig("c1", False, "neutral"),
            orig("c2", True, "yes"),
            var("c1", "typo#1", False, "neutral"),
            var("c2", "typo#1", True, "Yes!"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["agreement"] == 0.5
    assert overall["flip_rate"] == 0.0


def test_no_variants_at_all() -> None:
    results = table([orig("c1", True, "a"), orig("c2", False, "b"), orig("c3", True, "c")])
    metrics = compute_metrics(results)
    assert metrics["families"] == {}
    assert_block(
        metrics["overall"],
        {
            "cases": 3,
            "variants": 0,
            "pairs": 0,
            "errors": 0,
            "error_rate": Fraction(0),
            "accuracy": Fraction(2, 3),
            "variant_accuracy": None,
            "flip_rate": None,
            "agreement": None,
            "pdr": None,
            "worst_case_accuracy": Fraction(2, 3),  # no variant can fail it
            "prob_shift": None,  # no token log-probabilities
        },
    )


def test_zero_accuracy_leaves_pdr_undefined() -> None:
    results = table(
        [
            orig("c1", False, "a"),
            orig("c2", False, "b"),
            var("c1", "typo#1", True, "x"),
            var("c2", "typo#1", False, "b"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["accuracy"] == 0.0
    assert overall["variant_accuracy"] == 0.5
    assert overall["pdr"] is None


def test_all_originals_errored_leaves_accuracy_undefined() -> None:
    results = table(
        [
            ("c1", "c1", "", None, None, "HTTP 500"),
            ("c2", "c2", "", None, None, "HTTP 500"),
            var("c1", "typo#1", True, "x"),
        ]
    )
    overall = compute_metrics(results)["overall"]
    assert overall["accuracy"] is None
    assert overall["pdr"] is None
    assert overall["worst_case_accuracy"] is None
    assert overall["pairs"] == 0
    assert overall["error_rate"] == approx(Fraction(2, 3))


def test_pdr_is_negative_when_variants_do_better() -> None:
    results = table(
        [
            orig("c1", True, "a"),
            orig("c2", False, "b"),
            var("c1", "typo#1", True, "a"),
            var("c2", "typo#1", True, "a"),
        ]
    )
    assert compute_metrics(results)["overall"]["pdr"] == approx(1 - Fraction(1) / Fraction(1, 2))


def test_find_flips_returns_exactly_the_flipped_pairs_in_table_order() -> None:
    assert find_flips(GRID) == [
        Flip("c1", "c1[typo#2]", "typo", True, False, "pos", "neg"),
        Flip("c3", "c3[typo#1]", "typo", False, True, "pos", "neg"),
        Flip("c4", "c4[casing#1]", "casing", True, False, "pos", None),
    ]


def test_find_flips_ignores_errored_rows() -> None:
    results = table(
        [
            orig("c1", True, "a"),
            ("c2", "c2", "", None, None, "HTTP 500"),
            var("c1", "typo#1", None, None, "HTTP 500"),
            var("c2", "typo#1", True, "a"),
        ]
    )
    assert find_flips(results) == []


def test_flip_to_dict() -> None:
    flip = Flip("c4", "c4[casing#1]", "casing", True, False, "pos", None)
    assert flip.to_dict() == {
        "case_id": "c4",
        "variant_id": "c4[casing#1]",
        "family": "casing",
        "original_passed": True,
        "variant_passed": False,
        "original_answer": "pos",
        "variant_answer": None,
    }


def test_metric_value_lookups() -> None:
    metrics = compute_metrics(GRID)
    assert metric_value(metrics, "accuracy") == 0.75
    assert metric_value(metrics, "flip_rate", "typo") == 0.25
    assert metric_value(metrics, "flip_rate", "casing") == approx(Fraction(1, 7))
    assert metric_value(metrics, "worst_case_accuracy", "typo") == 0.5
    counts = metric_value(metrics, "variants")
    assert counts == 16.0
    assert isinstance(counts, float)
    assert metric_value(metrics, "accuracy", "paraphrase") is None  # family not run
    assert metric_value(metrics, "no_such_metric") is None


def test_metric_value_of_an_undefined_metric_is_none() -> None:
    metrics = compute_metrics(table([orig("c1", True, "a")]))
    assert metric_value(metrics, "flip_rate") is None
    assert metric_value(metrics, "accuracy") == 1.0


# --- case sums: the same metrics as compute_metrics ----------------------------------------------


def random_table(rng: np.random.Generator, cases: int = 30) -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for i in range(cases):
        case = f"c{i}"
        for label in ["", "typo#1", "typo#2", "casing#1"][: rng.integers(1, 5)]:
            error = "boom" if rng.random() < 0.08 else None
            passed = None if error else bool(rng.random() < 0.7)
            answer = None if error else str(rng.choice(["pos", "neg", None]))
            family = label.split("#")[0]
            rows.append(
                (case, f"{case}[{label}]" if label else case, family, passed, answer, error)
            )
    return pd.DataFrame(rows, columns=COLUMNS)


@pytest.mark.parametrize("seed", range(6))
def test_case_sums_reproduce_compute_metrics(seed: int) -> None:
    table = random_table(np.random.default_rng(seed))
    metrics = compute_metrics(table)
    scopes = [(None, metrics["overall"]), *metrics["families"].items()]
    for family, block in scopes:
        totals = case_sums(table, family).to_numpy(dtype=float).sum(axis=0)[None]
        for name in METRICS:
            value = float(metric_statistic(name)(totals)[0])
            if block[name] is None:
                assert not math.isfinite(value), (family, name)
            else:
                assert value == pytest.approx(block[name], abs=1e-12), (family, name)


def test_add_intervals_wilson_for_accuracy_bootstrap_for_flip_rate() -> None:
    table = random_table(np.random.default_rng(4), cases=60)
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    overall = metrics["overall"]
    sums = case_sums(table)
    assert overall["ci"]["accuracy"] == pytest.approx(
        list(wilson_interval(sums["orig_pass"].sum(), sums["orig_ok"].sum()) or ())
    )
    low, high = overall["ci"]["flip_rate"]
    assert low < overall["flip_rate"] < high
    assert overall["ci_method"]["accuracy"] == "wilson"
    assert overall["ci_method"]["flip_rate"] == "bca"
    # the fewest cases behind an interval: the 40 of 60 with a scored (original, variant) pair
    assert overall["ci_cases"] == (sums["pairs"] > 0).sum() == 40
    assert overall["few_cases"] is True
    for block in [overall, *metrics["families"].values()]:
        for name in METRICS:
            if block[name] is not None and name != "pdr":
                assert block["ci"][name][0] <= block[name] + 1e-12 <= block["ci"][name][1] + 2e-12
    again = compute_metrics(table)
    add_intervals(again, table)
    assert again["overall"]["ci"] == overall["ci"]  # seeded: reports are reproducible


def test_a_flip_rate_of_zero_still_gets_an_interval_that_is_not_a_point() -> None:
    table = flip_table(np.zeros((40, 3), dtype=bool))
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    low, high = metrics["overall"]["ci"]["flip_rate"]
    assert low == 0.0 and high == pytest.approx(wilson_interval(0, 40)[1])  # type: ignore[index]
    assert metrics["overall"]["ci_method"]["flip_rate"] == "clustered_wilson"
    assert metrics["overall"]["ci_cases"] == 40 and metrics["overall"]["few_cases"] is True
