"""The prompt-or-fine-tune decision end to end: an eval naming a pair with ``compare`` shows the
paired test and recommendation in summary.json, run.json, summary.md, the terminal and at the top
of the eval's HTML section."""

from __future__ import annotations

import json

import pytest

from tests.support.evalproject import eval_yaml, write_project


def test_the_decision_is_in_every_output(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    write_project(pytester)
    text = eval_yaml(
        {"brittle": "typo_brittle", "steady": "stable"},
        ["accuracy >= 0.5"],
        extra="compare: [[brittle, steady]]\n",
    )
    text = text.replace(
        "    callable: sysmod:stable\n", "    callable: sysmod:stable\n    training_cost: 30\n"
    )
    (pytester.path / "demo.eval.yaml").write_text(text)
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert (
        "decision: steady against brittle (named in the eval's compare): better on accuracy" in out
    )

    latest = pytester.path / "reports" / "latest"
    summary = json.loads((latest / "summary.json").read_text())
    decision = summary["evals"][0]["decision"]
    assert decision["systems"] == ["brittle", "steady"]
    assert decision["verdict"] == "better"
    assert decision["metric"] == "variant_accuracy"
    assert 0 <= decision["p_value"] < 0.05
    assert decision["deltas"]["variant_accuracy"] > 0
    low, high = decision["intervals"]["variant_accuracy"]
    assert low <= decision["deltas"]["variant_accuracy"] <= high
    assert decision["training_cost"] == {"brittle": 0.0, "steady": 30.0}
    assert decision["break_even_calls"] is None  # python systems without a price: no cost
    assert "no price" in decision["break_even"]["reason"]
    assert decision["recommendation"].startswith("steady is better than brittle")
    assert len(decision["pairs"]) == 1

    record = json.loads((latest / "run.json").read_text())
    assert record["evals"][0]["decision"]["recommendation"] == decision["recommendation"]

    markdown = (latest / "summary.md").read_text()
    assert "**Prompt or fine-tune?**" in markdown
    assert "steady is better than brittle" in markdown

    html = (latest / "index.html").read_text()
    section = html[html.index('<section class="eval"') :]
    assert section.index('class="decision"') < section.index("<h3>Gates")
    assert "steady is better than brittle" in section


def test_no_pair_no_decision(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRITTLE_CACHE", "off")
    write_project(pytester)
    (pytester.path / "demo.eval.yaml").write_text(
        eval_yaml({"brittle": "typo_brittle", "steady": "stable"}, ["accuracy >= 0.5"])
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2)
    assert "decision:" not in result.stdout.str()
    summary = json.loads((pytester.path / "reports" / "latest" / "summary.json").read_text())
    assert summary["evals"][0]["decision"] is None
