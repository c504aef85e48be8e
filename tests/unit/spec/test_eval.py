"""Loading eval files: a valid project loads, and each mistake is one ConfigError saying where,
which key, what is wrong and how to fix it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from brittle._errors import ConfigError
from brittle.spec.eval import EvalSpec, load_eval_file
from brittle.spec.systems import CallableSystem, LLMSystem
from brittle.stats.gates import ErrorBudget, Gate

HELPER = "brittle_evalspec_helper"

GOLDEN = """\
{"id": "c1", "text": "The battery lasts all week", "expected": "positive", "tags": ["plain"]}
{"id": "c2", "text": "The screen cracked in two days", "expected": "negative"}
{"id": "c3", "text": "Friendly staff, spotless room", "expected": "positive"}
"""

SUITE = """\
name: typos
version: 2
perturbations:
  - family: typo
    n: 2
    params: {rate: 0.1}
  - family: casing
"""

TEMPLATE = """\
Classify the sentiment below as positive or negative.
Review: {{ text }}
Answer:
"""

# line numbers matter: tests assert them
EVAL = """\
name: demo
description: a small eval
golden: ../data/golden.jsonl
perturb_fields: [text]
systems:
  zero-shot:
    kind: prompt
    model: local/smollm2
    template: ../prompts/zero_shot.txt
    params: {temperature: 0, max_tokens: 4}
  rules:
    kind: python
    callable: brittle_evalspec_helper:answer
checks:
  - label: {choices: [positive, negative]}
suites:
  - ../suites/typos.yaml
gates:
  - accuracy >= 0.8
  - flip_rate[typo] <= 0.1
  - accuracy drop <= 0.02
concurrency: 4
error_budget: 1
seed: 3
"""


@pytest.fixture(autouse=True)
def helper_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An importable module for the python system, as a user would have beside conftest.py."""
    (tmp_path / f"{HELPER}.py").write_text("def answer(inputs):\n    return 'positive'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop(HELPER, None)


def edit(text: str, old: str, new: str) -> str:
    assert old in text, f"test setup: {old!r} not in the text"
    return text.replace(old, new, 1)


def project(
    tmp_path: Path,
    *,
    eval_text: str = EVAL,
    golden: str = GOLDEN,
    suite: str = SUITE,
    template: str = TEMPLATE,
) -> Path:
    """Lay out evals/, data/, suites/ and prompts/ like a user's repository; return the eval."""
    files = {
        "data/golden.jsonl": golden,
        "suites/typos.yaml": suite,
        "prompts/zero_shot.txt": template,
        "evals/demo.eval.yaml": eval_text,
    }
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return tmp_path / "evals" / "demo.eval.yaml"


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_eval_file(path)
    return info.value


def assert_message(
    error: ConfigError, *, where: str, key: str | None, problem: str, fix: str
) -> None:
    """The one paragraph a user sees: location, key, problem, fix."""
    message = str(error)
    head = f"{where}: '{key}': " if key else f"{where}: "
    assert message.startswith(head + problem), message
    assert "\n  fix: " in message, message
    assert fix in message.split("\n  fix: ", 1)[1], message


# --- a valid eval ------------------------------------------------------------------------------


def test_valid_eval_loads(tmp_path: Path) -> None:
    path = project(tmp_path)
    spec = load_eval_file(path)
    assert isinstance(spec, EvalSpec)
    assert spec.name == "demo"
    assert spec.description == "a small eval"
    assert spec.source == path
    assert spec.golden_path == path.parent / "../data/golden.jsonl"
    assert [c.id for c in spec.cases] == ["c1", "c2", "c3"]
    assert spec.cases[0].tags == ("plain",)

    zero_shot, rules = spec.systems
    assert isinstance(zero_shot, LLMSystem)
    assert (zero_shot.name, zero_shot.kind, zero_shot.model) == (
        "zero-shot",
        "prompt",
        "local/smollm2",
    )
    assert zero_shot.call_model == "local/smollm2"
    assert zero_shot.params == {"temperature": 0, "max_tokens": 4}
    assert zero_shot.template is not None
    assert zero_shot.template.text == TEMPLATE
    assert zero_shot.template.source == str((tmp_path / "prompts" / "zero_shot.txt").resolve())
    assert zero_shot.required_fields() == {"text"}
    assert isinstance(rules, CallableSystem)
    assert rules.name == "rules"
    assert rules.function({"text": "x"}) == "positive"
    assert spec.system("rules") is rules

    assert [c.name for c in spec.checks] == ["label"]
    assert [s.name for s in spec.suites] == ["typos"]
    suite = spec.suites[0]
    assert suite.version == 2
    assert [(e.name, e.family, e.n) for e in suite.entries] == [
        ("typo", "typo", 2),
        ("casing", "casing", 1),
    ]
    assert suite.source == str(tmp_path / "evals" / "../suites/typos.yaml")
    assert spec.gates == [
        Gate("accuracy", "min", 0.8),
        Gate("flip_rate", "max", 0.1, "typo"),
        Gate("accuracy", "max_drop", 0.02),
    ]
    assert spec.perturb_fields == ("text",)
    assert spec.concurrency == 4
    assert spec.error_budget == ErrorBudget(count=1)
    assert spec.seed == 3
    assert spec.baseline_path == tmp_path / "evals" / "__baselines__" / "demo.json"


def test_minimal_eval_uses_defaults(tmp_path: Path) -> None:
    minimal = """\
golden: ../data/golden.jsonl
systems:
  rules: {callable: "brittle_evalspec_helper:answer"}
checks: [exact]
"""
    spec = load_eval_file(project(tmp_path, eval_text=minimal))
    assert spec.name == "demo"  # from demo.eval.yaml
    assert spec.baseline_path == tmp_path / "evals" / "__baselines__" / "demo.json"
    assert spec.systems[0].kind == "python"
    assert spec.suites == []
    assert spec.gates == []
    assert spec.perturb_fields == ("text",)  # the string fields of the first case
    assert spec.concurrency == 16
    assert spec.error_budget == ErrorBudget(count=0)
    assert spec.seed is None


def test_inline_template_and_default_kind(tmp_path: Path) -> None:
    text = edit(EVAL, "    kind: prompt\n", "")
    text = edit(text, "template: ../prompts/zero_shot.txt", 'template: "Say: {{ text }}"')
    spec = load_eval_file(project(tmp_path, eval_text=text))
    system = spec.systems[0]
    assert isinstance(system, LLMSystem)
    assert system.kind == "prompt"
    assert system.template is not None
    assert system.template.text == "Say: {{ text }}"


# --- one error each ----------------------------------------------------------------------------


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "description: a small eval", "description: a: b"))
    error = load_error(path)
    assert (error.where, error.line) == (str(path), 2)
    assert_message(
        error,
        where=f"{path}:2",
        key=None,
        problem="malformed YAML: mapping values are not allowed here",
        fix="must be quoted",
    )


