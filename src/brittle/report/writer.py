"""Run reports: ``reports/<run-id>/run.json`` (spec, metrics, verdicts), ``results.parquet``
(one row per system x case x variant) and ``summary.md`` (fit for a CI job summary), plus the
terminal summary. ``reports/latest`` points at the newest run.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brittle._format import number as _fmt
from brittle.redact import MASK, pattern_source, scrub
from brittle.run.engine import RESULT_COLUMNS, SystemRun
from brittle.run.provenance import run_meta
from brittle.sanitize import clip, for_markdown, for_terminal
from brittle.stats.baseline import atomic_write_text
from brittle.stats.metrics import ORIGINAL

if TYPE_CHECKING:
    from brittle.run.session import BrittleSession, EvalState

RUN_FORMAT_VERSION = 1
PARQUET_CHUNK = 20_000
HEADLINE = ("accuracy", "variant_accuracy", "flip_rate", "agreement", "pdr", "worst_case_accuracy")


def _ci(block: Any, name: str, *, sep: str = ", ") -> str:
    """`` [low, high]``: the metric's 95% confidence interval, when the run has one."""
    interval = ((block or {}).get("ci") or {}).get(name)
    if not interval or interval[0] is None:
        return ""
    return f" [{interval[0]:.2f}{sep}{interval[1]:.2f}]"


_STATISTICS = (
    "delta",
    "ci",
    "p_value",
    "p_adjusted",
    "alpha",
    "family_size",
    "test",
    "cases",
    "units_per_case",
    "discordant",
    "exceeds_allowance",
    "significant",
    "power",
)


def _statistics(details: Any) -> dict[str, Any] | None:
    """The paired test behind a relative verdict (None for other verdicts)."""
    if "p_value" not in details:
        return None
    return {key: details[key] for key in _STATISTICS if key in details}


def _power_lines(verdicts: Any) -> list[str]:
    """``underpowered: ...`` for each relative gate that cannot see its own allowance."""
    from brittle.stats.paired import Power

    lines = []
    for verdict in verdicts:
        power = verdict.details.get("power")
        if power and power.get("underpowered"):
            fields = {k: power[k] for k in ("rate", "cases", "variants", "icc", "alpha", "mde")}
            fields.update(cases_needed=power["cases_needed"], allowance=verdict.gate.value)
            lines.append(Power(**fields).describe(verdict.gate))
    return lines


def _repeats_line(metrics: Any) -> str | None:
    info = metrics.get("repeats")
    if not info:
        return None
    return (
        f"repeats {info['k']} ({info['reduction']}): within-variant disagreement "
        f"{_fmt(info['within_variant_disagreement'])} (randomness) vs across-variant flip rate "
        f"{_fmt(info['across_variant_flip_rate'])} and disagreement "
        f"{_fmt(info['across_variant_disagreement'])} (brittleness)"
    )


def _delta(now: Any, before: Any) -> str:
    if now is None or before is None:
        return ""
    return f" ({now - before:+.3f})"


def _system_record(state: EvalState, name: str, run: SystemRun) -> dict[str, Any]:
    from brittle.run.session import changes_since_baseline, newly_flipped

    base = state.baseline.systems.get(name) if state.baseline else None
    verdicts = [
        {
            "gate": gate_name,
            "status": v.status,
            "message": v.message,
            "now": v.now,
            "baseline": v.baseline,
            "statistics": _statistics(v.details),
        }
        for (system, gate_name), v in state.verdicts.items()
        if system == name
    ]
    changes = changes_since_baseline(state, name)
    return {
        "kind": run.kind,
        "fingerprint": run.fingerprint,
        "baseline_fingerprint": base.fingerprint if base else None,
        "fingerprint_changed": bool(base and base.fingerprint != run.fingerprint),
        "spec": run.spec,
        "rows": len(run),
        "wall_s": run.wall_s,
        "metrics": run.metrics,
        "baseline_metrics": base.metrics if base else None,
        "baseline_cases": changes.to_dict() if changes is not None else None,
        "repeats": run.metrics.get("repeats"),
        "underpowered": _power_lines(
            v for (system, _), v in state.verdicts.items() if system == name
        ),
        "verdicts": verdicts,
        "flips": [f.to_dict() for f in run.flips[:200]],
        "newly_flipped": [f.to_dict() for f in newly_flipped(run, base)[:200]],
        "failing_cases": run.failing_originals()[:200],
        "errors": run.errors()[:50],
        "template_variants_per_family": run.template_variants,
        "template_noops_per_family": run.template_noops,
        "template_dropped_per_family": run.template_dropped,
    }


