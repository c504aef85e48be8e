"""The terminal summary printed at the end of ``pytest`` and ``brittle run``: per eval and
system, the headline metrics with their intervals and changes since the baseline, then each
gate's verdict and what the run noticed (changed cases, fingerprints, underpowered gates).

It reads the live session rather than run.json, and strips escape sequences from every line,
because names and ids come from the user's files.
"""

from __future__ import annotations

from brittle._format import number
from brittle.report.decision import decision_lines, decision_record
from brittle.report.format_spread import format_line
from brittle.report.phrases import (
    adapter_line,
    cases_line,
    counts,
    delta,
    family_flips,
    family_repeats,
    few_cases,
    interval,
    power_line,
    repeats_line,
    template_line,
)
from brittle.report.probshift import prob_shift_text
from brittle.run.engine import SystemRun
from brittle.run.remarks import eval_notes
from brittle.run.session import BrittleSession, EvalState, changes_since_baseline
from brittle.sanitize import for_terminal


def _system_lines(state: EvalState, name: str, run: SystemRun, update: str | None) -> list[str]:
    """The lines of one system; ``update`` is the command that refreshes a baseline (None: this
    run refreshes it, so notes that say to are left out)."""
    m = run.metrics["overall"]
    base = state.baseline.systems.get(name) if state.baseline else None
    b = base.metrics["overall"] if base else {}
    lines = [
        f"  {name:<18} acc {number(m['accuracy'])}{interval(m, 'accuracy', sep=',')}"
        f"{delta(m['accuracy'], b.get('accuracy'))}"
        f"  var-acc {number(m['variant_accuracy'])}"
        f"  flip {number(m['flip_rate'])}{interval(m, 'flip_rate', sep=',')}"
        f"{delta(m['flip_rate'], b.get('flip_rate'))}"
        f"  agree {number(m['agreement'])}{prob_shift_text(m, b, sep=',')}  errors {m['errors']}"
        f"  ({len(run)} rows, {_timing(run)})"
    ]
    note = few_cases(m)
    if note:
        lines[0] += f"  {note}"
    for line in (repeats_line(run.metrics), family_repeats(run.metrics)):
        if line:
            lines.append(f"    {line}")
    changes = changes_since_baseline(state, name)
    if changes is not None and (changes.added or changes.removed):
        lines.append(f"    {cases_line(changes.to_dict())}")
    if changes is not None and update is not None:  # changed variants, or no fingerprints
        lines.extend(f"    {note}" for note in changes.notes(hint=update))
    if base and base.fingerprint != run.fingerprint:
        lines.append(
            f"    fingerprint changed since the baseline ({base.fingerprint} -> {run.fingerprint})"
        )
    fam = run.metrics["families"]
    if fam:
        lines.append(
            "    flip by family: " + ", ".join(f"{k} {family_flips(v)}" for k, v in fam.items())
        )
    errors = run.errors()
    if run.stopped:  # its endpoint failed its first call: one line with the cause and the fix
        lines.append(f"    {run.stopped}")
    elif errors:
        lines.append(
            f"    {len(errors)} call(s) errored, the first ({errors[0]['row_id']}): "
            f"{_one_line(errors[0]['error'])}"
        )
    spread = format_line(run.metrics.get("format_search"))  # search/formats.py
    if spread:
        lines.append(f"    {spread}")
    checked = adapter_line(run.metrics.get("adapter_check"))  # run/adapter_check.py
    if checked:
        lines.append(f"    {checked}")
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
    if not any(system == name for system, _ in state.verdicts) and any(
        system == name for system, _ in state.relative
    ):
        lines.append("    not selected: ran only to complete the Holm family of the relative gates")
    template = template_line(run.template_variants, run.template_noops, run.template_dropped)
    if template:
        lines.append(f"    {template}")
    return lines


def _timing(run: SystemRun) -> str:
    """A system's time, with the process's start-up it paid (model load, imports) apart."""
    if run.startup_s < 0.5:
        return f"{run.wall_s:.1f}s"
    return f"{run.wall_s - run.startup_s:.1f}s + {run.startup_s:.1f}s start-up: model load, imports"


def _one_line(text: object, limit: int = 300) -> str:
    """An error message on one line, shortened (its own line breaks shown as ``\\n``)."""
    shown = str(text).strip().replace("\n", "\\n")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def _eval_lines(state: EvalState, session: BrittleSession) -> list[str]:
    spec = state.spec
    families = sorted(state.run.variants_per_family)
    lines = [
        f"{spec.name}: {len(spec.cases)} cases"
        + (f" (of {state.cases_total}: smoke run)" if state.cases_total else "")
        + ", "
        f"{sum(state.run.variants_per_family.values())} variants"
        + (f" ({', '.join(families)})" if families else "")
    ]
    lines += [f"  note: {note}" for note in eval_notes(state)]  # budget; always wrong or alike
    if state.baseline is None and not session.options.update_baseline:
        lines.append(
            "  no baseline: relative gates have nothing to compare with (skipped, unless the "
            f"run measured nothing: then they fail); create one with {session.update_command}"
        )
    for name, run in state.run.systems.items():
        updating = session.options.update_baseline
        lines += _system_lines(state, name, run, None if updating else session.update_command)
    lines += [f"  {line}" for line in decision_lines(decision_record(state))]
    power = power_line(
        (gate, verdict.details.get("power")) for (_, gate), verdict in state.verdicts.items()
    )
    if power:
        lines.append(f"  {power}")
    if state.run.noops:
        lines.append(
            "  no-op perturbations (did not apply): "
            + ", ".join(f"{k} {v}" for k, v in sorted(state.run.noops.items()))
        )
    if state.run.dropped:
        lines.append(f"  dropped by the meaning filter: {counts(state.run.dropped, ' ')}")
    return lines


def summary_lines(session: BrittleSession) -> list[str]:
    """The terminal summary: per eval and system, headline metrics, deltas and gate verdicts;
    then the run's model calls (made, cached, retried, errored)."""
    lines: list[str] = []
    smoke = session.smoke_line()  # --brittle-limit: partial
    if smoke is not None and session.ran():
        lines.append(smoke)
    for state in session.evals.values():
        if state.run.systems:
            lines += _eval_lines(state, session)
    if session.written:
        lines.append(f"report: {session.written[0].parent}")
    for path in session.baselines_written:
        lines.append(f"baseline written: {session.baselines_shown.get(path, path)}")
    for path, count in session.recordings_written:
        lines.append(f"recordings written: {path} ({count} responses; commit them with it)")
    lines += session.baselines_forced
    lines += session.baselines_refused
    lines = [for_terminal(line) for line in lines]  # names and ids: no escape sequences
    calls = session.call_stats()
    if any(calls.values()):
        lines.append(
            f"model calls: {calls['calls']} made, {calls['cache_hits']} from the response "
            f"cache, {calls['retries']} retries ({calls['timeouts']} timeouts), "
            f"{calls['errors']} errors"
            + (f", {calls['missing']} missing in replay" if calls["missing"] else "")
        )
    gateways = {id(s.gateway): s.gateway for s in session.evals.values() if s.gateway is not None}
    for gateway in gateways.values():  # systems with several endpoints (gateway/replicas.py)
        replicas = getattr(gateway, "replicas", None)
        lines += [for_terminal(line) for line in (replicas.notes() if replicas else [])]
    return lines


__all__ = ["summary_lines"]
