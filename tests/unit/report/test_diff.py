"""``brittle compare``: the paired changes between two runs, tested with the gates' own test.

The false-alarm simulation: 1,000 pairs of runs of one unchanged, random system, 100 cases x 5
variants, each case with its own chance to pass (Beta(0.5, 0.5): most cases nearly always or
nearly never pass, some are coin flips), its original and variants drawn anew in each run. A
variant flips when it differs from its original, so the draw of an original is shared by the flips
of all its variants: they move together. Seeded.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from brittle.report.diff import _paired, _table
from brittle.report.history import CaseOutcome
from brittle.stats.margin import margin_test
from brittle.stats.results import case_sums

Outcomes = dict[str, CaseOutcome]


def run_outcomes(originals: list[bool], variants: list[list[bool | None]]) -> Outcomes:
    """A run's per-row outcomes: case ``c<i>`` and its variants ``c<i>[typo#<j>]``."""
    out: Outcomes = {}
    for i, (original, rows) in enumerate(zip(originals, variants, strict=True)):
        out[f"c{i}"] = CaseOutcome(f"c{i}", "", original, "pos" if original else "neg")
        for j, passed in enumerate(rows):
            answer = None if passed is None else ("pos" if passed else "neg")
            out[f"c{i}[typo#{j}]"] = CaseOutcome(f"c{i}", "typo", passed, answer)
    return out


def test_originals_are_tested_with_the_exact_one_sided_mcnemar_test() -> None:
    a = run_outcomes([True] * 10, [[True]] * 10)
    b = run_outcomes([False] * 4 + [True] * 6, [[True]] * 10)
    originals, _ = _paired(a, b)
    assert (originals.paired, originals.worse, originals.better) == (10, 4, 0)
    assert originals.p_value == pytest.approx(2**-4)  # one-sided: half the two-sided 0.125
    assert originals.p_better == 1.0
    assert originals.method is not None and "exact one-sided McNemar" in originals.method
    assert originals.describe().startswith("accuracy worse: p = 0.0625, better: p = 1.0000; ")


def test_variants_are_tested_on_flip_rate_with_cases_as_clusters() -> None:
    """Three cases of 200 whose five variants all newly flip: 15 discordant variants, 3 cases."""
    a = run_outcomes([True] * 200, [[True] * 5] * 200)
    b = run_outcomes([True] * 200, [[False] * 5] * 3 + [[True] * 5] * 197)
    _, variants = _paired(a, b)
    assert (variants.paired, variants.worse, variants.better) == (1000, 15, 0)
    sums_a, sums_b = case_sums(_table(a)), case_sums(_table(b))
    gate = margin_test(
        sums_b["flips"].to_numpy(dtype=float),
        sums_b["pairs"].to_numpy(dtype=float),
        sums_a["flips"].to_numpy(dtype=float),
        sums_a["pairs"].to_numpy(dtype=float),
        allowance=0.0,
        direction="rise",
        level=0.05,
    )
    assert variants.p_value == gate.p_value
    assert variants.p_value == pytest.approx(0.065, abs=0.001)  # 3 cases are not enough
    # counted as 15 independent pairs, the same change would look overwhelming
    assert scipy_stats.binomtest(15, 15, alternative="greater").pvalue < 1e-4
    assert variants.method is not None and "cases" in variants.method


def test_rows_errored_in_either_run_are_left_out_of_both() -> None:
    a = run_outcomes([True, True, None], [[True], [True], [True]])  # type: ignore[list-item]
    b = run_outcomes([False, True, True], [[None], [True], [True]])
    originals, variants = _paired(a, b)
    assert originals.paired == 2 and originals.worse_test is not None
    assert originals.worse_test.cases == 2
    assert variants.paired == 1 and variants.p_value == 1.0


def test_a_metric_undefined_in_one_run_is_not_tested() -> None:
    a = run_outcomes([True], [[True]])
    b = run_outcomes([None], [[None]])  # type: ignore[list-item]
    originals, variants = _paired(a, b)
    assert originals.p_value is None and variants.p_value is None
    assert "not tested" in variants.describe()


def _simulated_run(rng: np.random.Generator, propensity: np.ndarray) -> Outcomes:
    originals = rng.random(propensity.size) < propensity
    variants = rng.random((propensity.size, 5)) < propensity[:, None]
    return run_outcomes([bool(x) for x in originals], [[bool(x) for x in row] for row in variants])


def test_no_change_raises_false_alarms_at_most_alpha_plus_one_point() -> None:
    rng = np.random.default_rng(6)
    runs, alarms, unclustered = 1000, 0, 0
    for _ in range(runs):
        propensity = rng.beta(0.5, 0.5, 100)
        _, variants = _paired(_simulated_run(rng, propensity), _simulated_run(rng, propensity))
        assert variants.p_value is not None and not math.isnan(variants.p_value)
        alarms += variants.p_value < 0.05
        # the old test: two-sided exact McNemar with the variants as independent units
        discordant = variants.worse + variants.better
        if discordant:
            unclustered += scipy_stats.binomtest(variants.worse, discordant).pvalue < 0.05
    assert alarms / runs <= 0.06, alarms
    assert unclustered / runs > 0.10, unclustered  # the defect this fixes (~13%)
