"""pytest-xdist: each worker runs one shard of every eval, and every gate is decided on the
shards merged, so ``pytest -n 2`` gives the verdicts, report and baseline of ``pytest -n 0``.

pytest-xdist hands each worker some of the gate items, but a gate needs the whole eval: its
metrics, intervals and paired tests resample whole cases. So, before it runs its first item,
worker ``i`` of ``n`` runs shard ``i+1/n`` of every eval it collected (every worker collects
every item; :mod:`brittle.run.shards` cuts the cases, whole cases per shard) and leaves the
shard's rows in a folder that the controller names for the test run (:func:`shards_root`, passed
to the workers in ``workerinput``). A gate item then waits for the eval's other shards
(:meth:`ShardedSession.run_system`), merges them in the order a single process would have made
the rows, and measures them the one way a run does (:func:`brittle.run.engine.measure`): every
worker holds the same numbers, so each gate's verdict is the single process's.

No worker waits on an item of another: the shards run before any item, so a shard that never
arrives means a worker that stopped. A waiting item checks each missing shard's worker (alive,
giving signs of life) and fails with a clear error instead of hanging.

The first worker (``gw0``) writes the run's one report, history entry and, with
``--brittle-update-baseline``, the baselines and recordings, from its merged session at the end
(the controller collects no items, so it holds no eval definition to rebuild them from); the
controller prints what it wrote (:mod:`brittle._plugin`).
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import pickle
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from brittle._atomic import write_bytes, write_text
from brittle._errors import BrittleError, EvalRunError
from brittle.gateway import CallResult
from brittle.gateway.pricing import system_price
from brittle.gateway.replicas import merge_counters
from brittle.options import Options, Shard
from brittle.run.adapter_check import attach, merge_checks
from brittle.run.engine import RESULT_COLUMNS, SystemRun, measure
from brittle.run.judge_figures import merge_judge_metrics
from brittle.run.session import BrittleSession, EvalState
from brittle.search.formats import add_metric, merge_searches
from brittle.spec.eval import EvalSpec

#: the ``workerinput`` key naming the folder of this test run's shards
SHARDS_KEY = "brittle_shards"
#: how often a worker running its shards says it is alive, and how long a silent one may be
#: before the items waiting on it fail
HEARTBEAT_S = 2.0
SILENT_S = 120.0
#: how long an item waits for a worker that has not started its shards at all
START_S = 300.0
#: the call counters of a run (:meth:`BrittleSession.call_stats`), summed over the shards
CALL_COUNTERS = ("calls", "cache_hits", "retries", "timeouts", "errors", "missing")


def shards_root(testrunuid: str) -> Path:
    """The folder of one test run's shards: the controller names it, the workers fill it, the
    controller removes it at the end."""
    return Path(tempfile.gettempdir()) / f"brittle-xdist-{testrunuid}"


@dataclass(frozen=True)
class Worker:
    """This process's place among the workers: shard ``index + 1`` of ``count``."""

    root: Path
    index: int
    count: int
    name: str

    @classmethod
    def from_workerinput(cls, workerinput: Mapping[str, Any]) -> Worker | None:
        """The worker of an xdist ``workerinput`` (None without brittle's folder in it: a
        controller without brittle's plugin, or another distribution plugin)."""
        root = workerinput.get(SHARDS_KEY)
        name = str(workerinput.get("workerid", ""))
        if not root or not name.startswith("gw") or not name[2:].isdigit():
            return None
        return cls(Path(root), int(name[2:]), int(workerinput["workercount"]), name)

    @property
    def shard(self) -> Shard:
        return Shard(self.index + 1, self.count)

    @property
    def writes_reports(self) -> bool:
        """Whether this worker writes the run's report, history entry and baselines."""
        return self.index == 0


def eval_folder(root: Path, spec: EvalSpec) -> Path:
    """The shards of one eval (the same key as :meth:`BrittleSession.state`)."""
    key = str(spec.source.resolve()) + "::" + spec.name
    slug = "".join(c if c.isalnum() or c in "-_" else "_" for c in spec.name)[:40]
    return root / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _shard_file(folder: Path, k: int) -> Path:
    return folder / f"shard-{k}.pickle"


def _alive_file(root: Path, k: int) -> Path:
    return root / f"worker-{k}.alive"


# -- a worker's shards ----------------------------------------------------------------------


@dataclass
class SystemShard:
    """What one system's run on one shard left for the merge."""

    columns: dict[str, list[Any]]
    #: how many rows (times repeats) come before the template-level rows: the merge puts each
    #: part in the order a single process makes its rows
    input_rows: int
    run: SystemRun
    recorded: dict[str, CallResult]


@dataclass
class EvalShard:
    """One eval's shard: each system's run, or the error that stopped it."""

    k: int
    systems: dict[str, SystemShard] = field(default_factory=dict)
    errors: dict[str, BrittleError] = field(default_factory=dict)
    noops: dict[str, int] = field(default_factory=dict)
    variants_per_family: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


