"""A run's cost: litellm's table or the system's own ``price``, applied once to each system's
token totals (gateway/pricing.py), shown beside the cost in summary.json, run.json and the HTML
page; and litellm's own per-call cost agrees with the table for the same calls.

Every system calls the local stub server (tests/support/stub_server.py), which reports token
usage (words in, words out) for any model name: ``openai/gpt-4o-mini`` with an ``api_base`` is
priced as gpt-4o-mini, ``openai/stub`` is in no table.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from brittle.gateway import CallRequest, Gateway, LiteLLMTransport
from brittle.gateway.pricing import table_price
from tests.support.stubproject import StubThread, write_eval

CASES = 12  # one typo variant each: 24 calls per system
OWN = "    price: {input_per_mtok: 2.5, output_per_mtok: 10}\n"


def _systems(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (ev,) = summary["evals"]
    return {system["name"]: system for system in ev["systems"]}


def test_costs_come_from_the_table_or_the_systems_own_price(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    path = write_eval(
        pytester.path,
        stub.base_url,
        cases=CASES,
        systems={
            "tabled": "openai/gpt-4o-mini",
            "priced": "openai/stub",
            "unpriced": "openai/stub",
        },
        gates=("accuracy >= 0.9",),
    )
    text = path.read_text()
    marker = "  priced:\n    kind: prompt\n"
    assert marker in text
    path.write_text(text.replace(marker, marker + OWN))

    result = pytester.runpytest()
    result.assert_outcomes(passed=3)  # one gate per system
    reports = pytester.path / "reports" / "latest"
    systems = _systems(json.loads((reports / "summary.json").read_text()))

    tabled, priced, unpriced = systems["tabled"], systems["priced"], systems["unpriced"]
    for system in (tabled, priced, unpriced):
        metrics = system["metrics"]
        assert metrics["prompt_tokens"] > 0 and metrics["completion_tokens"] > 0

    mini = table_price("gpt-4o-mini")
    assert mini is not None
    m = tabled["metrics"]
    assert tabled["price"] == {
        "input_per_mtok": pytest.approx(0.15),
        "output_per_mtok": pytest.approx(0.6),
        "source": "litellm:gpt-4o-mini",
    }
    assert m["cost"] == pytest.approx(mini.cost(m["prompt_tokens"], m["completion_tokens"]))
    assert m["cost_per_1k_calls"] == pytest.approx(m["cost"] / tabled["rows"] * 1000)

    m = priced["metrics"]
    assert priced["price"] == {"input_per_mtok": 2.5, "output_per_mtok": 10.0, "source": "price"}
    assert m["cost"] == pytest.approx(
        (m["prompt_tokens"] * 2.5 + m["completion_tokens"] * 10) / 1_000_000
    )

    # in no table and no price of its own: no cost, never a made-up zero
    assert unpriced["price"] is None
    assert unpriced["metrics"]["cost"] is None and unpriced["metrics"]["cost_per_1k_calls"] is None

    run = json.loads((reports / "run.json").read_text())
    (ev,) = run["evals"]
    assert ev["systems"]["priced"]["price"]["source"] == "price"
    page = (reports / "index.html").read_text()
    assert "at $2.5 / $10 per 1M tokens" in page
    assert "at $0.15 / $0.6 per 1M tokens" in page


def test_a_bad_price_in_an_eval_file_is_one_line_naming_the_file_and_key(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    path = write_eval(pytester.path, stub.base_url, cases=4, systems={"echo": "openai/stub"})
    text = path.read_text()
    marker = "  echo:\n    kind: prompt\n"
    path.write_text(text.replace(marker, marker + "    price: {input_per_mtok: 1}\n"))
    result = pytester.runpytest()
    assert result.ret != 0
    out = result.stdout.str()
    assert "stubbed.eval.yaml:7: 'systems.echo.price': missing 'output_per_mtok'" in out
    assert "fix: write e.g. price: {input_per_mtok: 0.15, output_per_mtok: 0.6}" in out
    assert stub.stats.requests == 0


def test_litellms_per_call_cost_equals_the_table_for_the_same_calls(stub: StubThread) -> None:
    gateway = Gateway(LiteLLMTransport(), concurrency=4)
    requests = [
        CallRequest(
            model=model,
            messages=({"role": "user", "content": f"word{i} " + "and more " * i},),
            params={"api_base": stub.base_url, "api_key": "sk-fake"},
        )
        for model in ("openai/gpt-4o-mini", "openai/gpt-4o")
        for i in range(4)
    ]

    async def run() -> list[Any]:
        return await asyncio.gather(*(gateway.complete(r) for r in requests))

    for request, result in zip(requests, asyncio.run(run()), strict=True):
        assert result.error is None, result.error
        price = table_price(request.model)
        assert price is not None
        assert result.cost is not None  # litellm priced the call itself
        assert result.cost == pytest.approx(
            price.cost(result.prompt_tokens, result.completion_tokens), rel=1e-12
        )
