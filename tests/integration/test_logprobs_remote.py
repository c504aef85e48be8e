"""Log-probabilities from an OpenAI-compatible endpoint (the stub server): asked per system
(``params: {logprobs: true}``), read the same by the fast transport and by litellm, and turned
into prob_shift in the reports; a system that does not ask gets none and reads as unknown."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest

from brittle.gateway import CallRequest, LiteLLMTransport
from brittle.gateway.openai_http import OpenAIHTTPTransport
from tests.support.stub_server import StubThread

KEY = "sk-logprobs-0123456789abcdef"


def _request(stub: StubThread, **params: object) -> CallRequest:
    return CallRequest(
        model="openai/stub",
        messages=({"role": "user", "content": "positive review"},),
        params={"api_base": stub.base_url, "api_key": KEY, "max_retries": 0, **params},
    )


def test_both_transports_read_the_endpoints_logprobs(stub: StubThread) -> None:
    async def both(request: CallRequest) -> tuple[object, object]:
        fast = await OpenAIHTTPTransport().complete(request)
        slow = await LiteLLMTransport().complete(request)
        return fast.logprobs, slow.logprobs

    fast, slow = asyncio.run(both(_request(stub, logprobs=True, top_logprobs=2)))
    expected = (
        ("positive", math.log(0.8), (("positive", math.log(0.8)), ("alt1", math.log(0.2)))),
    )
    assert fast == slow == expected
    assert asyncio.run(both(_request(stub))) == (None, None)  # not asked: unknown


EVAL = """\
name: probs
golden: golden.jsonl
perturb_fields: [text]
systems:
  asks:
    kind: prompt
    model: openai/stub
    template: "{{{{ text }}}}"
    params: {{api_base: "{base}", logprobs: true, top_logprobs: 3}}
  silent:
    kind: prompt
    model: openai/stub
    template: "{{{{ text }}}}"
    params: {{api_base: "{base}"}}
checks:
  - label: {{choices: [positive, negative]}}
suites:
  - name: words
    perturbations:
      - {{family: typo, n: 1}}
gates:
  - prob_shift <= 0.9
"""


def test_prob_shift_in_the_reports_of_a_system_that_asks(
    pytester: pytest.Pytester, stub: StubThread
) -> None:
    cases = [
        {"id": f"c{i}", "text": f"{label} review number {i}", "expected": label}
        for i, label in enumerate(["positive", "negative"] * 4)
    ]
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (pytester.path / "probs.eval.yaml").write_text(EVAL.format(base=stub.base_url))
    result = pytester.runpytest("--brittle-report-dir", "reports")
    summary = json.loads(Path(pytester.path / "reports/latest/summary.json").read_text())
    systems = {s["name"]: s for s in summary["evals"][0]["systems"]}
    asks, silent = systems["asks"], systems["silent"]
    # the stub answers the input's first word with probability 0.8: a typo in the label makes
    # the answer position fall back to that word, where no token begins the label (0.0)
    assert 0.0 < asks["metrics"]["prob_shift"] <= 0.8
    assert len(asks["intervals"]["prob_shift"]) == 2
    assert silent["metrics"]["prob_shift"] is None
    assert "prob_shift" not in silent["intervals"]
    markdown = (pytester.path / "reports/latest/summary.md").read_text()
    assert "Probability shift" in markdown and "asks " in markdown
    assert "p-shift" in result.stdout.str()
    html = (pytester.path / "reports/latest/index.html").read_text()
    row = html[html.index('<tr data-system="asks">') :]
    assert f"prob. shift {asks['metrics']['prob_shift']:.3f}" in row[: row.index("</tr>")]
    row = html[html.index('<tr data-system="silent">') :]
    assert "prob. shift" not in row[: row.index("</tr>")]
    # the gate: measured for the system that asks; for the other it fails and says why
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*[[]FAILED] prob_shift*gave no token log-probabilities*"])
