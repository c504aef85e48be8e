"""Validation gaps of issue 17: an expected label outside the label check's choices, and a
template that uses no input field, are refused when the eval loads (YAML and Python alike)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brittle import Case, ConfigError, Eval, PromptSystem, checks
from brittle.spec.eval import build_spec, load_eval_file

ROWS = [
    {"id": "t1", "text": "my invoice is wrong", "expected": "billing"},
    {"id": "t2", "text": "app crashes on start", "expected": "bug"},
    {"id": "t3", "text": "please add dark mode", "expected": "feature request"},
]


def _project(
    tmp_path: Path, *, template: str = "Route: {{ text }}", rows: list[dict[str, str]] | None = None
) -> Path:
    (tmp_path / "golden.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in rows or ROWS), encoding="utf-8"
    )
    path = tmp_path / "routing.eval.yaml"
    path.write_text(
        "golden: golden.jsonl\n"
        "systems:\n"
        "  zero-shot:\n"
        "    model: openai/stub\n"
        f"    template: {json.dumps(template)}\n"
        "checks:\n"
        "  - label:\n"
        "      choices: [billing, bug, feature, account]\n"
        "      synonyms: {feature: [feature request]}\n",
        encoding="utf-8",
    )
    return path


def test_the_valid_project_loads(tmp_path: Path) -> None:
    assert len(load_eval_file(_project(tmp_path)).cases) == 3


def test_an_expected_label_outside_the_choices_names_the_row(tmp_path: Path) -> None:
    rows = [*ROWS, {"id": "t4", "text": "cannot log in", "expected": "acount"}]
    with pytest.raises(ConfigError) as caught:
        load_eval_file(_project(tmp_path, rows=rows))
    error = caught.value
    assert error.where == f"{tmp_path / 'golden.jsonl'}:4"
    assert "case 't4'" in error.problem and "'acount'" in error.problem
    assert "choices ['billing', 'bug', 'feature', 'account']" in error.problem
    assert error.fix is not None and error.fix.startswith("did you mean 'account'?")


def test_labels_match_in_any_case_and_as_synonyms(tmp_path: Path) -> None:
    rows = [*ROWS, {"id": "t4", "text": "cannot log in", "expected": "ACCOUNT"}]
    assert len(load_eval_file(_project(tmp_path, rows=rows)).cases) == 4


def test_a_template_without_an_input_field_names_system_and_fields(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_eval_file(_project(tmp_path, template="../prompts/zero_shot.txt and more"))
    error = caught.value
    assert "the template of system 'zero-shot' uses no input field" in error.problem
    assert "'../prompts/zero_shot.txt and more'" in error.problem
    assert "input fields are: text" in error.problem
    assert error.where is not None and "routing.eval.yaml" in error.where
    assert error.fix is not None and "{{ text }}" in error.fix


def test_python_evals_are_validated_alike(tmp_path: Path) -> None:
    cases = [Case(id=r["id"], inputs={"text": r["text"]}, expected=r["expected"]) for r in ROWS]
    label = checks.label(["billing", "bug", "feature"])
    definition = Eval(
        golden=cases, systems=[PromptSystem("zs", "openai/x", "Route: {{ text }}")], checks=[label]
    )
    with pytest.raises(ConfigError, match="'feature request' is not one of the label check's"):
        build_spec(definition, source=tmp_path / "test_routing.py")
    definition = Eval(
        golden=cases[:2],
        systems=[PromptSystem("zs", "openai/x", "Route this ticket.")],
        checks=[label],
    )
    with pytest.raises(ConfigError, match="'zs' uses no input field") as caught:
        build_spec(definition, source=tmp_path / "test_routing.py")
    assert caught.value.where == str(tmp_path / "test_routing.py")
