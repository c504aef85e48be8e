"""``reports/<run-id>/summary.json``: the verdict and headline metrics of a run in a stable
schema for other programs (dashboards, bots, CI steps).

Unlike run.json, which follows the code, this document is versioned
(:data:`SUMMARY_SCHEMA_VERSION`) and documented in docs/reports.md: a field is only ever added,
and a change to an existing one bumps the version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from brittle.report.format_spread import summary_record as format_search_summary
from brittle.report.history import (
    HEADLINE_COLUMNS,
    USAGE_COLUMNS,
    FlipSet,
    headline,
    run_status,
)
from brittle.stats.baseline import atomic_write_text
from brittle.stats.intervals import reported_interval
from brittle.stats.metrics import REPEAT_METRICS

SUMMARY_SCHEMA_VERSION = 1


#: a relative verdict's paired test in summary.json: run.json's statistics key -> field
_TEST_FIELDS = {
    "allowance": "allowance",
    "direction": "direction",
    "degradation": "degradation",
    "bound": "bound",
    "confidence": "confidence",
    "level": "level",
    "p_value": "p_value",
    "p_adjusted": "p_adjusted",
    "holm_step": "holm_step",
    "family_size": "family_size",
    "ci": "ci95",
    "cases": "cases",
    "few_cases": "few_cases",
    "cases_needed": "cases_needed",
    "test": "method",
    "variants": "variants",  # paired (same id and text), changed, added, removed since the baseline
}


def _test(statistics: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The paired test of a relative verdict (None for absolute or untested gates)."""
    if not statistics or "bound" not in statistics:
        return None
    test = {field: statistics.get(key) for key, field in _TEST_FIELDS.items()}
    power = statistics.get("power") or {}
    test["detectable"] = power.get("mde")  # smallest degradation found with 80% power
    test["underpowered"] = power.get("underpowered")
    return test


def _gates(system: Mapping[str, Any], counts: dict[str, int]) -> list[dict[str, Any]]:
    """The system's verdicts, lower-case statuses; ``counts`` gathers them for the run."""
    gates = []
    for v in system.get("verdicts", []):
        status = str(v["status"]).lower()
        counts[status] = counts.get(status, 0) + 1
        gates.append(
            {
                "gate": v["gate"],
                "status": status,
                "passed": {"failed": False, "skipped": None}.get(status, True),
                "now": v.get("now"),
                "baseline": v.get("baseline"),
                "message": str(v.get("message") or "").split("\n", 1)[0],
                "test": _test(v.get("statistics")),
                # a failed gate's cases (kind wrong, worse, flipped or newly flipped): null else
                "evidence": v.get("evidence"),
            }
        )
    return gates


def _system(
    name: str, system: Mapping[str, Any], gates: list[dict[str, Any]], newly: int | None
) -> dict[str, Any]:
    overall = system["metrics"]["overall"]
    base = (system.get("baseline_metrics") or {}).get("overall")
    failed = any(g["status"] == "failed" for g in gates)
    rows = system.get("rows") or 0
    cost = overall.get("cost")
    metrics = {
        **headline(overall),
        "errors": overall.get("errors"),
        **{column: overall.get(column) for column in USAGE_COLUMNS},
        "cost_per_1k_calls": (cost / rows * 1000) if cost is not None and rows else None,
        # the expected label's probability shift (stats/probshift.py); null: no log-probabilities
        "prob_shift": overall.get("prob_shift"),
    }
    price = system.get("price")
    intervals = {}
    for metric in (*HEADLINE_COLUMNS, "format_spread", "prob_shift"):
        found = reported_interval(overall, metric)
        if found is not None:
            intervals[metric] = list(found)
    if "format_spread" in overall:  # a format_search entry: best minus worst format
        metrics["format_spread"] = overall["format_spread"]
    pairs = overall.get("pairs") or 0
    flip_rate = overall.get("flip_rate")
    return {
        "name": name,
        "kind": system.get("kind"),
        "fingerprint": system.get("fingerprint"),
        "fingerprint_changed": bool(system.get("fingerprint_changed")),
        "rows": rows,
        # what the cost was priced at: input/output USD per 1M tokens and the source
        # ("price": the system's own key, "litellm:KEY": litellm's table, "local"); null: none
        "price": dict(price) if isinstance(price, Mapping) else None,
        "status": "failed" if failed else "passed",
        # one line when the system was stopped at its first call (brittle.gateway.preflight)
        "stopped": system.get("stopped"),
        "metrics": metrics,
        "intervals": intervals,
        "interval_cases": overall.get("ci_cases"),  # the fewest cases behind an interval
        "few_cases": overall.get("few_cases"),  # below 50 cases: intervals approximate
        "baseline": headline(base) if base else None,
        "families": {
            family: headline(block)
            for family, block in system["metrics"].get("families", {}).items()
        },
        "gates": gates,
        "flips": round(flip_rate * pairs) if flip_rate is not None else 0,
        "newly_flipped": newly,
        # cases and variants since the baseline: paired, changed, added, removed per family
        "baseline_changes": system.get("baseline_cases"),
        "repeats": _repeats(system["metrics"]),
        # label checks: accuracy per expected label and {expected: {answer: count}}; null else
        "by_label": system.get("by_label"),
        "confusion": system.get("confusion"),
        # accuracy and flip rate of the cases of each golden-set tag ({} without tags)
        "by_tag": system.get("by_tag") or {},
        # a fine-tune with a known base: {base, sample, changed, share_changed, warning,
        # not_run, ...} from its base model's answers to a sample of originals; null else
        "adapter_check": _adapter_check(system),
        # format_search: {budget, calls, formats_tried, best, worst, spread, interval, fixture}
        # or {undefined: why}; null without a format_search entry (report/format_spread.py)
        "format_search": format_search_summary(system),
        # several endpoints (api_base: [...]): each replica's calls, failures and times taken
        # out for this system; null for one endpoint (gateway/replicas.py)
        "replicas": system.get("replicas"),
    }