def test_malformed_yaml_unclosed_flow_mapping(tmp_path: Path) -> None:
    text = edit(EVAL, "{temperature: 0, max_tokens: 4}", "{temperature: 0, max_tokens: 4")
    error = load_error(project(tmp_path, eval_text=text))
    assert error.line is not None and error.line >= 10
    assert "malformed YAML" in str(error)


def test_eval_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text="- golden: x\n")
    assert str(load_error(path)).startswith(f"{path}: an eval file must be a mapping of keys")


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=EVAL + "gate: accuracy >= 0.9\n")
    error = load_error(path)
    assert_message(
        error,
        where=f"{path}:25",
        key=None,
        problem="unknown key 'gate'",
        fix=(
            "allowed keys: alpha, checks, compare, concurrency, description, error_budget, "
            "gates, golden"
        ),
    )


@pytest.mark.parametrize("required", ["golden", "systems", "checks"])
def test_missing_required_key(tmp_path: Path, required: str) -> None:
    text = "\n".join(
        line
        for line in EVAL.splitlines()
        if not line.startswith(f"{required}:") and not (required == "checks" and "label" in line)
    )
    if required == "systems":
        text = text.split("  zero-shot:")[0] + "checks:" + text.split("checks:")[1]
    path = project(tmp_path, eval_text=text + "\n")
    error = load_error(path)
    assert error.key == required
    assert f"missing required key '{required}'" in str(error)


def test_unknown_check_name(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "- label:", "- lable:"))
    assert_message(
        load_error(path),
        where=f"{path}:15",
        key="checks[0]",
        problem="unknown check 'lable'",
        fix="did you mean 'label'? known checks: ",
    )


def test_unknown_perturbation_family_in_a_suite(tmp_path: Path) -> None:
    path = project(tmp_path, suite=edit(SUITE, "family: casing", "family: cassing"))
    suite = tmp_path / "evals" / "../suites/typos.yaml"
    error = load_error(path)
    assert_message(
        error,
        where=f"{suite}:7",
        key="family",
        problem="unknown perturbation family 'cassing'",
        fix="did you mean 'casing'? use one of the known families: casing, contractions",
    )


