"""Intervals for one run's ratio metric, with cases as clusters.

Every metric is ``R = sum_i num_i / sum_i den_i`` over cases (see :mod:`brittle.stats.margin`);
the variants of a case are correlated, so the number of independent units is the number of cases,
not of variants or pairs. Treating pairs as independent (``n = pairs``) makes an interval too
narrow by the square root of the design effect.

Clustered Wilson interval (the fallback, no resampling)
    The Wilson score interval for a proportion ``R`` on ``n_eff`` effective trials (``z`` the
    normal quantile of the confidence)::

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
    ``B`` case-level resamples (``W[b, i]`` = how often case ``i`` is drawn; seeded), giving
    ``R_b = (W num)_b / (W den)_b``. The bias-corrected and accelerated interval (Efron 1987)::

        z0 = Phi^-1( (#{R_b < R} + #{R_b = R} / 2) / B )
        a  = sum_i (Rbar - R_(i))^3 / (6 (sum_i (Rbar - R_(i))^2)^(3/2))   jackknife over cases,
                                                                R_(i) leaves case i out
        alpha_q = Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))      for q = (1 -+ c) / 2

    and the interval is the ``alpha_q`` quantiles of the ``R_b``. It corrects the percentile
    interval's undercoverage at small ``n`` (skewed rates near 0 or 1). When every resample gives
    the same value, resampling cannot show variation it never saw: the clustered Wilson interval
    is used instead.

Few cases
    Below :data:`brittle.stats.margin.FEW_CASES` cases the interval is approximate (coverage may
    be a few points short); ``few_cases`` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import special

from brittle.stats.margin import CONFIDENCE, FEW_CASES, ratio_influence, spread

RESAMPLES = 2000
SEED = 20240611
_CHUNK = 2_000_000  # weights generated at a time (resamples x cases), to bound memory


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


def wilson_bounds(
    share: np.ndarray, n: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of proportions ``share`` on ``n`` trials (elementwise)."""
    share = np.asarray(share, dtype=float)
    n = np.asarray(n, dtype=float)
    z = float(special.ndtri(1 - (1 - confidence) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1 + z * z / n
        centre = (share + z * z / (2 * n)) / scale
        half = z / scale * np.sqrt(np.maximum(share * (1 - share) / n + z * z / (4 * n * n), 0))
    low = np.where(share <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(share >= 1, 1.0, np.clip(centre + half, 0.0, 1.0))
    empty = ~(n > 0) | ~np.isfinite(share)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


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


def _weights(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Case-level bootstrap weights, ``resamples x n`` in chunks (seeded)."""
    rng = np.random.default_rng(seed)
    rows = max(1, min(resamples, _CHUNK // max(n, 1)))
    done = 0
    while done < resamples:
        size = min(rows, resamples - done)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        yield np.bincount(draws.ravel(), minlength=size * n).reshape(size, n).astype(float)
        done += size


def _quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise linear-interpolated quantiles ``q`` (one per row) of ``values`` (NaN ignored)."""
    ordered = np.sort(values, axis=-1)  # NaN last
    count = np.sum(np.isfinite(values), axis=-1)
    position = np.clip(q, 0.0, 1.0) * np.maximum(count - 1, 0)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, np.maximum(count - 1, 0))
    rows = np.arange(values.shape[0])
    fraction = position - below
    result = ordered[rows, below] * (1 - fraction) + ordered[rows, above] * fraction
    return np.where(count > 0, result, np.nan)


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
    runs, n = num.shape
    ratio, _, cases = ratio_influence(num, den)
    top = np.empty((runs, resamples))
    bottom = np.empty((runs, resamples))
    done = 0
    for w in _weights(n, resamples, seed):
        top[:, done : done + w.shape[0]] = num @ w.T
        bottom[:, done : done + w.shape[0]] = den @ w.T
        done += w.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        replicates = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)
    finite = np.isfinite(replicates)
    valid = np.maximum(finite.sum(axis=-1), 1)
    centre = ratio[:, None]
    below = np.sum(finite & (replicates < centre), axis=-1)
    ties = np.sum(finite & (replicates == centre), axis=-1)
    share = np.clip((below + ties / 2) / valid, 0.5 / valid, 1 - 0.5 / valid)
    z0 = special.ndtri(share)

    # jackknife over the active cases for the acceleration
    active = den > 0
    total_num = num.sum(axis=-1, keepdims=True)
    total_den = den.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        left_out = (total_num - num) / (total_den - den)
    left_out = np.where(active & np.isfinite(left_out), left_out, np.nan)
    mean = np.nanmean(np.where(active.any(axis=-1, keepdims=True), left_out, 0.0), axis=-1)
    gap = np.where(np.isfinite(left_out), mean[:, None] - left_out, 0.0)
    square = np.sum(gap * gap, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        acceleration = np.where(square > 0, np.sum(gap**3, axis=-1) / (6 * square**1.5), 0.0)

    tail = (1 - confidence) / 2
    bounds = []
    for q in (tail, 1 - tail):
        zq = float(special.ndtri(q))
        shifted = z0 + zq
        with np.errstate(divide="ignore", invalid="ignore"):
            level = special.ndtr(z0 + shifted / (1 - acceleration * shifted))
        level = np.where(1 - acceleration * shifted > 0, level, 1.0 if q > 0.5 else 0.0)
        bounds.append(_quantiles(replicates, level))
    low, high = bounds
    spread_seen = np.nanmax(np.where(finite, replicates, -np.inf), axis=-1) > np.nanmin(
        np.where(finite, replicates, np.inf), axis=-1
    )
    bootstrapped = spread_seen & (cases >= 2)
    _, w_low, w_high, _ = clustered_wilson_intervals(num, den, confidence=confidence)
    low = np.where(bootstrapped, np.minimum(low, ratio), w_low)
    high = np.where(bootstrapped, np.maximum(high, ratio), w_high)
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
    "RESAMPLES",
    "SEED",
    "RatioInterval",
    "bca_interval",
    "bca_intervals",
    "clustered_wilson_interval",
    "clustered_wilson_intervals",
    "wilson_bounds",
]
