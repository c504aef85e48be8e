"""``brittle compare``: the exact McNemar p-value of the paired changes between two runs."""

from __future__ import annotations

import pytest

from brittle._format import mcnemar_p
from brittle.report.diff import PairedChange


def p_value(worse: int, better: int) -> float | None:
    return PairedChange(paired=worse + better, worse=worse, better=better).p_value


def test_mcnemar_exact() -> None:
    assert p_value(0, 0) is None
    assert p_value(3, 3) == 1.0
    assert p_value(10, 0) == pytest.approx(2 / 2**10)
    assert p_value(1, 6) == pytest.approx(2 * (1 + 7) / 2**7)


def test_mcnemar_text() -> None:
    assert mcnemar_p(p_value(0, 0)) == "no discordant pairs"
    assert mcnemar_p(p_value(1, 6)) == "exact McNemar p = 0.125"
