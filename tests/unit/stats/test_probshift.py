"""prob_shift: each row's probability of the expected label, the metric, its interval and gate,
and (a simulation) that it sees a planted brittleness more often than the flip rate does."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brittle.stats.gates import Gate
from brittle.stats.paired import compare
from brittle.stats.probshift import answer_position, begins, expected_prob
from brittle.stats.results import add_intervals, case_sums, compute_metrics

LABELS = ["positive", "negative"]


def tok(token: str, p: float, *alternatives: tuple[str, float]) -> Any:
    return (token, math.log(p), tuple((a, math.log(q)) for a, q in alternatives))


# --- expected_prob ------------------------------------------------------------------------------


def test_begins_is_case_and_space_insensitive_either_way() -> None:
    assert begins(" Positive", "positive")
    assert begins("pos", "positive")
    assert begins("positive.", "positive")
    assert not begins("neg", "positive")
    assert not begins("  ", "positive")
    assert not begins("", "positive")


def test_expected_prob_is_the_mass_of_tokens_that_begin_the_label_at_the_answer() -> None:
    # "This review is positive": the answer position is the 4th token, the first naming a label
    tokens = [
        tok("This", 0.3, ("This", 0.3), ("Positive", 0.2)),
        tok(" review", 0.9, (" review", 0.9)),
        tok(" is", 0.8, (" is", 0.8)),
        tok(" positive", 0.55, (" positive", 0.55), (" negative", 0.15), (" Pos", 0.1)),
    ]
    assert answer_position(tokens, LABELS) == 3
    assert expected_prob(tokens, "positive", LABELS) == pytest.approx(0.65)
    assert expected_prob(tokens, "negative", LABELS) == pytest.approx(0.15)
    assert expected_prob(tokens, "Negative", LABELS) == pytest.approx(0.15)


def test_expected_prob_skips_white_space_and_falls_back_to_the_first_word() -> None:
    tokens = [tok("\n", 0.9, ("\n", 0.9)), tok("I", 0.5, ("I", 0.5), ("Positive", 0.2))]
    assert answer_position(tokens, LABELS) == 1  # no token names a label: the first word
    assert expected_prob(tokens, "positive", LABELS) == pytest.approx(0.2)
    assert expected_prob(tokens, "negative", LABELS) == 0.0


def test_expected_prob_unknown_without_what_it_needs() -> None:
    assert expected_prob(None, "positive", LABELS) is None
    assert expected_prob([], "positive", LABELS) is None
    assert expected_prob([tok("positive", 0.9)], None, LABELS) is None
    # only the chosen token (no alternatives): known when it is the label, else unknown
    assert expected_prob([tok("positive", 0.9)], "positive", LABELS) == pytest.approx(0.9)
    assert expected_prob([tok("negative", 0.9)], "positive", LABELS) is None


# --- the metric ---------------------------------------------------------------------------------


def results(rows: list[tuple[str, str, str, bool, float | None]]) -> pd.DataFrame:
    """``(case_id, row_id, family, passed, expected_prob)`` rows as a results table."""
    return pd.DataFrame(
        {
            "case_id": [r[0] for r in rows],
            "row_id": [r[1] for r in rows],
            "family": [r[2] for r in rows],
            "passed": [r[3] for r in rows],
            "answer": ["positive" if r[3] else "negative" for r in rows],
            "error": [None] * len(rows),
            "text_hash": ["h"] * len(rows),
            "expected_prob": [r[4] for r in rows],
        }
    )


HAND_MADE = results(
    [
        ("c1", "c1", "", True, 0.9),
        ("c1", "c1[typo#1]", "typo", True, 0.7),  # 0.2
        ("c1", "c1[casing#1]", "casing", True, 0.9),  # 0.0
        ("c2", "c2", "", True, 0.6),
        ("c2", "c2[typo#1]", "typo", False, 0.3),  # 0.3
        ("c2", "c2[casing#1]", "casing", True, None),  # unknown: left out
        ("c3", "c3", "", False, None),  # unknown original: its pairs are left out
        ("c3", "c3[typo#1]", "typo", False, 0.2),
    ]
)


def test_prob_shift_on_a_hand_made_table() -> None:
    metrics = compute_metrics(HAND_MADE)
    assert metrics["overall"]["prob_shift"] == pytest.approx((0.2 + 0.0 + 0.3) / 3)
    assert metrics["families"]["typo"]["prob_shift"] == pytest.approx((0.2 + 0.3) / 2)
    assert metrics["families"]["casing"]["prob_shift"] == pytest.approx(0.0)
    sums = case_sums(HAND_MADE)
    assert sums["shift_pairs"].tolist() == [2, 1, 0]
    assert sums["shift_sum"].tolist() == pytest.approx([0.2, 0.3, 0.0])


def test_prob_shift_is_none_without_probabilities() -> None:
    table = HAND_MADE.drop(columns=["expected_prob"])
    assert compute_metrics(table)["overall"]["prob_shift"] is None
    table = HAND_MADE.assign(expected_prob=None)
    metrics = compute_metrics(table)
    assert metrics["overall"]["prob_shift"] is None
    add_intervals(metrics, table)
    assert metrics["overall"]["ci"]["prob_shift"] is None


def test_prob_shift_interval_is_the_case_clustered_bootstrap() -> None:
    rng = np.random.default_rng(3)
    rows = []
    for case in range(30):
        base = float(rng.uniform(0.5, 0.95))
        rows.append((f"c{case}", f"c{case}", "", True, base))
        for k in range(3):
            p = min(1.0, max(0.0, base - abs(float(rng.normal(0.1, 0.05)))))
            rows.append((f"c{case}", f"c{case}[typo#{k}]", "typo", p > 0.5, p))
    table = results(rows)
    metrics = compute_metrics(table)
    add_intervals(metrics, table)
    block = metrics["overall"]
    low, high = block["ci"]["prob_shift"]
    assert block["ci_method"]["prob_shift"] == "bca"  # never a Wilson interval: not a count
    assert low < block["prob_shift"] < high
    assert 0.0 < high - low < 0.1
    # each case is one unit: the same shifts on one case's three variants are no more evidence
    # than on one, so the interval is wider than a bootstrap of 90 independent pairs would be
    pairs = table[table["family"] != ""]["expected_prob"].to_numpy(dtype=float)
    originals = np.repeat(table[table["family"] == ""]["expected_prob"].to_numpy(dtype=float), 3)
    shifts = np.abs(pairs - originals)
    naive = 2 * 1.96 * shifts.std(ddof=1) / math.sqrt(len(shifts))
    assert high - low > 0.8 * naive


# --- the relative gate --------------------------------------------------------------------------


def outcomes_of(table: pd.DataFrame) -> dict[str, list[Any]]:
    return {
        row.row_id: [row.passed, row.answer, row.text_hash, row.expected_prob]
        for row in table.itertuples()
    }


def test_relative_gate_fails_a_rise_in_prob_shift_and_passes_none() -> None:
    rows_before, rows_after = [], []
    for case in range(40):
        rows_before.append((f"c{case}", f"c{case}", "", True, 0.9))
        rows_after.append((f"c{case}", f"c{case}", "", True, 0.9))
        for k in range(2):
            rows_before.append((f"c{case}", f"c{case}[typo#{k}]", "typo", True, 0.88))
            rows_after.append((f"c{case}", f"c{case}[typo#{k}]", "typo", True, 0.7 - 0.01 * k))
    before, after = results(rows_before), results(rows_after)
    gate = Gate.parse("prob_shift rise <= 0.05")
    risen = compare(gate, after, outcomes_of(before))
    assert risen is not None
    assert risen.test.delta == pytest.approx(0.205 - 0.02)
    assert risen.test.p_value < 0.001
    same = compare(gate, before, outcomes_of(before))
    assert same is not None and same.test.delta == pytest.approx(0.0)
    assert same.test.p_value > 0.5
    # a baseline written before probabilities (three values per outcome): no comparison
    old = {row: entry[:3] for row, entry in outcomes_of(before).items()}
    assert compare(gate, after, old) is None


# --- power: prob_shift sees a planted brittleness before answers flip ---------------------------


def simulated_run(rng: np.random.Generator, margins: np.ndarray, drop: float) -> pd.DataFrame:
    """One run on a small golden set: each case's original has probability ``margins[i]`` of
    the expected label; its 3 variants move it by noise, less ``drop`` (the planted
    brittleness); a row passes when its probability is above one half."""
    rows = []
    for case, margin in enumerate(margins):
        noisy = float(np.clip(margin + rng.normal(0, 0.02), 0, 1))
        rows.append((f"c{case}", f"c{case}", "", noisy > 0.5, noisy))
        for k in range(3):
            p = float(np.clip(margin - drop + rng.normal(0, 0.05), 0, 1))
            rows.append((f"c{case}", f"c{case}[typo#{k}]", "typo", p > 0.5, p))
    return results(rows)


def test_prob_shift_detects_a_planted_brittleness_more_often_than_flip_rate() -> None:
    """20 cases, 200 repetitions: a rewording that lowers the expected label's probability by
    0.1 on every case is found by the paired test on prob_shift far more often than by the same
    test on the flip rate, which only sees the few cases near the decision boundary."""
    rng = np.random.default_rng(20260)
    shift_gate = Gate.parse("prob_shift rise <= 0.0")
    flip_gate = Gate.parse("flip_rate rise <= 0.0")
    found = {"prob_shift": 0, "flip_rate": 0}
    false_alarms = {"prob_shift": 0, "flip_rate": 0}
    repetitions = 200
    for _ in range(repetitions):
        margins = rng.uniform(0.6, 0.95, size=20)  # a model mostly right, with some margin
        baseline = outcomes_of(simulated_run(rng, margins, drop=0.0))
        for name, gate in (("prob_shift", shift_gate), ("flip_rate", flip_gate)):
            brittle = compare(gate, simulated_run(rng, margins, drop=0.1), baseline)
            steady = compare(gate, simulated_run(rng, margins, drop=0.0), baseline)
            found[name] += brittle is not None and brittle.test.p_value < 0.05
            false_alarms[name] += steady is not None and steady.test.p_value < 0.05
    power = {name: count / repetitions for name, count in found.items()}
    assert power["prob_shift"] >= 0.8, power
    assert power["flip_rate"] <= 0.5, power
    assert power["prob_shift"] - power["flip_rate"] >= 0.3, power
    # and not by crying wolf: without the planted drop it seldom fires (level 5%)
    assert false_alarms["prob_shift"] / repetitions <= 0.1, false_alarms
