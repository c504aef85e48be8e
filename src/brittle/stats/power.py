"""How small a degradation a relative gate detects, and the cases it needs: the "underpowered"
notes and ``brittle power``.

One implementation of power: :func:`power` and its inverses
(:func:`minimum_detectable_degradation`,
:func:`cases_needed`), the noncentral t of the gate's own one-sided margin
test, against the allowance. This module only chooses their inputs: the SD of the per-case
paired differences, and the level.

The SD of per-case paired differences
    After a run (the gate path), the larger of the SD observed between the run and its baseline
    (``MarginTest.sd_paired``) and the SD predicted from the baseline alone at the degradation in
    question (:func:`paired_sd_from_baseline`, for 0/1 units). The observed
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

import numpy as np

from brittle.stats._scipy import optimize, special
from brittle.stats._scipy import stats as scipy_stats
from brittle.stats.margin import (
    _MCNEMAR_EXACT_CASES,
    _TOLERANCE,
    POWER,
    Direction,
    SdPaired,
    _null_share,
    _sign,
)

# --- power against the allowance -----------------------------------------------------------------


def _sd_at(sd_paired: SdPaired, degradation: float) -> float:
    value = sd_paired(degradation) if callable(sd_paired) else sd_paired
    return max(float(value), 0.0)


def _mcnemar_power(
    n: float, allowance: float, degradation: float, sd: float, level: float
) -> float:
    """The exact McNemar test's power on ``n`` cases (see "Power" in the module docs)."""
    cases = int(n)
    total = sd * sd + degradation * degradation  # P(worse) + P(better)
    worse = (total + degradation) / 2
    if cases < 1 or total <= 0 or worse <= 0:
        return 0.0
    discordant = np.arange(cases + 1)
    # rejected when more than k of N discordant cases got worse, k the smallest count with
    # P[Bin(N, pi_0) > k] < level; pi_0 the share that got worse at D = allowance given N (at
    # least 1: never rejected)
    pi_null = _null_share(allowance, discordant / cases)
    testable = pi_null < 1
    null = np.where(testable, pi_null, 0.5)
    k = scipy_stats.binom.isf(level, discordant, null)
    k = np.where(scipy_stats.binom.sf(k, discordant, null) < level, k, k + 1)
    k = np.where(testable, k, discordant)
    reject = scipy_stats.binom.sf(k, discordant, min(worse / total, 1.0))
    weight = scipy_stats.binom.pmf(discordant, cases, min(total, 1.0))
    return float(np.sum(weight * reject))


def _power(
    n: float, allowance: float, degradation: float, sd: float, level: float, mcnemar: bool = False
) -> float:
    if mcnemar and n <= _MCNEMAR_EXACT_CASES:
        return _mcnemar_power(n, allowance, degradation, sd, level)
    if n < 2:
        return 0.0
    if sd <= 0:
        return 1.0 if degradation > allowance + _TOLERANCE else 0.0
    df = n - 1
    critical = float(scipy_stats.t.isf(level, df))
    ncp = (degradation - allowance) * math.sqrt(n) / sd
    return float(scipy_stats.nct.sf(critical, df, ncp))


def power(
    n_cases: int,
    *,
    allowance: float,
    true_degradation: float,
    sd_paired: SdPaired,
    level: float,
    mcnemar: bool = False,
) -> float:
    """The chance that the gate fails (``p < level``) at a true degradation, on ``n_cases``.

    ``sd_paired`` is the SD of the per-case paired differences at that degradation (a number,
    or a function of the degradation, e.g. from :func:`paired_sd_from_baseline`). It is
    ``level`` at ``true_degradation == allowance``. ``mcnemar``: the gate is decided by the
    exact McNemar test (one 0/1 unit per case, any allowance).
    """
    sd = _sd_at(sd_paired, true_degradation)
    return _power(n_cases, allowance, true_degradation, sd, level, mcnemar)


def minimum_detectable_degradation(
    n_cases: int,
    *,
    allowance: float,
    sd_paired: SdPaired,
    level: float,
    power: float = POWER,
    largest: float = 1.0,
    mcnemar: bool = False,
) -> float | None:
    """The smallest true degradation the gate detects with ``power`` on ``n_cases``.

    Against the allowance: the gate fails with probability ``power`` at this degradation. None
    when no degradation up to ``largest`` (the most a proportion can degrade) is detected.
    """
    target = power

    def gap(degradation: float) -> float:
        sd = _sd_at(sd_paired, degradation)
        return _power(n_cases, allowance, degradation, sd, level, mcnemar) - target

    if n_cases < 2 or largest <= allowance or gap(largest) < 0:
        return None
    low = allowance
    if gap(low) >= 0:  # no variation: anything above the allowance is detected
        return allowance
    return float(optimize.brentq(gap, low, largest, xtol=1e-7))


def cases_needed(
    true_degradation: float,
    *,
    allowance: float,
    sd_paired: SdPaired,
    level: float,
    power: float = POWER,
    most: int = 10**9,
    mcnemar: bool = False,
) -> int | None:
    """The fewest cases on which a true degradation fails the gate with ``power``.

    None when it never does: at or below the allowance a degradation fails only with
    probability ``level``, whatever the number of cases.
    """
    if true_degradation <= allowance + _TOLERANCE:
        return None
    sd = _sd_at(sd_paired, true_degradation)
    if sd <= 0:
        return 2

    def enough(n: int) -> bool:
        return _power(n, allowance, true_degradation, sd, level, mcnemar) >= power

    z = float(special.ndtri(1 - level)) + float(special.ndtri(power))
    guess = max(2, math.ceil((z * sd / (true_degradation - allowance)) ** 2))
    high = guess
    while not enough(high):
        high *= 2
        if high > most:
            return None
    low = 1  # enough(1) is False
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high


def paired_sd_from_baseline(
    base_num: np.ndarray,
    base_den: np.ndarray,
    *,
    direction: Direction | str = "rise",
    degradation: float = 0.0,
) -> float:
    """Predicted ``sd_paired`` of a rerun against this baseline, at a true ``degradation``.

    For 0/1 units; see "The SD of paired differences from the baseline alone" in the module
    docs for the assumption and when it is low. NaN with fewer than two cases.
    """
    sign = _sign(direction)
    y = np.asarray(base_num, dtype=float)
    m = np.asarray(base_den, dtype=float)
    keep = m > 0
    y, m = y[keep], m[keep]
    n = y.size
    if n < 2:
        return math.nan
    multi = m >= 2
    within = np.zeros(n)
    within[multi] = y[multi] * (m[multi] - y[multi]) / (m[multi] - 1)
    if multi.any():
        per_unit = float(within[multi].sum() / m[multi].sum())
    else:
        share = float(y.sum() / m.sum())
        per_unit = share * (1 - share)
    within[~multi] = m[~multi] * per_unit
    shift = sign * degradation
    moved = np.maximum(within + shift * (m - 2 * y) - m * shift * shift, 0.0)
    mean_units = float(m.sum() / n)
    return math.sqrt(float(np.sum(within + moved)) / (n * mean_units * mean_units))


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


__all__ = [
    "MIN_MARGIN",
    "GatePower",
    "cases_needed",
    "describe",
    "gate_power",
    "minimum_detectable_degradation",
    "paired_sd_from_baseline",
    "power",
    "sd_for_rate",
    "target",
]
