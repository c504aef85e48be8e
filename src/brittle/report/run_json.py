"""``reports/<run-id>/run.json``: the full record of a run (spec, metrics, verdicts with their
statistics, flips, failing cases, errors), the source every other artifact is written from.

The record is made safe once, here, before anything else reads it: credentials are masked and
long case and model texts are shortened (results.parquet keeps every text whole).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from brittle.redact import scrub
from brittle.report.breakdowns import breakdowns
from brittle.report.decision import decision_record
from brittle.report.phrases import power_line, underpowered
from brittle.run.engine import SystemRun
from brittle.run.provenance import run_meta
from brittle.run.remarks import eval_notes
from brittle.run.session import BrittleSession, EvalState, changes_since_baseline, newly_flipped
from brittle.sanitize import SUMMARY_LIMIT, clip, clip_stored
from brittle.stats.baseline import atomic_write_text

RUN_FORMAT_VERSION = 1
#: how many failing cases and errors of each system run.json keeps (results.parquet has all; the
#: record counts all in ``failing_cases_total`` and ``errors_total``)
KEPT_FAILING, KEPT_ERRORS = 200, 50
#: longest text kept in run.json and the summaries (results.parquet keeps every text whole)
RECORD_TEXT_LIMIT = 4000
#: fields of a run record that hold case or model text (shortened); specs, templates and
#: metrics are kept whole
CASE_TEXT_FIELDS = frozenset(
    {
        "output",
        "original_output",
        "variant_output",
        "input",
        "original_input",
        "variant_input",
        "prompt",
        "answer",
        "original_answer",
        "variant_answer",
        "baseline_answer",
        "expected",
        "template_diff",
        "detail",
        "error",
        "message",
    }
)

#: fields that hold an answer (flips list them twice): an excerpt of :data:`SUMMARY_LIMIT`
#: characters with the full length and a hash, so equal answers stay equal
ANSWER_FIELDS = frozenset({"answer", "original_answer", "variant_answer", "baseline_answer"})

_STATISTICS = (
    "status",
    "delta",
    "degradation",
    "allowance",
    "direction",
    "ci",
    "bound",
    "level",
    "confidence",
    "p_value",
    "p_adjusted",
    "alpha",
    "family_size",
    "holm_step",
    "test",
    "cases",
    "units_per_case",
    "few_cases",
    "sd_paired",
    "discordant",
    "exceeds_allowance",
    "significant",
    "inconclusive",
    "cases_needed",
    "variants",
    "power",
)


def _statistics(details: Any) -> dict[str, Any] | None:
    """The paired test behind a relative verdict (None for other verdicts): the one-sided
    ``bound`` on the degradation at ``level`` (``confidence`` = 1 - level, the Holm step's),
    the one-sided ``p_value`` and its Holm-adjusted ``p_adjusted``, the plain 95% ``ci`` of the
    delta, ``cases_needed`` to settle an inconclusive verdict, the gate's ``power``."""
    if "p_value" not in details:
        return None
    return {key: details[key] for key in _STATISTICS if key in details}


def _system_record(state: EvalState, name: str, run: SystemRun) -> dict[str, Any]:
    base = state.baseline.systems.get(name) if state.baseline else None
    verdicts = [
        {
            "gate": gate_name,
            "status": v.status,
            "message": v.message,
            "now": v.now,
            "baseline": v.baseline,
            "statistics": _statistics(v.details),
            # a failing gate's cases: wrong, worse since the baseline, or flipped (run/evidence.py)
            "evidence": v.details.get("evidence"),
        }
        for (system, gate_name), v in state.verdicts.items()
        if system == name
    ]
    changes = changes_since_baseline(state, name)
    failing, errors = run.failing_originals(), run.errors()
    expected = {case.id: case.expected for case in state.spec.cases}
    failing = [{**case, "expected": expected.get(case["case_id"])} for case in failing]
    return {
        "kind": run.kind,
        "fingerprint": run.fingerprint,
        "baseline_fingerprint": base.fingerprint if base else None,
        "fingerprint_changed": bool(base and base.fingerprint != run.fingerprint),
        "spec": run.spec,
        # the price behind metrics.overall.cost: USD per 1M tokens and its source
        "price": run.price,
        "rows": len(run),
        "wall_s": run.wall_s,
        # of wall_s: the process's one-time start-up this system paid (model load, imports)
        "startup_s": round(run.startup_s, 3),
        "metrics": run.metrics,
        "baseline_metrics": base.metrics if base else None,
        "baseline_cases": changes.to_dict() if changes is not None else None,
        "repeats": run.metrics.get("repeats"),
        "underpowered": underpowered(
            (gate, v.details.get("power"))
            for (system, gate), v in state.verdicts.items()
            if system == name
        ),
        "verdicts": verdicts,
        "flips": [f.to_dict() for f in run.flips[:200]],
        "newly_flipped": [f.to_dict() for f in newly_flipped(run, base)[:200]],
        "failing_cases": failing[:KEPT_FAILING],
        "failing_cases_total": len(failing),
        "errors": errors[:KEPT_ERRORS],
        "errors_total": len(errors),
        # why the system was stopped at its first call (brittle.gateway.preflight), else None
        "stopped": run.stopped,
        "template_variants_per_family": run.template_variants,
        "template_noops_per_family": run.template_noops,
        "template_dropped_per_family": run.template_dropped,
        # a fine-tune with a known base: how many sampled answers it changed from its base's
        # (run/adapter_check.py); None for other systems
        "adapter_check": run.metrics.get("adapter_check"),
        # best and worst formats and format_spread (search/formats.py); None: no format_search
        "format_search": run.metrics.get("format_search"),
        # several endpoints: [{url, calls, failures, taken_out}] (gateway/replicas.py); None else
        "replicas": run.replicas,
        # per-label accuracy and confusion (label checks), per-tag accuracy and flip rate
        **breakdowns(state.spec, run),
    }


def _eval_record(state: EvalState) -> dict[str, Any]:
    spec = state.spec
    return {
        "name": spec.name,
        "source": str(spec.source),
        "golden": str(spec.golden_path) if spec.golden_path else None,
        "cases": len(spec.cases),
        # a smoke run (--brittle-limit) that kept fewer: the golden set's cases; else None
        "cases_total": state.cases_total,
        "checks": [c.describe() for c in spec.checks],
        "suites": [s.spec() for s in spec.suites],
        # the format_search entry's settings (spec/format_search.py); None without one
        "format_search": spec.format_search.spec() if spec.format_search else None,
        "seed": spec.seed,
        "gates": [g.name for g in spec.gates],
        "error_budget": spec.error_budget.describe(),
        # model calls in flight at once: the latencies were measured under it
        "concurrency": state.gateway.concurrency if state.gateway else spec.concurrency,
        # an error budget over the rows; a system always wrong or always answering alike
        "notes": eval_notes(state),
        "alpha": spec.alpha,
        "inconclusive": spec.inconclusive,
        "underpowered": power_line(
            (gate, v.details.get("power")) for (_, gate), v in state.verdicts.items()
        ),
        "variants_per_family": state.run.variants_per_family,
        "noops_per_family": state.run.noops,
        "dropped_per_family": state.run.dropped,
        "baseline": str(spec.baseline_path) if state.baseline else None,
        "systems": {n: _system_record(state, n, r) for n, r in state.run.systems.items()},
        # prompt or fine-tune: paired tests of the best prompt against the best fine-tune and
        # the eval's compare pairs, cost and break-even (report/decision.py); None: no pair
        "decision": decision_record(state),
    }


def run_record(session: BrittleSession, run_id: str, states: list[EvalState]) -> dict[str, Any]:
    """The run.json document of ``states`` (the evals that ran), already made safe."""
    record = {
        "brittle_run_version": RUN_FORMAT_VERSION,
        "run_id": run_id,
        **run_meta(session.started),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        # a smoke run (--brittle-limit N): the first N cases of each golden set only
        "partial": session.options.limit is not None,
        "limit": session.options.limit,
        "evals": [_eval_record(s) for s in states],
        # --brittle-update-baseline: systems refused (errors, nothing scored) or written anyway
        "baselines_refused": list(session.baselines_refused),
        "baselines_forced": list(session.baselines_forced),
    }
    return safe_record(record)  # no credentials, no megabyte texts: run.json, summaries, HTML


def write_run_json(path: Path, record: dict[str, Any]) -> Path:
    atomic_write_text(path, json.dumps(record, indent=1, default=str) + "\n")
    return path


def safe_record(value: Any, field: str | None = None) -> Any:
    """A run record with secrets masked and long case and model texts shortened (answers to
    an excerpt with their length and hash: :func:`brittle.sanitize.clip_stored`)."""
    if isinstance(value, str):
        if field in ANSWER_FIELDS:
            return scrub(clip_stored(value, SUMMARY_LIMIT))
        return scrub(clip(value, RECORD_TEXT_LIMIT) if field in CASE_TEXT_FIELDS else value)
    if isinstance(value, dict):
        return {
            scrub(k) if isinstance(k, str) else k: safe_record(v, k if isinstance(k, str) else None)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [safe_record(v, field) for v in value]
    return value


__all__ = [
    "KEPT_ERRORS",
    "KEPT_FAILING",
    "RUN_FORMAT_VERSION",
    "run_record",
    "safe_record",
    "write_run_json",
]
