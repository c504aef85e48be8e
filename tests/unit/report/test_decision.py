"""report/decision.py: the decision of a run, from each system's outcomes, tokens, price and
training cost: the best prompt against the best fine-tune first, then the eval's compare pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import brittle
from brittle.gateway import CallResult
from brittle.options import Options
from brittle.report.decision import decision_lines, decision_record
from brittle.run.session import BrittleSession
from brittle.spec.eval import build_spec

PRICE = {"input_per_mtok": 1.0, "output_per_mtok": 2.0}


def _number(inputs: dict[str, Any]) -> int:
    word = inputs["text"].split()[2]
    return int(word) if word.isdigit() else 0


def right(inputs: dict[str, Any]) -> CallResult:
    label = "positive" if _number(inputs) % 2 else "negative"
    return CallResult(text=label, prompt_tokens=50, completion_tokens=2)


def wrong_on_fifths(inputs: dict[str, Any]) -> CallResult:
    i = _number(inputs)
    label = "positive" if (i % 2) != (i % 5 == 0) else "negative"
    return CallResult(text=label, prompt_tokens=400, completion_tokens=2)


def test_the_best_prompt_against_the_best_fine_tune_with_break_even(tmp_path: Path) -> None:
    cases = [
        brittle.Case(
            id=f"c{i:02d}",
            inputs={"text": f"review number {i} is fine"},
            expected="positive" if i % 2 else "negative",
        )
        for i in range(40)
    ]
    systems = [
        brittle.CallableSystem("few-shot", wrong_on_fifths, kind="prompt", price=PRICE),
        brittle.CallableSystem("lora", right, kind="model", price=PRICE, training_cost=5),
    ]
    definition = brittle.Eval(
        golden=cases,
        systems=systems,
        checks=["exact"],
        suites=["builtin:typos"],
        compare=[["few-shot", "lora"], ["lora", "few-shot"]],
    )
    spec = build_spec(definition, source=tmp_path / "x.py")
    session = BrittleSession(Options(report_dir=None, cache="off", progress=False))
    state = session.state(spec)
    for system in spec.systems:
        session.run_system(spec, system.name)
    decision = decision_record(state)
    assert decision is not None
    # the primary pair once: the eval's compare names it twice, once reversed, and a pair in
    # either order is compared once (not again with opposite signs)
    assert [p["systems"] for p in decision["pairs"]] == [["few-shot", "lora"]]
    assert decision["why"] == "best prompt against best fine-tuned system"
    assert decision["verdict"] == "better"
    # per call: 400 + 2*2 = 404 and 50 + 2*2 = 54 micro-dollars; $5 repaid at $0.35 per 1,000
    assert decision["cost_per_1k"] == {"few-shot": 0.404, "lora": 0.054}
    assert decision["break_even_calls"] == 14286
    assert decision["break_even"]["repaid_by"] == "lora"
    assert decision["sides"]["lora"]["tokens_per_call"] == 52.0
    lines = decision_lines(decision)
    assert lines[0].startswith("decision: lora against few-shot (best prompt against best")
    assert "break-even 14,286 calls" in lines[0]
