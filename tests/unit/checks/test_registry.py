"""The check registry: names, parameters, the checks: list of an eval file."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from brittle import checks
from brittle._errors import ConfigError
from brittle.checks import (
    Check,
    CheckResult,
    check_names,
    checks_from_config,
    contains,
    exact,
    json_schema,
    label,
    make_check,
    normalized,
    numeric,
    python,
    regex,
    register_check,
    similarity,
)
from brittle.checks import registry as check_registry
from brittle.spec.cases import Case
from tests.unit.checks.cases import SENTIMENT, case

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
    monkeypatch.setattr(check_registry, "_REGISTRY", dict(check_registry._REGISTRY))

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


def test_the_checks_are_named_without_importing_what_they_need() -> None:
    """jsonschema, numpy and deepeval load only for an eval that uses a check needing them."""
    code = (
        "import sys\n"
        "from brittle import checks\n"
        "checks.checks_from_config(['exact', 'numeric', {'label': {'choices': ['a', 'b']}}])\n"
        "assert 'deepeval' in checks.check_names() and 'json' in checks.check_names()\n"
        "heavy = ['jsonschema', 'numpy', 'deepeval', 'brittle.deepeval', 'brittle.checks.json',\n"
        "         'brittle.checks.semantic', 'brittle.checks.function']\n"
        "print([name for name in heavy if name in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_the_lazy_names_are_the_checks_once_their_modules_are_loaded() -> None:
    from brittle.checks import function, semantic
    from brittle.checks import json as json_module

    assert checks.python is function.python
    assert checks.similarity is semantic.similarity
    assert checks.json_schema is json_module.json_schema
    assert checks.NO_JSON is json_module.NO_JSON
    assert make_check("python", {"function": "os.path:join"}).name == "python"
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = checks.nothing  # type: ignore[attr-defined]
