"""Confidence intervals of proportions, and the intervals a run reported for its metrics.

Wilson interval (simple proportions: one unit per case)
    For ``x`` successes in ``n`` trials, ``p = x / n`` and ``z = Phi^-1(1 - (1 - c) / 2)``::

        centre = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)
        CI     = [centre - half, centre + half]

    It keeps its coverage near 0 and 1, where the normal (Wald) interval collapses to a point.

A run's metrics may carry intervals under a ``ci`` key of each metric block
(``metrics["overall"]["ci"]["accuracy"]``), written by :func:`brittle.stats.results.add_intervals`.
Readers here accept ``[low, high]`` or a mapping with ``low``/``high`` (or ``lo``/``hi``,
``lower``/``upper``). Without them, reports show a 95 % Wilson score interval computed from the
block's counts: cases for ``accuracy``, (original, variant) pairs for ``flip_rate`` and
``agreement``, variants for ``variant_accuracy``. Errored rows are not subtracted (the block does
not say which rows errored), so with errors the fallback is slightly narrower than it should be.

Light on purpose (no numpy, no scipy at import): the HTML report reads intervals here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

CONFIDENCE = 0.95
Z95 = 1.959963984540054
"""``Phi^-1(0.975)``, exactly as scipy computes it: the 95 % interval needs no scipy."""

_DENOMINATOR = {
    "accuracy": "cases",
    "worst_case_accuracy": "cases",
    "variant_accuracy": "variants",
    "flip_rate": "pairs",
    "agreement": "pairs",
}


def normal_quantile(probability: float) -> float:
    """``Phi^-1(probability)``, the standard normal quantile."""
    if probability == 1 - (1 - CONFIDENCE) / 2:
        return Z95
    from scipy.special import ndtri  # heavy: only for a confidence other than 95 %

    return float(ndtri(probability))


def wilson_interval(
    successes: float, n: float, confidence: float = CONFIDENCE
) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes / n`` (None when ``n == 0``)."""
    if n <= 0:
        return None
    z = normal_quantile(1 - (1 - confidence) / 2)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z / denominator * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0))
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


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
    """``((low, high), source)`` for ``metric``; source is ``"run"`` or ``"wilson"``."""
    reported = reported_interval(block, metric)
    if reported is not None:
        return reported, "run"
    value = block.get(metric)
    counter = _DENOMINATOR.get(metric)
    if not fallback or value is None or counter is None:
        return None
    n = int(block.get(counter) or 0)
    interval = wilson_interval(float(value) * n, n)
    if interval is None:
        return None
    return interval, "wilson"


__all__ = [
    "CONFIDENCE",
    "metric_interval",
    "normal_quantile",
    "reported_interval",
    "wilson_interval",
]
