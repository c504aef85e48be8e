"""What a merged run (``brittle merge`` of shards, ``pytest -n``) rebuilds beside its rows
(issue 16): the judge figures a judging check adds (``judge_agreement``, ``judge_unstable``,
``judged``, ``excluded``, ``judge_cost``), summed over the shards, equal the whole run's.

The check is a python function returning what an LLM judge returns (:class:`CheckResult` with
``agreement`` and ``cost``): a third of the outputs judged unstably, one in five left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main
from tests.support.evalproject import eval_yaml, write_project

JUDGE = '''
from brittle.checks.base import CheckResult


def judge(output, case):
    """A judge's verdict: unstable on a third of the outputs, excluded on a fifth of those."""
    size = sum(map(ord, output + case.id))
    unstable = size % 3 == 0
    return CheckResult(
        passed=case.expected in output,
        agreement=2 / 3 if unstable else 1.0,
        excluded=unstable and size % 5 == 0,
        cost=0.001 * (1 + size % 4),
    )
'''
FIGURES = ("judge_agreement", "judge_unstable", "judged", "excluded", "judge_cost")


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    write_project(pytester)
    pytester.makepyfile(judgemod=JUDGE)
    text = eval_yaml({"typos": "typo_brittle", "steady": "stable"}, ["accuracy >= 0.5"])
    text = text.replace(
        "  - label: {choices: [positive, negative]}\n",
        "  - label: {choices: [positive, negative]}\n  - python: {function: judgemod:judge}\n",
    )
    pytester.makefile(".eval.yaml", demo=text)
    monkeypatch.chdir(pytester.path)
    return pytester


def _overall(folder: Path) -> dict[str, dict[str, Any]]:
    record = json.loads((folder / "latest" / "run.json").read_text())
    systems = record["evals"][0]["systems"]
    return {name: system["metrics"]["overall"] for name, system in systems.items()}


def _whole_shards_merged(eval_file: str) -> None:
    """Run ``eval_file`` whole (``whole``), as 3 shards (``s1``..``s3``) and merge them
    (``merged``), every run passing its gates."""
    base = ["run", eval_file, "--cache", "off", "--history", "off"]
    assert main([*base, "--report-dir", "whole"]) == 0
    for k in (1, 2, 3):
        assert main([*base, "--shard", f"{k}/3", "--report-dir", f"s{k}"]) == 0
    merge = ["merge", "s1", "s2", "s3", "--report-dir", "merged", "--history", "off"]
    assert main(merge) == 0


def test_judge_figures_of_merged_shards_equal_the_whole_run(project: pytest.Pytester) -> None:
    _whole_shards_merged("demo.eval.yaml")
    whole, merged = _overall(project.path / "whole"), _overall(project.path / "merged")
    shards = [_overall(project.path / f"s{k}") for k in (1, 2, 3)]
    for name in ("typos", "steady"):
        assert whole[name]["judge_unstable"] > 0 and whole[name]["excluded"] > 0  # real figures
        assert 0 < whole[name]["judge_agreement"] < 1
        for figure in FIGURES:
            assert merged[name][figure] == pytest.approx(whole[name][figure]), (name, figure)
        # not the first shard's: the shards' counts add up to the merged one
        assert sum(s[name]["judged"] for s in shards) == merged[name]["judged"]
        assert shards[0][name]["judged"] < merged[name]["judged"]


def test_judge_figures_under_pytest_n2_equal_a_single_process(project: pytest.Pytester) -> None:
    assert project.runpytest("-p", "no:randomly", "--brittle-report-dir=single").ret == 0
    result = project.runpytest_subprocess("-n", "2", "-p", "no:randomly", "--brittle-report-dir=n2")
    assert result.ret == 0
    single, n2 = _overall(project.path / "single"), _overall(project.path / "n2")
    for name in ("typos", "steady"):
        for figure in FIGURES:
            assert n2[name][figure] == pytest.approx(single[name][figure]), (name, figure)


def test_replica_counters_per_system_in_reports_and_summed_by_a_merge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A system behind a live stub and a closed port: run.json and summary.json carry each
    replica's calls, failures and times taken out under the system; a merge of 3 shards sums
    the shards' counters per URL."""
    import socket

    from tests.support.stubproject import FAKE_KEY, golden_rows, start_in_thread

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"  # closed once the block ends
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.chdir(tmp_path)
    rows = golden_rows(24)
    (tmp_path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with start_in_thread(latency=0.0) as up:
        (tmp_path / "rep.eval.yaml").write_text(
            "name: rep\ngolden: golden.jsonl\nsystems:\n"
            "  served:\n    kind: prompt\n    model: openai/stub\n"
            '    template: "{{ hint }} is what I think of {{ text }}"\n'
            f'    params: {{api_base: ["{down}", "{up.base_url}"], temperature: 0}}\n'
            "checks:\n  - label: {choices: [positive, negative]}\n"
            "gates:\n  - accuracy >= 0.9\nconcurrency: 2\nretries: 0\n"
        )
        _whole_shards_merged("rep.eval.yaml")

    def counters(folder: str, name: str = "run.json") -> Any:
        record = json.loads((tmp_path / folder / "latest" / name).read_text())
        systems = record["evals"][0]["systems"]
        if isinstance(systems, list):  # summary.json
            systems = {s["name"]: s for s in systems}
        return {r["url"]: r for r in systems["served"]["replicas"]}

    whole = counters("whole")
    assert list(whole) == [down, up.base_url]
    assert whole[up.base_url]["calls"] == 24 and whole[up.base_url]["taken_out"] == 0
    assert whole[down]["calls"] >= 1 and whole[down]["taken_out"] >= 1
    assert whole[down]["failures"] == whole[down]["calls"]  # every call there was refused
    assert counters("whole", "summary.json") == whole
    shards = [counters(f"s{k}") for k in (1, 2, 3)]
    merged = counters("merged")
    for url in (down, up.base_url):
        for name in ("calls", "failures", "taken_out"):
            assert merged[url][name] == sum(s[url][name] for s in shards), (url, name)
    assert merged[up.base_url]["calls"] == 24  # every row answered once, by the live replica
    assert counters("merged", "summary.json") == merged