def run_shards(worker: Worker, options: Options, specs: Sequence[EvalSpec], run_id: str) -> None:
    """Run this worker's shard of every eval in ``specs``, every system, into the run's
    folder. A shard already there (a worker restarted after a crash) is not run again."""
    shard_options = replace(options, shard=worker.shard, report_dir=None, progress=False)
    session = BrittleSession(shard_options)
    session.run_id = run_id
    worker.root.mkdir(parents=True, exist_ok=True)
    with _alive(_alive_file(worker.root, worker.shard.k), worker.name):
        try:
            for spec in specs:
                path = _shard_file(eval_folder(worker.root, spec), worker.shard.k)
                if not path.exists():
                    write_bytes(path, pickle.dumps(_run_shard(session, spec, worker.shard)))
        finally:
            session.close_cache()


def _run_shard(session: BrittleSession, spec: EvalSpec, shard: Shard) -> EvalShard:
    shard_spec = copy.copy(spec)  # the shard's cases only; the collected spec keeps them all
    state = session.state(shard_spec)
    out = EvalShard(shard.k)
    for system in spec.systems:
        try:
            run = session.run_system(shard_spec, system.name)
        except BrittleError as exc:
            out.errors[system.name] = _portable(exc)
            continue
        except Exception as exc:  # not brittle's: the items show it, not a crashed worker
            out.errors[system.name] = EvalRunError(
                f"{spec.name} / {system.name}: shard {shard} failed: {exc!r}"
            )
            continue
        columns, run.columns = run.columns, {}
        run.outcome = None  # rebuilt from the merged rows
        inputs = len(state.rows or ()) * spec.repeats
        recorded = state.recorded.get(system.name, {})
        out.systems[system.name] = SystemShard(columns, inputs, run, recorded)
    out.noops, out.dropped = state.run.noops, state.run.dropped
    out.variants_per_family = state.run.variants_per_family
    if state.gateway is not None:
        out.calls = {name: int(getattr(state.gateway, name, 0)) for name in CALL_COUNTERS}
    return out


def _portable(exc: BrittleError) -> BrittleError:
    """The error as another process can read it back (the same message and kind)."""
    try:
        back = pickle.loads(pickle.dumps(exc))
    except Exception:
        return EvalRunError(str(exc))
    return back if str(back) == str(exc) else EvalRunError(str(exc))


