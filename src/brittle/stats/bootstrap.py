"""The case-level (clustered) bootstrap: the one resampling engine behind every interval.

Clustered (case-level) bootstrap
    Draw ``B`` resamples of the ``n`` cases with replacement (``W[b, i]`` = how often case ``i``
    is drawn); the resampled totals are ``W @ S`` for the per-case sums ``S``, and a metric is
    computed on each row of totals. Seeded: the same data and seed give the same resamples, and
    the weights depend only on ``n``, ``B`` and the seed, so columns resampled together (several
    scopes, several simulated runs, a run and its baseline) and columns resampled in separate
    calls with the same seed see the same cases.

BCa interval (bias-corrected and accelerated; Efron 1987)
    For the estimate ``T`` (the metric on the full totals), the replicates ``T_b`` and the
    jackknife values ``T_(i)`` (the metric with case ``i`` left out, over the cases that carry
    the metric)::

        z0 = Phi^-1( (#{T_b < T} + #{T_b = T} / 2) / B )
        a  = sum_i (Tbar - T_(i))^3 / (6 (sum_i (Tbar - T_(i))^2)^(3/2))
        alpha_q = Phi(z0 + (z0 + z_q) / (1 - a (z0 + z_q)))      for q = (1 -+ c) / 2

    and the interval is the ``alpha_q`` quantiles of the ``T_b`` (linear interpolation). It
    corrects the percentile interval's undercoverage at small ``n`` (skewed rates near 0 or 1).
    When every replicate is the same (no flip seen anywhere, say), resampling cannot show
    variation it never saw: callers fall back to a Wilson interval on the cases
    (:mod:`brittle.stats.cluster_interval`, :func:`brittle.stats.results.add_intervals`).

A run against its baseline is not resampled: the relative gates' paired test is the margin test
of :mod:`brittle.stats.margin` (no resampling, so no floor on its p-value).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from brittle.stats._scipy import special
from brittle.stats.intervals import CONFIDENCE

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps totals (``B x k``: one row of column totals per resample) to ``B`` metric values."""

RESAMPLES = 2000
SEED = 20240611
_WEIGHTS = 2_000_000  # weights drawn at a time (resamples x cases): fixes the random stream
_BLOCK = 250_000  # weights counted and yielded at a time, to bound memory
_CHUNK_WORK = 500_000  # multiply-adds per product (chunked as before: the same products, so
# the same rounding of totals that are not whole numbers)


