"""Each row's ``expected_prob``: the probability its answer gave the expected label.

The definition and its limits are in :mod:`brittle.stats.probshift`; this module finds what it
needs in an eval: the ``label`` check (its choices, and the case's expected answer spelled as
its choice), and the call's token log-probabilities (:attr:`brittle.gateway.CallResult.logprobs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from brittle.checks import Check
from brittle.checks.base import expected_text
from brittle.gateway import CallResult
from brittle.spec.cases import Case
from brittle.stats.probshift import expected_prob


def label_check(checks: Sequence[Check]) -> Any:
    """The eval's first ``label`` check (one with ``choices`` and ``label_of``), else None."""
    for check in checks:
        if isinstance(getattr(check, "choices", None), list) and hasattr(check, "label_of"):
            return check
    return None


def row_expected_prob(check: Any, case: Case, result: CallResult) -> float | None:
    """``expected_prob`` of one row (None: unknown, see :mod:`brittle.stats.probshift`)."""
    if check is None or result.logprobs is None or result.error is not None:
        return None
    expected = expected_text(case)
    if expected is None:
        return None
    label = check.label_of(expected) or expected
    return expected_prob(result.logprobs, label, check.choices)


def stored_tail(digest: str | None, prob: Any) -> list[Any]:
    """A baseline outcome's values after ``[passed, answer]``: the text hash, then the
    expected label's probability (rounded to 6 decimals) when known; no probability without a
    hash, so the positions stay fixed (:func:`brittle.stats.paired.paired_tables` reads it)."""
    if not digest:
        return []
    if isinstance(prob, int | float) and not isinstance(prob, bool) and prob == prob:
        return [digest, round(float(prob), 6)]
    return [digest]


__all__ = ["label_check", "row_expected_prob", "stored_tail"]
