"""What the run history holds, as plain frozen records: flipped cases, runs, trend points and
case outcomes, plus the headline metric columns that every artifact reports in the same order.

These carry no database code, so the HTML page and summary.json can use them without opening a
history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_FLIPPED_STORED = 200
HEADLINE_COLUMNS = (
    "accuracy",
    "variant_accuracy",
    "flip_rate",
    "agreement",
    "pdr",
    "worst_case_accuracy",
    "error_rate",
)
USAGE_COLUMNS = ("latency_p50_s", "latency_p95_s", "prompt_tokens", "completion_tokens", "cost")


def headline(block: Mapping[str, Any]) -> dict[str, Any]:
    """The headline metrics of one metrics block, ``None`` for those it lacks."""
    return {name: block.get(name) for name in HEADLINE_COLUMNS}


@dataclass(frozen=True)
class FlippedCase:
    """A variant whose pass/fail outcome differs from its original's, with both texts."""

    case_id: str
    variant_id: str
    family: str
    original_passed: bool
    variant_passed: bool
    original_input: str | None
    variant_input: str | None
    original_output: str | None
    variant_output: str | None
    original_answer: str | None
    variant_answer: str | None


@dataclass(frozen=True)
class FlipSet:
    """One system's (newly) flipped variants: how many, and the first ones with their texts.

    ``against_baseline``: "newly" means not flipped in the committed baseline; without a baseline
    every flip counts. ``total`` counts them all; ``cases`` holds the worst first (pass to fail
    before fail to pass), at most :data:`MAX_FLIPPED_STORED`.
    """

    eval: str
    system: str
    against_baseline: bool
    total: int
    cases: tuple[FlippedCase, ...] = ()


@dataclass(frozen=True)
class RunInfo:
    """One row of ``brittle history``."""

    run_id: str
    created: str
    finished: str | None
    git_commit: str | None
    git_branch: str | None
    brittle_version: str | None
    status: str
    gates_passed: int
    gates_failed: int
    gates_skipped: int
    folder: str | None
    systems: tuple[tuple[str, str, float | None, float | None], ...] = ()
    """(eval, system, accuracy, flip_rate) per system of the run."""


@dataclass(frozen=True)
class StoredRun:
    """Everything the history holds about one run, enough to render its report again."""

    info: RunInfo
    record: dict[str, Any]
    flips: tuple[FlipSet, ...] = ()


@dataclass(frozen=True)
class TrendPoint:
    """One system's headline metrics in one run, for trend plots."""

    run_id: str
    created: str
    system: str
    metrics: Mapping[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseOutcome:
    """One row's outcome in a recorded run (``passed``: at least half the repeats passed)."""

    case_id: str
    family: str
    passed: bool | None
    answer: str | None
