"""Per-run state shared by the pytest plugin and the command line.

A :class:`BrittleSession` runs each (eval, system) at most once, lazily, when its first gate is
checked; reads baselines; records verdicts; and at the end writes the reports and flushes queued
baseline updates (once, and only for the evals and systems that ran).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import BaselineError
from brittle.baseline import Baseline, SystemBaseline, merge_update, read_baseline
from brittle.engine import EvalRun, Row, SystemRun, build_rows, run_system
from brittle.evalspec import EvalSpec
from brittle.gates import Gate, Verdict
from brittle.gateway import CallResult, Gateway
from brittle.metrics import Flip

MAX_CASES_IN_MESSAGE = 5


@dataclass
class Options:
    """Options common to ``pytest --brittle-*`` and ``brittle run``."""

    update_baseline: bool = False
    report_dir: Path | None = Path("reports")
    concurrency: int | None = None


@dataclass
class EvalState:
    spec: EvalSpec
    run: EvalRun
    rows: list[Row] | None = None
    baseline: Baseline | None = None
    baseline_loaded: bool = False
    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    gateway: Gateway | None = None


class BrittleSession:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.evals: dict[str, EvalState] = {}
        self.started = time.time()
        self.on_result: Callable[[CallResult], None] | None = None
        self.written: list[Path] = []
        self.baselines_written: list[Path] = []

    def state(self, spec: EvalSpec) -> EvalState:
        key = str(spec.source.resolve()) + "::" + spec.name
        if key not in self.evals:
            self.evals[key] = EvalState(spec=spec, run=EvalRun(spec=spec))
        return self.evals[key]

    def baseline(self, spec: EvalSpec) -> Baseline | None:
        """The eval's committed baseline (read once); raises BaselineError if unreadable."""
        state = self.state(spec)
        if not state.baseline_loaded:
            try:
                state.baseline = read_baseline(spec.baseline_path)
            except BaselineError:
                if not self.options.update_baseline:
                    raise
                state.baseline = None  # being replaced: the update is how the user repairs it
            state.baseline_loaded = True
        return state.baseline

    def run_system(self, spec: EvalSpec, system_name: str) -> SystemRun:
        """Run one system of an eval (once per session)."""
        state = self.state(spec)
        if system_name in state.run.systems:
            return state.run.systems[system_name]
        if state.rows is None:
            state.rows, state.run.noops, state.run.variants_per_family = build_rows(spec)
        if state.gateway is None:
            state.gateway = Gateway(concurrency=self.options.concurrency or spec.concurrency)
        system = spec.system(system_name)
        result = asyncio.run(
            run_system(spec, system, state.rows, state.gateway, on_result=self.on_result)
        )
        state.run.systems[system_name] = result
        return result

    def check_gate(self, spec: EvalSpec, system_name: str, gate: Gate | None) -> Verdict:
        """Run the system if needed and decide one gate (``None``: the error budget alone)."""
        state = self.state(spec)
        run = self.run_system(spec, system_name)
        baseline = self.baseline(spec)
        base_system = baseline.systems.get(system_name) if baseline else None
        effective = gate or Gate(metric="error_rate", op="max", value=1.0)
        verdict = effective.evaluate(
            run.metrics, base_system.metrics if base_system else None, spec.error_budget
        )
        if verdict.passed is False:
            verdict = _with_cases(verdict, run, base_system, effective)
        state.verdicts[(system_name, effective.name if gate else "run")] = verdict
        return verdict

    def finish(self) -> None:
        """Flush baseline updates and write the reports; call once at the end."""
        if self.options.update_baseline:
            self._flush_baselines()
        if self.options.report_dir is not None and any(s.run.systems for s in self.evals.values()):
            from brittle.report import write_reports

            self.written = write_reports(self, self.options.report_dir)

    def _flush_baselines(self) -> None:
        from brittle.report import run_meta

        meta = run_meta(self.started)
        for state in self.evals.values():
            if not state.run.systems:
                continue
            updates = {
                name: SystemBaseline(
                    fingerprint=run.fingerprint,
                    metrics=run.metrics,
                    outcomes=run.outcomes(),
                    spec=run.spec,
                )
                for name, run in state.run.systems.items()
            }
            merge_update(
                state.spec.baseline_path,
                state.spec.name,
                updates,
                {"source": state.spec.source.name, **meta},
            )
            self.baselines_written.append(state.spec.baseline_path)

    def summary_lines(self) -> list[str]:
        from brittle.report import summary_lines

        return summary_lines(self)


def newly_flipped(run: SystemRun, baseline: SystemBaseline | None) -> list[Flip]:
    """Flips of this run that were not flips in the baseline (all flips without a baseline)."""
    if baseline is None:
        return list(run.flips)
    out = []
    for flip in run.flips:
        before_variant = baseline.outcomes.get(flip.variant_id)
        before_original = baseline.outcomes.get(flip.case_id)
        if (
            before_variant is None
            or before_original is None
            or before_variant[0] == before_original[0]
        ):
            out.append(flip)
    return out


def _describe_flip(run: SystemRun, flip: Flip) -> str:
    def short(value: Any, limit: int = 90) -> str:
        text = " ".join(str(value).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

    verdict = "pass→FAIL" if flip.original_passed else "fail→pass"
    return (
        f"    {flip.variant_id} ({verdict}): input {short(run.text_of(flip.variant_id, 'input'))!r}"
        f" -> answer {short(flip.variant_answer, 40)!r} (original answer "
        f"{short(flip.original_answer, 40)!r})"
    )


def _with_cases(
    verdict: Verdict, run: SystemRun, baseline: SystemBaseline | None, gate: Gate
) -> Verdict:
    """Add the worst (newly) flipped cases of the gate's scope to a failing verdict."""
    flips = newly_flipped(run, baseline)
    if gate.family:
        flips = [f for f in flips if f.family == gate.family]
    if not flips or gate.metric == "error_rate":
        return verdict
    flips.sort(key=lambda f: (not f.original_passed, f.case_id))
    label = "newly flipped" if baseline is not None else "flipped"
    families = sorted({f.family for f in flips})
    lines = [
        f"  {len(flips)} {label} variant(s) (families: {', '.join(families)}); the worst:",
        *(_describe_flip(run, f) for f in flips[:MAX_CASES_IN_MESSAGE]),
    ]
    return Verdict(
        verdict.gate,
        verdict.passed,
        verdict.message + "\n" + "\n".join(lines),
        now=verdict.now,
        baseline=verdict.baseline,
        details={**verdict.details, "flips": [f.to_dict() for f in flips[:20]]},
    )
