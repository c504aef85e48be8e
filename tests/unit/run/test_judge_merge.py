"""The judge figures of a merged run (issue 16): each shard's judged outputs, unstable ones,
excluded verdicts and judge cost summed (:func:`brittle.run.judge_figures.merge_judge_metrics`) give
the figures one process computes from all the check results at once."""

from __future__ import annotations

from typing import Any

import pytest

from brittle.checks.base import CheckResult
from brittle.run.engine import _add_judge_metrics
from brittle.run.judge_figures import JUDGE_NOT_MERGED, merge_judge_metrics


def _results(n: int, offset: int) -> list[CheckResult]:
    return [
        CheckResult(
            passed=True,
            agreement=1.0 if (i + offset) % 3 else 0.5,
            excluded=(i + offset) % 7 == 0,
            cost=0.002 * ((i + offset) % 4),
        )
        for i in range(n)
    ]


def _figures(per_check: list[list[CheckResult]]) -> dict[str, Any]:
    metrics: dict[str, Any] = {"overall": {}}
    _add_judge_metrics(metrics, per_check)
    return metrics["overall"]


def test_shards_summed_give_the_whole_runs_figures() -> None:
    shards = [_results(n, offset) for n, offset in ((11, 0), (7, 11), (13, 18))]
    whole = _figures([[r for shard in shards for r in shard]])
    merged: dict[str, Any] = {"overall": {}}
    merge_judge_metrics(merged, [_figures([shard]) for shard in shards])
    assert whole["judged"] == 31 and 0 < whole["judge_agreement"] < 1
    assert merged["overall"]["judge_agreement"] == whole["judge_agreement"]  # same integers
    for key in ("judge_unstable", "judged", "excluded"):
        assert merged["overall"][key] == whole[key], key
    assert merged["overall"]["judge_cost"] == pytest.approx(whole["judge_cost"])


def test_no_judge_figures_add_nothing_and_a_shard_without_judged_says_so() -> None:
    metrics: dict[str, Any] = {"overall": {}}
    merge_judge_metrics(metrics, [{"accuracy": 1.0}, None])
    assert metrics == {"overall": {}}
    old = {"judge_agreement": 0.5, "judge_unstable": 2, "excluded": 0, "judge_cost": None}
    merge_judge_metrics(metrics, [old, _figures([_results(5, 0)])])
    assert metrics["overall"]["judge_agreement"] is None
    assert metrics["overall"]["judge_agreement_undefined"] == JUDGE_NOT_MERGED
    assert metrics["overall"]["judge_unstable"] == 2 + 2
