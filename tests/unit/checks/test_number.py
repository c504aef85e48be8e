"""The numeric check and reading a number out of an output."""

from __future__ import annotations

import pytest

from brittle._errors import ConfigError
from brittle.checks import (
    CheckResult,
    extract_number,
    numeric,
)
from tests.unit.checks.cases import case

# --------------------------------------------------------------------------- numeric


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("The total is 1,234.5 dollars", 1234.5),
        ("x = -3", -3.0),
        ("about 4.0e2 items", 400.0),
        ("COVID-19 cases", 19.0),
        ("version v2 has 7 bugs", 7.0),
        ("about .5 litres", 0.5),
        ("no digits", None),
    ],
)
def test_extract_number(text: str, number: float | None) -> None:
    assert extract_number(text) == number


def test_numeric_tolerances() -> None:
    check = numeric()
    assert check.check("The answer is 42.", case("42")) == CheckResult(passed=True, answer="42")
    assert check.check("1,234.50", case(1234.5)).answer == "1234.5"
    assert not check.check("42.01", case(42)).passed
    assert numeric(abs_tol=0.05).check("42.01", case(42)).passed
    assert numeric(rel_tol=0.01).check("101", case(100)).passed
    assert not numeric(rel_tol=0.01).check("102", case(100)).passed
    failed = check.check("41", case(42))
    assert failed.detail.startswith("expected 42, got 41")


def test_numeric_position_and_failures() -> None:
    reasoning = "3 apples plus 4 apples makes 7"
    assert not numeric().check(reasoning, case(7)).passed
    assert numeric(position="last").check(reasoning, case(7)).passed
    assert numeric().check("none", case(7)).detail.startswith("no number found")
    assert "is not a number" in numeric().check("7", case("seven")).detail
    with pytest.raises(ConfigError, match="at least 0"):
        numeric(abs_tol=-1)
