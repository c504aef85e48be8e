"""Checks (scorers) and the embedding helper.

Everything but the ``similarity`` tests is pure and fast; those load the embedded
all-MiniLM-L6-v2 once per module (a few seconds, mostly importing torch).
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brittle import checks
from brittle._errors import ConfigError, ModelError
from brittle.checks import (
    Check,
    CheckResult,
    check_names,
    checks_from_config,
    contains,
    exact,
    extract_json,
    extract_number,
    json_schema,
    label,
    make_check,
    normalize_text,
    normalized,
    numeric,
    python,
    regex,
    register_check,
    similarity,
)
from brittle.search import embeddings
from brittle.spec.cases import Case


def case(expected: Any = None, case_id: str = "c1") -> Case:
    return Case(id=case_id, inputs={"text": "irrelevant"}, expected=expected)


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


# --------------------------------------------------------------------------- label

SENTIMENT = ["positive", "negative"]


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


# --------------------------------------------------------------------------- json


@pytest.mark.parametrize(
    ("output", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure!\n```json\n{"a": [1, 2]}\n```\nDone.', {"a": [1, 2]}),
        ('```\n["x"]\n```', ["x"]),
        ('See [ref 1]; result: {"ok": true} thanks', {"ok": True}),
        ("null", None),
    ],
)
def test_extract_json(output: str, value: Any) -> None:
    assert extract_json(output) == value


def test_extract_json_finds_nothing() -> None:
    assert extract_json("no json here {oops") is checks.NO_JSON


def test_json_schema_pass_and_fail() -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
        "required": ["name", "age"],
    }
    check = json_schema(schema)
    ok = check.check('Here:\n```json\n{"name": "Ada", "age": 36}\n```', case(None))
    assert ok == CheckResult(passed=True, answer='{"age":36,"name":"Ada"}')
    bad = check.check('{"name": "Ada", "age": "36"}', case(None))
    assert not bad.passed
    assert bad.detail == "schema: '36' is not of type 'integer' at age"
    missing = check.check("I don't know", case(None))
    assert missing.detail.startswith("no JSON found in output")
    several = json_schema({"type": "array", "items": schema}).check(
        '[{"name": 1, "age": 2}, {"name": "x"}]', case(None)
    )
    assert not several.passed
    assert several.detail.endswith("(and 1 more)")


def test_json_compares_with_expected_json_only() -> None:
    check = json_schema()
    assert check.check('{"a": 1.0, "b": [true]}', case({"b": [True], "a": 1})).passed
    differs = check.check('{"a": 1, "b": [1]}', case({"a": 1, "b": [True]}))
    assert differs.detail == "b[0]: expected true, got 1"
    assert check.check('{"a": 2}', case('{"a": 2}')).passed  # expected JSON in a string
    # A plain-text expected answer (for another check) is not compared unless asked.
    assert check.check('{"a": 2}', case("positive")).passed
    assert not json_schema(compare=True).check('{"a": 2}', case("positive")).passed
    assert json_schema(compare=False).check('{"a": 2}', case({"a": 3})).passed
    keys = json_schema(expected_keys=["a", "b"]).check('{"a": 2}', case(None))
    assert keys.detail == "missing keys: b"


def test_json_schema_from_a_file_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "person.yaml").write_text(
        "type: object\nrequired: [name]\n", encoding="utf-8"
    )
    check = make_check("json", {"schema": "schemas/person.yaml"}, base_dir=tmp_path)
    assert check.params["schema"] == {"type": "object", "required": ["name"]}
    assert "base_dir" not in check.params
    assert check.describe() == "json(schema='schemas/person.yaml')"
    assert not check.check("{}", case(None)).passed
    with pytest.raises(ConfigError, match="cannot read the schema file"):
        make_check("json", {"schema": "missing.json"}, base_dir=tmp_path)


def test_json_invalid_schema_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        make_check("json", {"schema": {"type": "objekt"}}, where="e.yaml", key="checks[1]")
    assert info.value.key == "checks[1].json.schema"
    assert "invalid JSON schema" in info.value.problem


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


# --------------------------------------------------------------------------- python


def test_python_check_interprets_return_values() -> None:
    def verdict(output: str, case: Case) -> Any:
        return {"yes": True, "no": False, "half": 0.5, "low": 0.2}[output]

    check = python(verdict)
    assert check.check("yes", case()) == CheckResult(passed=True)
    assert not check.check("no", case()).passed
    assert check.check("half", case()) == CheckResult(passed=True, score=0.5)
    low = check.check("low", case())
    assert (low.passed, low.score) == (False, 0.2)
    assert python(verdict, threshold=0.1).check("low", case()).passed
    assert check.params["function"].endswith("verdict")


def test_python_check_returning_a_result_or_raising() -> None:
    def scorer(output: str, case: Case) -> CheckResult:
        if output == "boom":
            raise RuntimeError("model said boom")
        return CheckResult(passed=output == case.expected, answer=output.upper())

    check = python(scorer)
    assert check.check("a", case("a")) == CheckResult(passed=True, answer="A")
    crashed = check.check("boom", case("a"))
    assert crashed == CheckResult(passed=False, detail="error: RuntimeError: model said boom")
    odd = python(lambda output, case: "yes").check("x", case())
    assert not odd.passed
    assert "must return a bool" in odd.detail
    assert not python(lambda output, case: 1.5).check("x", case()).passed


def test_python_check_from_a_module_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "brittle_test_scorers.py").write_text(
        "def shouty(output, case):\n    return output.isupper()\n", encoding="utf-8"
    )
    (tmp_path / "local_scorer.py").write_text(
        "def long_enough(output, case):\n    return len(output) / 10\n", encoding="utf-8"
    )
    monkeypatch.delitem(sys.modules, "brittle_test_scorers", raising=False)
    from_module = make_check(
        "python", {"function": "brittle_test_scorers:shouty"}, base_dir=tmp_path
    )
    assert from_module.check("HEY", case()).passed
    assert from_module.params == {
        "function": "brittle_test_scorers:shouty",
        "threshold": 0.5,
        "requires_expected": False,
    }
    from_file = make_check("python", {"function": "local_scorer.py:long_enough"}, base_dir=tmp_path)
    assert from_file.check("0123456789", case()).score == 1.0
    monkeypatch.delitem(sys.modules, "brittle_test_scorers")


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("no_such_module_xyz:fn", "no module named 'no_such_module_xyz'"),
        ("json:lods", "has no attribute 'lods'"),
        ("json", "is not of the form 'module:function'"),
        ("json:__doc__", "is not callable"),
        ("os.path:join", ""),  # fine: join(output, case) binds
        ("math:sqrt", "cannot be called as function(output, case)"),
    ],
)
def test_python_check_import_errors(function: str, problem: str) -> None:
    if not problem:
        make_check("python", {"function": function})
        return
    with pytest.raises(ConfigError) as info:
        make_check("python", {"function": function}, where="e.yaml", key="checks[0]")
    assert problem in info.value.problem
    assert info.value.key == "checks[0].python.function"
    assert info.value.fix


# --------------------------------------------------------------------------- registry, config


def test_check_names_lists_the_catalogue() -> None:
    assert check_names() == [
        "contains",
        "deepeval",
        "exact",
        "json",
        "label",
        "normalized",
        "numeric",
        "python",
        "regex",
        "similarity",
    ]


def test_unknown_check_suggests_the_closest_name() -> None:
    with pytest.raises(ConfigError) as info:
        make_check("lable", {}, where="evals/sentiment.yaml", key="checks[0]")
    message = str(info.value)
    assert message.startswith("evals/sentiment.yaml: 'checks[0]': unknown check 'lable'")
    assert "did you mean 'label'?" in message
    assert "known checks: contains, deepeval, exact, json" in message


def test_bad_and_missing_params_are_named() -> None:
    with pytest.raises(ConfigError) as info:
        make_check("label", {"choice": SENTIMENT})
    assert info.value.key == "label.choice"
    assert "did you mean 'choices'?" in (info.value.fix or "")
    with pytest.raises(ConfigError) as info:
        make_check("label")
    assert "needs the parameter 'choices'" in info.value.problem
    with pytest.raises(ConfigError, match="must be true or false"):
        make_check("exact", {"strip": "yes"})
    with pytest.raises(ConfigError, match="has no parameter 'embedder'"):
        make_check("similarity", {"embedder": "x"})


def test_checks_from_config_accepts_the_three_forms() -> None:
    built = checks_from_config(
        ["exact", {"normalized": None}, {"label": {"choices": SENTIMENT}}],
        where="e.yaml",
    )
    assert [check.describe() for check in built] == [
        "exact()",
        "normalized()",
        "label(choices=['positive', 'negative'])",
    ]


@pytest.mark.parametrize(
    ("spec", "key", "problem"),
    [
        ({"label": {"choices": SENTIMENT}}, "checks", "must be a list of checks"),
        ([], "checks", "lists no checks"),
        (["exact", 3], "checks[1]", "is a number (3), not a check"),
        (["exact", ["label"]], "checks[1]", "is a list, not a check"),
        ([{"exact": None, "normalized": None}], "checks[0]", "each item names one check"),
        ([{"label": ["positive", "negative"]}], "checks[0].label", "must be a mapping"),
        ([{"label": {"choices": ["x"]}}], "checks[0].label.choices", "at least two"),
    ],
)
def test_checks_from_config_errors_name_the_item(spec: Any, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        checks_from_config(spec, where="e.yaml")
    assert info.value.where == "e.yaml"
    assert info.value.key == key
    assert problem in info.value.problem


def test_misindented_params_get_a_specific_fix() -> None:
    # `- label:` followed by `choices:` at the same indentation parses as two keys.
    with pytest.raises(ConfigError) as info:
        checks_from_config([{"label": None, "choices": SENTIMENT}])
    assert (info.value.fix or "").startswith("indent choices under 'label:'")


def test_params_are_json_and_rebuild_the_same_check() -> None:
    built = [
        exact(case_sensitive=False),
        normalized(),
        label(SENTIMENT, synonyms={"positive": ["good"]}, default="negative"),
        contains(all=["a"], any=["b", "c"]),
        regex(r"(\d+)", group=1, fullmatch=True),
        json_schema({"type": "object"}, expected_keys=["a"], compare=True),
        numeric(abs_tol=0.5, position="last"),
        similarity(0.6),
        python("os.path:join", threshold=0.7),
    ]
    for check in built:
        rebuilt = make_check(check.name, json.loads(json.dumps(check.params)))
        assert rebuilt.params == check.params
        assert rebuilt.describe() == check.describe()
        assert rebuilt.requires_expected == check.requires_expected


def test_register_a_custom_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "_REGISTRY", dict(checks._REGISTRY))

    class Short(Check):
        def __init__(self, limit: int) -> None:
            super().__init__("short", {"limit": limit}, defaults={"limit": 10})
            self.limit = limit

        def check(self, output: str, case: Case) -> CheckResult:
            return CheckResult(passed=len(output) <= self.limit)

    @register_check("short")
    def short(limit: int = 10) -> Check:
        return Short(limit)

    built = checks_from_config([{"short": {"limit": 3}}, "short"])
    assert [c.describe() for c in built] == ["short(limit=3)", "short()"]
    assert built[0].check_batch(["abc", "abcd"], [case(), case()]) == [
        CheckResult(passed=True),
        CheckResult(passed=False),
    ]
    with pytest.raises(ValueError, match="already registered"):
        register_check("exact")(short)


# --------------------------------------------------------------------------- embeddings


class FakeModel:
    """A stand-in with sentence-transformers' ``encode``: one unnormalised vector per text."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(text) + 1.0, 1.0, 0.0] for text in texts])


