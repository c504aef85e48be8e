"""Simulated per-case data shared by the statistics tests: clustered flips and flip tables.

Seeded by the caller (each takes a :class:`numpy.random.Generator`), so every figure the tests
derive from them is the same on every run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

COLUMNS = ["case_id", "row_id", "family", "passed", "answer", "error"]


def clustered_flips(rng: np.random.Generator, propensity: np.ndarray, variants: int) -> np.ndarray:
    """Per-case sums (flips, pairs) with each case flipping at its own propensity."""
    flips = rng.binomial(variants, propensity)
    return np.column_stack([flips, np.full(propensity.size, variants)]).astype(float)


def propensities(rng: np.random.Generator, cases: int, mean: float, icc: float = 0.2) -> np.ndarray:
    """Per-case flip propensities from a Beta with the given mean and intra-case correlation."""
    strength = 1 / icc - 1
    return rng.beta(mean * strength, (1 - mean) * strength, size=cases)


def flip_table(flips: np.ndarray) -> pd.DataFrame:
    """A run where every original passes and variant ``j`` of case ``i`` fails iff it flips."""
    cases, variants = flips.shape
    ids = np.array([f"c{i:03d}" for i in range(cases)], dtype=object)
    labels = ["", *(f"[typo#{j + 1}]" for j in range(variants))]
    passed = np.column_stack([np.ones(cases, dtype=bool), ~flips]).ravel()
    return pd.DataFrame(
        {
            "case_id": np.repeat(ids, variants + 1),
            "row_id": [case + label for case in ids for label in labels],
            "family": np.tile(np.array(["", *["typo"] * variants], dtype=object), cases),
            "passed": passed.astype(object),
            "answer": np.where(passed, "pos", "neg").astype(object),
            "error": None,
        }
    )


def outcomes_of(table: pd.DataFrame) -> dict[str, list[Any]]:
    """A baseline's stored outcomes: ``{row_id: [passed, answer]}``."""
    columns = (table["row_id"], table["passed"], table["answer"])
    return {row: [passed, answer] for row, passed, answer in zip(*columns, strict=True)}
