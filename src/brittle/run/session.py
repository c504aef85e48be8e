"""Per-run state shared by the pytest plugin and the command line.

A :class:`BrittleSession` runs each (eval, system) at most once, lazily, when its first gate is
checked; reads baselines; records verdicts; and at the end writes the reports and flushes queued
baseline updates (once, and only for the evals and systems that ran).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import BaselineError, BrittleError, ReplayMissError
from brittle.gateway import CallResult, Gateway
from brittle.run.engine import EvalRun, Row, SystemRun, build_rows, run_system
from brittle.run.provenance import run_meta
from brittle.spec.eval import EvalSpec
from brittle.stats import inference as stats
from brittle.stats.baseline import (
    UPDATE_HINT,
    Baseline,
    SystemBaseline,
    merge_update,
    read_baseline,
)
from brittle.stats.gates import Gate, Verdict
from brittle.stats.metrics import Flip
from brittle.stats.paired import CaseChanges, Comparison, case_changes, compare, decide

MAX_CASES_IN_MESSAGE = 5


@dataclass
class Options:
    """Options common to ``pytest --brittle-*`` and ``brittle run``."""

    update_baseline: bool = False
    report_dir: Path | None = Path("reports")
    concurrency: int | None = None
    history: str | None = None  # run history file; None: <report_dir>/history.sqlite; "off"
    #: response cache mode (rw, replay, record, off); None: BRITTLE_CACHE, else rw
    cache: str | None = None
    #: the response cache file; None: cache.sqlite in BRITTLE_RESPONSE_CACHE_DIR or ./.brittle
    cache_path: Path | None = None
    #: show a progress line; None: only on an interactive terminal outside CI
    progress: bool | None = None


@dataclass
class EvalState:
    spec: EvalSpec
    run: EvalRun
    rows: list[Row] | None = None
    baseline: Baseline | None = None
    baseline_loaded: bool = False
    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    gateway: Gateway | None = None
    #: systems whose gates this run checks: the family of the Holm correction (empty: all)
    selected: set[str] = field(default_factory=set)
    #: relative verdicts, decided together for the whole family on the first relative gate
    relative: dict[tuple[str, str], Verdict] = field(default_factory=dict)


class BrittleSession:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.evals: dict[str, EvalState] = {}
        self.started = time.time()
        self.on_result: Callable[[CallResult], None] | None = None
        self.written: list[Path] = []
        self.baselines_written: list[Path] = []
        #: this run's id: the report folder's name, and the cache's tag for ``brittle cache export``
        self.run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.started)) + (
            f"-{secrets.token_hex(2)}"
        )
        #: where progress lines go (the plugin routes them around pytest's capture)
        self.progress_write: Callable[[str], None] | None = None
        #: the first authentication failure: the run makes no further calls
        self.fatal: BrittleError | None = None
        self._cache: Any = None

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
            state.rows, state.run.noops, state.run.variants_per_family = build_rows(
                spec, dropped=state.run.dropped
            )
        if self.fatal is not None:
            raise self.fatal
        if state.gateway is None:
            state.gateway = Gateway.for_spec(
                spec, concurrency=self.options.concurrency, cache=self.response_cache()
            )
        system = spec.system(system_name)
        on_result, progress = self._progress(spec, system_name, state.gateway)
        try:
            result = asyncio.run(
                run_system(
                    spec,
                    system,
                    state.rows,
                    state.gateway,
                    on_result=on_result,
                    on_start=progress.start if progress is not None else None,
                )
            )
        except BrittleError as exc:
            if state.gateway.fatal is not None:
                self.fatal = exc
            raise
        finally:
            if progress is not None:
                progress.close()
            if self._cache is not None:
                self._cache.flush()
        state.run.systems[system_name] = result
        return result

    def response_cache(self) -> Any:
        """The run's :class:`~brittle.gateway.cache.ResponseCache` (opened once), or None if off."""
        from brittle.gateway.cache import CacheMode, ResponseCache, resolve_mode, resolve_path

        if self._cache is None:
            mode = resolve_mode(self.options.cache)
            if mode is CacheMode.OFF:
                return None
            path = self.options.cache_path or resolve_path(root=Path.cwd())
            self._cache = ResponseCache(path, mode, run_id=self.run_id)
        return self._cache

    def close_cache(self) -> None:
        """Flush and close the response cache (its file is then complete without ``-wal``)."""
        if self._cache is not None:
            self._cache.close()

    def _progress(
        self, spec: EvalSpec, system_name: str, gateway: Gateway
    ) -> tuple[Callable[[CallResult], None] | None, Any]:
        from brittle.run import progress

        show = self.options.progress
        if show is None:
            show = progress.enabled()
        if not show:
            return self.on_result, None
        bar = progress.Progress(
            0, f"{spec.name} / {system_name}", gateway, write=self.progress_write
        )  # the total arrives with run_system's on_start
        outer = self.on_result

        def on_result(result: CallResult) -> None:
            bar.update(result)
            if outer is not None:
                outer(result)

        return on_result, bar

    def call_stats(self) -> dict[str, int]:
        """Model calls of this run, summed over evals: made, cached, retried, errored, missing."""
        totals = dict.fromkeys(
            ("calls", "cache_hits", "retries", "timeouts", "errors", "missing"), 0
        )
        for state in self.evals.values():
            if state.gateway is not None:
                for name in totals:
                    totals[name] += int(getattr(state.gateway, name, 0))
        return totals

    def select(self, spec: EvalSpec, system_name: str) -> None:
        """Declare that this run checks the gates of ``system_name`` (before checking any).

        The relative gates of the selected systems of an eval are one family for the Holm
        correction; without a selection, every system of the eval is in it.
        """
        self.state(spec).selected.add(system_name)

    def check_gate(self, spec: EvalSpec, system_name: str, gate: Gate | None) -> Verdict:
        """Run the system if needed and decide one gate (``None``: the error budget alone)."""
        state = self.state(spec)
        run = self.run_system(spec, system_name)
        if run.replay_missing:
            raise _replay_miss(spec, system_name, run.replay_missing)
        baseline = self.baseline(spec)
        base_system = baseline.systems.get(system_name) if baseline else None
        effective = gate or Gate(metric="error_rate", op="max", value=1.0)
        if gate is not None and gate.relative:
            verdict = self._relative_verdict(spec, system_name, gate)
        else:
            verdict = effective.evaluate(
                run.metrics, base_system.metrics if base_system else None, spec.error_budget
            )
        if verdict.passed is False:
            verdict = _with_cases(verdict, run, base_system, effective)
        state.verdicts[(system_name, effective.name if gate else "run")] = verdict
        return verdict

    def _relative_verdict(self, spec: EvalSpec, system_name: str, gate: Gate) -> Verdict:
        """A relative gate's verdict, decided with every relative gate of its family at once."""
        state = self.state(spec)
        key = (system_name, gate.name)
        if key not in state.relative:
            family = [
                s.name for s in spec.systems if not state.selected or s.name in state.selected
            ]
            if system_name not in family:
                family = [system_name]  # checked without being selected: a family of its own
            decided = {name for name, _ in state.relative}
            state.relative.update(
                self._decide_relative(spec, [n for n in family if n not in decided], system_name)
            )
        return state.relative[key]

    def _decide_relative(
        self, spec: EvalSpec, systems: list[str], asking: str
    ) -> dict[tuple[str, str], Verdict]:
        """Paired tests for the relative gates of ``systems``, Holm-corrected together.

        A system other than ``asking`` that cannot run is left out of the family: it fails
        when its own gates are checked.
        """
        baseline = self.baseline(spec)
        gates = [g for g in spec.gates if g.relative]
        verdicts: dict[tuple[str, str], Verdict] = {}
        testable: list[tuple[str, Gate, SystemRun, SystemBaseline]] = []
        for name in systems:
            try:
                run = self.run_system(spec, name)
            except BrittleError:
                if name == asking:
                    raise
                continue  # it fails on its own gates; the others are decided without it
            base = baseline.systems.get(name) if baseline else None
            for gate in gates:
                point = gate.evaluate(
                    run.metrics, base.metrics if base else None, spec.error_budget
                )
                if "delta" not in point.details or base is None:
                    verdicts[(name, gate.name)] = point  # skipped, or failed on errors
                elif not base.outcomes or run.outcome is None:
                    verdicts[(name, gate.name)] = _point_estimate(point)
                else:
                    testable.append((name, gate, run, base))
        compared: list[tuple[str, Comparison, CaseChanges]] = []
        for name, gate, run, base in testable:
            assert run.outcome is not None
            comparison = compare(
                gate, run.outcome, base.outcomes, alpha=spec.alpha, family_size=len(testable)
            )
            if comparison is None:
                verdicts[(name, gate.name)] = Verdict(
                    gate,
                    None,
                    f"{gate.metric} is undefined on the rows scored in both this run and the "
                    "baseline: skipped",
                )
                continue
            compared.append((name, comparison, case_changes(run.outcome, base.outcomes)))
        adjusted = stats.holm([c.p_value for _, c, _ in compared])
        for (name, comparison, changes), p_adjusted in zip(compared, adjusted, strict=True):
            verdicts[(name, comparison.gate.name)] = decide(
                comparison,
                p_adjusted,
                alpha=spec.alpha,
                family_size=len(compared),
                changes=changes,
            )
        return verdicts

    def finish(self) -> None:
        """Flush baseline updates and write the reports; call once at the end."""
        self.close_cache()
        if self.options.update_baseline:
            self._flush_baselines()
        if self.options.report_dir is not None and any(s.run.systems for s in self.evals.values()):
            from brittle.report.writer import write_reports

            self.written = write_reports(self, self.options.report_dir)

    def _flush_baselines(self) -> None:
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
                if not run.replay_missing  # incomplete: a replay that missed calls
            }
            if not updates:
                continue
            merge_update(
                state.spec.baseline_path,
                state.spec.name,
                updates,
                {"source": state.spec.source.name, **meta},
            )
            self.baselines_written.append(state.spec.baseline_path)

    def summary_lines(self) -> list[str]:
        from brittle.report.writer import summary_lines

        lines = summary_lines(self)
        calls = self.call_stats()
        if any(calls.values()):
            lines.append(
                f"model calls: {calls['calls']} made, {calls['cache_hits']} from the response "
                f"cache, {calls['retries']} retries ({calls['timeouts']} timeouts), "
                f"{calls['errors']} errors"
                + (f", {calls['missing']} missing in replay" if calls["missing"] else "")
            )
        return lines