def test_missing_golden_file(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "data/golden.jsonl", "data/gold.jsonl"))
    assert_message(
        load_error(path),
        where=f"{path}:3",
        key="golden",
        problem="golden file '../data/gold.jsonl' does not exist (looked for "
        f"{tmp_path / 'evals' / '../data/gold.jsonl'})",
        fix="golden paths are relative to the eval file",
    )


def test_golden_row_missing_a_field_the_template_needs(tmp_path: Path) -> None:
    golden = edit(GOLDEN, '"text": "The screen', '"body": "The screen')
    path = project(tmp_path, golden=golden)
    golden_path = tmp_path / "evals" / "../data/golden.jsonl"
    assert_message(
        load_error(path),
        where=f"{golden_path}:2",
        key="text",
        problem="case 'c2' has no field 'text', which the template of system 'zero-shot' needs",
        fix="add the field to this row",
    )


def test_golden_row_missing_expected_the_checks_need(tmp_path: Path) -> None:
    golden = edit(GOLDEN, ', "expected": "negative"', "")
    path = project(tmp_path, golden=golden)
    assert_message(
        load_error(path),
        where=f"{tmp_path / 'evals' / '../data/golden.jsonl'}:2",
        key="expected",
        problem="case 'c2' has no 'expected' answer, which the checks need",
        fix="add 'expected' to the row",
    )


def test_duplicate_case_ids(tmp_path: Path) -> None:
    path = project(tmp_path, golden=edit(GOLDEN, '"id": "c3"', '"id": "c1"'))
    assert_message(
        load_error(path),
        where=f"{tmp_path / 'evals' / '../data/golden.jsonl'}:3",
        key="id",
        problem="duplicate case id 'c1' (first seen on line 1)",
        fix="give every row a unique id",
    )


def test_template_referencing_an_undefined_field(tmp_path: Path) -> None:
    template = "Classify the sentiment below.\n\nReview: {{ review }}\nAnswer:\n"
    path = project(tmp_path, template=template)
    template_path = (tmp_path / "prompts" / "zero_shot.txt").resolve()
    assert_message(
        load_error(path),
        where=f"{template_path}:3",
        key=None,
        problem="template of system 'zero-shot' uses undefined field 'review'; "
        "the golden set's fields are: text",
        fix="rename the field in the template or add it to the golden rows",
    )


def test_template_undefined_field_line_ignores_prose(tmp_path: Path) -> None:
    template = "Classify this review as positive or negative.\nReview: {{ review }}\n"
    path = project(tmp_path, template=template)
    error = load_error(path)
    assert error.line == 2


def test_template_with_a_syntax_error(tmp_path: Path) -> None:
    path = project(tmp_path, template="Review: {{ text }\n")
    error = load_error(path)
    assert error.where == str((tmp_path / "prompts" / "zero_shot.txt").resolve())
    assert error.line == 1
    assert "template syntax error" in str(error)


def test_missing_template_file(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "zero_shot.txt", "zero.txt"))
    assert_message(
        load_error(path),
        where=str(path),
        key="systems.zero-shot.template",
        problem="template file '../prompts/zero.txt' does not exist",
        fix="fix the path (relative to the eval file) or write the template inline",
    )


def test_gate_on_an_unknown_metric(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "- accuracy >= 0.8", "- acuracy >= 0.8"))
    assert_message(
        load_error(path),
        where=f"{path}:19",
        key="gates[0]",
        problem="unknown metric 'acuracy' (did you mean 'accuracy'?)",
        fix="use one of: accuracy, variant_accuracy",
    )


def test_unreadable_gate(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "- accuracy drop <= 0.02", "- accuracy < 0.02"))
    assert_message(
        load_error(path),
        where=f"{path}:21",
        key="gates[2]",
        problem="cannot read gate 'accuracy < 0.02'",
        fix="'accuracy drop <= 0.02'",
    )


def test_suite_file_that_does_not_exist(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "suites/typos.yaml", "suites/typo.yaml"))
    assert_message(
        load_error(path),
        where=f"{path}:17",
        key="suites",
        problem=f"suite file '{tmp_path / 'evals' / '../suites/typo.yaml'}' does not exist",
        fix="suite paths are relative to the eval file",
    )


def test_prompt_system_without_template(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "    template: ../prompts/zero_shot.txt\n", ""))
    assert_message(
        load_error(path),
        where=f"{path}:6",
        key="systems.zero-shot.template",
        problem="a prompt system needs a 'template'",
        fix="add 'template: path/to/prompt.txt'",
    )


