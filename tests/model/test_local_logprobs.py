"""Token log-probabilities of the embedded model: litellm's standard fields, answers identical
with and without them, and each row's expected_prob and the prob_shift of a small eval."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import pytest

from brittle.checks import label
from brittle.local import register
from brittle.options import Options
from brittle.run.session import BrittleSession
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.systems import PromptSystem, Template
from tests.support import ROOT

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROMPTS = [
    "Is this review positive or negative? 'Terrible service, cold food.' Answer with one word.",
    "Is this review positive or negative? 'Works great, I love it.' Answer with one word.",
    "What is the capital of France?",
]


@pytest.fixture(scope="module")
def llm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    register()
    return litellm


def _ask(llm: Any, prompt: str, **params: Any) -> Any:
    return llm.completion(
        model="local/smollm2",
        messages=[{"role": "user", "content": prompt}],
        temperature=0,
        max_tokens=6,
        **params,
    )


@pytest.mark.model
def test_logprobs_come_through_litellms_fields_and_change_no_answer(llm: Any) -> None:
    for prompt in PROMPTS:
        plain = _ask(llm, prompt)
        asked = _ask(llm, prompt, logprobs=True, top_logprobs=5)
        text = asked.choices[0].message.content
        assert text == plain.choices[0].message.content  # greedy answers unchanged
        assert getattr(plain.choices[0], "logprobs", None) is None  # not asked: not given
        content = asked.choices[0].logprobs.content
        assert len(content) == asked.usage.completion_tokens
        assert "".join(item.token for item in content).strip() == text.strip()
        for item in content:
            assert item.logprob <= 0.0
            assert bytes(item.bytes).decode("utf-8", "replace") == item.token
            top = item.top_logprobs
            assert len(top) == 5
            assert [t.logprob for t in top] == sorted((t.logprob for t in top), reverse=True)
            # greedy: the chosen token is the likeliest, with the same log-probability
            assert (top[0].token, top[0].logprob) == (item.token, item.logprob)
            assert sum(math.exp(t.logprob) for t in top) <= 1.0 + 1e-6
    without_top = _ask(llm, PROMPTS[0], logprobs=True)
    assert all(item.top_logprobs == [] for item in without_top.choices[0].logprobs.content)


@pytest.mark.model
def test_rows_get_expected_prob_and_the_system_a_prob_shift(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in (ROOT / "fixtures/sentiment/golden.jsonl").open()]
    cases = [Case(id=r["id"], inputs={"text": r["text"]}, expected=r["expected"]) for r in rows]
    template = Template.from_file(ROOT / "fixtures/prompts/sentiment_few_shot.txt")
    spec = build_spec(
        Eval(
            name="probs",
            golden=cases[:4],
            systems=[
                PromptSystem("few", "local/smollm2", template, params={"max_tokens": 4}),
            ],
            checks=[label(["positive", "negative"])],
            suites=[{"name": "shout", "perturbations": [{"family": "casing", "n": 1}]}],
            gates=["prob_shift <= 0.5"],
        ),
        source=tmp_path / "probs.eval.yaml",
    )
    session = BrittleSession(Options(report_dir=tmp_path / "reports", cache="off", progress=False))
    state = session.state(spec)
    session.run_system(spec, "few")
    run = state.run.systems["few"]
    probs = run.columns["expected_prob"]
    assert len(probs) == 8 and all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probs)
    # the 135M model spreads its first token over "The", "I", ... too: a passing row's label
    # holds a clear share, not a majority (0.2-0.4 on these cases)
    for passed, prob in zip(run.columns["passed"], probs, strict=True):
        if passed:
            assert prob > 0.1
    overall = run.metrics["overall"]
    pairs = [
        abs(probs[i + 1] - probs[i]) for i in range(0, 8, 2)
    ]  # each case: its original, then its one casing variant
    assert overall["prob_shift"] == pytest.approx(sum(pairs) / 4)
    assert overall["ci"]["prob_shift"] is not None
    assert run.metrics["families"]["casing"]["prob_shift"] == pytest.approx(sum(pairs) / 4)
    outcomes = run.outcomes()
    assert all(len(entry) == 4 for entry in outcomes.values())  # the baseline stores them
