"""The ``json`` check: the output holds JSON, valid against a schema, equal to the expected.

jsonschema and PyYAML (for schema files) are imported here, so only evals with a ``json`` check
load them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema.exceptions
import jsonschema.validators
import yaml

from brittle._errors import ConfigError
from brittle.checks._params import boolean, kind, short, strings
from brittle.checks.base import Check, CheckResult, no_expected
from brittle.spec.cases import Case

__all__ = ["NO_JSON", "extract_json", "json_schema"]


class _Missing:
    """Marks "no JSON found", since ``null`` is a valid JSON document."""

    def __repr__(self) -> str:
        return "<no JSON>"


NO_JSON = _Missing()

_FENCE = re.compile(r"```[ \t]*(?:json[5c]?)?[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MAX_SPAN_TRIES = 64


def extract_json(text: str) -> Any:
    """The JSON value held in ``text``, or :data:`NO_JSON`.

    Tried in order: the whole text; each fenced code block (```json or bare ```); the first
    ``{...}`` or ``[...]`` span that parses, scanning from each opening bracket in turn.
    """
    try:
        return json.loads(text.strip())
    except ValueError:
        pass
    for match in _FENCE.finditer(text):
        try:
            return json.loads(match.group(1))
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for tries, match in enumerate(re.finditer(r"[\[{]", text)):
        if tries >= _MAX_SPAN_TRIES:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        return value
    return NO_JSON


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_difference(want: Any, got: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, or None when equal.

    Numbers compare by value (1 equals 1.0) but booleans are not numbers.
    """
    here = path or "top level"
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        for key in want:
            if key not in got:
                return f"{here}: missing key {key!r}"
        for key in got:
            if key not in want:
                return f"{here}: unexpected key {key!r}"
        for key in want:
            found = _json_difference(want[key], got[key], f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        if len(want) != len(got):
            return f"{here}: expected {len(want)} items, got {len(got)}"
        for index, (left, right) in enumerate(zip(want, got, strict=True)):
            found = _json_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    numeric = (int, float)
    same = (
        isinstance(want, numeric)
        and isinstance(got, numeric)
        and not isinstance(want, bool)
        and not isinstance(got, bool)
        and want == got
    ) or (type(want) is type(got) and want == got)
    if same:
        return None
    return f"{here}: expected {_clip(_canonical_json(want))}, got {_clip(_canonical_json(got))}"


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters."""
    return text[:limit] + "…" if len(text) > limit else text


def _expected_json(expected: Any, strict: bool) -> Any:
    """The expected JSON value of a case, or :data:`NO_JSON` if it has none.

    A dict or list is used as is, a string is parsed. When not ``strict`` (compare left to
    auto) only objects and arrays count, so a case whose expected answer is a label for another
    check is not compared; when ``strict`` any value counts, an unparseable string as a string.
    """
    if expected is None:
        return NO_JSON
    value = expected
    if isinstance(expected, str):
        try:
            value = json.loads(expected)
        except ValueError:
            value = expected
    if isinstance(value, Mapping | list | tuple) or strict:
        return value
    return NO_JSON


class _JsonCheck(Check):
    def __init__(
        self,
        schema: dict[str, Any] | None,
        schema_source: str | None,
        validator: Any,
        expected_keys: list[str] | None,
        compare: bool | None,
    ) -> None:
        super().__init__(
            "json",
            {"schema": schema, "expected_keys": expected_keys, "compare": compare},
            requires_expected=compare is True,
            defaults={"schema": None, "expected_keys": None, "compare": None},
        )
        self._schema_source = schema_source
        self._validator = validator
        self._expected_keys = expected_keys
        self._compare = compare

    def describe(self) -> str:
        text = super().describe()
        if self._schema_source is not None:
            text = text.replace(
                f"schema={self.params['schema']!r}", f"schema={self._schema_source!r}"
            )
        return text

    def check(self, output: str, case: Case) -> CheckResult:
        value = extract_json(output)
        if value is NO_JSON:
            return CheckResult(
                passed=False,
                detail=f"no JSON found in output (not JSON, no ```json block, no {{...}} or "
                f"[...] span): {short(output)}",
            )
        answer = _canonical_json(value)
        if self._validator is not None:
            errors = list(self._validator.iter_errors(value))
            if errors:
                first = jsonschema.exceptions.best_match(errors)
                at = "/".join(str(part) for part in first.path) or "top level"
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                return CheckResult(
                    passed=False, answer=answer, detail=f"schema: {first.message} at {at}{more}"
                )
        if self._expected_keys is not None:
            if not isinstance(value, Mapping):
                return CheckResult(
                    passed=False, answer=answer, detail="expected a JSON object with keys"
                )
            lacking = [key for key in self._expected_keys if key not in value]
            if lacking:
                return CheckResult(
                    passed=False, answer=answer, detail=f"missing keys: {', '.join(lacking)}"
                )
        if self._compare is not False:
            want = _expected_json(case.expected, strict=self._compare is True)
            if want is NO_JSON and self._compare is True:
                return no_expected(self, case, answer)
            if want is not NO_JSON:
                difference = _json_difference(want, value)
                if difference:
                    return CheckResult(passed=False, answer=answer, detail=difference)
        return CheckResult(passed=True, answer=answer)


def _load_schema(schema: Any, base_dir: str | Path | None) -> tuple[dict[str, Any], str | None]:
    """The schema as a mapping, and the file it came from (None when given inline)."""
    if isinstance(schema, Mapping):
        return dict(schema), None
    if not isinstance(schema, str | Path):
        raise ConfigError(
            f"must be a mapping or a file path, got {kind(schema)}",
            key="schema",
            fix="give the JSON schema inline, or a path to a .json/.yaml file",
        )
    source = str(schema)
    path = Path(schema).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the schema file '{path}': {exc.strerror or exc}",
            key="schema",
            fix="give a path relative to the eval file, or the schema inline",
        ) from None
    try:
        # YAML reads JSON too; json.loads gives the better message for a .json file.
        loaded = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"the schema file '{path}' does not parse: {exc}",
            key="schema",
            fix="fix the file's JSON/YAML syntax",
        ) from None
    if not isinstance(loaded, Mapping):
        raise ConfigError(
            f"the schema file '{path}' holds {kind(loaded)}, not a JSON schema object",
            key="schema",
        )
    return dict(loaded), source


def json_schema(
    schema: Mapping[str, Any] | str | Path | None = None,
    *,
    expected_keys: Sequence[str] | None = None,
    compare: bool | None = None,
    base_dir: str | Path | None = None,
) -> Check:
    """The output holds JSON (whole, in a ```json block, or as the first ``{...}``/``[...]``).

    ``schema`` (inline, or a .json/.yaml file relative to ``base_dir``, the eval's folder) is
    checked with jsonschema; ``expected_keys`` must be keys of the top-level object. ``compare``
    decides whether the parsed output must equal the case's expected answer: None (the default)
    compares only when the expected answer is a JSON object or array (or a string holding one),
    True always compares, False never. The answer is the canonical JSON (sorted keys, compact).
    """
    loaded: dict[str, Any] | None = None
    source: str | None = None
    validator = None
    if schema is not None:
        loaded, source = _load_schema(schema, base_dir)
        validator_class = jsonschema.validators.validator_for(loaded)
        try:
            validator_class.check_schema(loaded)
        except jsonschema.exceptions.SchemaError as exc:
            at = "/".join(str(part) for part in exc.path) or "top level"
            raise ConfigError(
                f"invalid JSON schema: {exc.message} (at {at})",
                key="schema",
                fix="see https://json-schema.org/understanding-json-schema/",
            ) from None
        validator = validator_class(loaded)
    keys = None if expected_keys is None else strings(expected_keys, "expected_keys")
    if compare is not None:
        boolean(compare, "compare")
    return _JsonCheck(loaded, source, validator, keys, compare)
