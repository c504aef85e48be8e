"""Repeats: reducing ``k`` samples per row, and telling randomness from brittleness."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brittle._errors import ConfigError
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.systems import CallableSystem
from brittle.stats.consistency import repeat_measures
from brittle.stats.gates import ErrorBudget, Gate
from brittle.stats.repeats import consistency, reduce_repeats
from brittle.stats.results import compute_metrics
from tests.unit.stats.simulation import COLUMNS


def repeat_table(
    rows: list[tuple[str, str, int, bool | None, str | None, str | None]],
) -> pd.DataFrame:
    """Rows are (row_id, family, repeat, passed, answer, error), all of case c1."""
    return pd.DataFrame(
        [
            ("c1", row, family, passed, answer, error, k)
            for row, family, k, passed, answer, error in rows
        ],
        columns=[*COLUMNS, "repeat"],
    )


REPEATED = repeat_table(
    [
        ("c1", "", 0, True, "pos", None),
        ("c1", "", 1, False, "neg", None),
        ("c1", "", 2, True, "pos", None),
        ("c1[typo#1]", "typo", 0, False, "neg", None),
        ("c1[typo#1]", "typo", 1, False, "neg", None),
        ("c1[typo#1]", "typo", 2, True, "pos", None),
        ("c1[typo#2]", "typo", 0, True, "pos", None),
        ("c1[typo#2]", "typo", 1, None, None, "timeout"),
        ("c1[typo#2]", "typo", 2, True, "pos", None),
    ]
)


def test_majority_reduction() -> None:
    reduced = reduce_repeats(REPEATED, "majority")
    assert list(reduced["row_id"]) == ["c1", "c1[typo#1]", "c1[typo#2]"]
    assert list(reduced["answer"][:2]) == ["pos", "neg"]
    assert list(reduced["passed"][:2]) == [True, False]
    assert reduced["error"].iloc[2] == "timeout"  # an errored repeat errors the row
    assert compute_metrics(reduced)["overall"]["flip_rate"] == 1.0


def test_mean_reduction_is_the_pass_share() -> None:
    reduced = reduce_repeats(REPEATED, "mean")
    assert list(reduced["passed"][:2]) == pytest.approx([2 / 3, 1 / 3])
    metrics = compute_metrics(reduced)
    assert metrics["overall"]["accuracy"] == pytest.approx(2 / 3)
    assert metrics["overall"]["flip_rate"] == pytest.approx(1 / 3)  # |1/3 - 2/3|


def test_without_repeats_reduction_changes_nothing() -> None:
    table = REPEATED[REPEATED["repeat"] == 0].reset_index(drop=True)
    assert reduce_repeats(table).equals(table.drop(columns="repeat"))


def test_consistency_measures_randomness_and_brittleness_on_the_calls() -> None:
    metrics = compute_metrics(reduce_repeats(REPEATED, "majority"))
    summary = consistency(REPEATED, metrics)
    # pass draws: original 1 0 1, typo#1 0 0 1, typo#2 1 (errored) 1
    own = (2 / 3 + 2 / 3 + 0) / 3  # pairs of distinct draws of one input that differ
    between = (5 / 9 + 2 / 6) / 2  # (original draw, variant draw) pairs that differ
    excess = ((5 / 9 - 2 / 3) + (2 / 6 - 1 / 3)) / 2  # less the two inputs' mean own
    assert summary["self_disagreement"] == pytest.approx(own)
    assert summary["flip_rate_between_draws"] == pytest.approx(between)
    assert summary["excess_flip_rate"] == pytest.approx(excess)
    assert (summary["inputs"], summary["pairs"], summary["cases"]) == (3, 2, 1)
    assert summary["ci"]["excess_flip_rate"] is None  # one case: no interval
    for block in (metrics["overall"], metrics["families"]["typo"]):
        assert block["self_disagreement"] == pytest.approx(own)
        assert block["excess_flip_rate"] == pytest.approx(excess)
        assert block["ci"]["self_disagreement"] is None


def per_call_table(passes: np.ndarray, families: tuple[str, ...]) -> pd.DataFrame:
    """A per-call table from ``passes[case, input, repeat]`` (input 0 the original; variant
    ``j`` of family ``families[j - 1]``)."""
    cases, _, repeats = passes.shape
    case = np.array([f"c{i:03d}" for i in range(cases)], dtype=object)[:, None, None]
    label = np.array(["", *(f"[{f}#{j}]" for j, f in enumerate(families, 1))], dtype=object)
    shape = passes.shape
    ok = passes.astype(bool).ravel()
    return pd.DataFrame(
        {
            "case_id": np.broadcast_to(case, shape).ravel(),
            "row_id": np.broadcast_to(case + label[None, :, None], shape).ravel(),
            "family": np.broadcast_to(
                np.array(["", *families], dtype=object)[None, :, None], shape
            ).ravel(),
            "passed": ok.astype(object),
            "answer": np.where(ok, "right", "wrong").astype(object),
            "error": np.full(ok.size, None, dtype=object),
            "repeat": np.broadcast_to(np.arange(repeats), shape).ravel(),
        }
    )


def measured(per_call: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    metrics = compute_metrics(reduce_repeats(per_call))
    return metrics, consistency(per_call, metrics)


def test_a_random_system_that_is_not_brittle_has_excess_near_0_and_covered() -> None:
    rng = np.random.default_rng(12)
    p = rng.beta(2, 2, size=(120, 1, 1))  # each case its own pass probability, variants alike
    passes = rng.random((120, 5, 4)) < p
    per_call = per_call_table(passes, ("typo", "typo", "casing", "casing"))
    metrics, summary = measured(per_call)
    assert summary["self_disagreement"] > 0.3  # 2 p (1 - p) on average: pure randomness
    assert summary["flip_rate_between_draws"] == pytest.approx(
        summary["self_disagreement"], abs=0.03
    )
    low, high = summary["ci"]["excess_flip_rate"]
    assert low < 0 < high and high - low < 0.1
    assert abs(summary["excess_flip_rate"]) < 0.02
    for family in ("typo", "casing"):
        block = metrics["families"][family]
        low, high = block["ci"]["excess_flip_rate"]
        assert low < 0 < high
        assert block["self_disagreement"] > 0.3


def test_the_measures_are_those_of_the_simulated_core_on_the_same_draws() -> None:
    """What tests/unit/stats/test_consistency_simulation.py shows of the core (coverage of 0
    by the excess of a random system in >= 93% of 1,000 runs) holds of the run's measures:
    they are the core's, on each scope's draws."""
    rng = np.random.default_rng(13)
    passes = (rng.random((50, 4, 3)) < rng.beta(2, 2, size=(50, 1, 1))).astype(float)
    passes[rng.random(passes.shape) < 0.05] = np.nan  # errored draws
    per_call = per_call_table(np.nan_to_num(passes).astype(bool), ("typo", "typo", "casing"))
    per_call.loc[np.isnan(passes).ravel(), ["passed", "answer", "error"]] = [None, None, "503"]
    metrics, summary = measured(per_call)
    scopes = {
        None: passes,
        "typo": passes[:, [0, 1, 2]],
        "casing": passes[:, [0, 3]],
    }
    for family, draws in scopes.items():
        block = metrics["overall"] if family is None else metrics["families"][family]
        measures = repeat_measures(draws)
        for name in ("self_disagreement", "excess_flip_rate"):
            assert block[name] == pytest.approx(measures[name].estimate)
            assert block["ci"][name] == pytest.approx([measures[name].low, measures[name].high])
    core = repeat_measures(passes)["flip_rate"]
    assert summary["flip_rate_between_draws"] == pytest.approx(core.estimate)


def test_a_deterministic_brittle_system_has_excess_equal_to_its_flip_rate() -> None:
    rng = np.random.default_rng(12)
    original = rng.random((80, 1)) < 0.7
    flips = rng.random((80, 3)) < 0.2
    answers = np.concatenate([original, original ^ flips], axis=1)
    per_call = per_call_table(np.repeat(answers[..., None], 3, axis=-1), ("typo",) * 3)
    metrics, summary = measured(per_call)
    assert summary["self_disagreement"] == 0.0
    assert summary["ci"]["self_disagreement"] == [0.0, 0.0]
    assert summary["excess_flip_rate"] == pytest.approx(flips.mean())
    assert summary["excess_flip_rate"] == pytest.approx(metrics["overall"]["flip_rate"])
    low, high = summary["ci"]["excess_flip_rate"]
    assert low < flips.mean() < high
    assert (summary["cases"], summary["pairs"], summary["inputs"]) == (80, 240, 320)


def test_errored_draws_are_left_out_not_counted_as_disagreement() -> None:
    passes = np.ones((4, 2, 3), dtype=bool)
    per_call = per_call_table(passes, ("typo",))
    per_call.loc[per_call.index[[1, 4]], ["passed", "answer", "error"]] = [None, None, "503"]
    _, summary = measured(per_call)
    assert summary["self_disagreement"] == 0.0 and summary["excess_flip_rate"] == 0.0
    assert summary["inputs"] == 8  # two draws still left of each errored input


@pytest.mark.parametrize(
    ("gate", "value", "passed"),
    [
        ("excess_flip_rate <= 0.05", 0.05, True),
        ("excess_flip_rate <= 0.05", 0.0501, False),
        ("excess_flip_rate <= 0.05", -0.01, True),
        ("self_disagreement <= 10%", 0.1, True),
        ("self_disagreement <= 10%", 0.11, False),
    ],
)
def test_repeat_metrics_are_gated_absolutely(gate: str, value: float, passed: bool) -> None:
    name = gate.split()[0]
    run = {"overall": {"errors": 0, "cases": 4, "variants": 4, name: value}, "families": {}}
    verdict = Gate.parse(gate).evaluate(run, None, ErrorBudget())
    assert verdict.passed is passed
    assert verdict.message == f"{name} = {value:.4f}, required <= {Gate.parse(gate).value:g}"


@pytest.mark.parametrize(
    "gate",
    ["excess_flip_rate rise <= 0.02", {"metric": "self_disagreement", "max_rise": 0.02}],
)
def test_repeat_metrics_have_no_relative_form(gate: Any) -> None:
    with pytest.raises(ConfigError) as info:
        Gate.parse(gate, where="e.eval.yaml:9", key="gates[0]")
    assert "can only be gated absolutely" in str(info.value)
    assert "<= 0.05" in str(info.value)


def test_a_gate_on_the_repeats_needs_repeats(tmp_path: Path) -> None:
    definition = Eval(
        golden=[Case("c1", {"text": "a"}, "a")],
        systems=[CallableSystem("echo", lambda inputs: inputs["text"])],
        checks=["exact"],
        gates=["excess_flip_rate <= 0.05"],
    )
    with pytest.raises(ConfigError) as info:
        build_spec(definition, source=tmp_path / "e.py")
    assert "measures the repeats, but this eval calls each row once" in str(info.value)
    assert "repeats: 5" in str(info.value)
    build_spec(replace(definition, repeats=2), source=tmp_path / "e.py")
