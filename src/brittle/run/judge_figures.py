"""The judge figures of a merged run (``brittle merge``, ``pytest -n``).

A check that calls an LLM judge adds to a run's ``metrics.overall`` (the engine's
``_add_judge_metrics``): ``judge_agreement`` (the share of judged outputs whose repeated
verdicts all agree), ``judge_unstable``, ``judged`` (the outputs judged), ``excluded`` and
``judge_cost``. They are not in the rows, so a merge rebuilds them from the shards' figures:
each judged output, judge call and excluded verdict belongs to one shard's rows, so the counts
and the cost add up, and the share is recomputed from the summed counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

#: what a merge writes for ``judge_agreement`` when a shard did not count its judged outputs
JUDGE_NOT_MERGED = (
    "not available after a merge: a shard's run.json has judge_agreement without 'judged' "
    "(the judged outputs it is a share of: the shard ran an older brittle)"
)


def merge_judge_metrics(
    metrics: dict[str, Any], shards: Sequence[Mapping[str, Any] | None]
) -> None:
    """The judge figures of a run merged from shards (``brittle merge``, ``pytest -n``), from
    each shard's ``metrics.overall``: each judged output, judge call and excluded verdict
    belongs to one shard's rows, so ``judged``, ``judge_unstable``, ``excluded`` and
    ``judge_cost`` are the shards' sums and ``judge_agreement`` is the stable share of the
    summed ``judged`` (as one process computes it, the cost up to float rounding). A shard
    without ``judged`` leaves ``judge_agreement`` None, with ``judge_agreement_undefined``
    saying why. Nothing when no shard has judge figures."""
    found = [s for s in shards if isinstance(s, Mapping) and "judge_unstable" in s]
    if not found:
        return
    overall = metrics["overall"]
    unstable = sum(int(s.get("judge_unstable") or 0) for s in found)
    costs = [float(s["judge_cost"]) for s in found if s.get("judge_cost") is not None]
    overall["judge_unstable"] = unstable
    if all("judged" in s or s.get("judge_agreement") is None for s in found):
        judged = sum(int(s.get("judged") or 0) for s in found)
        overall["judge_agreement"] = (judged - unstable) / judged if judged else None
        overall["judged"] = judged
    else:
        overall["judge_agreement"] = None
        overall["judge_agreement_undefined"] = JUDGE_NOT_MERGED
    overall["excluded"] = sum(int(s.get("excluded") or 0) for s in found)
    overall["judge_cost"] = sum(costs) if costs else None


__all__ = ["JUDGE_NOT_MERGED", "merge_judge_metrics"]
