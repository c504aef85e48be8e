"""The text checks: exact, normalized, contains and regex."""

from __future__ import annotations

import pytest

from brittle._errors import ConfigError
from brittle.checks import (
    CheckResult,
    contains,
    exact,
    make_check,
    normalize_text,
    normalized,
    regex,
)
from tests.unit.checks.cases import case

# --------------------------------------------------------------------------- exact, normalized


def test_exact_strips_and_respects_case() -> None:
    check = exact()
    assert check.check("  Paris\n", case("Paris")) == CheckResult(passed=True, answer="Paris")
    failed = check.check("paris", case("Paris"))
    assert not failed.passed
    assert failed.detail == "expected 'Paris', got 'paris'"
    assert exact(case_sensitive=False).check("PARIS", case("paris")).passed
    assert not exact(strip=False).check(" Paris", case("Paris")).passed


def test_exact_without_expected_fails_with_a_reason() -> None:
    result = exact().check("Paris", case(None, "q7"))
    assert not result.passed
    assert "'q7' has no expected answer" in result.detail


def test_exact_compares_non_string_expected_as_text() -> None:
    assert exact().check("42", case(42)).passed


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ('  "Hello,   World!" ', "hello world"),
        ("Paris.", "paris"),
        ("'Paris'", "paris"),
        ("It costs 3.5 or 1,000.", "it costs 3.5 or 1,000"),
        ("well-known and/or U.S.A.", "well known and or usa"),
        ("ＰＡＲＩＳ", "paris"),
    ],
)
def test_normalize_text(text: str, normal: str) -> None:
    assert normalize_text(text) == normal


def test_normalized_check() -> None:
    check = normalized()
    result = check.check('"The Eiffel   Tower."', case("the eiffel tower"))
    assert result == CheckResult(passed=True, answer="the eiffel tower")
    failed = check.check("The Louvre", case("the eiffel tower"))
    assert not failed.passed
    assert failed.answer == "the louvre"
    assert "expected 'the eiffel tower'" in failed.detail


# --------------------------------------------------------------------------- contains


def test_contains_defaults_to_the_expected_answer() -> None:
    check = contains()
    assert check.requires_expected
    assert check.check("The capital is PARIS.", case("Paris")).passed
    failed = check.check("The capital is Lyon.", case("Paris"))
    assert failed.detail == "output does not contain 'Paris'"
    assert not contains(case_sensitive=True).check("PARIS", case("Paris")).passed


def test_contains_all_and_any() -> None:
    check = contains(all=["name", "age"], any=["json", "yaml"])
    assert not check.requires_expected
    assert check.check("name, age in JSON", case(None)).passed
    failed = check.check("name in XML", case(None))
    assert not failed.passed
    assert "lacks 'age'" in failed.detail
    assert "none of 'json', 'yaml'" in failed.detail
    assert contains("refund").check("We will REFUND you", case("ignored")).passed


# --------------------------------------------------------------------------- regex


def test_regex_match_and_fullmatch() -> None:
    check = regex(r"\d{4}-\d{2}-\d{2}")
    result = check.check("Due on 2024-05-01.", case(None))
    assert result == CheckResult(passed=True, answer="2024-05-01")
    assert not check.check("Due soon.", case(None)).passed
    strict = regex(r"\d+", fullmatch=True)
    assert strict.check(" 42\n", case(None)).passed
    assert not strict.check("42 apples", case(None)).passed


def test_regex_group_is_compared_with_expected() -> None:
    check = regex(r"answer:\s*(?P<value>\w+)", group="value", ignore_case=True)
    assert check.requires_expected
    assert check.check("Answer: Paris", case("paris")).passed
    failed = check.check("answer: Lyon", case("Paris"))
    assert not failed.passed
    assert failed.answer == "lyon"
    numbered = regex(r"(\d+) apples", group=1)
    assert numbered.check("I have 12 apples", case(12)).answer == "12"
    assert numbered.check("I have 12 apples", case(12)).passed


def test_regex_errors_at_construction() -> None:
    with pytest.raises(ConfigError) as info:
        make_check("regex", {"pattern": "(unclosed"}, where="e.yaml", key="checks[0]")
    assert info.value.key == "checks[0].regex.pattern"
    assert "missing )" in info.value.problem
    with pytest.raises(ConfigError, match="no group 2"):
        regex(r"(\d+)", group=2)
    with pytest.raises(ConfigError, match="no group named 'x'"):
        regex(r"(\d+)", group="x")
