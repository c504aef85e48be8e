"""Confidence intervals of proportions, and the intervals a run reported for its metrics.

Wilson interval (the one implementation: every Wilson interval in brittle is :func:`wilson_bounds`)
    For a proportion ``p`` on ``n`` trials (``x = p n`` successes) and
    ``z = Phi^-1(1 - (1 - c) / 2)``::

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)
        CI     = [centre - half, centre + half]          (0 at p = 0, 1 at p = 1)

    It keeps its coverage near 0 and 1, where the normal (Wald) interval collapses to a point.
    ``n`` may be an effective number of trials (not a whole number): the clustered Wilson
    interval of :mod:`brittle.stats.cluster_interval` passes the cases' design-effect size.

A run's metrics may carry intervals under a ``ci`` key of each metric block
(``metrics["overall"]["ci"]["accuracy"]``), written by :func:`brittle.stats.results.add_intervals`.
Readers here accept ``[low, high]`` or a mapping with ``low``/``high`` (or ``lo``/``hi``,
``lower``/``upper``). Without them, reports show a 95 % Wilson score interval computed from the
block's counts with ``n`` = the block's cases, the independent units (the clustered Wilson
interval without per-case sums): the variants and pairs of one case are correlated, and
``n = pairs`` or ``n = variants`` would make the interval too narrow. With one unit per case
this is the plain Wilson interval; with several it errs on the wide side.

No scipy at import (the HTML report reads intervals here): the 95 % quantile is a constant.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

CONFIDENCE = 0.95
Z95 = 1.959963984540054
"""``Phi^-1(0.975)``, exactly as scipy computes it: the 95 % interval needs no scipy."""

_FALLBACK = ("accuracy", "worst_case_accuracy", "variant_accuracy", "flip_rate", "agreement")
"""Metrics a report may give a Wilson interval from the counts (on ``n`` = cases)."""


def normal_quantile(probability: float) -> float:
    """``Phi^-1(probability)``, the standard normal quantile."""
    if probability == 1 - (1 - CONFIDENCE) / 2:
        return Z95
    from scipy.special import ndtri  # heavy: only for a confidence other than 95 %

    return float(ndtri(probability))


def wilson_bounds(
    share: ArrayLike, n: ArrayLike, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The Wilson score interval of proportions ``share`` on ``n`` trials, elementwise.

    NaN where ``n <= 0`` or ``share`` is not finite.
    """
    share = np.asarray(share, dtype=float)
    n = np.asarray(n, dtype=float)
    z = normal_quantile(1 - (1 - confidence) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1 + z * z / n
        centre = (share + z * z / (2 * n)) / scale
        half = z / scale * np.sqrt(np.maximum(share * (1 - share) / n + z * z / (4 * n * n), 0))
    low = np.where(share <= 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(share >= 1, 1.0, np.clip(centre + half, 0.0, 1.0))
    empty = ~(n > 0) | ~np.isfinite(share)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def wilson_interval(
    successes: float, n: float, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """:func:`wilson_bounds` of ``successes / n`` as two floats (None when ``n <= 0``)."""
    if n <= 0:
        return None
    low, high = wilson_bounds(min(max(successes / n, 0.0), 1.0), n, confidence)
    return float(low), float(high)


def _pair(value: Any) -> tuple[float, float] | None:
    if isinstance(value, Mapping):
        for low, high in (("low", "high"), ("lo", "hi"), ("lower", "upper")):
            if low in value and high in value:
                value = (value[low], value[high])
                break
        else:
            return None
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            low_f, high_f = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
        if math.isfinite(low_f) and math.isfinite(high_f):
            return (low_f, high_f)
    return None


def reported_interval(block: Mapping[str, Any], metric: str) -> tuple[float, float] | None:
    """The interval the run itself reported for ``metric`` (None when it has none)."""
    ci = block.get("ci")
    if isinstance(ci, Mapping) and metric in ci:
        return _pair(ci[metric])
    return _pair(block.get(f"{metric}_ci"))


def metric_interval(
    block: Mapping[str, Any], metric: str, *, fallback: bool = True
) -> tuple[tuple[float, float], str] | None:
    """``((low, high), source)`` for ``metric``; source is ``"run"`` or ``"wilson"``.

    The fallback is the Wilson interval on ``n`` = the block's cases (see the module docs).
    """
    reported = reported_interval(block, metric)
    if reported is not None:
        return reported, "run"
    value = block.get(metric)
    if not fallback or value is None or metric not in _FALLBACK:
        return None
    interval = wilson_interval(float(value) * int(block.get("cases") or 0), block.get("cases") or 0)
    if interval is None:
        return None
    return interval, "wilson"


__all__ = [
    "CONFIDENCE",
    "metric_interval",
    "normal_quantile",
    "reported_interval",
    "wilson_bounds",
    "wilson_interval",
]
