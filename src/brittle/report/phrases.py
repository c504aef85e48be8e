"""Phrases that the terminal summary, summary.md and run.json share.

Each is written once here so that the three say the same thing in the same words: a metric with
its interval and its change since the baseline, the repeats line, the cases added or removed since
the baseline, template variants, and the underpowered gates (one line per eval).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from brittle._format import number
from brittle.stats.margin import FEW_CASES
from brittle.stats.power import describe as describe_power


def interval(block: Any, name: str, *, sep: str = ", ", digits: int = 2) -> str:
    """`` [low, high]``: the metric's 95% confidence interval, when the run has one."""
    found = ((block or {}).get("ci") or {}).get(name)
    if not found or found[0] is None:
        return ""
    return f" [{found[0]:.{digits}f}{sep}{found[1]:.{digits}f}]"


def few_cases(block: Any) -> str | None:
    """``few cases (16 < 50): intervals approximate`` when a metrics block's intervals rest on
    fewer than :data:`~brittle.stats.margin.FEW_CASES` cases (None otherwise)."""
    if not (block or {}).get("few_cases"):
        return None
    return f"few cases ({block.get('ci_cases')} < {FEW_CASES}): intervals approximate"


def delta(now: Any, before: Any) -> str:
    if now is None or before is None:
        return ""
    return f" ({now - before:+.3f})"


def underpowered(gates: Iterable[tuple[str, Mapping[str, Any] | None]]) -> list[str]:
    """``flip_rate rise <= 0.03 detects rises >= 0.087 (~95 cases for 0.06)`` for each
    underpowered gate of ``(gate name, power)`` pairs (verdict details' ``power``), each gate
    once, with the weakest figures when several systems share it (:mod:`brittle.stats.power`)."""
    weakest: dict[str, Mapping[str, Any]] = {}
    for gate, power in gates:
        if not power or not power.get("underpowered"):
            continue
        known = weakest.get(gate)
        if known is None or _reach(power) > _reach(known):
            weakest[gate] = power
    return [describe_power(gate, power) for gate, power in weakest.items()]


def _reach(power: Mapping[str, Any]) -> float:
    return math.inf if power.get("mde") is None else float(power["mde"])


def power_line(gates: Iterable[tuple[str, Mapping[str, Any] | None]]) -> str | None:
    """One line for an eval's underpowered relative gates (None: none is): each gate's smallest
    degradation detected with 80% power, and the cases that would detect its target (twice the
    allowance, at least 0.02 above it)."""
    found = underpowered(gates)
    return "underpowered at 80% power: " + "; ".join(found) if found else None


def repeats_line(metrics: Any, *, sep: str = ",") -> str | None:
    """``repeats k (reduction): self-disagreement ... (randomness), excess flip rate ...
    (brittleness)``, each with its interval; None without repeats."""
    info = metrics.get("repeats")
    if not info:
        return None
    head = f"repeats {info['k']} ({info['reduction']})"
    if "excess_flip_rate" not in info:  # a run recorded before these measures
        return head
    ci = {"ci": info.get("ci") or {}}
    return (
        f"{head}: self-disagreement {number(info['self_disagreement'])}"
        f"{interval(ci, 'self_disagreement', sep=sep)} (randomness), excess flip rate "
        f"{number(info['excess_flip_rate'])}{interval(ci, 'excess_flip_rate', sep=sep)} "
        f"(brittleness: flip rate between single draws {number(info['flip_rate_between_draws'])}"
        " less self-disagreement)"
    )


def family_repeats(metrics: Any, *, sep: str = ",") -> str | None:
    """``excess flip rate by family: typo 0.010 [-0.02,0.04], casing ...``; None without
    repeats or with one family."""
    families = metrics.get("families") or {}
    if not metrics.get("repeats") or len(families) < 2:  # one family: the overall figure
        return None
    return "excess flip rate by family: " + ", ".join(
        f"{name} {number(block.get('excess_flip_rate'))}"
        f"{interval(block, 'excess_flip_rate', sep=sep)}"
        for name, block in families.items()
    )


def family_flips(block: Any, *, sep: str | None = None) -> str:
    """A family's flip rate with what it counts, ``1.000 (1/1)`` (flipped pairs of pairs); with
    ``sep``, its interval too: ``0.250 [0.10, 0.49] (4/16)``."""
    rate, pairs = (block or {}).get("flip_rate"), (block or {}).get("pairs")
    text = number(rate) + ("" if sep is None else interval(block, "flip_rate", sep=sep))
    if rate is None or not pairs:
        return text
    return f"{text} ({rate * pairs:.4g}/{pairs})"


def counts(per_family: dict[str, int], sep: str = ": ") -> str:
    return ", ".join(f"{family}{sep}{count}" for family, count in sorted(per_family.items()))


def template_line(
    made: dict[str, int] | None, noops: dict[str, int] | None, dropped: dict[str, int] | None
) -> str | None:
    """Instruction- and format-level variants of one system: made, no-ops, dropped."""
    parts = []
    if made:
        parts.append(f"template variants {sum(made.values())} ({counts(made, ' ')})")
    if noops:
        parts.append(f"no-ops {counts(noops, ' ')}")
    if dropped:
        parts.append(f"dropped by the meaning filter {counts(dropped, ' ')}")
    return "; ".join(parts) or None


def cases_line(cases: dict[str, Any], escape: Callable[[Any], str] = str) -> str:
    parts = []
    for what in ("added", "removed"):
        if cases[what]:
            ids = [escape(case) for case in cases[f"{what}_ids"][:5]]
            more = ", ..." if cases[what] > len(ids) else ""
            parts.append(f"{cases[what]} {what} ({', '.join(ids)}{more})")
    return (
        "cases since the baseline: "
        + ", ".join(parts)
        + f"; left out of the paired tests ({cases['common']} in common)"
    )


def outcome(passed: Any) -> str:
    """A row's check outcome in words: passed, failed, unscored, or a share of repeats."""
    if passed is None:
        return "unscored"
    if isinstance(passed, bool) or passed in (0, 1):
        return "passed" if passed else "failed"
    return f"passed {float(passed):.0%}"


def adapter_line(record: Any) -> str | None:
    """``adapter check: changed 30 of 30 sampled answers of its base local/smollm2`` for a
    fine-tune whose check ran and changed something (None otherwise: a zero-changed check or
    one that did not run is a note of its own, run/adapter_check.adapter_note)."""
    if not isinstance(record, Mapping) or record.get("warning") or record.get("changed") is None:
        return None
    return (
        f"adapter check: changed {record['changed']} of {record.get('sample')} sampled answers "
        f"of its base {record.get('base')}"
    )


def latency_caveat(ev: Mapping[str, Any]) -> str:
    """How an eval's latencies were measured (run.json's eval record ``ev``): per call, from the
    request being sent, under the run's concurrency; "" when the record predates it."""
    concurrency = ev.get("concurrency")
    if concurrency is None:
        return ""
    return (
        f"Latency measured at concurrency {concurrency} (calls in flight at once): per call, "
        "from the request being sent to its answer (the harness's waits and retries left "
        "out); a server that queues answers slower under load, so compare latencies measured "
        "at one concurrency."
    )
