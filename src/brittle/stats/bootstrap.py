"""The case-level (clustered) bootstrap: the one resampling engine behind every interval.

Clustered (case-level) bootstrap interval
    Draw ``B`` resamples of the ``n`` cases with replacement (``W[b, i]`` = how often case ``i``
    is drawn); the resampled totals are ``W @ S`` for the per-case sums ``S``, the metric is
    computed on each row of totals, and the interval is the ``(1 - c) / 2`` and ``(1 + c) / 2``
    percentiles. Seeded: the same data and seed give the same interval. When every resample gives
    the same value (no flip seen anywhere, say) resampling cannot show variation it never saw, so
    a proportion at 0 or 1 gets the Wilson interval with one unit per case instead
    (:func:`brittle.stats.results.add_intervals`).

Paired (clustered) bootstrap interval of a delta
    The same case weights ``W`` for both runs: ``delta_b = f(W_b @ S_run) - f(W_b @ S_base)``,
    and the percentile interval of ``delta_b``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from brittle.stats.intervals import CONFIDENCE

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps totals (``B x k``: one row of column totals per resample) to ``B`` metric values."""

RESAMPLES = 2000
SEED = 20240611
_CHUNK_WORK = 500_000  # multiply-adds per product: below BLAS's threading threshold, which
# on a busy machine makes these small products 100 times slower than one thread


def chunk_rows(total: int, inner: int, outer: int) -> int:
    """Rows per chunk of ``total`` resamples, so each ``rows x inner x outer`` product is small."""
    return max(1, min(total, _CHUNK_WORK // max(inner * outer, 1)))


def ratio(numerator: int, denominator: int) -> Statistic:
    """The statistic ``totals[:, numerator] / totals[:, denominator]`` (NaN where 0 / 0)."""

    def statistic(totals: np.ndarray) -> np.ndarray:
        num, den = totals[:, numerator], totals[:, denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return statistic


def _weight_chunks(n: int, resamples: int, seed: int, chunk: int) -> Iterator[np.ndarray]:
    """Bootstrap weights ``W`` (how often each of ``n`` cases is drawn), ``B`` rows in chunks."""
    rng = np.random.default_rng(seed)
    done = 0
    while done < resamples:
        rows = min(chunk, resamples - done)
        draws = rng.integers(0, n, size=(rows, n))
        flat = (draws + (np.arange(rows) * n)[:, None]).ravel()
        yield np.bincount(flat, minlength=rows * n).reshape(rows, n).astype(float)
        done += rows


def bootstrap_totals(
    sums: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Column totals of ``B`` case-level bootstrap resamples of ``sums`` (``n x k`` -> ``B x k``).

    Resample once and compute any number of metrics on the totals: columns of several scopes
    (overall, per family, run and baseline side by side) share the same case weights.
    """
    sums = np.asarray(sums, dtype=float)
    if sums.ndim != 2 or sums.shape[0] == 0:
        return np.zeros((0, sums.shape[-1] if sums.ndim == 2 else 0))
    n, k = sums.shape
    chunks = _weight_chunks(n, resamples, seed, chunk_rows(resamples, n, k))
    return np.vstack([w @ sums for w in chunks])


def percentile_interval(
    values: np.ndarray, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The percentile interval of bootstrap replicates (NaN replicates are left out)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    tail = (1 - confidence) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def cluster_bootstrap_interval(
    sums: np.ndarray,
    statistic: Statistic,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float] | None:
    """Percentile interval of ``statistic`` over case-level bootstrap resamples of ``sums``."""
    totals = bootstrap_totals(sums, resamples=resamples, seed=seed)
    if totals.shape[0] == 0:
        return None
    return percentile_interval(statistic(totals), confidence)


def paired_bootstrap_interval(
    sums_run: np.ndarray,
    sums_base: np.ndarray,
    statistic: Statistic,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float] | None:
    """Percentile interval of the paired delta, resampling cases (the same weights for both)."""
    a = np.asarray(sums_run, dtype=float)
    b = np.asarray(sums_base, dtype=float)
    totals = bootstrap_totals(np.hstack([a, b]), resamples=resamples, seed=seed)
    if totals.shape[0] == 0:
        return None
    k = a.shape[1]
    return percentile_interval(statistic(totals[:, :k]) - statistic(totals[:, k:]), confidence)


__all__ = [
    "RESAMPLES",
    "SEED",
    "Statistic",
    "bootstrap_totals",
    "chunk_rows",
    "cluster_bootstrap_interval",
    "paired_bootstrap_interval",
    "percentile_interval",
    "ratio",
]
