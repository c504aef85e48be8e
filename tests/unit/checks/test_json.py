"""The json check and reading JSON out of an output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brittle import checks
from brittle._errors import ConfigError
from brittle.checks import (
    CheckResult,
    extract_json,
    json_schema,
    make_check,
)
from tests.unit.checks.cases import case

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
