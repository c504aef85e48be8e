"""How brittle writes numbers for people: the terminal, summary.md, the HTML page, ``compare``.

One place decides how a metric and a p-value look, so every report shows the same value the same
way. (The numeric check's ``format_number`` normalises numbers *in answers* before comparing
them: a different job, kept with the checks.)
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"
"""What stands for a value that is missing (None) or undefined (NaN)."""


def number(value: Any, digits: int = 3) -> str:
    """A float with ``digits`` decimals, :data:`MISSING` for None or NaN, anything else as is.

    Counts (ints) are shown whole: ``number(12) == "12"``, ``number(0.5) == "0.500"``.
    """
    if value is None:
        return MISSING
    if isinstance(value, float):
        if math.isnan(value):
            return MISSING
        return f"{value:.{digits}f}"
    return str(value)


def p_value(p: float) -> str:
    """``p = 0.0123`` with four decimals, or ``p < 0.0001`` below what four decimals show."""
    return "p < 0.0001" if p < 1e-4 else f"p = {p:.4f}"


__all__ = ["MISSING", "number", "p_value"]
