"""Holm's step-down correction behind the relative gates: one family of p-values, and the level
each gate is decided at. (The tests themselves: :mod:`brittle.stats.margin`.)

Holm step-down correction
    For ``m`` p-values sorted ascending ``p_(1) <= ... <= p_(m)``::

        p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))

    Rejecting where ``p~ < alpha`` keeps the chance of any false alarm in the family at
    ``alpha`` or below, whatever the dependence between the tests.

The level each gate is decided at (so that its interval is the decision's)
    Step ``j`` compares ``p_(j)`` with ``l_j = alpha / (m - j + 1)``; the procedure rejects
    steps ``1 .. s - 1`` and stops at the first ``s`` with ``p_(s) >= l_s``. A gate rejected at
    step ``j`` is decided at level ``l_j`` (its p-value is below it, its one-sided bound above the
    allowance). Every gate from the stop on is decided at ``l_s``: its p-value is at least
    ``p_(s) >= l_s``, so its bound at ``l_s`` is not above the allowance either, and the interval
    printed beside it agrees with its verdict. Rejected at step ``j`` iff ``p~ < alpha``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order (NaN stays NaN, out of the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    if m == 0:
        return adjusted.tolist()
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = (m - np.arange(m)) * p[order]
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted.tolist()


@dataclass(frozen=True)
class HolmStep:
    """Where one p-value stands in Holm's step-down procedure (see the module docs)."""

    level: float  # the one-sided level the gate is decided at
    step: int  # the step it was decided at, 1-based: its own, or the one Holm stopped at
    size: int  # the family's size m
    p_adjusted: float
    rejected: bool

    def describe(self) -> str:
        """``Holm step 2 of 3``, or ``Holm stopped at step 1 of 3``; empty for a family of one."""
        if self.size <= 1:
            return ""
        return f"Holm {'step' if self.rejected else 'stopped at step'} {self.step} of {self.size}"


def holm_steps(p_values: Sequence[float], alpha: float) -> list[HolmStep | None]:
    """Each p-value's Holm step and decision level at family level ``alpha``, in input order
    (None for NaN: not in the family)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = holm(p_values)
    valid = np.flatnonzero(np.isfinite(p))
    m = valid.size
    order = valid[np.argsort(p[valid], kind="stable")]
    steps: list[HolmStep | None] = [None] * p.size
    stop: int | None = None
    for position, index in enumerate(order, start=1):
        own = alpha / (m - position + 1)
        if stop is None and not p[index] < own:
            stop = position
        step = position if stop is None else stop
        steps[index] = HolmStep(
            level=alpha / (m - step + 1),
            step=step,
            size=m,
            p_adjusted=float(adjusted[index]),
            rejected=stop is None,
        )
    return steps


__all__ = ["HolmStep", "holm", "holm_steps"]
