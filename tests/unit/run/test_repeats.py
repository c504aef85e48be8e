"""Repeats through a whole run: randomness is told apart from brittleness, and both are gated.

Two systems answer through a scripted transport that sees each call's repeat index (the engine
scopes every row's gateway with it: the supported way for a system's answers to vary by
repeat):

- ``random``: right with its case's own probability, drawn afresh for every (case, input text,
  repeat), the same way for the original and its variants. Random, not brittle: its flip rate
  is high, its excess flip rate about 0.
- ``brittle``: deterministic; right on every original, wrong on the variants of every fifth
  case. Its self-disagreement is 0 and its excess flip rate is its flip rate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.options import Options
from brittle.run.session import BrittleSession
from brittle.run.verdicts import check_systems
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, EvalSpec, build_spec
from brittle.spec.suites import suite_from_mapping
from brittle.spec.systems import System

CASES = 200
REPEATS = 4
WORDS = ["the", "parcel", "arrived", "late", "yet", "intact", "and", "the", "courier", "apologised"]
GATES = ["excess_flip_rate <= 0.05", "self_disagreement <= 0.1"]


class Sampled(System):
    """Sends the row's inputs to the scripted model named after the system."""

    kind = "custom"

    def __init__(self, name: str) -> None:
        self.name = name

    def spec(self) -> dict[str, Any]:
        return {"kind": "custom", "name": self.name}

    async def run(self, inputs: Mapping[str, Any], gateway: Gateway) -> CallResult:
        content = json.dumps(dict(inputs), sort_keys=True)
        return await gateway.complete(
            CallRequest(model=self.name, messages=({"role": "user", "content": content},))
        )


class Scripted:
    """The transport: reads the repeat index the engine's scope put on each request."""

    def __init__(self) -> None:
        self.repeats: set[int] = set()

    async def complete(self, request: CallRequest) -> CallResult:
        inputs = json.loads(request.messages[-1]["content"])
        repeat = request.repeat or 0
        self.repeats.add(repeat)
        if request.model == "random":
            draw = random.Random(f"{inputs['case']}|{inputs['text']}|{repeat}").random()
            right = draw < inputs["p"]
        else:
            right = inputs["text"] == inputs["clean"] or inputs["case"] % 5 != 0
        return CallResult(text="right" if right else "wrong")


def spec(tmp_path: Path, gates: list[str] = GATES) -> EvalSpec:
    cases = []
    for i in range(CASES):
        text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(8))
        p = 0.15 + 0.7 * ((i * 37) % 100) / 100  # each case its own chance of a right answer
        cases.append(Case(f"c{i:03d}", {"text": text, "clean": text, "case": i, "p": p}, "right"))
    suite = suite_from_mapping(
        {
            "name": "typos",
            "version": 1,
            "seed": 3,
            "perturbations": [{"family": "typo", "n": 2, "params": {"rate": 0.3}}],
        }
    )
    definition = Eval(
        golden=cases,
        systems=[Sampled("random"), Sampled("brittle")],
        checks=["exact"],
        suites=[suite],
        gates=gates,
        perturb_fields=["text"],
        repeats=REPEATS,
    )
    return build_spec(definition, source=tmp_path / "repeats.py")


def run(tmp_path: Path) -> tuple[BrittleSession, EvalSpec, Scripted, dict[tuple[str, str], Any]]:
    session = BrittleSession(Options(report_dir=None, cache="off", progress=False))
    evaluation = spec(tmp_path)
    transport = Scripted()
    session.state(evaluation).gateway = Gateway(transport, concurrency=16)
    verdicts = {
        (c.system, c.gate.name if c.gate else "run"): c.verdict
        for c in check_systems(session, evaluation, ["random", "brittle"])
    }
    return session, evaluation, transport, verdicts


@pytest.fixture(scope="module")
def ran(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[BrittleSession, EvalSpec, Scripted, dict[tuple[str, str], Any]]:
    return run(tmp_path_factory.mktemp("repeats"))


def test_a_random_system_that_is_not_brittle_has_excess_about_0(ran: Any) -> None:
    session, evaluation, transport, _ = ran
    assert transport.repeats == set(range(REPEATS))
    metrics = session.state(evaluation).run.systems["random"].metrics
    overall, info = metrics["overall"], metrics["repeats"]
    assert overall["flip_rate"] > 0.1  # the reduced flip rate calls randomness brittleness
    assert overall["self_disagreement"] > 0.25
    assert abs(overall["excess_flip_rate"]) < 0.03
    low, high = overall["ci"]["excess_flip_rate"]
    assert low < 0 < high
    assert info["ci"]["excess_flip_rate"] == [low, high]
    assert info["flip_rate_between_draws"] == pytest.approx(overall["self_disagreement"], abs=0.03)
    typo = metrics["families"]["typo"]
    assert typo["ci"]["excess_flip_rate"][0] < 0 < typo["ci"]["excess_flip_rate"][1]


def test_a_deterministic_brittle_system_has_excess_equal_to_its_flip_rate(ran: Any) -> None:
    session, evaluation, _, _ = ran
    metrics = session.state(evaluation).run.systems["brittle"].metrics
    overall = metrics["overall"]
    assert overall["self_disagreement"] == 0.0
    assert overall["flip_rate"] == pytest.approx(0.2, abs=0.03)
    assert overall["excess_flip_rate"] == pytest.approx(overall["flip_rate"])
    assert metrics["repeats"]["flip_rate_between_draws"] == pytest.approx(overall["flip_rate"])
    low, high = overall["ci"]["excess_flip_rate"]
    assert low < overall["flip_rate"] < high and low > 0.05


def test_gates_on_the_repeats_pass_and_fail_accordingly(ran: Any) -> None:
    _, _, _, verdicts = ran
    passed = {key: verdict.passed for key, verdict in verdicts.items()}
    assert passed == {
        ("random", "excess_flip_rate <= 0.05"): True,
        ("random", "self_disagreement <= 0.1"): False,
        ("brittle", "excess_flip_rate <= 0.05"): False,
        ("brittle", "self_disagreement <= 0.1"): True,
    }
    failed = verdicts[("brittle", "excess_flip_rate <= 0.05")]
    assert failed.message.startswith("excess_flip_rate = 0.")
    assert "newly flipped" not in failed.message and "flipped variant(s)" in failed.message
