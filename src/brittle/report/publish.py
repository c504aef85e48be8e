"""What happens after a run's files are written: the run goes into the history, the HTML report
and the JSON summary are written beside run.json, and CI gets its summaries.

- ``reports/<run-id>/index.html``: the self-contained report (:mod:`brittle.report.html.page`);
- ``reports/<run-id>/summary.json``: the verdict and headline metrics in a stable schema
  (:data:`SUMMARY_SCHEMA_VERSION`, documented in docs/reports.md);
- ``$GITHUB_STEP_SUMMARY``: summary.md is appended to it when the variable is set;
- JUnit XML: :func:`gate_properties` gives each gate item's metrics as ``<property>`` entries.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brittle._errors import ConfigError
from brittle.report.history import (
    HEADLINE_COLUMNS,
    MAX_FLIPPED_STORED,
    USAGE_COLUMNS,
    FlippedCase,
    FlipSet,
    TrendPoint,
    load_run,
    record_run,
    run_status,
    trend,
)
from brittle.report.html.page import ReportData, render_report
from brittle.stats.baseline import atomic_write_text
from brittle.stats.intervals import reported_interval

if TYPE_CHECKING:
    from brittle.run.engine import SystemRun
    from brittle.run.session import BrittleSession, EvalState
    from brittle.stats.gates import Gate

SUMMARY_SCHEMA_VERSION = 1
TREND_RUNS = 30
HISTORY_FILE = "history.sqlite"
OFF = ("off", "none", "false", "0", "")
HISTORY_COLUMNS = ("row_id", "case_id", "family", "passed", "answer")
MAX_STORED_TEXT = 20_000
"""Flipped cases keep at most this many characters of each text in the history."""


def history_path(setting: str | os.PathLike[str] | None, report_dir: Path | None) -> Path | None:
    """The history file: ``setting`` (a path, or ``off``), else ``<report_dir>/history.sqlite``."""
    if setting is None:
        return None if report_dir is None else report_dir / HISTORY_FILE
    if str(setting).strip().lower() in OFF:
        return None
    return Path(setting)


def history_setting(value: str | None, root: Path) -> str | None:
    """``--brittle-history`` as given, with a relative path taken from ``root``."""
    if value is None or str(value).strip().lower() in OFF:
        return value
    return str(root / value)


def _sort_key(flip: Any) -> tuple[bool, str, str]:
    return (not flip.original_passed, flip.case_id, flip.variant_id)


def flip_set(
    eval_name: str,
    system: str,
    run: SystemRun,
    flips: Sequence[Any],
    *,
    against_baseline: bool,
    limit: int = MAX_FLIPPED_STORED,
) -> FlipSet:
    """The worst ``limit`` of ``flips`` (pass to fail first) with their texts from ``run``."""
    ordered = sorted(flips, key=_sort_key)[:limit]
    position: dict[str, int] = {}
    for i, row in enumerate(run.columns["row_id"]):
        position.setdefault(row, i)  # the first repeat, when an eval repeats its calls
    cols = run.columns

    def text(row_id: str, column: str) -> str | None:
        i = position.get(row_id)
        value = None if i is None else cols[column][i]
        return None if value is None else str(value)[:MAX_STORED_TEXT]

    cases = tuple(
        FlippedCase(
            case_id=f.case_id,
            variant_id=f.variant_id,
            family=f.family,
            original_passed=bool(f.original_passed),
            variant_passed=bool(f.variant_passed),
            original_input=text(f.case_id, "input"),
            variant_input=text(f.variant_id, "input"),
            original_output=text(f.case_id, "output"),
            variant_output=text(f.variant_id, "output"),
            original_answer=f.original_answer,
            variant_answer=f.variant_answer,
        )
        for f in ordered
    )
    return FlipSet(eval_name, system, against_baseline, len(flips), cases)


def flip_sets(state: EvalState) -> list[FlipSet]:
    """Each system's newly flipped variants (all flips when there is no baseline)."""
    from brittle.run.session import newly_flipped

    out = []
    for name, run in state.run.systems.items():
        base = state.baseline.systems.get(name) if state.baseline else None
        flips = newly_flipped(run, base)
        out.append(flip_set(state.spec.name, name, run, flips, against_baseline=base is not None))
    return out


