"""Format search (issue 18): a planted worst format is found within the budget, its spread is
inside the reported interval, and every output of a template-less system says why it has none.

The system under test is a prompt system on a deterministic Python transport (the gateway's
``Transport`` seam): it answers a case correctly or not from the prompt alone. One format of the
grammar, chosen before the search, is planted as the worst: 30 % of the cases right in it
against 85 % in every other format, exactly, on the golden set.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from brittle import checks
from brittle._errors import ConfigError
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.perturb.format_grammar import (
    ORIGINAL,
    FixedFormat,
    FormatPoint,
    draw_formats,
    render,
)
from brittle.search.formats import NO_TEMPLATE, add_metric, freeze, search_formats
from brittle.spec.cases import Case
from brittle.spec.format_search import FormatSearchSpec, fixture_suite, parse_format_search
from brittle.spec.systems import CallableSystem, LLMSystem, Template
from brittle.stats import format_spread
from brittle.stats.format_spread import ThompsonBandit, simulate

TEMPLATE = "Classify the review as positive or negative.\n\nReview: {{ text }}\nSentiment:"
LABELS = ("positive", "negative")
CHECK = checks.label(list(LABELS))
CASES = [
    Case(f"c{i:02d}", {"text": f"review number {i} of a kettle"}, expected=LABELS[i % 2])
    for i in range(40)
]
NORMAL, PLANTED = 34, 12  # right answers of the 40 cases: 0.85 in every format, 0.30 planted
PLANTED_SPREAD = (NORMAL - PLANTED) / len(CASES)


class PlantedTransport:
    """Answers from the prompt: right on a fixed set of cases, a smaller one in the planted
    format. Counts its calls."""

    def __init__(self, planted_template: str, *, fail_every: int = 0) -> None:
        self.calls = 0
        self.fail_every = fail_every
        self.planted: set[str] = set()
        self.expected: dict[str, str] = {}
        for case in CASES:
            self.planted.add(_prompt(planted_template, case))
        order = sorted(CASES, key=lambda c: hashlib.sha256(c.id.encode()).hexdigest())
        self.right = {c.id for c in order[:NORMAL]}
        self.right_planted = {c.id for c in order[:PLANTED]}
        self.case_of_text = {str(c.inputs["text"]): c for c in CASES}

    async def complete(self, request: CallRequest) -> CallResult:
        self.calls += 1
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("injected failure")
        prompt = str(request.messages[-1]["content"])
        case = next(c for text, c in self.case_of_text.items() if text in prompt)
        right = self.right_planted if prompt in self.planted else self.right
        answer = case.expected if case.id in right else _other(case.expected)
        return CallResult(text=answer, prompt_tokens=1, completion_tokens=1)


def _other(label: Any) -> str:
    return LABELS[1] if label == LABELS[0] else LABELS[0]


def _prompt(template: str, case: Case) -> str:
    return Template(template).render(case.inputs)


def _system() -> LLMSystem:
    return LLMSystem(name="prompt", model="test/planted", template=Template(TEMPLATE))


def _planted(seed: int, formats: int) -> tuple[FormatPoint, str]:
    """The arm the search will draw that this test plants as the worst (never the original)."""
    arms = draw_formats(TEMPLATE, formats, random.Random(seed), choices=LABELS)
    return arms[1 + seed % (len(arms) - 1)]


def _search(seed: int, *, budget: int = 120, formats: int = 10, **kw: Any) -> tuple[dict, Any]:
    point, text = _planted(seed, formats)
    transport = PlantedTransport(text, **kw)
    gateway = Gateway(transport, concurrency=8)
    settings = FormatSearchSpec(budget=budget, seed=seed, formats=formats, choices=LABELS)
    found = asyncio.run(search_formats(_system(), CASES, [CHECK], gateway, settings))
    return found, (point, transport)


def test_the_planted_worst_format_is_found_in_9_of_10_seeds_within_the_budget() -> None:
    found_planted = covered = 0
    for seed in range(10):
        found, (point, transport) = _search(seed)
        assert found["calls"] <= 120 and transport.calls <= 120
        if found["worst"]["format"] == point.as_dict():
            found_planted += 1
        low, high = found["interval"]
        covered += low <= PLANTED_SPREAD <= high
    assert found_planted >= 9, f"planted worst found in {found_planted} of 10 seeds"
    assert covered >= 9, f"planted spread {PLANTED_SPREAD} inside the interval in {covered} of 10"


def test_a_bandit_that_looks_the_wrong_way_misses_the_planted_format(monkeypatch) -> None:
    """The simulation above can fail: pulling the highest draw when looking for the worst
    format (a broken Thompson step) leaves the planted format rarely pulled and rarely found."""
    original = ThompsonBandit.choose

    def backwards(self: ThompsonBandit, objective: str) -> int | None:
        return original(self, format_spread.BEST)

    monkeypatch.setattr(ThompsonBandit, "choose", backwards)
    found = sum(
        _search(seed)[0]["worst"]["format"] == _planted(seed, 10)[0].as_dict() for seed in range(10)
    )
    assert found < 9


def test_the_result_reports_best_worst_and_spread_with_intervals() -> None:
    found, (point, _) = _search(3)
    worst, best = found["worst"], found["best"]
    assert found["budget"] == 120 and found["formats"] == 10 and found["errors"] == 0
    assert worst["accuracy"] < best["accuracy"]
    assert found["spread"] == pytest.approx(best["accuracy"] - worst["accuracy"])
    for arm in (worst, best):
        low, high = arm["interval"]
        assert low <= arm["accuracy"] <= high and arm["n"] >= 1
    low, high = found["interval"]
    assert low <= found["spread"] <= high
    assert worst["template"] == render(TEMPLATE, point, LABELS)
    assert sum(arm["n"] for arm in found["arms"]) == found["calls"]
    metrics: dict[str, Any] = {"overall": {}}
    add_metric(metrics, found)
    assert metrics["overall"]["format_spread"] == found["spread"]
    assert metrics["overall"]["ci"]["format_spread"] == found["interval"]


def test_errored_calls_are_recorded_and_spend_the_budget() -> None:
    found, (_, transport) = _search(1, budget=40, fail_every=5)
    assert found["calls"] == 40 == transport.calls
    assert found["errors"] == 8
    assert sum(arm["n"] for arm in found["arms"]) == 32


def test_a_system_without_a_template_has_no_format_spread_and_says_why() -> None:
    system = CallableSystem("python", lambda inputs: "positive")
    gateway = Gateway(PlantedTransport(TEMPLATE))
    found = asyncio.run(search_formats(system, CASES, [CHECK], gateway, FormatSearchSpec()))
    assert found == {"undefined": NO_TEMPLATE}
    metrics: dict[str, Any] = {"overall": {}}
    add_metric(metrics, found)
    assert metrics["overall"]["format_spread"] is None
    assert metrics["overall"]["format_spread_undefined"] == NO_TEMPLATE


def test_the_grammar_keeps_tags_and_renders_every_dimension() -> None:
    point = FormatPoint(
        separator="dash",
        spacing="none",
        casing="upper",
        names=1,
        quoting="tags",
        enumeration="slash",
    )
    text = render(TEMPLATE, point, LABELS)
    assert text == (
        "Classify the review as positive/negative.\n\nTEXT -<input>{{ text }}</input>\nLABEL -"
    )
    assert render(TEMPLATE, ORIGINAL, LABELS) == TEMPLATE
    arms = draw_formats(TEMPLATE, 10, random.Random(0), choices=LABELS)
    assert arms[0] == (ORIGINAL, TEMPLATE) and len({t for _, t in arms}) == 10
    assert FormatPoint.from_dict(point.as_dict()) == point
    assert (
        FixedFormat(tuple(point.as_dict().items()), LABELS).apply(TEMPLATE, random.Random()) == text
    )


def test_simulated_arms_find_the_worst_rate() -> None:
    bandit = simulate([0.9, 0.9, 0.2, 0.9], budget=60, seed=0)
    assert bandit.extreme(format_spread.WORST) == 2


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"format_search": {"budgt": 10}}, "did you mean 'budget'"),
        ({"format_search": {"budget": 1}}, "'budget' must be a whole number >= 2"),
        ({"format_search": {"formats": "many"}}, "'formats' must be a whole number"),
        ({"format_search": {"choices": "positive"}}, "'choices' must be a list"),
        ({"format_search": [60]}, "must be a mapping of settings"),
        ({"format_search": {}, "budget": 60}, "'budget' sits beside 'format_search'"),
    ],
)
def test_bad_keys_are_clear_errors(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        parse_format_search(
            ["builtin:typos", entry],
            base_dir=Path("."),
            eval_name="e",
            eval_seed=None,
            where="e.yaml",
        )
    assert "e.yaml" in str(raised.value) and "suites[1]" in str(raised.value)


def test_two_entries_are_an_error() -> None:
    with pytest.raises(ConfigError, match="one format_search entry"):
        parse_format_search(
            [{"format_search": {}}, {"format_search": {}}],
            base_dir=Path("."),
            eval_name="e",
            eval_seed=None,
            where="e.yaml",
        )


def test_freeze_writes_the_worst_format_and_later_runs_test_it(tmp_path: Path) -> None:
    found, _ = _search(2)
    settings = FormatSearchSpec(fixture=tmp_path / "__formats__" / "e.jsonl", choices=LABELS)
    found["fixture"] = str(settings.fixture)
    record = {"evals": [{"name": "e", "systems": {"prompt": {"format_search": found}}}]}
    [(path, added, total)] = freeze(record)
    assert (path, added, total) == (settings.fixture, 1, 1)
    body = path.read_text()
    assert json.loads(body)["format"] == found["worst"]["format"]
    assert freeze(record) == [(settings.fixture, 0, 1)] and path.read_text() == body
    suite = fixture_suite(settings)
    assert suite is not None and suite.name == "format-fixture"
    [entry] = suite.entries
    assert entry.family == "format_fixture" and entry.target == "format"
    variants, noops = suite.template_variants(CASES[0], TEMPLATE)
    assert noops == {} and variants[0].template == found["worst"]["template"]


def test_the_spread_interval_never_goes_below_zero() -> None:
    """Newcombe's lower bound of 1.0 - 0.667 on 3 pulls each is -0.11: the spread of a grammar
    cannot be negative, so it is clipped at 0 (the demo's LoRA showed [-0.113, 0.792])."""
    spread = format_spread.spread_interval((3, 3), (2, 3))
    assert spread is not None
    assert spread.value == pytest.approx(1 / 3) and spread.low == 0.0
    assert spread.high == pytest.approx(0.7923, abs=1e-4)
    wide = format_spread.spread_interval((6, 6), (2, 6))
    assert wide is not None and wide.low == pytest.approx(0.1311, abs=1e-4)  # unclipped