def _eval_record(state: EvalState) -> dict[str, Any]:
    spec = state.spec
    return {
        "name": spec.name,
        "source": str(spec.source),
        "golden": str(spec.golden_path) if spec.golden_path else None,
        "cases": len(spec.cases),
        "checks": [c.describe() for c in spec.checks],
        "suites": [s.spec() for s in spec.suites],
        "seed": spec.seed,
        "gates": [g.name for g in spec.gates],
        "error_budget": spec.error_budget.describe(),
        "variants_per_family": state.run.variants_per_family,
        "noops_per_family": state.run.noops,
        "dropped_per_family": state.run.dropped,
        "baseline": str(spec.baseline_path) if state.baseline else None,
        "systems": {n: _system_record(state, n, r) for n, r in state.run.systems.items()},
    }


def write_parquet(path: Path, states: list[EvalState]) -> int:
    """Stream every result row into one parquet file, chunk by chunk (no second full copy)."""
    schema = pa.schema(
        [("eval", pa.string())]
        + [
            (
                name,
                {
                    "passed": pa.bool_(),
                    "score": pa.float64(),
                    "latency_s": pa.float64(),
                    "prompt_tokens": pa.int64(),
                    "completion_tokens": pa.int64(),
                    "cost": pa.float64(),
                    "repeat": pa.int64(),
                }.get(name, pa.string()),
            )
            for name in RESULT_COLUMNS
        ]
    )
    rows = 0
    secret_pattern = pattern_source()  # credentials are masked in every text column
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # written whole, then renamed
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for state in states:
                for run in state.run.systems.values():
                    total = len(run)
                    for start in range(0, total, PARQUET_CHUNK):
                        stop = min(total, start + PARQUET_CHUNK)
                        arrays = [pa.array([state.spec.name] * (stop - start), pa.string())]
                        for field in list(schema)[1:]:
                            array = pa.array(run.columns[field.name][start:stop], type=field.type)
                            if field.type == pa.string():
                                array = pc.replace_substring_regex(array, secret_pattern, MASK)
                            arrays.append(array)
                        writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                        rows += stop - start
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def write_reports(session: BrittleSession, report_dir: Path) -> list[Path]:
    """Write run.json, results.parquet and summary.md for this session's runs."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(session.started))
    run_id = getattr(session, "run_id", None) or f"{stamp}-{secrets.token_hex(2)}"
    folder = report_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    states = [s for s in session.evals.values() if s.run.systems]
    record = {
        "brittle_run_version": RUN_FORMAT_VERSION,
        "run_id": run_id,
        **run_meta(session.started),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "evals": [_eval_record(s) for s in states],
    }
    record = _safe_record(record)  # no credentials, no megabyte texts: run.json, summaries, HTML
    run_json = folder / "run.json"
    atomic_write_text(run_json, json.dumps(record, indent=1, default=str) + "\n")
    parquet = folder / "results.parquet"
    write_parquet(parquet, states)
    summary = folder / "summary.md"
    atomic_write_text(summary, markdown_summary(session, record) + "\n")
    latest = report_dir / "latest"
    try:
        tmp = report_dir / f".latest-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(run_id, target_is_directory=True)
        os.replace(tmp, latest)
    except OSError:
        pass
    from brittle.report.publish import publish_run  # history, index.html, summary.json, CI summary

    return [run_json, parquet, summary, *publish_run(session, folder, record, states)]


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
        "detail",
        "error",
        "message",
    }
)


def _safe_record(value: Any, field: str | None = None) -> Any:
    """A run record with secrets masked and long case and model texts shortened."""
    if isinstance(value, str):
        return scrub(clip(value, RECORD_TEXT_LIMIT) if field in CASE_TEXT_FIELDS else value)
    if isinstance(value, dict):
        return {
            scrub(k) if isinstance(k, str) else k: _safe_record(
                v, k if isinstance(k, str) else None
            )
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_safe_record(v, field) for v in value]
    return value


def _md(text: Any) -> str:
    """User or model text as inert markdown (no HTML, no markup, one line, shortened)."""
    return for_markdown(text, limit=200)


def _code(text: Any) -> str:
    """Text for inside a markdown code span: one line, no backticks."""
    return " ".join(str(text).replace("`", "'").split())[:200]


def _problem_lines(name: str, sys: dict[str, Any], limit: int = 5) -> list[str]:
    """The first failing cases (with an excerpt of the output) and errors of a system."""
    lines = []
    failing = sys.get("failing_cases") or []
    for case in failing[:limit]:
        lines.append(
            f"- {_md(name)}: case {_md(case.get('case_id'))} fails its checks; output: "
            f"{_md(case.get('output'))}"
        )
    if len(failing) > limit:
        lines.append(f"- {_md(name)}: {len(failing) - limit} more failing case(s) in run.json")
    errors = sys.get("errors") or []
    for error in errors[:limit]:
        lines.append(
            f"- {_md(name)}: {_md(error.get('row_id'))} errored: {_md(error.get('error'))}"
        )
    if len(errors) > limit:
        lines.append(f"- {_md(name)}: {len(errors) - limit} more error(s) in run.json")
    return lines


def markdown_summary(session: BrittleSession, record: dict[str, Any]) -> str:
    lines = [f"# brittle run {record['run_id']}", ""]
    for ev in record["evals"]:
        lines += [f"## {_md(ev['name'])} ({ev['cases']} cases)", ""]
        lines += [
            "| system | kind | accuracy | variant acc. | flip rate | agreement | PDR | "
            "worst-case | errors | gates |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, sys in ev["systems"].items():
            m = sys["metrics"]["overall"]
            b = (sys["baseline_metrics"] or {}).get("overall", {})
            failed = sum(v["status"] == "FAILED" for v in sys["verdicts"])
            passed = sum(v["status"] == "passed" for v in sys["verdicts"])
            gates = f"{passed} passed" + (f", **{failed} FAILED**" if failed else "")
            lines.append(
                f"| {_md(name)} | {sys['kind']} | {_fmt(m['accuracy'])}{_ci(m, 'accuracy')}"
                f"{_delta(m['accuracy'], b.get('accuracy'))}"
                f" | {_fmt(m['variant_accuracy'])}{_ci(m, 'variant_accuracy')}"
                f" | {_fmt(m['flip_rate'])}{_ci(m, 'flip_rate')}"
                f"{_delta(m['flip_rate'], b.get('flip_rate'))}"
                f" | {_fmt(m['agreement'])}{_ci(m, 'agreement')}"
                f" | {_fmt(m['pdr'])}{_ci(m, 'pdr')}"
                f" | {_fmt(m['worst_case_accuracy'])}{_ci(m, 'worst_case_accuracy')}"
                f" | {m['errors']} | {gates} |"
            )
        lines += ["", "Metrics show their 95% confidence interval in brackets.", ""]
        lines.append("")
        families = sorted({f for s in ev["systems"].values() for f in s["metrics"]["families"]})
        if families:
            lines += ["Flip rate by perturbation family:", ""]
            lines.append("| system | " + " | ".join(families) + " |")
            lines.append("|---" * (len(families) + 1) + "|")
            for name, sys in ev["systems"].items():
                fam = sys["metrics"]["families"]
                cells = [
                    _fmt(fam.get(f, {}).get("flip_rate")) + _ci(fam.get(f), "flip_rate")
                    for f in families
                ]
                lines.append(f"| {_md(name)} | " + " | ".join(cells) + " |")
            lines.append("")
        for name, sys in ev["systems"].items():
            failing = [v for v in sys["verdicts"] if v["status"] == "FAILED"]
            for v in failing:
                lines += [
                    f"- **{_md(name)}**: gate `{_code(v['gate'])}` failed: "
                    f"{_md(v['message'].splitlines()[0])}"
                ]
            if sys["fingerprint_changed"]:
                lines.append(
                    f"- {_md(name)}: fingerprint changed since the baseline (system edited)"
                )
            for line in sys.get("underpowered") or []:
                lines.append(f"- {_md(name)}: {line}")
            cases = sys.get("baseline_cases")
            if cases and (cases["added"] or cases["removed"]):
                lines.append(f"- {_md(name)}: {_cases_line(cases, _md)}")
            if sys.get("repeats"):
                lines.append(f"- {_md(name)}: {_repeats_line(sys['metrics'])}")
        for name, sys in ev["systems"].items():
            lines += _problem_lines(name, sys)
        if ev["noops_per_family"]:
            noops = ", ".join(f"{k}: {v}" for k, v in sorted(ev["noops_per_family"].items()))
            lines.append(f"- perturbations that did not apply (no-ops): {noops}")
        if ev.get("dropped_per_family"):
            lines.append(
                f"- variants dropped by the meaning filter: {_counts(ev['dropped_per_family'])}"
            )
        for name, sys in ev["systems"].items():
            line = _template_line(
                sys.get("template_variants_per_family"),
                sys.get("template_noops_per_family"),
                sys.get("template_dropped_per_family"),
            )
            if line:
                lines.append(f"- {_md(name)}: {line}")
        lines.append("")
    return "\n".join(lines)


def _counts(per_family: dict[str, int], sep: str = ": ") -> str:
    return ", ".join(f"{family}{sep}{count}" for family, count in sorted(per_family.items()))


def _template_line(
    made: dict[str, int] | None, noops: dict[str, int] | None, dropped: dict[str, int] | None
) -> str | None:
    """Instruction- and format-level variants of one system: made, no-ops, dropped."""
    parts = []
    if made:
        parts.append(f"template variants {sum(made.values())} ({_counts(made, ' ')})")
    if noops:
        parts.append(f"no-ops {_counts(noops, ' ')}")
    if dropped:
        parts.append(f"dropped by the meaning filter {_counts(dropped, ' ')}")
    return "; ".join(parts) or None


def _cases_line(cases: dict[str, Any], escape: Any = str) -> str:
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


def summary_lines(session: BrittleSession) -> list[str]:
    """The terminal summary: per eval and system, headline metrics, deltas and gate verdicts."""
    from brittle.run.session import changes_since_baseline

    lines: list[str] = []
    for state in session.evals.values():
        if not state.run.systems:
            continue
        spec = state.spec
        families = sorted(state.run.variants_per_family)
        lines.append(
            f"{spec.name}: {len(spec.cases)} cases, "
            f"{sum(state.run.variants_per_family.values())} variants"
            + (f" ({', '.join(families)})" if families else "")
        )
        if state.baseline is None:
            lines.append(
                "  no baseline: relative gates skipped; create one with "
                "pytest evals/ --brittle-update-baseline"
            )
        for name, run in state.run.systems.items():
            m = run.metrics["overall"]
            base = state.baseline.systems.get(name) if state.baseline else None
            b = base.metrics["overall"] if base else {}
            lines.append(
                f"  {name:<18} acc {_fmt(m['accuracy'])}{_ci(m, 'accuracy', sep=',')}"
                f"{_delta(m['accuracy'], b.get('accuracy'))}"
                f"  var-acc {_fmt(m['variant_accuracy'])}"
                f"  flip {_fmt(m['flip_rate'])}{_ci(m, 'flip_rate', sep=',')}"
                f"{_delta(m['flip_rate'], b.get('flip_rate'))}"
                f"  agree {_fmt(m['agreement'])}  errors {m['errors']}"
                f"  ({len(run)} rows, {run.wall_s:.1f}s)"
            )
            repeats = _repeats_line(run.metrics)
            if repeats:
                lines.append(f"    {repeats}")
            changes = changes_since_baseline(state, name)
            if changes is not None and (changes.added or changes.removed):
                lines.append(f"    {_cases_line(changes.to_dict())}")
            if base and base.fingerprint != run.fingerprint:
                lines.append(
                    f"    fingerprint changed since the baseline ({base.fingerprint} -> "
                    f"{run.fingerprint})"
                )
            fam = run.metrics["families"]
            if fam:
                lines.append(
                    "    flip by family: "
                    + ", ".join(f"{k} {_fmt(v['flip_rate'])}" for k, v in fam.items())
                )
            failing = [c["case_id"] for i, c in enumerate(run.failing_originals()) if i < 8]
            if failing:
                count = len(run.failing_originals())
                lines.append(
                    f"    {count} case(s) fail their checks: {', '.join(failing)}"
                    + (" ..." if count > len(failing) else "")
                )
            for (system, gate_name), verdict in state.verdicts.items():
                if system == name:
                    first = verdict.message.splitlines()[0]
                    lines.append(f"    [{verdict.status}] {gate_name}: {first}")
            mine = [v for (system, _), v in state.verdicts.items() if system == name]
            lines.extend(f"    {line}" for line in _power_lines(mine))
            template = _template_line(
                run.template_variants, run.template_noops, run.template_dropped
            )
            if template:
                lines.append(f"    {template}")
        if state.run.noops:
            lines.append(
                "  no-op perturbations (did not apply): "
                + ", ".join(f"{k} {v}" for k, v in sorted(state.run.noops.items()))
            )
        if state.run.dropped:
            lines.append(f"  dropped by the meaning filter: {_counts(state.run.dropped, ' ')}")
    if session.written:
        lines.append(f"report: {session.written[0].parent}")
    for path in session.baselines_written:
        lines.append(f"baseline written: {path}")
    return [for_terminal(line) for line in lines]  # names and ids: no escape sequences


__all__ = ["markdown_summary", "run_meta", "summary_lines", "write_reports"]
_ = ORIGINAL