@contextlib.contextmanager
def _alive(path: Path, name: str) -> Iterator[None]:
    """Say who runs the shards (process, host) and touch the file every few seconds until
    done: a waiting item tells a slow worker from a stopped one."""
    write_text(path, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "name": name}))
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(path)

    thread = threading.Thread(target=beat, name="brittle-xdist-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


# -- waiting and merging ----------------------------------------------------------------------


def wait_for_shards(
    worker: Worker, spec: EvalSpec, *, poll_s: float = 0.05, start_s: float = START_S
) -> list[EvalShard]:
    """Every shard of ``spec``, once all are there; raises :class:`EvalRunError` naming the
    worker when one stopped (its process gone, silent for :data:`SILENT_S`, or never started
    within ``start_s``)."""
    folder = eval_folder(worker.root, spec)
    began = time.monotonic()
    while True:
        missing = [k for k in range(1, worker.count + 1) if not _shard_file(folder, k).exists()]
        if not missing:
            break
        for k in missing:
            problem = _stopped(worker.root, k, waited=time.monotonic() - began, start_s=start_s)
            if problem is not None and not _shard_file(folder, k).exists():
                raise EvalRunError(
                    f"pytest-xdist: shard {k}/{worker.count} of eval '{spec.name}' never "
                    f"arrived: worker gw{k - 1} {problem}, so this gate cannot be decided on "
                    "the whole eval\n  fix: see that worker's error above (or run without -n "
                    "to see it in this process)"
                )
        time.sleep(poll_s)
    shards = []
    for k in range(1, worker.count + 1):
        shards.append(pickle.loads(_shard_file(folder, k).read_bytes()))
    return shards


def _stopped(root: Path, k: int, *, waited: float, start_s: float) -> str | None:
    """Why worker ``k``'s shards will never come (None: it may still be running them)."""
    path = _alive_file(root, k)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        silent = time.time() - path.stat().st_mtime
    except (OSError, ValueError):
        return f"did not start its shards in {start_s:.0f} s" if waited > start_s else None
    if info.get("host") == socket.gethostname() and not _running(int(info.get("pid", 0))):
        return f"(process {info.get('pid')}) stopped before it finished (crashed?)"
    if silent > SILENT_S:
        return f"gave no sign of life for {silent:.0f} s"
    return None


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def merge_system(spec: EvalSpec, parts: Sequence[SystemShard]) -> SystemRun:
    """One system's run rebuilt from its shards: the rows in the order a single process makes
    them (each case's input rows, case by case, then its template-level rows), measured the one
    way a run is (:func:`brittle.run.engine.measure`)."""
    position = {case.id: i for i, case in enumerate(spec.cases)}
    keys: list[tuple[int, int, int, int]] = []
    for s, part in enumerate(parts):
        for i, case_id in enumerate(part.columns["case_id"]):
            keys.append((int(i >= part.input_rows), position.get(case_id, -1), s, i))
    keys.sort()
    columns: dict[str, list[Any]] = {
        name: [parts[s].columns[name][i] for _, _, s, i in keys] for name in RESULT_COLUMNS
    }
    # a judge's excluded verdicts: scored rows without a verdict (neither error nor passed)
    passed, error = columns["passed"], columns["error"]
    left_out = [p is None and e is None for p, e in zip(passed, error, strict=True)]
    price = system_price(spec.system(parts[0].run.system))
    outcome, metrics, flips = measure(spec, columns, price, left_out=left_out)
    first = parts[0].run
    _carry_extras(metrics, [p.run.metrics for p in parts], spec, first.system)
    return replace(
        first,
        columns=columns,
        metrics=metrics,
        flips=flips,
        outcome=outcome,
        wall_s=max(p.run.wall_s for p in parts),
        startup_s=max(p.run.startup_s for p in parts),
        replay_missing=[row for p in parts for row in p.run.replay_missing],
        template_variants=_summed(p.run.template_variants for p in parts),
        template_noops=_summed(p.run.template_noops for p in parts),
        template_dropped=_summed(p.run.template_dropped for p in parts),
        stopped=next((p.run.stopped for p in parts if p.run.stopped), None),
        replicas=merge_counters([p.run.replicas for p in parts]),
    )


def _carry_extras(
    metrics: dict[str, Any], shards: Sequence[Mapping[str, Any]], spec: EvalSpec, name: str
) -> None:
    """What the shards measured beside their rows, as ``brittle merge`` carries it: the judge
    figures summed (:func:`brittle.run.judge_figures.merge_judge_metrics`), a fine-tune's adapter
    checks summed, and the format searches pooled format by format (each
    shard searched its own cases: :func:`brittle.search.formats.merge_searches`): without them
    a merged run's adapter_changed and format_spread gates fail as unmeasured."""
    merge_judge_metrics(metrics, [m.get("overall") for m in shards])  # judge figures: summed
    check = merge_checks(name, [m.get("adapter_check") for m in shards])
    if check is not None:
        attach(metrics, check)
    searches = [m["format_search"] for m in shards if isinstance(m.get("format_search"), Mapping)]
    if searches:
        search = metrics["format_search"] = merge_searches(searches, spec, spec.system(name))
        add_metric(metrics, search)


def _summed(counts: Iterator[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for count in counts:
        for name, value in count.items():
            out[name] = out.get(name, 0) + value
    return out


class ShardedSession(BrittleSession):
    """A worker's session: a system's run is its shards merged (waited for on first use),
    never a run of its own. Everything else (baselines, verdicts, reports) is a session's."""

    def __init__(self, worker: Worker, options: Options, *, started: float | None = None):
        super().__init__(options, started=started)
        self.worker = worker
        self._shards: dict[str, list[EvalShard]] = {}

    def shards(self, spec: EvalSpec) -> list[EvalShard]:
        """The eval's shards (waited for once); its per-family counts summed into its run."""
        key = str(spec.source.resolve()) + "::" + spec.name
        if key not in self._shards:
            shards = wait_for_shards(self.worker, spec)
            run = self.state(spec).run
            run.noops = _summed(iter(s.noops for s in shards))
            run.dropped = _summed(iter(s.dropped for s in shards))
            run.variants_per_family = _summed(iter(s.variants_per_family for s in shards))
            self._shards[key] = shards
        return self._shards[key]

    def run_system(self, spec: EvalSpec, system_name: str) -> SystemRun:
        state = self.state(spec)
        if system_name in state.run.systems:
            return state.run.systems[system_name]
        shards = self.shards(spec)
        for shard in shards:  # the first shard's error, as a single process would meet it
            if system_name in shard.errors:
                raise shard.errors[system_name]
        self.baseline(spec)  # an unreadable baseline fails here, as in a run
        parts = [shard.systems[system_name] for shard in shards]
        run = state.run.systems[system_name] = merge_system(spec, parts)
        state.recorded[system_name] = {k: v for p in parts for k, v in p.recorded.items()}
        return run

    def call_stats(self) -> dict[str, int]:
        totals = dict.fromkeys(CALL_COUNTERS, 0)
        for shards in self._shards.values():
            for shard in shards:
                for name in CALL_COUNTERS:
                    totals[name] += shard.calls.get(name, 0)
        return totals


def merged_evals(session: ShardedSession) -> list[EvalState]:
    """The evals whose shards this worker merged."""
    return [state for state in session.evals.values() if state.run.systems]


__all__ = [
    "SHARDS_KEY",
    "EvalShard",
    "ShardedSession",
    "SystemShard",
    "Worker",
    "eval_folder",
    "merge_system",
    "run_shards",
    "shards_root",
    "wait_for_shards",
]
