"""The label check: which of a fixed set of labels the output names."""

from __future__ import annotations

from typing import Any

import pytest

from brittle._errors import ConfigError
from brittle.checks import (
    CheckResult,
    label,
    make_check,
)
from tests.unit.checks.cases import SENTIMENT, case

# --------------------------------------------------------------------------- label


@pytest.mark.parametrize(
    ("output", "answer"),
    [
        ("This review is positive.", "positive"),
        ("POSITIVE", "positive"),
        ("**Negative**", "negative"),
        ("Sentiment: negative (not positive)", "negative"),
        # The first mention wins, negations are not understood.
        ("Not negative, positive", "negative"),
        # Whole words only: "negatively" is not the label "negative".
        ("The reviewer speaks negatively, overall positive", "positive"),
        ("negatively", None),
        ("non-negative", "negative"),  # a hyphen is a word boundary
        ("positive_sentiment", None),  # an underscore is not
        ("", None),
    ],
)
def test_label_extraction_rule(output: str, answer: str | None) -> None:
    result = label(SENTIMENT).check(output, case("positive"))
    assert result.answer == answer
    assert result.passed is (answer == "positive")


def test_label_failure_details() -> None:
    check = label(SENTIMENT)
    wrong = check.check("negative", case("positive"))
    assert wrong.detail == "expected 'positive', got 'negative'"
    none = check.check("I cannot tell.", case("positive"))
    assert none.answer is None
    assert none.detail.startswith("no choice found in output (positive, negative)")


def test_label_synonyms_count_as_their_label() -> None:
    check = label(SENTIMENT, synonyms={"positive": ["good", "great"], "negative": "bad"})
    assert check.check("Great film!", case("positive")).answer == "positive"
    assert check.check("It was bad, not good", case("negative")).answer == "negative"
    # The expected answer may itself be a synonym or in another case.
    assert check.check("positive", case("Good")).passed


def test_label_prefers_the_longer_term_at_the_same_place() -> None:
    check = label(["good", "very good"])
    assert check.check("It is very  good.", case("very good")).answer == "very good"
    assert check.check("It is good.", case("good")).answer == "good"


def test_label_default_when_nothing_found() -> None:
    check = label(["yes", "no", "unsure"], default="Unsure")
    result = check.check("Hard to say.", case("unsure"))
    assert result == CheckResult(passed=True, answer="unsure")
    wrong = check.check("Hard to say.", case("yes"))
    assert not wrong.passed
    assert "the default" in wrong.detail


def test_label_expected_outside_the_choices() -> None:
    result = label(SENTIMENT).check("positive", case("neutral"))
    assert not result.passed
    assert "'neutral' is not one of the choices" in result.detail


@pytest.mark.parametrize(
    ("params", "key", "problem"),
    [
        ({"choices": ["positive"]}, "label.choices", "at least two"),
        ({"choices": ["Positive", "positive "]}, "label.choices", "twice"),
        ({"choices": "positive"}, "label.choices", "list of labels"),
        ({"choices": SENTIMENT, "default": "neutral"}, "label.default", "not one of"),
        ({"choices": SENTIMENT, "synonyms": {"neutral": ["meh"]}}, "label.synonyms.neutral", ""),
        (
            {"choices": SENTIMENT, "synonyms": {"positive": ["ok"], "negative": ["OK"]}},
            "label.synonyms.negative",
            "both",
        ),
        (
            {"choices": SENTIMENT, "synonyms": {"positive": ["negative"]}},
            "label.synonyms.positive",
            "both",
        ),
    ],
)
def test_label_validates_at_construction(params: dict[str, Any], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_check("label", params)
    assert info.value.key == key
    assert problem in info.value.problem
