"""How the reports show ``prob_shift`` (:mod:`brittle.stats.probshift`) beside the flip rate.

Shown only for systems whose rows carry the expected label's probability (token
log-probabilities); a run without any shows nothing, so reports of such runs read as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brittle._format import number
from brittle.report.phrases import delta, interval


def _families(metrics: Mapping[str, Any]) -> str:
    shown = [
        f"{family} {number(block['prob_shift'])}"
        for family, block in (metrics.get("families") or {}).items()
        if block.get("prob_shift") is not None
    ]
    return ", ".join(shown)


def prob_shift_text(block: Mapping[str, Any], before: Mapping[str, Any], *, sep: str) -> str:
    """``  p-shift 0.041 [0.034, 0.049] (+0.012)`` for the terminal line, or ``""``."""
    value = block.get("prob_shift")
    if value is None:
        return ""
    # three digits: probability shifts are small (0.029 [0.026, 0.033], not [0.03, 0.03])
    return f"  p-shift {number(value)}{interval(block, 'prob_shift', sep=sep, digits=3)}" + delta(
        value, before.get("prob_shift")
    )


def prob_shift_markdown(systems: Mapping[str, Any]) -> list[str]:
    """summary.md's paragraph under the metrics table: each system's prob_shift with its
    interval and per family, or nothing when no system has one."""
    parts = []
    for name, system in systems.items():
        metrics = system["metrics"]
        overall = metrics["overall"]
        if overall.get("prob_shift") is None:
            continue
        families = _families(metrics)
        parts.append(
            f"{name} {number(overall['prob_shift'])}{interval(overall, 'prob_shift', digits=3)}"
            + (f" ({families})" if families else "")
        )
    if not parts:
        return []
    return [
        "",
        "Probability shift (mean change of the expected label's probability between each "
        "variant and its original; moves before answers flip): " + "; ".join(parts) + ".",
    ]


__all__ = ["prob_shift_markdown", "prob_shift_text"]
