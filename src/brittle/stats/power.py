"""How many cases a paired test needs, and how small a change it can see.

Power of a paired proportion test (Connor 1987), clustered
    For a baseline rate ``p0`` (of flips, of failures), a rise ``delta`` to ``p1 = p0 + delta``
    and run-to-run independence given the case, the discordance is
    ``psi = p0 (1 - p1) + p1 (1 - p0)``, and the number of paired units a two-sided test at
    level ``alpha`` needs for power ``1 - beta`` is::

        n_units = (z_{1-alpha/2} sqrt(psi) + z_{1-beta} sqrt(psi - delta^2))^2 / delta^2

    With ``m`` variants per case and intra-case correlation ``rho`` the design effect is
    ``DE = 1 + (m - 1) rho``, so ``cases = n_units * DE / m``. The minimum detectable effect
    (MDE) for a given number of cases is the smallest ``delta`` whose ``cases`` fits (found by
    bisection). Assuming independent runs is conservative: a deterministic system whose outcomes
    repeat from run to run discords less, and its test is stronger than this says.

Intra-case correlation (one-way ANOVA estimator)
    For per-case successes ``y_i`` of ``m_i`` units, ``N = sum m_i``, ``k`` cases,
    ``MSB = sum m_i (p_i - p)^2 / (k - 1)``, ``MSW = sum y_i (1 - p_i) / (N - k)``,
    ``m0 = (N - sum m_i^2 / N) / (k - 1)``::

        rho = (MSB - MSW) / (MSB + (m0 - 1) MSW)        (clipped to [0, 1])
"""

from __future__ import annotations

import math

import numpy as np

from brittle.stats.intervals import normal_quantile


def design_effect(variants: float, icc: float) -> float:
    """``1 + (m - 1) rho``: how much clustering inflates the variance of a case-level mean."""
    return 1.0 + max(variants - 1.0, 0.0) * min(max(icc, 0.0), 1.0)


def paired_units_needed(
    delta: float, rate: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Paired units a two-sided paired proportion test needs to detect a rise ``delta``.

    Connor (1987)'s formula with the discordance of independent runs; ``inf`` if impossible.
    """
    return _units(delta, rate, normal_quantile(1 - alpha / 2), normal_quantile(power))


def _units(delta: float, rate: float, z_alpha: float, z_beta: float) -> float:
    p0, p1 = rate, rate + delta
    if delta <= 0 or not 0 <= p0 <= 1 or p1 > 1 + 1e-12:
        return math.inf
    p1 = min(p1, 1.0)
    psi = p0 * (1 - p1) + p1 * (1 - p0)
    spread = max(psi - delta * delta, 0.0)
    return (z_alpha * math.sqrt(psi) + z_beta * math.sqrt(spread)) ** 2 / (delta * delta)


def cases_needed(
    delta: float,
    rate: float,
    *,
    variants: float = 1.0,
    icc: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int | None:
    """Cases (each with ``variants`` paired units) to detect a rise ``delta`` (None: never)."""
    units = paired_units_needed(delta, rate, alpha=alpha, power=power)
    if not math.isfinite(units):
        return None
    variants = max(variants, 1.0)
    return max(1, math.ceil(units * design_effect(variants, icc) / variants - 1e-9))


def minimum_detectable_effect(
    cases: int,
    rate: float,
    *,
    variants: float = 1.0,
    icc: float = 0.0,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float | None:
    """The smallest rise over ``rate`` detected with ``power`` on ``cases`` (None: none is)."""
    if cases <= 0 or not 0 <= rate < 1:
        return None
    variants = max(variants, 1.0)
    capacity = cases * variants / design_effect(variants, icc)

    z_alpha, z_beta = normal_quantile(1 - alpha / 2), normal_quantile(power)

    def fits(delta: float) -> bool:
        return _units(delta, rate, z_alpha, z_beta) <= capacity

    high = 1.0 - rate
    if not fits(high):
        return None
    low = 0.0
    for _ in range(60):
        middle = (low + high) / 2
        if fits(middle):
            high = middle
        else:
            low = middle
    return high


def intra_case_correlation(successes: np.ndarray, units: np.ndarray) -> float:
    """One-way ANOVA estimate of the intra-case correlation of 0/1 units (0 when undefined)."""
    y = np.asarray(successes, dtype=float)
    m = np.asarray(units, dtype=float)
    keep = m > 0
    y, m = y[keep], m[keep]
    k, total = y.size, m.sum()
    if k < 2 or total <= k:
        return 0.0
    p_case = y / m
    p = y.sum() / total
    msb = float(np.sum(m * (p_case - p) ** 2) / (k - 1))
    msw = float(np.sum(y * (1 - p_case)) / (total - k))
    m0 = (total - float(np.sum(m * m)) / total) / (k - 1)
    denominator = msb + (m0 - 1) * msw
    if denominator <= 0:
        return 0.0
    return float(min(max((msb - msw) / denominator, 0.0), 1.0))


__all__ = [
    "cases_needed",
    "design_effect",
    "intra_case_correlation",
    "minimum_detectable_effect",
    "paired_units_needed",
]
