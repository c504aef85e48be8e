"""How small a degradation a relative gate detects, and the cases it needs: the "underpowered"
notes and ``brittle power``.

One implementation of power: :func:`brittle.stats.margin.power` and its inverses
(:func:`~brittle.stats.margin.minimum_detectable_degradation`,
:func:`~brittle.stats.margin.cases_needed`), the noncentral t of the gate's own one-sided margin
test, against the allowance. This module only chooses their inputs: the SD of the per-case
paired differences, and the level.

The SD of per-case paired differences
    After a run (the gate path), the larger of the SD observed between the run and its baseline
    (``MarginTest.sd_paired``) and the SD predicted from the baseline alone at the degradation in
    question (:func:`~brittle.stats.margin.paired_sd_from_baseline`, for 0/1 units). The observed
    SD is the better estimate when the runs vary, but it is 0 for a deterministic system that did
    not change, which would claim that any degradation is seen at once; the prediction treats a
    case's units as draws around its propensity, which is what a changed system looks like.
    Without data (``brittle power``), the population form for a baseline rate ``p`` of the bad
    event, ``m`` units per case, independent given a stable per-case propensity ``p_i`` with
    intra-case correlation ``rho`` (``Var(p_i) = rho p (1 - p)``), and a degradation ``D`` that
    moves each case in proportion to its room, ``q_i = p_i + D (1 - p_i) / (1 - p)`` (the mean
    moves by exactly ``D`` and no case leaves [0, 1]; with ``b = 1 - D / (1 - p)``)::

        sd^2(D) = (p (1 - p) (1 - rho) + max((p + D)(1 - p - D) - b^2 rho p (1 - p), 0)) / m

    (the baseline's and the run's within-case variances, ``E[p_i (1 - p_i)]`` and
    ``E[q_i (1 - q_i)]``; the stable part cancels). A gate decided by the exact McNemar test
    (one 0/1 unit per case) gets its exact power (``mcnemar=True`` in
    :mod:`brittle.stats.margin`).

The level
    The gate's strictest Holm level, ``alpha / m`` for ``m`` relative gates in the family (the
    level of the first step). Quoting power at it is conservative for the other steps.

Underpowered
    A gate is *underpowered* when it cannot detect, with :data:`~brittle.stats.margin.POWER`
    (80%) power, a true degradation of :func:`target` = ``a + max(a, 0.02)``: twice its
    allowance ``a``, and at least two points above it. (At the allowance itself the power is the
    level whatever the number of cases: a degradation of exactly ``a`` is not a failure.) The
    note gives the smallest degradation it does detect and the cases that would detect the
    target.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from brittle.stats.margin import POWER, cases_needed, minimum_detectable_degradation

MIN_MARGIN = 0.02
"""The least a target degradation lies above the allowance (:func:`target`)."""


def target(allowance: float) -> float:
    """The degradation a gate should detect with 80% power: ``a + max(a, 0.02)``."""
    return allowance + max(allowance, MIN_MARGIN)


def sd_for_rate(rate: float, units: float, icc: float, degradation: float) -> float:
    """``sd_paired`` predicted for a baseline rate of the bad event (see the module docs)."""
    rho = min(max(icc, 0.0), 1.0)
    spread = rate * (1 - rate)
    slope = 1 - degradation / (1 - rate) if rate < 1 else 0.0
    moved = (rate + degradation) * (1 - rate - degradation) - slope * slope * rho * spread
    return math.sqrt((spread * (1 - rho) + max(moved, 0.0)) / max(units, 1.0))


@dataclass(frozen=True)
class GatePower:
    """A relative gate's power against its allowance, at :data:`POWER`."""

    direction: str  # "rise" or "drop"
    allowance: float
    cases: int
    units: float  # units per case
    level: float  # alpha / family size
    sd_paired: float  # at the allowance (observed or predicted, see the module docs)
    mde: float | None  # smallest degradation detected with 80% power (None: none is)
    target: float  # the degradation it should detect
    cases_needed: int | None  # to detect the target with 80% power (None: never)
    power: float = POWER

    @property
    def underpowered(self) -> bool:
        return self.mde is None or self.mde > self.target + 1e-12

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "underpowered": self.underpowered}


def gate_power(
    *,
    direction: str,
    allowance: float,
    cases: int,
    units: float,
    level: float,
    sd_paired: Callable[[float], float],
    largest: float,
    mcnemar: bool = False,
) -> GatePower:
    """The power of one relative gate; ``sd_paired(D)`` gives the SD at a true degradation
    ``D``, ``largest`` is the most the metric can degrade from its baseline value, ``mcnemar``
    says the gate is decided by the exact McNemar test."""
    goal = target(allowance)
    mde = (
        minimum_detectable_degradation(
            cases,
            allowance=allowance,
            sd_paired=sd_paired,
            level=level,
            largest=largest,
            mcnemar=mcnemar,
        )
        if largest > allowance
        else None
    )
    needed = (
        cases_needed(goal, allowance=allowance, sd_paired=sd_paired, level=level, mcnemar=mcnemar)
        if goal <= largest
        else None
    )
    return GatePower(
        direction=direction,
        allowance=allowance,
        cases=cases,
        units=units,
        level=level,
        sd_paired=float(sd_paired(allowance)),
        mde=mde,
        target=goal,
        cases_needed=needed,
    )


def describe(gate: str, power: Mapping[str, Any]) -> str:
    """``flip_rate rise <= 0.03 detects rises >= 0.087 (~95 cases for 0.06)``: one gate's
    reach, from :meth:`GatePower.to_dict`."""
    word = "drops" if power["direction"] == "drop" else "rises"
    reach = (
        f"detects {word} >= {power['mde']:.3f}"
        if power["mde"] is not None
        else f"detects no {word[:-1]}"
    )
    need = power["cases_needed"]
    goal = f"{power['target']:.3g}"
    more = f"~{need} cases for {goal}" if need is not None else f"no number of cases for {goal}"
    return f"{gate} {reach} ({more})"


__all__ = ["MIN_MARGIN", "GatePower", "describe", "gate_power", "sd_for_rate", "target"]
