"""Per-run state shared by the pytest plugin and the command line.

A :class:`BrittleSession` runs each (eval, system) at most once, lazily, when its first gate is
checked; reads baselines; keeps the verdicts that :mod:`brittle.run.verdicts` decides; and at the
end flushes queued baseline updates (once, and only for the evals and systems that ran). The
plugin and ``brittle run`` then write the reports (:mod:`brittle.report.artifacts`).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from brittle._errors import BaselineError, BrittleError
from brittle.gateway import CallResult, Gateway
from brittle.gateway.cache import CacheMode, ResponseCache, resolve_mode, resolve_path
from brittle.gateway.recordings import Recorder, read_recordings, replay_index, write_recordings
from brittle.options import Options
from brittle.redact import scrub
from brittle.run import progress
from brittle.run.adapter_check import run_checked
from brittle.run.engine import EvalRun, Row, SystemRun, build_rows
from brittle.run.fingerprints import suite_fingerprints
from brittle.run.provenance import run_meta
from brittle.run.shards import eval_hash, select_cases
from brittle.search.formats import add_format_search
from brittle.spec.eval import EvalSpec
from brittle.stats.baseline import (
    PYTEST_UPDATE,
    UPDATE_HINT,
    Baseline,
    SystemBaseline,
    describe_written,
    merge_update,
    read_baseline,
)
from brittle.stats.changes import HASH_COLUMN, CaseChanges, case_changes, same_text
from brittle.stats.gates import Verdict, baseline_refusal, scored_rows
from brittle.stats.results import Flip


@dataclass
class EvalState:
    spec: EvalSpec
    run: EvalRun
    rows: list[Row] | None = None
    baseline: Baseline | None = None
    baseline_loaded: bool = False
    verdicts: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    gateway: Gateway | None = None
    #: relative verdicts, decided together for the whole family on the first relative gate
    #: (every system with a baseline, selected or not: :mod:`brittle.run.verdicts`)
    relative: dict[tuple[str, str], Verdict] = field(default_factory=dict)
    #: whether the Holm family of this eval's relative gates has been decided
    family_decided: bool = False
    #: :func:`changes_since_baseline` per system, once its run and the baseline are known
    changes: dict[str, CaseChanges | None] = field(default_factory=dict)
    #: the responses each system's run used (cache key -> result), for the recordings an
    #: update writes (:mod:`brittle.gateway.recordings`)
    recorded: dict[str, dict[str, CallResult]] = field(default_factory=dict)
    #: a smoke run (``--brittle-limit``) that kept fewer cases: how many the golden set has
    cases_total: int | None = None
    #: a shard run (``--brittle-shard``): the eval's spec hash and its cases before sharding
    spec_hash: str | None = None
    shard_cases_total: int | None = None


class BrittleSession:
    def __init__(self, options: Options | None = None, *, started: float | None = None) -> None:
        self.options = options or Options()
        self.evals: dict[str, EvalState] = {}
        #: when the run began (the plugin's configure): the run id's time and the reports'
        self.started = time.time() if started is None else started
        self.on_result: Callable[[CallResult], None] | None = None
        self.written: list[Path] = []
        self.baselines_written: list[Path] = []
        #: each written baseline shown with its size and systems ("x.json (12.3 KB, 3 systems)")
        self.baselines_shown: dict[Path, str] = {}
        #: the recordings written beside them, with how many responses each holds
        self.recordings_written: list[tuple[Path, int]] = []
        #: why a system's baseline was not written (errors over the budget, nothing scored)
        self.baselines_refused: list[str] = []
        #: the systems whose baseline was written although refused (``=force``), and why
        self.baselines_forced: list[str] = []
        #: this run's id: the report folder's name, and the cache's tag for ``brittle cache export``
        self.run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(self.started)) + (
            f"-{secrets.token_hex(2)}"
        )
        #: where progress lines go (the plugin routes them around pytest's capture)
        self.progress_write: Callable[[str], None] | None = None
        #: the first authentication failure: the run makes no further calls
        self.fatal: BrittleError | None = None
        #: the command that writes this run's baselines, for hints (``brittle run`` sets its own)
        self.update_command = PYTEST_UPDATE
        self._cache: ResponseCache | None = None

    def state(self, spec: EvalSpec) -> EvalState:
        key = str(spec.source.resolve()) + "::" + spec.name
        if key not in self.evals:
            limit, total = self.options.limit, len(spec.cases)
            if limit is not None and total > limit:  # a smoke run (--brittle-limit)
                spec.cases = spec.cases[:limit]
            self.evals[key] = EvalState(spec=spec, run=EvalRun(spec=spec))
            if len(spec.cases) < total:
                self.evals[key].cases_total = total
            if self.options.shard is not None:  # only this shard's cases (run/shards.py)
                self.evals[key].spec_hash = eval_hash(spec, [case.id for case in spec.cases])
                self.evals[key].shard_cases_total = len(spec.cases)
                select_cases(spec, self.options.shard)
        return self.evals[key]

    def smoke_line(self) -> str | None:
        """What the terminal and summary.md say of a smoke run (``--brittle-limit N``)."""
        limit = self.options.limit
        if limit is None:
            return None
        return (
            f"smoke run (limit {limit}): only the first {limit} case(s) of each golden set, with "
            "their variants; partial results, no baseline written; relative gates compare these "
            "cases with the baseline's"
        )

    def baseline(self, spec: EvalSpec) -> Baseline | None:
        """The eval's committed baseline (read once); raises BaselineError if unreadable."""
        state = self.state(spec)
        if not state.baseline_loaded:
            try:
                baseline = read_baseline(spec.baseline_path)
                _same_eval(baseline, spec)  # another eval's file is never compared with
                state.baseline = baseline
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
        # an unreadable baseline (or another eval's) fails before any model call is spent
        self.baseline(spec)
        if state.gateway is None:
            recorder = self._recorder(spec)  # a damaged recordings file fails every system
            state.gateway = Gateway.for_spec(
                spec, concurrency=self.options.concurrency, cache=self.response_cache()
            )
            state.gateway.recordings = recorder
        system = spec.system(system_name)
        on_result, bar = self._progress(spec, system_name, state.gateway)
        try:
            result = asyncio.run(
                run_checked(  # run_system, then a fine-tune's adapter check (adapter_check.py)
                    spec,
                    system,
                    state.rows,
                    state.gateway,
                    on_result=on_result,
                    on_start=bar.start if bar is not None else None,
                )
            )
            if spec.format_search is not None:  # best and worst formats (search/formats.py)
                add_format_search(spec, system, result, state.gateway)
            # several endpoints: each replica's calls for this system (gateway/replicas.py)
            result.replicas = state.gateway.replicas.used_by(system.fingerprint())
        except BrittleError as exc:
            if state.gateway.fatal is not None:
                self.fatal = exc
            raise
        finally:
            if bar is not None:
                bar.close()
            if self._cache is not None:
                self._cache.flush()
            if state.gateway.recordings is not None:
                state.recorded[system_name] = state.gateway.recordings.take()
        state.run.systems[system_name] = result
        return result

    def _recorder(self, spec: EvalSpec) -> Recorder | None:
        """The recordings of an eval's gateway: replayed in replay mode, collected when
        baselines are updated; None when neither (or ``--brittle-recordings off``)."""
        if not self.options.recordings:
            return None
        replaying = resolve_mode(self.options.cache) is CacheMode.REPLAY
        if not replaying and not self.options.update_baseline:
            return None
        recorded = read_recordings(spec.recordings_path) if replaying else {}
        return Recorder(replay_index(recorded))

    def response_cache(self) -> ResponseCache | None:
        """The run's :class:`~brittle.gateway.cache.ResponseCache` (opened once), or None if off."""
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
    ) -> tuple[Callable[[CallResult], None] | None, progress.Progress | None]:
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

    def ran(self) -> bool:
        """Whether any system ran: a run worth a report."""
        return any(state.run.systems for state in self.evals.values())

    def finish(self) -> None:
        """Close the response cache and flush queued baseline updates; call once at the end.

        The reports are written by the caller (:func:`brittle.report.artifacts.write_reports`),
        which also reads :attr:`written` and :attr:`baselines_written`.
        """
        self.close_cache()
        if self.options.update_baseline and self.options.limit is None:  # a smoke run: never
            self._flush_baselines()

    def _flush_baselines(self) -> None:
        meta = run_meta(self.started)
        for state in self.evals.values():
            if not state.run.systems:
                continue
            suites = suite_fingerprints(state.spec)
            updates = {}
            for name, run in state.run.systems.items():
                if run.replay_missing:  # incomplete: a replay that missed calls
                    continue
                refused = self._refusal(state.spec, name, run)
                if refused is not None and not self.options.force_baseline:
                    continue
                updates[name] = SystemBaseline(
                    fingerprint=run.fingerprint,
                    metrics=run.metrics,
                    outcomes=run.outcomes(),
                    spec=run.spec,
                    suites=suites,
                    errors=int(run.metrics["overall"]["errors"]),
                    forced=refused,
                )
            if not updates:
                continue
            written = merge_update(
                state.spec.baseline_path,
                state.spec.name,
                updates,
                {"source": state.spec.source.name, **meta},
            )
            self.baselines_written.append(state.spec.baseline_path)
            self.baselines_shown[state.spec.baseline_path] = describe_written(
                state.spec.baseline_path, written
            )
            recorded = {name: state.recorded[name] for name in updates if name in state.recorded}
            if self.options.recordings and recorded:
                path = state.spec.recordings_path
                count = write_recordings(path, state.spec.name, recorded)
                self.recordings_written.append((path, count))

    def _refusal(self, spec: EvalSpec, name: str, run: SystemRun) -> str | None:
        """Why this system's run may not become its baseline (None: it may); the reason is
        kept in :attr:`baselines_refused` or, when forced, :attr:`baselines_forced`."""
        reason = baseline_refusal(run.metrics, spec.error_budget)
        if reason is None:
            return None
        errors = run.errors()
        first = f"; first error ({errors[0]['row_id']}): {one_line(errors[0]['error'])}"
        shown = f"{spec.name} / {name}: {reason}{first if errors else ''}"
        if self.options.force_baseline:
            self.baselines_forced.append(
                f"baseline written anyway (=force) for {shown}; its errors are recorded in it"
            )
        else:
            # a larger error budget cannot help a run that scored nothing
            budget = "" if scored_rows(run.metrics) <= 0 else "raise the eval's error_budget, or "
            self.baselines_refused.append(
                f"baseline NOT written for {shown}\n  fix: make the system answer (its errors "
                f"are in the report), or {budget}to keep this run as the baseline all the same: "
                f"{self.update_command}=force"
            )
        return reason