def _chunk_rows(total: int, inner: int, outer: int) -> int:
    """Rows per chunk of ``total`` resamples, so each ``rows x inner x outer`` product is small."""
    return max(1, min(total, _CHUNK_WORK // max(inner * outer, 1)))


def ratio(numerator: int, denominator: int) -> Statistic:
    """The statistic ``totals[:, numerator] / totals[:, denominator]`` (NaN where 0 / 0)."""

    def statistic(totals: np.ndarray) -> np.ndarray:
        num, den = totals[:, numerator], totals[:, denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return statistic


def case_weights(n: int, resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Bootstrap weights ``W`` (how often each of ``n`` cases is drawn), ``B`` rows in chunks.

    The chunks depend only on ``n`` and ``resamples``, so the same seed gives the same weights
    whatever is resampled with them.
    """
    rng = np.random.default_rng(seed)
    chunk = max(1, min(resamples, _WEIGHTS // max(n, 1)))
    block = max(1, _BLOCK // max(n, 1))
    # each draw's place in its block's counts, in one buffer for every block: a new one per
    # block (2 MB) was fresh memory for the system to hand over each time (a third of the time
    # at 10,000 cases)
    offsets = (np.arange(block, dtype=np.int64) * n)[:, None]
    places = np.empty((block, n), dtype=np.int64)
    done = 0
    while done < resamples:
        rows = min(chunk, resamples - done)
        # drawn a block at a time (int32 draws are the int64 ones, and consecutive int32 draws
        # continue one stream: a chunk drawn in blocks is the chunk drawn at once), counted as
        # drawn: the peak is one small block (a few MB), not the chunk's draws (8 MB at 2,000
        # cases) and four copies of it; the blocks yielded are the same, so the same products
        for start in range(0, rows, block):
            count = min(block, rows - start)
            part = rng.integers(0, n, size=(count, n), dtype=np.int32)
            np.add(part, offsets[:count], out=places[:count])
            del part
            counts = np.bincount(places[:count].ravel(), minlength=count * n)
            yield counts.reshape(count, n).astype(float)
        done += rows


def bootstrap_totals(
    sums: np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Column totals of ``B`` case-level bootstrap resamples of ``sums`` (``n x k`` -> ``B x k``).

    Resample once and compute any number of metrics on the totals: columns of several scopes
    (overall, per family, run and baseline side by side) share the same case weights.

    The products run on one BLAS thread (:func:`_one_blas_thread`). When every value is a
    whole number (counts: every metric but ``prob_shift`` and passes reduced by ``mean``), the
    totals are exact whatever the order of summation, so only the distinct columns that are not
    all zero are multiplied (scopes share the originals' counts; a run without errors or
    log-probabilities has zero columns) and copied back to their places.
    """
    sums = np.asarray(sums, dtype=float)
    if sums.ndim != 2 or sums.shape[0] == 0:
        return np.zeros((0, sums.shape[-1] if sums.ndim == 2 else 0))
    if sums.shape[1] > 1 and _whole(sums):
        used, inverse = _distinct_columns(sums)
        totals = np.zeros((resamples, len(used) + 1))  # the last column: the all-zero one
        if len(used):
            totals[:, :-1] = _products(_columns(sums, used), resamples, seed)
        return np.ascontiguousarray(totals[:, inverse])
    return _products(sums, resamples, seed)


def _whole(sums: np.ndarray) -> bool:
    """Whether every value is a whole number small enough that its totals are exact floats
    (checked a column at a time: no temporary the size of ``sums``)."""
    for column in sums.T:
        if not np.all(np.isfinite(column)) or not np.array_equal(column, np.round(column)):
            return False
        if np.abs(column).sum() >= 2.0**40:
            return False
    return True


def _distinct_columns(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(used, inverse)``: the first of each set of equal columns that is not all zero, and
    for each column its place among them (``len(used)`` for an all-zero column).

    Columns are grouped by a hash of their bytes and confirmed equal, one column at a time:
    ``np.unique(sums, axis=1)`` sorted a copy of the whole matrix (160 MB more at 200,000
    cases x 24 columns). Equal columns give equal totals, whichever of them is multiplied."""
    used: list[int] = []
    inverse = np.empty(sums.shape[1], dtype=np.intp)
    seen: dict[bytes, list[int]] = {}
    zero = -1
    for j in range(sums.shape[1]):
        column = sums[:, j] + 0.0  # -0.0 as 0.0, as np.unique compares them; a contiguous copy
        if not column.any():
            inverse[j] = zero
            continue
        key = hashlib.blake2b(column.data, digest_size=16).digest()
        same = next(
            (i for i in seen.get(key, []) if np.array_equal(sums[:, used[i]], column)), None
        )
        if same is None:
            same = len(used)
            used.append(j)
            seen.setdefault(key, []).append(same)
        inverse[j] = same
    inverse[inverse == zero] = len(used)
    return np.array(used, dtype=np.intp), inverse


def _columns(sums: np.ndarray, used: np.ndarray) -> np.ndarray:
    """``sums[:, used]`` as a C-ordered array, filled column by column (fancy indexing gives
    a Fortran-ordered array, and ordering it held two copies at once)."""
    out = np.empty((sums.shape[0], len(used)))
    for place, column in enumerate(used.tolist()):
        out[:, place] = sums[:, column]
    return out


def _products(sums: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """``W @ sums`` for the seeded case weights ``W``, in chunks (``B x k``)."""
    n, k = sums.shape
    totals = np.empty((resamples, k))
    done = 0
    with _one_blas_thread():
        for weights in case_weights(n, resamples, seed):
            step = _chunk_rows(weights.shape[0], n, k)
            for start in range(0, weights.shape[0], step):
                part = weights[start : start + step]
                totals[done : done + part.shape[0]] = part @ sums
                done += part.shape[0]
    return totals


_controller: list[Any] = []


def _one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """BLAS limited to one thread while the products run. They are small (a chunk of
    resamples times the cases), below the point where threads pay, but OpenBLAS threads a
    product of a resample row with many cases anyway: on a 2-core machine shared with other
    jobs, 2,000 resamples of 25,000 cases took 50 s threaded and 2 s on one thread, with the
    same numbers (each total is summed alike). threadpoolctl comes with scikit-learn (through
    sentence-transformers); without it the products run as BLAS decides."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - always installed with sentence-transformers
        return contextlib.nullcontext()
    if not _controller:
        _controller.append(ThreadpoolController())
    return _controller[0].limit(limits=1, user_api="blas")


def jackknife(sums: np.ndarray, statistic: Statistic, active: np.ndarray) -> np.ndarray:
    """The statistic with each case left out in turn (NaN outside ``active``): ``n`` values."""
    sums = np.asarray(sums, dtype=float)
    left_out = statistic(sums.sum(axis=0)[None, :] - sums)
    return np.where(active, left_out, np.nan)


def _quantiles(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Row-wise linear-interpolated quantiles ``q`` (one per row) of ``values`` (NaN ignored)."""
    ordered = np.sort(values, axis=-1)  # NaN last
    count = np.sum(np.isfinite(values), axis=-1)
    position = np.clip(np.nan_to_num(q, nan=0.5), 0.0, 1.0) * np.maximum(count - 1, 0)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, np.maximum(count - 1, 0))
    rows = np.arange(values.shape[0])
    fraction = position - below
    result = ordered[rows, below] * (1 - fraction) + ordered[rows, above] * fraction
    return np.where(count > 0, result, np.nan)


def bca_bounds(
    replicates: np.ndarray,
    estimate: np.ndarray,
    left_out: np.ndarray,
    confidence: float = CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(low, high, varied)``: BCa intervals, one per row (see the module docs).

    ``replicates`` is ``m x B`` (NaN replicates are left out), ``estimate`` ``m``, ``left_out``
    the jackknife values ``m x n`` (NaN for cases that do not carry the metric). ``varied`` is
    False where the replicates did not vary (or no two cases carry the metric): the bounds there
    are the estimate, and a caller should use a Wilson interval instead.
    """
    replicates = np.atleast_2d(np.asarray(replicates, dtype=float))
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    left_out = np.atleast_2d(np.asarray(left_out, dtype=float))
    finite = np.isfinite(replicates)
    valid = np.maximum(finite.sum(axis=-1), 1)
    centre = estimate[:, None]
    below = np.sum(finite & (replicates < centre), axis=-1)
    ties = np.sum(finite & (replicates == centre), axis=-1)
    share = np.clip((below + ties / 2) / valid, 0.5 / valid, 1 - 0.5 / valid)
    z0 = special.ndtri(share)

    known = np.isfinite(left_out)
    count = known.sum(axis=-1)
    mean = np.sum(np.where(known, left_out, 0.0), axis=-1) / np.maximum(count, 1)
    gap = np.where(known, mean[:, None] - left_out, 0.0)
    square = np.sum(gap * gap, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        acceleration = np.where(square > 0, np.sum(gap**3, axis=-1) / (6 * square**1.5), 0.0)

    tail = (1 - confidence) / 2
    bounds = []
    for q in (tail, 1 - tail):
        shifted = z0 + float(special.ndtri(q))
        with np.errstate(divide="ignore", invalid="ignore"):
            level = special.ndtr(z0 + shifted / (1 - acceleration * shifted))
        level = np.where(1 - acceleration * shifted > 0, level, 1.0 if q > 0.5 else 0.0)
        bounds.append(_quantiles(replicates, level))
    highest = np.max(np.where(finite, replicates, -np.inf), axis=-1)
    lowest = np.min(np.where(finite, replicates, np.inf), axis=-1)
    varied = (highest > lowest) & (count >= 2) & np.isfinite(estimate)
    low = np.where(varied, np.minimum(bounds[0], estimate), estimate)
    high = np.where(varied, np.maximum(bounds[1], estimate), estimate)
    return low, high, varied


__all__ = [
    "RESAMPLES",
    "SEED",
    "Statistic",
    "bca_bounds",
    "bootstrap_totals",
    "case_weights",
    "jackknife",
    "ratio",
]