class DictStore:
    def __init__(self, vectors: Mapping[str, np.ndarray] | None = None) -> None:
        self.vectors = dict(vectors or {})
        self.asked: list[list[str]] = []

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        self.asked.append(list(texts))
        return {text: self.vectors[text] for text in texts if text in self.vectors}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        self.vectors.update(vectors)


def test_embedder_normalises_and_caches_with_a_fake_model() -> None:
    model = FakeModel()
    embedder = embeddings.Embedder(model)
    vectors = embedder.embed(["a", "bb", "a"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    embedder.embed(["bb", "ccc"])
    assert model.calls == [["a", "bb"], ["ccc"]]
    assert embedder.encoded == 3
    assert embedder.embed([]).shape == (0, 0)
    assert embedder.cosine([], []).shape == (0,)


def test_embedder_store_seam() -> None:
    stored = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    store = DictStore({"known": stored})
    model = FakeModel()
    embedder = embeddings.Embedder(model, store=store)
    vectors = embedder.embed(["known", "new"])
    np.testing.assert_array_equal(vectors[0], stored)
    assert model.calls == [["new"]]
    assert set(store.vectors) == {"known", "new"}
    embedder.embed(["known", "new"])  # both in memory now: the store is not asked again
    assert store.asked == [["known", "new"]]


def test_embedder_is_thread_safe_without_double_work() -> None:
    model = FakeModel()
    embedder = embeddings.Embedder(model)
    texts = [f"text {i}" for i in range(50)]
    threads = [threading.Thread(target=embedder.embed, args=(texts,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert embedder.encoded == 50


def test_missing_embedding_packages_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embeddings, "missing_package", lambda: "sentence-transformers")
    with pytest.raises(ConfigError) as info:
        make_check("similarity", {"threshold": 0.7})
    assert "pip install sentence-transformers" in (info.value.fix or "")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ModelError, match="pip install sentence-transformers"):
        embeddings._load_model()


class CountingModel:
    """Wraps the real model to record which texts reach ``encode``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Any:
        self.encoded.extend(texts)
        return self.model.encode(texts, **kwargs)


@pytest.fixture(scope="module")
def real_model() -> Any:
    return embeddings.get_embedder().model


PARAPHRASE = (
    "The meeting was moved to Friday afternoon.",
    "They rescheduled the meeting for Friday afternoon.",
)
UNRELATED = ("The meeting was moved to Friday afternoon.", "Bananas are rich in potassium.")


def test_similarity_with_the_real_model(real_model: Any) -> None:
    counting = CountingModel(real_model)
    embedder = embeddings.Embedder(counting)
    check = similarity(0.6, embedder=embedder)
    outputs = [PARAPHRASE[1], UNRELATED[1]]
    results = check.check_batch(outputs, [case(PARAPHRASE[0]), case(UNRELATED[0])])
    assert results[0].passed
    assert results[0].score is not None and results[0].score > 0.6
    assert not results[1].passed
    assert results[1].score is not None and results[1].score < 0.3
    assert results[1].detail.endswith("< threshold 0.6")
    # The shared expected text was embedded once, in one batch.
    assert sorted(counting.encoded) == sorted({*outputs, PARAPHRASE[0]})
    # Only texts never seen before reach the model.
    counting.encoded.clear()
    again = check.check(PARAPHRASE[1], case("Completely new reference text."))
    assert counting.encoded == ["Completely new reference text."]
    assert again.score is not None
    assert not check.check("anything", case(None)).passed


def test_cosine_is_row_wise(real_model: Any) -> None:
    embedder = embeddings.Embedder(real_model)
    scores = embedder.cosine([PARAPHRASE[0], UNRELATED[1]], [PARAPHRASE[1], UNRELATED[1]])
    assert scores.shape == (2,)
    assert scores[1] == pytest.approx(1.0, abs=1e-5)
    assert 0.6 < scores[0] < 1.0
    with pytest.raises(ValueError, match="equal lengths"):
        embedder.cosine(["a"], [])
