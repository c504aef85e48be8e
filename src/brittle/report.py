"""Run reports: ``reports/<run-id>/run.json`` (spec, metrics, verdicts), ``results.parquet``
(one row per system x case x variant) and ``summary.md`` (fit for a CI job summary), plus the
terminal summary. ``reports/latest`` points at the newest run.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from brittle.baseline import atomic_write_text
from brittle.engine import RESULT_COLUMNS, SystemRun
from brittle.metrics import ORIGINAL

if TYPE_CHECKING:
    from brittle.session import BrittleSession, EvalState

RUN_FORMAT_VERSION = 1
PARQUET_CHUNK = 20_000
HEADLINE = ("accuracy", "variant_accuracy", "flip_rate", "agreement", "pdr", "worst_case_accuracy")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def run_meta(started: float) -> dict[str, Any]:
    """Provenance recorded in run files and baselines."""
    from brittle import __version__

    return {
        "brittle_version": __version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _delta(now: Any, before: Any) -> str:
    if now is None or before is None:
        return ""
    return f" ({now - before:+.3f})"


def _system_record(state: EvalState, name: str, run: SystemRun) -> dict[str, Any]:
    from brittle.session import newly_flipped

    base = state.baseline.systems.get(name) if state.baseline else None
    verdicts = [
        {
            "gate": gate_name,
            "status": v.status,
            "message": v.message,
            "now": v.now,
            "baseline": v.baseline,
        }
        for (system, gate_name), v in state.verdicts.items()
        if system == name
    ]
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
        "verdicts": verdicts,
        "flips": [f.to_dict() for f in run.flips[:200]],
        "newly_flipped": [f.to_dict() for f in newly_flipped(run, base)[:200]],
        "failing_cases": run.failing_originals()[:200],
        "errors": run.errors()[:50],
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
                }.get(name, pa.string()),
            )
            for name in RESULT_COLUMNS
        ]
    )
    rows = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for state in states:
            for run in state.run.systems.values():
                total = len(run)
                for start in range(0, total, PARQUET_CHUNK):
                    stop = min(total, start + PARQUET_CHUNK)
                    arrays = [pa.array([state.spec.name] * (stop - start), pa.string())]
                    for field in list(schema)[1:]:
                        arrays.append(
                            pa.array(run.columns[field.name][start:stop], type=field.type)
                        )
                    writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
                    rows += stop - start
    return rows


def write_reports(session: BrittleSession, report_dir: Path) -> list[Path]:
    """Write run.json, results.parquet and summary.md for this session's runs."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(session.started))
    run_id = f"{stamp}-{secrets.token_hex(2)}"
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
    return [run_json, parquet, summary]


def markdown_summary(session: BrittleSession, record: dict[str, Any]) -> str:
    lines = [f"# brittle run {record['run_id']}", ""]
    for ev in record["evals"]:
        lines += [f"## {ev['name']} ({ev['cases']} cases)", ""]
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
                f"| {name} | {sys['kind']} | {_fmt(m['accuracy'])}{_delta(m['accuracy'], b.get('accuracy'))}"
                f" | {_fmt(m['variant_accuracy'])} | {_fmt(m['flip_rate'])}"
                f"{_delta(m['flip_rate'], b.get('flip_rate'))} | {_fmt(m['agreement'])}"
                f" | {_fmt(m['pdr'])} | {_fmt(m['worst_case_accuracy'])} | {m['errors']} | {gates} |"
            )
        lines.append("")
        families = sorted({f for s in ev["systems"].values() for f in s["metrics"]["families"]})
        if families:
            lines += ["Flip rate by perturbation family:", ""]
            lines.append("| system | " + " | ".join(families) + " |")
            lines.append("|---" * (len(families) + 1) + "|")
            for name, sys in ev["systems"].items():
                fam = sys["metrics"]["families"]
                cells = [_fmt(fam.get(f, {}).get("flip_rate")) for f in families]
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
            lines.append("")
        for name, sys in ev["systems"].items():
            failing = [v for v in sys["verdicts"] if v["status"] == "FAILED"]
            for v in failing:
                lines += [
                    f"- **{name}**: gate `{v['gate']}` failed: {v['message'].splitlines()[0]}"
                ]
            if sys["fingerprint_changed"]:
                lines.append(f"- {name}: fingerprint changed since the baseline (system edited)")
        if ev["noops_per_family"]:
            noops = ", ".join(f"{k}: {v}" for k, v in sorted(ev["noops_per_family"].items()))
            lines.append(f"- perturbations that did not apply (no-ops): {noops}")
        lines.append("")
    return "\n".join(lines)


def summary_lines(session: BrittleSession) -> list[str]:
    """The terminal summary: per eval and system, headline metrics, deltas and gate verdicts."""
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
                f"  {name:<18} acc {_fmt(m['accuracy'])}{_delta(m['accuracy'], b.get('accuracy'))}"
                f"  var-acc {_fmt(m['variant_accuracy'])}"
                f"  flip {_fmt(m['flip_rate'])}{_delta(m['flip_rate'], b.get('flip_rate'))}"
                f"  agree {_fmt(m['agreement'])}  errors {m['errors']}"
                f"  ({len(run)} rows, {run.wall_s:.1f}s)"
            )
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
        if state.run.noops:
            lines.append(
                "  no-op perturbations (did not apply): "
                + ", ".join(f"{k} {v}" for k, v in sorted(state.run.noops.items()))
            )
    if session.written:
        lines.append(f"report: {session.written[0].parent}")
    for path in session.baselines_written:
        lines.append(f"baseline written: {path}")
    return lines


__all__ = ["markdown_summary", "run_meta", "summary_lines", "write_reports"]
_ = ORIGINAL
