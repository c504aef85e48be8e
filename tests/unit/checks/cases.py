"""What the check tests share: a case with an expected answer, and a set of labels."""

from __future__ import annotations

from typing import Any

from brittle.spec.cases import Case

SENTIMENT = ["positive", "negative"]


def case(expected: Any = None, case_id: str = "c1") -> Case:
    """A case whose input does not matter, expecting ``expected``."""
    return Case(id=case_id, inputs={"text": "irrelevant"}, expected=expected)
