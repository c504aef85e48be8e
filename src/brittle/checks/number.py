"""The ``numeric`` check: the first (or last) number in the output is close to the expected."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from brittle._errors import ConfigError
from brittle.checks._params import kind, real, short
from brittle.checks.base import Check, CheckResult, no_expected
from brittle.spec.cases import Case

__all__ = ["extract_number", "format_number", "numeric"]

_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212]?)"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<exponent>[-+]?\d+))?"
)


def _parse_number(match: re.Match[str]) -> float:
    text = match.group("digits").replace(",", "")
    if match.group("exponent"):
        text += "e" + match.group("exponent")
    value = float(text)
    return -value if match.group("sign") in ("-", "\u2212") else value


def extract_number(text: str, *, position: str = "first") -> float | None:
    """The first (or ``"last"``) number written in ``text``, or None.

    Understands signs, thousands separators ("1,234.5"), decimals and exponents ("4.0e2").
    A number glued to a word is not one ("abc123", "v2"); a hyphen after a word is not a minus
    sign ("COVID-19" -> 19). Numbers written as words ("twelve") are not recognised.
    """
    if position == "last":
        match = None
        for match in _NUMBER.finditer(text):  # noqa: B007 - keep the last one
            pass
    else:
        match = _NUMBER.search(text)
    return _parse_number(match) if match else None


def format_number(value: float) -> str:
    """Canonical text of a number: integral values without a decimal point, others as repr."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _expected_number(expected: Any) -> float | None:
    if isinstance(expected, bool) or expected is None:
        return None
    if isinstance(expected, numbers.Real):
        return float(expected)
    text = str(expected).strip().replace(",", "").replace("\u2212", "-")
    try:
        return float(text)
    except ValueError:
        return None


class _NumericCheck(Check):
    def __init__(self, abs_tol: float, rel_tol: float, position: str) -> None:
        super().__init__(
            "numeric",
            {"abs_tol": abs_tol, "rel_tol": rel_tol, "position": position},
            requires_expected=True,
            defaults={"abs_tol": 1e-6, "rel_tol": 0.0, "position": "first"},
        )
        self._abs_tol = abs_tol
        self._rel_tol = rel_tol
        self._position = position

    def check(self, output: str, case: Case) -> CheckResult:
        got = extract_number(output, position=self._position)
        answer = None if got is None else format_number(got)
        if case.expected is None:
            return no_expected(self, case, answer)
        want = _expected_number(case.expected)
        if want is None:
            return CheckResult(
                passed=False,
                answer=answer,
                detail=f"expected answer {case.expected!r} is not a number",
            )
        if got is None:
            return CheckResult(passed=False, detail=f"no number found in output: {short(output)}")
        if math.isclose(got, want, rel_tol=self._rel_tol, abs_tol=self._abs_tol):
            return CheckResult(passed=True, answer=answer)
        return CheckResult(
            passed=False,
            answer=answer,
            detail=f"expected {format_number(want)}, got {answer} "
            f"(abs_tol={self._abs_tol:g}, rel_tol={self._rel_tol:g})",
        )


def numeric(*, abs_tol: float = 1e-6, rel_tol: float = 0.0, position: str = "first") -> Check:
    """The first (or last, ``position: last``) number in the output is close to the expected.

    Close means ``math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)``. See
    :func:`extract_number` for what counts as a number; the answer is :func:`format_number`.
    """
    if position not in ("first", "last"):
        raise ConfigError(f"must be 'first' or 'last', got {kind(position)}", key="position")
    return _NumericCheck(real(abs_tol, "abs_tol", low=0), real(rel_tol, "rel_tol", low=0), position)