def _headline(block: Mapping[str, Any]) -> dict[str, Any]:
    return {name: block.get(name) for name in HEADLINE_COLUMNS}


def json_summary(
    record: Mapping[str, Any],
    *,
    flips: Iterable[FlipSet] = (),
    history: Path | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The summary.json document (schema :data:`SUMMARY_SCHEMA_VERSION`; docs/reports.md)."""
    newly = {(f.eval, f.system): f.total for f in flips}
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    evals = []
    for ev in record.get("evals", []):
        systems = []
        eval_failed = False
        for name, system in ev["systems"].items():
            overall = system["metrics"]["overall"]
            base = (system.get("baseline_metrics") or {}).get("overall")
            gates = []
            for v in system.get("verdicts", []):
                status = str(v["status"]).lower()
                counts[status] = counts.get(status, 0) + 1
                gates.append(
                    {
                        "gate": v["gate"],
                        "status": status,
                        "now": v.get("now"),
                        "baseline": v.get("baseline"),
                        "message": str(v.get("message") or "").split("\n", 1)[0],
                    }
                )
            failed = any(g["status"] == "failed" for g in gates)
            eval_failed = eval_failed or failed
            rows = system.get("rows") or 0
            cost = overall.get("cost")
            metrics = {
                **_headline(overall),
                "errors": overall.get("errors"),
                **{name: overall.get(name) for name in USAGE_COLUMNS},
                "cost_per_1k_calls": (cost / rows * 1000) if cost is not None and rows else None,
            }
            intervals = {}
            for metric in HEADLINE_COLUMNS:
                found = reported_interval(overall, metric)
                if found is not None:
                    intervals[metric] = list(found)
            pairs = overall.get("pairs") or 0
            flip_rate = overall.get("flip_rate")
            systems.append(
                {
                    "name": name,
                    "kind": system.get("kind"),
                    "fingerprint": system.get("fingerprint"),
                    "fingerprint_changed": bool(system.get("fingerprint_changed")),
                    "rows": rows,
                    "status": "failed" if failed else "passed",
                    "metrics": metrics,
                    "intervals": intervals,
                    "baseline": _headline(base) if base else None,
                    "families": {
                        family: _headline(block)
                        for family, block in system["metrics"].get("families", {}).items()
                    },
                    "gates": gates,
                    "flips": round(flip_rate * pairs) if flip_rate is not None else 0,
                    "newly_flipped": newly.get((ev["name"], name)),
                }
            )
        evals.append(
            {
                "name": ev["name"],
                "source": ev.get("source"),
                "cases": ev.get("cases"),
                "status": "failed" if eval_failed else "passed",
                "families": sorted(ev.get("variants_per_family") or {}),
                "systems": systems,
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
        "gates": counts,
        "files": dict(files or {}),
        "history": str(history) if history is not None else None,
        "evals": evals,
    }


def _outcome_columns(run: SystemRun) -> Mapping[str, Sequence[Any]]:
    """One outcome per row id: the reduced outcomes when the eval repeats calls."""
    outcome = getattr(run, "outcome", None)
    if outcome is not None and len(outcome) != len(run):
        return {name: outcome[name].tolist() for name in HISTORY_COLUMNS}
    return run.columns


def _current_trend(record: Mapping[str, Any], eval_name: str) -> list[TrendPoint]:
    for ev in record.get("evals", []):
        if ev["name"] == eval_name:
            return [
                TrendPoint(
                    run_id=str(record.get("run_id")),
                    created=str(record.get("created") or ""),
                    system=name,
                    metrics=_headline(system["metrics"]["overall"]),
                )
                for name, system in ev["systems"].items()
            ]
    return []


def append_step_summary(text: str) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


def publish_run(
    session: BrittleSession, folder: Path, record: Mapping[str, Any], states: Sequence[EvalState]
) -> list[Path]:
    """Record the run in the history, then write index.html and summary.json into ``folder``."""
    flips = [f for state in states for f in flip_sets(state)]
    setting = getattr(session.options, "history", None)
    history = history_path(setting, folder.parent)
    failure: str | None = None
    trends: dict[str, list[TrendPoint]] = {}
    eval_names = [ev["name"] for ev in record.get("evals", [])]
    if history is not None:
        results = {
            (state.spec.name, name): _outcome_columns(run)
            for state in states
            for name, run in state.run.systems.items()
        }
        try:
            record_run(history, record, results=results, flips=flips, folder=folder.resolve())
            for name in eval_names:
                trends[name] = trend(history, name, until=str(record["run_id"]), limit=TREND_RUNS)
        except (sqlite3.Error, ConfigError) as exc:
            failure = f"could not record the run in the history {history}: {exc}"
            history = None
    for name in eval_names:
        if not trends.get(name):
            trends[name] = _current_trend(record, name)
    index = folder / "index.html"
    atomic_write_text(index, render_report(ReportData(record, flips, trends, _shown(history))))
    summary_json = folder / "summary.json"
    files = {
        "html": index.name,
        "run_json": "run.json",
        "results": "results.parquet",
        "summary_md": "summary.md",
    }
    document = json_summary(record, flips=flips, history=history, files=files)
    atomic_write_text(summary_json, json.dumps(document, indent=1, default=str) + "\n")
    summary_md = folder / "summary.md"
    if summary_md.is_file():
        append_step_summary(summary_md.read_text(encoding="utf-8"))
    if failure is not None:
        raise ConfigError(
            failure,
            where=str(setting or "--brittle-history"),
            fix="pass another file with --brittle-history PATH, or --brittle-history off",
        )
    return [index, summary_json]


def _shown(history: Path | None) -> str | None:
    if history is None:
        return None
    try:
        return str(history.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(history)


def render_run(history: Path, ref: str, *, out: Path | None = None, last: int = TREND_RUNS) -> Path:
    """Write the HTML report of a run recorded in ``history`` (``brittle report``)."""
    stored = load_run(history, ref)
    run_id = stored.info.run_id
    trends = {
        ev["name"]: trend(history, ev["name"], until=run_id, limit=last)
        for ev in stored.record.get("evals", [])
    }
    if out is None:
        folder = Path(stored.info.folder) if stored.info.folder else None
        if folder is None or not folder.is_dir():
            folder = history.parent / run_id
        out = folder / "index.html"
    data = ReportData(stored.record, stored.flips, trends, _shown(history))
    atomic_write_text(out, render_report(data))
    return out


def gate_properties(metrics: Mapping[str, Any], gate: Gate | None) -> list[tuple[str, Any]]:
    """JUnit ``<property>`` entries for a gate item: the metrics of its system (and family)."""
    props: list[tuple[str, Any]] = []
    scopes: list[tuple[str, Mapping[str, Any]]] = [("", metrics.get("overall", {}))]
    if gate is not None and gate.family:
        props.append(("brittle_family", gate.family))
        scopes.append((f"[{gate.family}]", metrics.get("families", {}).get(gate.family, {})))
    for suffix, block in scopes:
        for name in (*HEADLINE_COLUMNS, "errors"):
            value = block.get(name)
            if value is not None:
                props.append((f"brittle_{name}{suffix}", value))
            found = reported_interval(block, name)
            if found is not None:
                props.append((f"brittle_{name}{suffix}_ci", f"[{found[0]:.4f}, {found[1]:.4f}]"))
    return props


__all__ = [
    "SUMMARY_SCHEMA_VERSION",
    "append_step_summary",
    "flip_sets",
    "gate_properties",
    "history_path",
    "history_setting",
    "json_summary",
    "publish_run",
    "render_run",
]