def _replay_miss(spec: EvalSpec, system_name: str, missing: list[str]) -> ReplayMissError:
    shown = ", ".join(missing[:20])
    if len(missing) > 20:
        shown += f" and {len(missing) - 20} more"
    return ReplayMissError(
        f"replay mode: {len(missing)} call(s) of {spec.name} / {system_name} are not in the "
        f"response cache, so they were not made: {shown}\n  fix: record them where model "
        "calls are allowed (cache mode rw or record: --brittle-cache, brittle run --cache, or "
        "BRITTLE_CACHE) and share the cache (commit or download it, or 'brittle cache "
        "export/import')",
        missing,
    )


def changes_since_baseline(state: EvalState, system_name: str) -> CaseChanges | None:
    """Cases added or removed since the baseline (None without a baseline to compare with)."""
    run = state.run.systems.get(system_name)
    base = state.baseline.systems.get(system_name) if state.baseline else None
    if run is None or run.outcome is None or base is None or not base.outcomes:
        return None
    return case_changes(run.outcome, base.outcomes)


def _point_estimate(verdict: Verdict) -> Verdict:
    """A relative verdict on the plain delta: the baseline has no per-case outcomes to pair."""
    return Verdict(
        verdict.gate,
        verdict.passed,
        verdict.message + "\n  the baseline stores no per-case outcomes, so this compares the "
        f"plain values without a significance test; refresh it: {UPDATE_HINT}",
        now=verdict.now,
        baseline=verdict.baseline,
        details=verdict.details,
    )


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
