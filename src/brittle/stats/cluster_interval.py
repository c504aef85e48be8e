"""Intervals for one run's ratio metric, with cases as clusters.

Every metric is ``R = sum_i num_i / sum_i den_i`` over cases (see :mod:`brittle.stats.margin`);
the variants of a case are correlated, so the number of independent units is the number of cases,
not of variants or pairs. Treating pairs as independent (``n = pairs``) makes an interval too
narrow by the square root of the design effect.

Clustered Wilson interval (the fallback, no resampling)
    The Wilson score interval (:func:`brittle.stats.intervals.wilson_bounds`) for a proportion
    ``R`` on ``n_eff`` effective trials (``z`` the normal quantile of the confidence)::

        centre = (R + z^2 / 2 n_eff) / (1 + z^2 / n_eff)
        half   = z / (1 + z^2 / n_eff) * sqrt(R (1 - R) / n_eff + z^2 / 4 n_eff^2)

    with the effective size from the design effect of the case-clustered (linearized) variance::

        v_clustered = n / (n - 1) * sum_i (num_i - R den_i)^2 / (sum_i den_i)^2
        n_eff = R (1 - R) / v_clustered         (= sum den / DE; at most sum den)

    When ``R`` is 0 or 1, or no case varies, the variance says nothing and ``n_eff = n``
    (cases): one unit per case, which can only widen the interval (a case's share in [0, 1] has
    at most the variance of one 0/1 unit). With only the counts of a report (no per-case sums)
    the same rule gives Wilson with ``n = cases``.

BCa cluster bootstrap (ratio metrics)
    ``B`` case-level resamples from :mod:`brittle.stats.bootstrap` (the one resampling engine;
    seeded), giving ``R_b = (W num)_b / (W den)_b``, and the bias-corrected and accelerated
    interval written out there (:func:`brittle.stats.bootstrap.bca_bounds`), its acceleration
    from the jackknife over the cases that carry the metric. It corrects the percentile
    interval's undercoverage at small ``n`` (skewed rates near 0 or 1). When every resample gives
    the same value, resampling cannot show variation it never saw: the clustered Wilson interval
    is used instead.

Few cases
    Below :data:`brittle.stats.margin.FEW_CASES` cases the interval is approximate (coverage may
    be a few points short); ``few_cases`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brittle.stats.bootstrap import RESAMPLES, SEED, bca_bounds, bootstrap_totals
from brittle.stats.intervals import wilson_bounds
from brittle.stats.margin import CONFIDENCE, FEW_CASES, ratio_influence, spread


@dataclass(frozen=True)
class RatioInterval:
    """An interval of one ratio metric, and how it was computed."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str
    cases: int
    few_cases: bool


def _as_2d(num: object, den: object) -> tuple[np.ndarray, np.ndarray]:
    n = np.atleast_2d(np.asarray(num, dtype=float))
    d = np.atleast_2d(np.asarray(den, dtype=float))
    if n.shape != d.shape or n.ndim != 2:
        raise ValueError(
            f"num and den must have the same shape, (cases,) or (runs, cases): {n.shape}, {d.shape}"
        )
    return n, d


def clustered_wilson_intervals(
    num: np.ndarray, den: np.ndarray, *, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(R, low, high, n_eff)`` over the last axis of ``(runs, cases)`` arrays."""
    num, den = _as_2d(num, den)
    ratio, u, n = ratio_influence(num, den)
    units = den.sum(axis=-1)
    _, se, _ = spread(u, n)
    variance = se * se
    varies = (n >= 2) & (variance > 0) & (ratio > 0) & (ratio < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        design = np.minimum(ratio * (1 - ratio) / np.where(varies, variance, 1.0), units)
    inner = (ratio > 0) & (ratio < 1) & (n >= 2) & (variance <= 0)
    n_eff = np.where(varies, design, np.where(inner, units, n.astype(float)))
    low, high = wilson_bounds(ratio, n_eff, confidence)
    return ratio, low, high, n_eff


def clustered_wilson_interval(
    num: np.ndarray, den: np.ndarray, *, confidence: float = CONFIDENCE
) -> RatioInterval:
    """The clustered Wilson interval of ``sum num / sum den`` (per-case arrays ``(cases,)``)."""
    ratio, low, high, n_eff = clustered_wilson_intervals(num, den, confidence=confidence)
    cases = int(np.sum(np.asarray(den) > 0))
    return RatioInterval(
        estimate=float(ratio[0]),
        low=float(low[0]),
        high=float(high[0]),
        confidence=confidence,
        method=f"Wilson score interval on {float(n_eff[0]):.1f} effective units "
        f"(design effect of {cases} cases)",
        cases=cases,
        few_cases=cases < FEW_CASES,
    )


def bca_intervals(
    num: np.ndarray,
    den: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(R, low, high, bootstrapped)`` over the last axis of ``(runs, cases)`` arrays.

    Every row uses the same seeded case weights (as separate calls with the same seed would);
    ``bootstrapped`` is False where the resamples did not vary and the clustered Wilson
    interval was used.
    """
    num, den = _as_2d(num, den)
    runs = num.shape[0]
    ratio, _, _ = ratio_influence(num, den)
    totals = bootstrap_totals(np.hstack([num.T, den.T]), resamples=resamples, seed=seed)
    top, bottom = totals[:, :runs].T, totals[:, runs:].T
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
        # the jackknife: each case left out in turn, over the cases that carry the metric
        left_out = (num.sum(axis=-1, keepdims=True) - num) / (den.sum(axis=-1, keepdims=True) - den)
    left_out = np.where((den > 0) & np.isfinite(left_out), left_out, np.nan)
    low, high, bootstrapped = bca_bounds(replicates, ratio, left_out, confidence)
    _, w_low, w_high, _ = clustered_wilson_intervals(num, den, confidence=confidence)
    low = np.where(bootstrapped, low, w_low)
    high = np.where(bootstrapped, high, w_high)
    return ratio, low, high, bootstrapped


def bca_interval(
    num: np.ndarray,
    den: np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> RatioInterval:
    """The BCa cluster-bootstrap interval of ``sum num / sum den`` (arrays ``(cases,)``)."""
    ratio, low, high, bootstrapped = bca_intervals(
        num, den, confidence=confidence, resamples=resamples, seed=seed
    )
    cases = int(np.sum(np.asarray(den) > 0))
    method = (
        f"BCa bootstrap over {cases} cases ({resamples} resamples, seed {seed})"
        if bootstrapped[0]
        else f"Wilson score interval on {cases} cases (no variation to resample)"
    )
    return RatioInterval(
        estimate=float(ratio[0]),
        low=float(low[0]),
        high=float(high[0]),
        confidence=confidence,
        method=method,
        cases=cases,
        few_cases=cases < FEW_CASES,
    )


__all__ = [
    "RatioInterval",
    "bca_interval",
    "bca_intervals",
    "clustered_wilson_interval",
    "clustered_wilson_intervals",
]
