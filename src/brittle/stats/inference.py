"""Statistics for metrics and gates. Pure functions on numbers and arrays: no model, no disk.

Every statistic below works on *per-case sums*: an array with one row per golden case and one
column per count (passes, variants, flips, pairs, ...). A metric is a function of the column
totals (``flips / pairs``), so resampling or swapping whole rows resamples or swaps whole cases,
and the variants of a case always move together. That is what "clustered by case" means here:
the variants of one case are not independent evidence, and treating them as such would make every
interval too narrow and every p-value too small.

Wilson interval (simple proportions: one unit per case)
    For ``x`` successes in ``n`` trials, ``p = x / n`` and ``z = Phi^-1(1 - (1 - c) / 2)``::

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)
        CI     = [centre - half, centre + half]

    It keeps its coverage near 0 and 1, where the normal (Wald) interval collapses to a point.

Clustered (case-level) bootstrap interval
    Draw ``B`` resamples of the ``n`` cases with replacement (``W[b, i]`` = how often case ``i``
    is drawn); the resampled totals are ``W @ S`` for the per-case sums ``S``, the metric is
    computed on each row of totals, and the interval is the ``(1 - c) / 2`` and ``(1 + c) / 2``
    percentiles. Seeded: the same data and seed give the same interval. When every resample gives
    the same value (no flip seen anywhere, say) resampling cannot show variation it never saw, so
    a proportion at 0 or 1 gets the Wilson interval with one unit per case instead.

McNemar's exact test (per-case correctness, paired)
    Of the cases scored in both runs, ``b`` passed in the baseline and fail now, ``c`` failed and
    pass now. Under "no change" each discordant case is equally likely to go either way::

        p = min(1, 2 * P[Binomial(b + c, 1/2) <= min(b, c)])

    (two-sided; ``p = 1`` when ``b + c = 0``). The concordant cases carry no information.

Paired permutation test (flip rate, agreement, clustered accuracies)
    Under "no change" the run's and the baseline's sums of a case are exchangeable, so swapping
    them is as likely as not. The test statistic is the paired delta ``T = f(run totals) -
    f(baseline totals)``; its null distribution comes from swapping each case's two rows at random
    (all ``2^k`` swaps when only ``k <= 12`` cases differ, else ``B`` random ones)::

        p = (1 + #{b : |T_b| >= |T|}) / (B + 1)        (exact: #{...} / 2^k)

    For a ratio on the same units in both runs (``flips / pairs``) this is the sign-flip test
    of the per-case differences ``d_i = flips_run_i - flips_base_i``.

Paired (clustered) bootstrap interval of a delta
    The same case weights ``W`` for both runs: ``delta_b = f(W_b @ S_run) - f(W_b @ S_base)``,
    and the percentile interval of ``delta_b``.

Holm step-down correction
    For ``m`` p-values sorted ascending ``p_(1) <= ... <= p_(m)``::

        p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))

    Rejecting where ``p~ < alpha`` keeps the chance of any false alarm in the family at
    ``alpha`` or below, whatever the dependence between the tests.

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

import itertools
import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from scipy.special import bdtr, ndtri

Statistic = Callable[[np.ndarray], np.ndarray]
"""Maps totals (``B x k``: one row of column totals per resample) to ``B`` metric values."""

CONFIDENCE = 0.95
RESAMPLES = 2000
SEED = 20240611
EXACT_LIMIT = 12
_CHUNK_WORK = 500_000  # multiply-adds per product: below BLAS's threading threshold, which
# on a busy machine makes these small products 100 times slower than one thread


def _chunk_rows(total: int, inner: int, outer: int) -> int:
    return max(1, min(total, _CHUNK_WORK // max(inner * outer, 1)))


def _z(probability: float) -> float:
    return float(ndtri(probability))


# --- intervals ---------------------------------------------------------------------------------


def wilson_interval(
    successes: float, n: float, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / n`` (None when ``n == 0``)."""
    if n <= 0:
        return None
    z = _z(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


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
    chunks = _weight_chunks(n, resamples, seed, _chunk_rows(resamples, n, k))
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


def ratio(numerator: int, denominator: int) -> Statistic:
    """The statistic ``totals[:, numerator] / totals[:, denominator]`` (NaN where 0 / 0)."""

    def statistic(totals: np.ndarray) -> np.ndarray:
        num, den = totals[:, numerator], totals[:, denominator]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    return statistic


# --- paired tests ------------------------------------------------------------------------------


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs."""
    n = int(b) + int(c)
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * bdtr(min(b, c), n, 0.5)))


def paired_permutation_test(
    sums_run: np.ndarray,
    sums_base: np.ndarray,
    statistic: Statistic,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    exact_limit: int = EXACT_LIMIT,
) -> float:
    """Two-sided p-value of ``statistic(run) - statistic(base)`` under within-case swaps.

    NaN when the observed delta is undefined.
    """
    a = np.asarray(sums_run, dtype=float)
    b = np.asarray(sums_base, dtype=float)
    observed = float(statistic(a.sum(axis=0)[None])[0] - statistic(b.sum(axis=0)[None])[0])
    if not math.isfinite(observed):
        return math.nan
    differing = np.flatnonzero(np.any(a != b, axis=1))
    k = differing.size
    if k == 0:
        return 1.0
    common = a.sum(axis=0) - a[differing].sum(axis=0)
    a_d, b_d = a[differing], b[differing]
    tolerance = 1e-12 + 1e-9 * abs(observed)

    difference = a_d - b_d
    keep_base, swap_base = common + b_d.sum(axis=0), common + a_d.sum(axis=0)

    def extreme(masks: np.ndarray) -> tuple[int, int]:
        moved = masks @ difference  # keep a case's rows (1) or swap them (0)
        deltas = statistic(keep_base + moved) - statistic(swap_base - moved)
        hits = ~(np.abs(deltas) < abs(observed) - tolerance)  # NaN counts as extreme
        return int(hits.sum()), masks.shape[0]

    if k <= exact_limit:
        masks = np.array(list(itertools.product((1.0, 0.0), repeat=k)))
        hits, total = extreme(masks)
        return hits / total
    rng = np.random.default_rng(seed)
    chunk = _chunk_rows(resamples, k, difference.shape[1])
    hits = done = 0
    while done < resamples:
        rows = min(chunk, resamples - done)
        count, _ = extreme(rng.integers(0, 2, size=(rows, k)).astype(float))
        hits += count
        done += rows
    return (1 + hits) / (resamples + 1)


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


# --- power -------------------------------------------------------------------------------------


def design_effect(variants: float, icc: float) -> float:
    """``1 + (m - 1) rho``: how much clustering inflates the variance of a case-level mean."""
    return 1.0 + max(variants - 1.0, 0.0) * min(max(icc, 0.0), 1.0)


def paired_units_needed(
    delta: float, rate: float, *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Paired units a two-sided paired proportion test needs to detect a rise ``delta``.

    Connor (1987)'s formula with the discordance of independent runs; ``inf`` if impossible.
    """
    return _units(delta, rate, _z(1 - alpha / 2), _z(power))


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

    z_alpha, z_beta = _z(1 - alpha / 2), _z(power)

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
    "CONFIDENCE",
    "RESAMPLES",
    "SEED",
    "bootstrap_totals",
    "cases_needed",
    "cluster_bootstrap_interval",
    "design_effect",
    "holm",
    "intra_case_correlation",
    "mcnemar_exact",
    "minimum_detectable_effect",
    "paired_bootstrap_interval",
    "paired_permutation_test",
    "paired_units_needed",
    "percentile_interval",
    "ratio",
    "wilson_interval",
]
