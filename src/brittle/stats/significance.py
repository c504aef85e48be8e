"""Paired significance tests and the multiple-testing correction behind the relative gates.

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

Holm step-down correction
    For ``m`` p-values sorted ascending ``p_(1) <= ... <= p_(m)``::

        p~_(i) = min(1, max_{j <= i} (m - j + 1) p_(j))

    Rejecting where ``p~ < alpha`` keeps the chance of any false alarm in the family at
    ``alpha`` or below, whatever the dependence between the tests.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
from scipy.special import bdtr

from brittle.stats.bootstrap import RESAMPLES, SEED, Statistic, chunk_rows

EXACT_LIMIT = 12


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
    chunk = chunk_rows(resamples, k, difference.shape[1])
    hits = done = 0
    while done < resamples:
        rows = min(chunk, resamples - done)
        count, _ = extreme(rng.integers(0, 2, size=(rows, k)).astype(float))
        hits += count
        done += rows
    return (1 + hits) / (resamples + 1)


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


__all__ = ["EXACT_LIMIT", "holm", "mcnemar_exact", "paired_permutation_test"]