def one_line(text: object, limit: int = 300) -> str:
    """An error message for a summary line: secrets masked, on one line (its own line breaks
    shown as ``\\n``), shortened."""
    shown = scrub(str(text)).strip().replace("\n", "\\n")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def changes_since_baseline(state: EvalState, system_name: str) -> CaseChanges | None:
    """Cases added or removed and variants changed since the baseline, with the suites that
    changed (None without a baseline to compare with)."""
    if system_name in state.changes:  # the verdicts, terminal and run.json all ask
        return state.changes[system_name]
    run = state.run.systems.get(system_name)
    if run is None or not state.baseline_loaded:
        return None  # not known yet: asked again later
    base = state.baseline.systems.get(system_name) if state.baseline else None
    changes = None
    if base is not None and base.outcomes and run.outcome is not None:  # pandas: a baseline
        changes = case_changes(
            run.outcome,
            base.outcomes,
            suites=suite_fingerprints(state.spec),
            baseline_suites=base.suites,
        )
    state.changes[system_name] = changes
    return changes


def newly_flipped(run: SystemRun, baseline: SystemBaseline | None) -> list[Flip]:
    """Flips of this run that were not flips in the baseline (all flips without a baseline).

    A flip whose variant or original has another text than the baseline's row of that id is
    new: the baseline never saw it."""
    if baseline is None:
        return list(run.flips)
    hashes = run.columns.get(HASH_COLUMN)
    now = dict(zip(run.columns["row_id"], hashes, strict=True)) if hashes else {}
    out = []
    for flip in run.flips:
        before_variant = baseline.outcomes.get(flip.variant_id)
        before_original = baseline.outcomes.get(flip.case_id)
        if (
            before_variant is None
            or before_original is None
            or not same_text(now.get(flip.variant_id), before_variant)
            or not same_text(now.get(flip.case_id), before_original)
            or before_variant[0] == before_original[0]
        ):
            out.append(flip)
    return out


def _same_eval(baseline: Baseline | None, spec: EvalSpec) -> None:
    """A baseline records its eval: one of another eval (a copied or renamed file) would be
    compared with nothing (no system of the same name) or, worse, with another eval's numbers."""
    if baseline is None or baseline.eval_name == spec.name:
        return
    raise BaselineError(
        f"this baseline belongs to eval '{baseline.eval_name}', not to '{spec.name}'",
        where=spec.baseline_path,
        key="eval",
        fix=f"move it to __baselines__/{baseline.eval_name}.json if it is that eval's, or "
        f"write this eval's own: {UPDATE_HINT}",
    )