def _adapter_check(system: Mapping[str, Any]) -> dict[str, Any] | None:
    """The adapter check's record without its lists of case ids (those are in run.json)."""
    record = system.get("adapter_check")
    if not isinstance(record, Mapping):
        return None
    return {key: value for key, value in record.items() if key not in ("cases", "unchanged")}


def _repeats(metrics: Mapping[str, Any]) -> dict[str, Any] | None:
    """Self-disagreement and excess flip rate with their intervals (None without repeats)."""
    info = metrics.get("repeats")
    if not info or "excess_flip_rate" not in info:
        return None
    return {
        "k": info["k"],
        "reduction": info["reduction"],
        **{name: info.get(name) for name in (*REPEAT_METRICS, "flip_rate_between_draws")},
        "intervals": {name: found for name, found in (info.get("ci") or {}).items() if found},
        "cases": info.get("cases"),
        "few_cases": info.get("few_cases"),
        "families": {
            family: {name: block.get(name) for name in REPEAT_METRICS}
            for family, block in metrics.get("families", {}).items()
        },
    }


def json_summary(
    record: Mapping[str, Any],
    *,
    flips: Iterable[FlipSet] = (),
    history: Path | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The summary.json document (schema :data:`SUMMARY_SCHEMA_VERSION`; docs/reports.md)."""
    newly = {(f.eval, f.system): f.total for f in flips}
    counts = {"passed": 0, "failed": 0, "inconclusive": 0, "skipped": 0}
    evals = []
    for ev in record.get("evals", []):
        systems = []
        for name, system in ev["systems"].items():
            gates = _gates(system, counts)
            systems.append(_system(name, system, gates, newly.get((ev["name"], name))))
        evals.append(
            {
                "name": ev["name"],
                "source": ev.get("source"),
                "cases": ev.get("cases"),
                "cases_total": ev.get("cases_total"),  # a smoke run's golden set, else None
                "status": "failed" if any(s["status"] == "failed" for s in systems) else "passed",
                "families": sorted(ev.get("variants_per_family") or {}),
                "inconclusive": ev.get("inconclusive", "pass"),
                "underpowered": ev.get("underpowered"),
                "notes": list(ev.get("notes") or []),  # e.g. an error_budget over the rows
                "concurrency": ev.get("concurrency"),  # calls in flight: latency's condition
                "systems": systems,
                # prompt or fine-tune: paired tests, cost, break-even, recommendation (null:
                # nothing to compare); docs/reports.md
                "decision": ev.get("decision"),
            }
        )
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        "run_id": record.get("run_id"),
        "status": run_status(record),
        "created": record.get("created"),
        "finished": record.get("finished"),
        "git": {"commit": record.get("git_commit"), "branch": record.get("git_branch")},
        "brittle_version": record.get("brittle_version"),
        # a smoke run (--brittle-limit N): only the first N cases of each golden set
        "partial": bool(record.get("partial")),
        "limit": record.get("limit"),
        "gates": counts,
        "files": dict(files or {}),
        "history": str(history) if history is not None else None,
        # --brittle-update-baseline: why a system's baseline was not written (or forced)
        "baselines_refused": list(record.get("baselines_refused") or []),
        "baselines_forced": list(record.get("baselines_forced") or []),
        "evals": evals,
    }


def write_summary_json(
    path: Path,
    record: Mapping[str, Any],
    *,
    flips: Iterable[FlipSet],
    history: Path | None,
    files: Mapping[str, str],
) -> Path:
    document = json_summary(record, flips=flips, history=history, files=files)
    atomic_write_text(path, json.dumps(document, indent=1, default=str) + "\n")
    return path


__all__ = ["SUMMARY_SCHEMA_VERSION", "json_summary", "write_summary_json"]
