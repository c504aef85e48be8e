"""``format_search`` through the plugin: per prompt system a search of formats on the stub
server, ``format_spread`` in run.json, summary.json, summary.md, the terminal and the HTML page,
a gate on it, a template-less system that says why it has none, and ``brittle freeze-formats``
turning the worst format into a suite that the next run tests directly.

The stub answers the first word of the prompt, and the template starts with the expected label
on a line of its own: formats that quote that line in backticks make every answer wrong, others
keep it right, so the spread is real and deterministic.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brittle.cli import main
from brittle.search.formats import NO_TEMPLATE
from tests.support.stubproject import StubThread, golden_rows

EVAL = """\
name: formats
golden: golden.jsonl
perturb_fields: [text]
systems:
  prompt:
    kind: prompt
    model: openai/stub
    template: "{{{{ hint }}}}\\nReview: {{{{ text }}}}\\nSentiment:"
    params: {{api_base: "{base}", temperature: 0}}
  rules:
    kind: python
    callable: fs_rules:answer
checks:
  - label: {{choices: [positive, negative]}}
suites:
  - format_search: {{budget: 40, seed: 1, formats: 12}}
gates:
  - format_spread <= 0.10
concurrency: 8
"""


@pytest.fixture
def project(pytester: pytest.Pytester, stub: StubThread) -> pytest.Pytester:
    rows = golden_rows(16)
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pytester.syspathinsert()
    pytester.makepyfile(fs_rules="def answer(inputs):\n    return inputs['hint']\n")
    pytester.makefile(".eval.yaml", formats=EVAL.format(base=stub.base_url))
    return pytester


def _latest(path: Path, name: str) -> dict:
    return json.loads((path / "reports" / "latest" / name).read_text())


def test_format_search_in_every_output_and_frozen_for_later_runs(
    project: pytest.Pytester,
) -> None:
    result = project.runpytest("-p", "no:randomly")
    text = result.stdout.str()
    assert "prompt" in text and "format spread" in text
    assert f"format spread undefined: {NO_TEMPLATE}" in text
    run = _latest(project.path, "run.json")
    [evaluation] = run["evals"]
    search = evaluation["systems"]["prompt"]["format_search"]
    assert search["budget"] == 40 and 0 < search["calls"] <= 40
    assert search["formats"] == 12 and search["formats_tried"] >= 2
    for arm in (search["best"], search["worst"]):
        assert set(arm) >= {"format", "accuracy", "interval", "n", "label"}
    assert search["spread"] == pytest.approx(
        search["best"]["accuracy"] - search["worst"]["accuracy"]
    )
    overall = evaluation["systems"]["prompt"]["metrics"]["overall"]
    assert overall["format_spread"] == search["spread"]
    assert overall["ci"]["format_spread"] == search["interval"]
    # relative to the working directory, so a report made elsewhere (CI) names the same file
    assert search["fixture"] == "__formats__/formats.jsonl"
    rules = evaluation["systems"]["rules"]
    assert rules["format_search"] == {"undefined": NO_TEMPLATE}
    verdicts = {v["gate"]: v for v in rules["verdicts"]}
    assert verdicts["format_spread <= 0.1"]["status"] == "skipped"
    assert NO_TEMPLATE in verdicts["format_spread <= 0.1"]["message"]
    gate = {v["gate"]: v for v in evaluation["systems"]["prompt"]["verdicts"]}
    assert gate["format_spread <= 0.1"]["now"] == pytest.approx(search["spread"])

    summary = _latest(project.path, "summary.json")
    systems = {s["name"]: s for s in summary["evals"][0]["systems"]}
    assert systems["prompt"]["metrics"]["format_spread"] == search["spread"]
    assert systems["prompt"]["intervals"]["format_spread"] == search["interval"]
    assert systems["prompt"]["format_search"]["worst"] == search["worst"]
    assert systems["rules"]["format_search"] == {"undefined": NO_TEMPLATE}
    markdown = (project.path / "reports" / "latest" / "summary.md").read_text()
    assert "**Format spread**" in markdown and "- rules: format spread undefined" in markdown
    html = (project.path / "reports" / "latest" / "index.html").read_text()
    assert "Format spread" in html

    # freeze the worst format; the next run tests it as the suite format-fixture
    assert main(["freeze-formats", str(project.path / "reports" / "latest")]) == 0
    fixture = project.path / "__formats__" / "formats.jsonl"
    [line] = [json.loads(x) for x in fixture.read_text().splitlines()]
    assert line["format"] == search["worst"]["format"] and line["systems"] == ["prompt"]
    project.runpytest("-p", "no:randomly")
    again = _latest(project.path, "run.json")["evals"][0]
    assert [s["name"] for s in again["suites"]] == ["format-fixture"]
    families = again["systems"]["prompt"]["metrics"]["families"]
    assert families["format_fixture"]["variants"] == 16
    assert again["systems"]["prompt"]["format_search"]["frozen"] is True


def test_a_format_spread_gate_without_a_format_search_is_an_error(
    project: pytest.Pytester,
) -> None:
    path = project.path / "formats.eval.yaml"
    path.write_text(
        path.read_text().replace(
            "  - format_search: {budget: 40, seed: 1, formats: 12}\n", "  - builtin:typos\n"
        )
    )
    result = project.runpytest()
    result.stdout.fnmatch_lines(["*format_spread*no format_search entry*"])
    assert result.ret != 0


def test_merged_shards_pool_their_format_searches_and_decide_its_gate(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each shard searches the formats on its own cases; the merge pools each format's passes
    and pulls over the shards and measures the pooled search (not the first shard's), so the
    merged run's gate is decided on it and the template-less system's gate is skipped as in a
    whole run."""
    from brittle.stats.format_spread import spread_interval

    monkeypatch.chdir(project.path)
    for k in (1, 2):
        argv = ["run", "formats.eval.yaml", "--shard", f"{k}/2", "--report-dir", f"s{k}"]
        assert main([*argv, "--history", "off"]) == 0
    main(["merge", "s1/latest", "s2/latest", "--report-dir", "m", "--history", "off"])
    shards = [
        json.loads((project.path / f"s{k}/latest/run.json").read_text())["evals"][0]["systems"]
        for k in (1, 2)
    ]
    merged = json.loads((project.path / "m/latest/run.json").read_text())["evals"][0]["systems"]
    search = merged["prompt"]["format_search"]
    pooled: dict[str, list[int]] = {}
    for shard in shards:
        for arm in shard["prompt"]["format_search"]["arms"]:
            counts = pooled.setdefault(arm["label"], [0, 0])
            counts[0] += arm["passed"]
            counts[1] += arm["n"]
    assert {arm["label"]: [arm["passed"], arm["n"]] for arm in search["arms"]} == pooled
    best, worst = pooled[search["best"]["label"]], pooled[search["worst"]["label"]]
    expected = spread_interval((best[0], best[1]), (worst[0], worst[1]))
    assert expected is not None
    assert search["spread"] == pytest.approx(expected.value)
    assert search["interval"] == pytest.approx([expected.low, expected.high])
    assert search["shards"] == 2
    assert search["calls"] == sum(s["prompt"]["format_search"]["calls"] for s in shards)
    assert merged["prompt"]["metrics"]["overall"]["format_spread"] == search["spread"]
    gate = {v["gate"]: v for v in merged["prompt"]["verdicts"]}["format_spread <= 0.1"]
    assert gate["now"] == pytest.approx(search["spread"])
    assert "no scored rows" not in gate["message"]
    rules = {v["gate"]: v for v in merged["rules"]["verdicts"]}["format_spread <= 0.1"]
    assert rules["status"] == "skipped" and NO_TEMPLATE in rules["message"]
    summary = json.loads((project.path / "m/latest/summary.json").read_text())
    prompt = next(s for s in summary["evals"][0]["systems"] if s["name"] == "prompt")
    assert prompt["format_search"]["shards"] == 2
    assert "pooled over 2 shard(s)" in (project.path / "m/latest/summary.md").read_text()


def test_pytest_n2_keeps_the_format_search(project: pytest.Pytester) -> None:
    """Under pytest-xdist each worker runs a shard; its format search reaches the merged
    system, so the gate reads the spread (it failed as 'undefined (no scored rows)' before)."""
    result = project.runpytest_subprocess("-n", "2", "-p", "no:randomly")
    result.assert_outcomes(failed=1, skipped=1)  # the stub's spread is real; rules: no template
    text = result.stdout.str()
    assert "[FAILED] format_spread <= 0.1: format_spread = " in text
    assert "no scored rows" not in text
    assert f"[skipped] format_spread <= 0.1: format_spread is undefined: {NO_TEMPLATE}" in text
