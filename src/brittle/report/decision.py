"""The prompt-or-fine-tune decision of each eval in the reports: ``evals[].decision`` of run.json
and summary.json, its lines in summary.md and the terminal summary.

:func:`decision_record` reads one eval's run (each system's outcome table, cost, price and
``training_cost``) and hands the numbers to :mod:`brittle.stats.decision`: the best prompt
against the best fine-tuned system, then every pair the eval names (``compare:``). The record's
top level repeats its first pair's fields, so a reader that wants one answer reads
``decision.recommendation`` and ``decision.p_value``; ``pairs`` holds them all. None when there is
nothing to compare (no prompt and fine-tuned system, and no ``compare``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brittle._format import number
from brittle.run.engine import SystemRun
from brittle.run.session import EvalState
from brittle.sanitize import for_markdown
from brittle.stats.decision import WORDS, compare_pair, money, primary_pair

#: figures other parts of a run add to a system's overall metrics, shown beside the decision
#: when present (absent: not shown)
EXTRA_METRICS = ("prob_shift", "format_spread")


def _per_1k(run: SystemRun) -> float | None:
    cost = run.metrics["overall"].get("cost")
    return None if cost is None or not len(run) else float(cost) / len(run) * 1000


def _training(run: SystemRun, system: Any) -> float | None:
    """The one-off cost of a side: its ``training_cost``; without one, nothing, except for a
    fine-tuned model (kind ``model``), whose training cost is then unknown."""
    value = getattr(system, "training_cost", None)
    if value is None and run.kind != "model":
        return 0.0
    return None if value is None else float(value)


def _side(run: SystemRun, system: Any) -> dict[str, Any]:
    m = run.metrics["overall"]
    tokens = [m.get("prompt_tokens"), m.get("completion_tokens")]
    side = {
        "kind": run.kind,
        "rows": len(run),
        "cost_per_1k": _per_1k(run),
        "training_cost": getattr(system, "training_cost", None),
        "tokens_per_call": (
            sum(t or 0 for t in tokens) / len(run)
            if len(run) and any(t is not None for t in tokens)
            else None
        ),
        "latency_p50_s": m.get("latency_p50_s"),
        "latency_p95_s": m.get("latency_p95_s"),
        **{name: m.get(name) for name in ("accuracy", "variant_accuracy", "flip_rate")},
    }
    for name in EXTRA_METRICS:
        if m.get(name) is not None:
            side[name] = m.get(name)
    adapter = run.metrics.get("adapter_check")  # a fine-tune with a known base (K2's check)
    if isinstance(adapter, Mapping):
        side["adapter_check"] = dict(adapter)
    return side


def _pairs(state: EvalState) -> list[tuple[str, str, str]]:
    """``(a, b, why)`` of every pair to compare whose two systems ran (first the primary)."""
    runs = state.run.systems
    found: list[tuple[str, str, str]] = []
    records = {name: {"kind": run.kind, "metrics": run.metrics} for name, run in runs.items()}
    primary = primary_pair(records)
    if primary is not None:
        found.append((*primary, "best prompt against best fine-tuned system"))
    for a, b in getattr(state.spec, "compare", ()):
        # a pair already compared, in either order, is not compared again with opposite signs
        if a in runs and b in runs and {a, b} not in [{x, y} for x, y, _ in found]:
            found.append((a, b, "named in the eval's compare"))
    return found


def decision_record(state: EvalState) -> dict[str, Any] | None:
    """``evals[].decision`` of one eval (docs/reports.md), None with nothing to compare."""
    pairs = []
    for a, b, why in _pairs(state):
        run_a, run_b = state.run.systems[a], state.run.systems[b]
        if run_a.outcome is None or run_b.outcome is None:
            continue
        sys_a, sys_b = state.spec.system(a), state.spec.system(b)
        pair = compare_pair(
            (a, b),
            (run_a.outcome, run_b.outcome),
            per_1k=(_per_1k(run_a), _per_1k(run_b)),
            training=(_training(run_a, sys_a), _training(run_b, sys_b)),
            alpha=state.spec.alpha,
        )
        pair["why"] = why
        pair["sides"] = {a: _side(run_a, sys_a), b: _side(run_b, sys_b)}
        pairs.append(pair)
    if not pairs:
        return None
    return {**pairs[0], "pairs": pairs}


def decision_lines(decision: Mapping[str, Any] | None) -> list[str]:
    """The decision as plain lines (terminal summary, summary.md): per pair, a head line with
    the headline delta and its p-value, then the recommendation."""
    if not decision:
        return []
    lines = []
    for pair in decision.get("pairs") or [decision]:
        a, b = pair["systems"]
        metric = pair.get("metric")
        head = f"decision: {b} against {a} ({pair.get('why', 'compared')})"
        if metric is not None and pair.get("delta") is not None:
            low, high = pair["intervals"][metric] or (None, None)
            bounds = "" if low is None or high is None else f" [{low:+.3f}, {high:+.3f}]"
            head += (
                f": {pair['verdict']} on {WORDS[metric]}, delta {pair['delta']:+.3f}"
                f"{bounds}, p {number(pair['p_value'], 4)}"
            )
        costs = pair.get("cost_per_1k") or {}
        head += f"; per 1,000 calls {b} {money(costs.get(b))}, {a} {money(costs.get(a))}"
        calls = pair.get("break_even_calls")
        head += f"; break-even {calls:,} calls" if calls is not None else "; no break-even"
        lines += [head, f"  {pair['recommendation']}"]
    return lines


def decision_markdown(decision: Mapping[str, Any] | None) -> list[str]:
    """summary.md's "Prompt or fine-tune?" paragraph of one eval (inert markdown)."""
    lines = decision_lines(decision)
    if not lines:
        return []
    out = ["**Prompt or fine-tune?**", ""]
    for line in lines:
        text = for_markdown(line.strip(), limit=2000)
        out += [f"- {text}" if line.startswith("decision:") else f"  {text}"]
    return [*out, ""]


__all__ = ["EXTRA_METRICS", "decision_lines", "decision_markdown", "decision_record"]