def test_model_system_without_template_is_fine(tmp_path: Path) -> None:
    text = edit(EVAL, "kind: prompt", "kind: model")
    text = edit(text, "    template: ../prompts/zero_shot.txt\n", "")
    spec = load_eval_file(project(tmp_path, eval_text=text))
    assert spec.systems[0].kind == "model"


def test_prompt_system_without_model(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "    model: local/smollm2\n", ""))
    assert_message(
        load_error(path),
        where=f"{path}:6",
        key="systems.zero-shot.model",
        problem="a prompt system needs 'model'",
        fix="write e.g. 'model: local/smollm2'",
    )


def test_unknown_system_kind(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "kind: prompt", "kind: chain"))
    assert_message(
        load_error(path),
        where=f"{path}:7",
        key="systems.zero-shot.kind",
        problem="unknown system kind 'chain'",
        fix="use one of: prompt, model, python",
    )


def test_unknown_system_key(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "params:", "parameters:"))
    assert_message(
        load_error(path),
        where=f"{path}:10",
        key=None,
        problem="unknown key 'parameters' in 'systems.zero-shot'",
        fix="did you mean 'params'? allowed keys: adapter_check, base, callable, kind, model",
    )


def test_python_system_that_cannot_be_imported(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, f"{HELPER}:answer", f"{HELPER}:answr"))
    assert_message(
        load_error(path),
        where=str(path),
        key="systems.rules.callable",
        problem=f"module '{HELPER}' has no attribute 'answr'",
        fix="check the name after the colon",
    )


@pytest.mark.parametrize("value", ["0", "-2", "true", "'4'", "2.5"])
def test_non_positive_concurrency(tmp_path: Path, value: str) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "concurrency: 4", f"concurrency: {value}"))
    error = load_error(path)
    assert (error.where, error.line, error.key) == (str(path), 22, "concurrency")
    assert str(error).startswith(
        f"{path}:22: 'concurrency': 'concurrency' must be a positive whole number, not "
    )


def test_non_positive_concurrency_says_how_to_fix_it(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "concurrency: 4", "concurrency: 0"))
    assert "\n  fix: " in str(load_error(path))


def test_gate_on_a_family_no_suite_uses(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "flip_rate[typo]", "flip_rate[typos]"))
    assert_message(
        load_error(path),
        where=f"{path}:20",
        key="gates[1]",
        problem="gate 'flip_rate[typos] <= 0.1' names family 'typos', which no suite of this "
        "eval uses",
        fix="use one of: casing, typo",
    )


def test_perturb_fields_naming_an_unknown_field(tmp_path: Path) -> None:
    path = project(
        tmp_path, eval_text=edit(EVAL, "perturb_fields: [text]", "perturb_fields: [txt]")
    )
    assert_message(
        load_error(path),
        where=f"{path}:4",
        key="perturb_fields",
        problem="perturb_fields names 'txt', which no golden row has",
        fix="use fields of the golden set: text",
    )


def test_invalid_error_budget(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "error_budget: 1", "error_budget: lots"))
    assert_message(
        load_error(path),
        where=f"{path}:23",
        key="error_budget",
        problem="error_budget 'lots' is neither a count nor a share",
        fix="write a whole number of calls",
    )


@pytest.mark.parametrize(
    ("old", "new", "line"),
    [
        ("- label:", "- lable:", 15),
        ("flip_rate[typo]", "flip_rate[typos]", 20),
        ("error_budget: 1", "error_budget: lots", 23),
    ],
)
def test_errors_point_at_the_line_of_the_offending_item(
    tmp_path: Path, old: str, new: str, line: int
) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, old, new))
    assert str(load_error(path)).startswith(f"{path}:{line}: ")


def test_perturb_fields_that_is_not_a_list(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "perturb_fields: [text]", "perturb_fields: text"))
    error = load_error(path)
    assert error.key == "perturb_fields"
    assert "list" in str(error)
    assert "'e'" not in str(error)


def test_seed_that_is_not_a_whole_number(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "seed: 3", "seed: abc"))
    error = load_error(path)
    assert error.key == "seed"


def test_gate_on_a_family_in_an_eval_without_suites(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=edit(EVAL, "suites:\n  - ../suites/typos.yaml\n", ""))
    error = load_error(path)
    assert error.key is not None and error.key.startswith("gates[")
    assert "names family 'typo'" in str(error)
    assert "add a suite with that family" in str(error)
