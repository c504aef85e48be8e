"""The decision's eval keys: ``compare`` pairs of system names and a system's ``training_cost``,
in YAML and in the Python API; each mistake is one ConfigError naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

import brittle
from brittle._errors import ConfigError
from brittle.spec.eval import build_spec, load_eval_file
from tests.unit.spec.test_eval import EVAL, edit, helper_module, project

__all__ = ["helper_module"]  # the autouse fixture that makes the python system importable


def _with(text: str) -> str:
    return EVAL + text


def test_compare_pairs_and_training_cost_load(tmp_path: Path) -> None:
    text = edit(EVAL, "    kind: python\n", "    kind: python\n    training_cost: 120.5\n")
    spec = load_eval_file(project(tmp_path, eval_text=text + "compare: [[zero-shot, rules]]\n"))
    assert spec.compare == (("zero-shot", "rules"),)
    assert spec.system("rules").training_cost == 120.5  # type: ignore[attr-defined]
    assert spec.system("zero-shot").training_cost is None  # type: ignore[attr-defined]


def test_an_unknown_name_in_compare_says_did_you_mean_and_names_the_key(tmp_path: Path) -> None:
    path = project(tmp_path, eval_text=_with("compare:\n  - [zero-shot, rule]\n"))
    with pytest.raises(ConfigError) as caught:
        load_eval_file(path)
    message = str(caught.value)
    assert "'rule' is not a system of this eval" in message
    assert "compare[0]" in message
    assert "did you mean 'rules'?" in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[zero-shot, rules]", "each comparison must be a pair"),
        ("[[zero-shot, rules, zero-shot]]", "each comparison must be a pair"),
        ("[[rules, rules]]", "cannot be compared with itself"),
        ("zero-shot", "must be a list of pairs"),
    ],
)
def test_malformed_compare_is_refused(tmp_path: Path, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_eval_file(project(tmp_path, eval_text=_with(f"compare: {value}\n")))


@pytest.mark.parametrize(("value", "expected"), [("-5", "cannot be negative"), ("lots", "USD")])
def test_a_bad_training_cost_names_the_system_key(
    tmp_path: Path, value: str, expected: str
) -> None:
    text = edit(EVAL, "    kind: python\n", f"    kind: python\n    training_cost: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_eval_file(project(tmp_path, eval_text=text))
    assert "systems.rules.training_cost" in str(caught.value)
    assert expected in str(caught.value)


def test_the_python_api_takes_compare_and_training_cost(tmp_path: Path) -> None:
    cases = [brittle.Case(id="c1", inputs={"text": "x"}, expected="positive")]
    systems = [
        brittle.PromptSystem("few-shot", "local/smollm2", "Say: {{ text }}"),
        brittle.ModelSystem("lora", "local/smollm2", training_cost=40),
    ]
    spec = build_spec(
        brittle.Eval(
            golden=cases, systems=systems, checks=["exact"], compare=[["few-shot", "lora"]]
        ),
        source=tmp_path / "x.py",
    )
    assert spec.compare == (("few-shot", "lora"),)
    assert spec.system("lora").training_cost == 40.0  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="did you mean 'lora'"):
        build_spec(
            brittle.Eval(
                golden=cases, systems=systems, checks=["exact"], compare=[["few-shot", "lore"]]
            ),
            source=tmp_path / "x.py",
        )
    with pytest.raises(ConfigError, match="training_cost"):
        brittle.ModelSystem("lora", "local/smollm2", training_cost=-1)
