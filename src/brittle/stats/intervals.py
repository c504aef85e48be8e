"""Metric intervals for reports: the run's own when it has them, else a Wilson interval.

A run's metrics may carry intervals under a ``ci`` key of each metric block
(``metrics["overall"]["ci"]["accuracy"]``), written by the statistics of the gates. Readers here
accept ``[low, high]`` or a mapping with ``low``/``high`` (or ``lo``/``hi``, ``lower``/``upper``).
Without them, reports show a 95 % Wilson score interval computed from the block's counts: cases
for ``accuracy``, (original, variant) pairs for ``flip_rate`` and ``agreement``, variants for
``variant_accuracy``. Errored rows are not subtracted (the block does not say which rows errored),
so with errors the fallback is slightly narrower than it should be.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

Z95 = 1.959963984540054
_DENOMINATOR = {
    "accuracy": "cases",
    "worst_case_accuracy": "cases",
    "variant_accuracy": "variants",
    "flip_rate": "pairs",
    "agreement": "pairs",
}


def wilson(share: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``share`` observed over ``n`` trials."""
    if n <= 0:
        return (0.0, 1.0)
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


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
    if n <= 0:
        return None
    return wilson(float(value), n), "wilson"


__all__ = ["metric_interval", "reported_interval", "wilson"]
