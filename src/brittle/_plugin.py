"""The pytest plugin: collects ``*.eval.yaml`` files and ``@brittle.evaluation`` functions.

Each gate of each system becomes its own test item
(``evals/x.eval.yaml::zero-shot::accuracy>=0.8``), so CI shows exactly which gate of which
system failed. A system runs once, when its first gate item runs; reports and baseline updates
are written once, at the end of the session.

pytest loads this module in every run of an environment where brittle is installed, evals or
not, so it imports nothing heavy and changes no environment variable at import: the eval
definitions, the run and the reports are imported inside the hooks, once an eval is collected
(:func:`_brittle_run`), and the libraries' environment defaults are set then too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from brittle._errors import AuthenticationFailed, BrittleError, ConfigError
from brittle.options import LIMIT_WITH_UPDATE, OPTIONS, SHARD_ALONE, Options, argparse_kwargs
from brittle.sanitize import for_terminal

if TYPE_CHECKING:
    from brittle.run.session import BrittleSession
    from brittle.spec.eval import EvalSpec
    from brittle.stats.gates import Gate

EVAL_SUFFIXES = (".eval.yaml", ".eval.yml")

#: what the libraries brittle runs need in a test run, unless the user set them: litellm reads
#: its price list from the package, deepeval sends no telemetry, the Hugging Face libraries
#: print no download bars and warn about no forked tokenizers; torch's OpenMP threads sleep
#: instead of spinning while they wait (set before torch loads; see brittle.local.settings)
LIBRARY_DEFAULTS = (
    ("LITELLM_LOCAL_MODEL_COST_MAP", "True"),
    ("DEEPEVAL_TELEMETRY_OPT_OUT", "YES"),
    ("HF_HUB_DISABLE_PROGRESS_BARS", "1"),
    ("TOKENIZERS_PARALLELISM", "false"),
    ("OMP_WAIT_POLICY", "PASSIVE"),
)

#: whether stderr is a terminal, read at import: before pytest's capture redirects it
_STDERR_TTY = bool(sys.__stderr__ is not None and sys.__stderr__.isatty())


@dataclass
class _BrittleRun:
    """What the plugin keeps for one pytest run (in ``config.stash``): the options read at
    configure, and the brittle session, made when the first eval is collected."""

    options: Options
    started: float
    session: BrittleSession | None = None
    #: a failure writing the reports or baselines, shown in the terminal summary
    finish_error: str | None = None
    #: why the run's outputs cannot be kept (:func:`brittle.report.startup.check_outputs`):
    #: raised for every eval collected, so none runs
    start_error: BrittleError | None = None


RUN_KEY = pytest.StashKey[_BrittleRun]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("brittle", "brittle: LLM evals, brittleness suites and gates")
    for option in OPTIONS:
        kwargs = argparse_kwargs(option)
        group.addoption(f"--brittle-{option.flag}", dest=f"brittle_{option.dest}", **kwargs)
    parser.addini("brittle_report_dir", "default folder for brittle run reports", default="reports")
    parser.addini("brittle_cache", "default response cache mode (rw, replay, record, off)")
    parser.addini("brittle_cache_dir", "default folder of the response cache (.brittle)")


def _distributing(config: pytest.Config) -> bool:
    """True in the controller of a pytest-xdist run that spreads tests over workers."""
    return not hasattr(config, "workerinput") and getattr(config.option, "dist", "no") != "no"


def pytest_configure(config: pytest.Config) -> None:
    from brittle.report.history import history_setting

    if _distributing(config):  # the workers run shards; one of them writes the reports
        config.pluginmanager.register(_XdistController(), "brittle-xdist-controller")
    report_dir: str | None = config.getoption("brittle_report_dir") or config.getini(
        "brittle_report_dir"
    )
    if config.getoption("brittle_no_report"):
        report_dir = None
    root = Path(str(config.rootpath))
    options = Options(
        update_baseline=bool(config.getoption("brittle_update_baseline")),
        force_baseline=config.getoption("brittle_update_baseline") == "force",
        report_dir=(root / report_dir) if report_dir else None,
        concurrency=config.getoption("brittle_concurrency"),
        history=history_setting(config.getoption("brittle_history"), root),
        correct_across_evals=bool(config.getoption("brittle_correct_across_evals")),
        recordings=config.getoption("brittle_recordings") is not False,
        limit=config.getoption("brittle_limit"),
        shard=config.getoption("brittle_shard"),
    )
    if options.shard is not None and (options.update_baseline or options.limit is not None):
        raise pytest.UsageError(f"brittle: --brittle-shard {options.shard}: {SHARD_ALONE}")
    if options.limit is not None and options.update_baseline:
        raise pytest.UsageError(
            f"brittle: --brittle-limit {options.limit} with --brittle-update-baseline: "
            + LIMIT_WITH_UPDATE
        )
    _configure_cache(config, options, root)
    config.stash[RUN_KEY] = _BrittleRun(options, started=time.time())
    if _shard_worker(config):  # an xdist worker: runs its shards before its first item
        config.pluginmanager.register(_XdistWorker(), "brittle-xdist-worker")


def _configure_cache(config: pytest.Config, options: Options, root: Path) -> None:
    """Response cache mode and file, progress display: option, environment, ini, default."""
    from brittle.gateway.cache import resolve_mode, resolve_path
    from brittle.run import progress

    try:
        mode = resolve_mode(config.getoption("brittle_cache"), ini=config.getini("brittle_cache"))
    except ConfigError as exc:
        raise pytest.UsageError(f"brittle: {exc}") from None
    options.cache = mode.value
    options.cache_path = resolve_path(
        config.getoption("brittle_cache_dir"), root=root, ini=config.getini("brittle_cache_dir")
    )
    tty = _STDERR_TTY and not hasattr(config, "workerinput")
    options.progress = progress.enabled(tty=tty)


def _progress_writer(config: pytest.Config) -> Callable[[str], None]:
    """Write progress to the real stderr, around pytest's output capture."""
    capman = config.pluginmanager.getplugin("capturemanager")

    def write(text: str) -> None:
        if capman is None:
            sys.stderr.write(text)
            sys.stderr.flush()
            return
        with capman.global_and_fixture_disabled():
            sys.stderr.write(text)
            sys.stderr.flush()

    return write


def _session(config: pytest.Config) -> BrittleSession:
    """The brittle session of this pytest run, made when the first eval is collected."""
    run = config.stash[RUN_KEY]
    if run.start_error is not None:
        raise run.start_error
    if run.session is None:
        for name, value in LIBRARY_DEFAULTS:
            os.environ.setdefault(name, value)
        from brittle.report.startup import check_outputs
        from brittle.run.session import BrittleSession

        worker = _worker(config)
        if worker is not None:  # its systems' runs are the shards of all workers, merged
            from brittle.run.xdist import ShardedSession

            started = float(config.workerinput.get(_STARTED_KEY, run.started))  # type: ignore[attr-defined]
            session: BrittleSession = ShardedSession(worker, run.options, started=started)
        else:
            session = BrittleSession(run.options, started=run.started)
        try:  # before any model call: reports, history and cache can be kept
            check_outputs(session)
        except BrittleError as exc:
            run.start_error = exc
            raise
        workerinput = getattr(config, "workerinput", None)
        if workerinput is not None:  # xdist: one run id for all workers of this test run
            run_id = workerinput.get(_RUN_ID_KEY) or workerinput.get("testrunuid")
            session.run_id = str(run_id or session.run_id)
        else:
            session.progress_write = _progress_writer(config)
        run.session = session
    return run.session


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.name.endswith(EVAL_SUFFIXES):
        return EvalFile.from_parent(parent, path=file_path)
    return None


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: Any) -> Any:
    if getattr(obj, "__brittle_eval__", False) and callable(obj):
        return PythonEval.from_parent(collector, name=name, function=obj)
    return None


class BrittleConfigFailure(Exception):
    """Wraps a BrittleError raised at collection, to print it without a traceback."""


def _system_collectors(parent: pytest.Collector, spec: EvalSpec) -> Iterator[pytest.Collector]:
    for system in spec.systems:
        yield EvalSystem.from_parent(parent, name=system.name, spec=spec)


def _brittle_failure(excinfo: pytest.ExceptionInfo[BaseException]) -> str | None:
    """brittle's own errors are printed as their message (file, key, fix), not a traceback."""
    if isinstance(excinfo.value, BrittleError):
        return f"brittle: {excinfo.value}"
    return None


class EvalFile(pytest.File):
    """A ``*.eval.yaml`` file."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        return _brittle_failure(excinfo) or super().repr_failure(excinfo)

    def collect(self) -> Iterator[pytest.Collector]:
        session = _session(self.config)
        from brittle.spec.eval import load_eval_file

        spec = load_eval_file(self.path)
        session.state(spec)  # collected: in the Holm family of --brittle-correct-across-evals
        yield from _system_collectors(self, spec)


class PythonEval(pytest.Collector):
    """A test function marked with ``@brittle.evaluation`` that returns a ``brittle.Eval``."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        return _brittle_failure(excinfo) or super().repr_failure(excinfo)

    def __init__(self, *, function: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.function = function

    def collect(self) -> Iterator[pytest.Collector]:
        session = _session(self.config)
        from brittle.spec.eval import build_spec

        definition = self.function()
        if definition.name is None:
            definition.name = self.name.removeprefix("test_")
        spec = build_spec(definition, source=Path(str(self.path)))
        session.state(spec)  # collected: in the Holm family of --brittle-correct-across-evals
        yield from _system_collectors(self, spec)


class EvalSystem(pytest.Collector):
    """One system of an eval: its gates are the items."""

    def __init__(self, *, spec: EvalSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec

    def collect(self) -> Iterator[pytest.Item]:
        from brittle.run.verdicts import gates_of

        for gate in gates_of(self.spec):
            name = gate.item_name if gate is not None else "run"
            yield GateItem.from_parent(self, name=name, spec=self.spec, gate=gate)


class GateFailed(Exception):
    pass


class InconclusiveGate(UserWarning):
    """A relative gate whose estimate is beyond its allowance without the evidence to show it:
    a warning, not a failure (unless the eval says ``inconclusive: fail``)."""


class GateItem(pytest.Item):
    """One gate of one system; ``gate=None`` checks only the error budget."""

    def __init__(self, *, spec: EvalSpec, gate: Gate | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.gate = gate
        assert self.parent is not None
        self.system_name = self.parent.name

    def runtest(self) -> None:
        from brittle.gateway.transport import filter_library_warnings
        from brittle.report.ci import gate_properties
        from brittle.run.verdicts import NOT_CHECKED, check, updating_baseline

        filter_library_warnings()  # pytest restores the filters after each test
        self.user_properties.append(("brittle_eval", self.spec.name))
        session = _session(self.config)
        try:
            verdict = check(session, self.spec, self.system_name, self.gate)
        except AuthenticationFailed:
            if not updating_baseline(session, self.gate):  # a gate that was to be checked
                self.session.shouldstop = "brittle: authentication failed; see the first failure"
            raise
        if verdict is None:
            pytest.skip(NOT_CHECKED)
        for key, value in (("now", verdict.now), ("baseline", verdict.baseline)):
            if value is not None:
                self.user_properties.append((f"brittle_{key}", value))
        run = session.state(self.spec).run.systems.get(self.system_name)
        if run is not None:  # the gate's metrics as JUnit <property> entries
            self.user_properties += gate_properties(run.metrics, self.gate, verdict)
        if session.options.shard is not None:  # a shard decides no gate: brittle merge does
            from brittle.run.shards import shard_note

            pytest.skip(shard_note(session.options.shard, verdict))
        if verdict.passed is None:
            pytest.skip(verdict.message)
        if verdict.status == "inconclusive":
            gate = self.gate.name if self.gate else "error budget"
            warnings.warn_explicit(  # shown at the eval file, not at this line
                for_terminal(
                    f"{self.spec.name} / {self.system_name}: gate '{gate}' is inconclusive "
                    f"(passed; 'inconclusive: fail' in the eval fails it)\n{verdict.message}"
                ),
                InconclusiveGate,
                filename=str(self.spec.source),
                lineno=1,
            )
        if not verdict.passed:
            gate = self.gate.name if self.gate else "error budget"
            raise GateFailed(
                f"{self.spec.name} / {self.system_name}: gate '{gate}' failed\n{verdict.message}"
            )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, GateFailed):
            return for_terminal(excinfo.value)  # model text: no escape sequences, no secrets
        if isinstance(excinfo.value, BrittleError):
            return for_terminal(f"brittle: {excinfo.value}")
        return super().repr_failure(excinfo)  # type: ignore[return-value]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        gate = self.gate.name if self.gate else "error budget"
        return self.path, None, f"{self.spec.name}::{self.system_name}::{gate}"


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    state = run.session if run is not None else None
    if state is not None:
        state.close_cache()  # xdist workers too: the cache file is complete once closed
    if run is None or state is None:
        return
    if hasattr(session.config, "workerinput"):  # xdist: the first worker writes for them all
        worker = getattr(state, "worker", None)  # None: a worker of another kind (no shards)
        if worker is None or not worker.writes_reports:
            return
        _decide_selected(session, state)
    try:
        state.finish()
        report_dir = state.options.report_dir
        if report_dir is not None and state.ran():
            from brittle.report.artifacts import write_reports

            state.written = write_reports(state, report_dir)
    except (BrittleError, OSError) as exc:
        run.finish_error = f"brittle: could not write reports or baselines: {exc}"
        if session.exitstatus == pytest.ExitCode.OK:  # the run's record is incomplete
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if state.baselines_refused and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED  # a refused baseline fails the run
    if hasattr(session.config, "workerinput"):  # the controller prints it and fails the run
        from brittle.report.terminal import summary_lines

        session.config.workeroutput[_XDIST_OUTPUT] = {  # type: ignore[attr-defined]
            "lines": summary_lines(state),
            "error": run.finish_error,
            "failed": bool(run.finish_error or state.baselines_refused),
        }


#: what the reporting worker hands the controller (``workeroutput``): summary lines, failure
_XDIST_OUTPUT = "brittle"


def _shard_worker(config: pytest.Config) -> bool:
    """True in an xdist worker of a controller with brittle's plugin: it runs shards."""
    return _SHARDS_KEY in getattr(config, "workerinput", {})


def _worker(config: pytest.Config) -> Any:
    """This worker's :class:`brittle.run.xdist.Worker`, or None outside an xdist worker."""
    if not _shard_worker(config):
        return None
    from brittle.run.xdist import Worker  # pandas and the engine: only once evals run

    return Worker.from_workerinput(config.workerinput)  # type: ignore[attr-defined]


#: the controller's run id and start, which the workers' sessions take (one report folder name)
_RUN_ID_KEY, _STARTED_KEY = "brittle_run_id", "brittle_started"
#: :data:`brittle.run.xdist.SHARDS_KEY`, without importing the engine at every worker's start
#: (tests/unit/run/test_xdist.py holds them equal)
_SHARDS_KEY = "brittle_shards"


def _decide_selected(session: pytest.Session, state: BrittleSession) -> None:
    """The reporting worker decides every selected gate, including those other workers ran:
    the report holds them all, decided on the same merged shards (so with the same verdicts),
    in the order a single process decides them (the items' order)."""
    from brittle.run.verdicts import check

    order: dict[int, list[tuple[str, str]]] = {}
    for item in session.items:
        if not isinstance(item, GateItem):
            continue
        key = (item.system_name, item.gate.name if item.gate else "run")
        order.setdefault(id(state.state(item.spec)), []).append(key)
        if key not in state.state(item.spec).verdicts:
            with contextlib.suppress(BrittleError):  # its item failed with it, wherever it ran
                check(state, item.spec, item.system_name, item.gate)
    for evaluation in state.evals.values():
        decided, keys = evaluation.verdicts, order.get(id(evaluation), [])
        evaluation.verdicts = {k: decided[k] for k in [*keys, *decided] if k in decided}


class _XdistWorker:
    """In an xdist worker: before the first item, run this worker's shard of every eval that
    has a selected gate (:mod:`brittle.run.xdist`)."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        run = session.config.stash.get(RUN_KEY, None)
        worker = getattr(run.session, "worker", None) if run is not None else None
        if run is not None and worker is not None and not session.config.option.collectonly:
            from brittle.run.xdist import run_shards

            specs = {id(i.spec): i.spec for i in session.items if isinstance(i, GateItem)}
            run_shards(worker, run.options, list(specs.values()), run.session.run_id)  # type: ignore[union-attr]
        return (yield)


class _XdistController:
    """In an xdist controller: names the folder of the run's shards for the workers, prints
    what the reporting worker wrote, fails the run when it could not, removes the shards."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.output: dict[str, Any] | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        from brittle.run.xdist import SHARDS_KEY, shards_root

        uid = str(node.workerinput["testrunuid"])
        self.root = shards_root(uid)
        node.workerinput[SHARDS_KEY] = str(self.root)
        run = node.config.stash.get(RUN_KEY, None)
        if run is not None:  # the run id a single process would have, the same on every worker
            stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(run.started))
            node.workerinput[_RUN_ID_KEY] = f"{stamp}-{uid[:4]}"
            node.workerinput[_STARTED_KEY] = run.started

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {}).get(_XDIST_OUTPUT)
        if output is not None:
            self.output = output

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
        if self.output and self.output["failed"] and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.output or not (self.output["lines"] or self.output["error"]):
            return
        terminalreporter.write_sep("=", "brittle summary")
        for line in self.output["lines"]:
            terminalreporter.write_line(line)
        if self.output["error"]:
            terminalreporter.write_line(self.output["error"], red=True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    run = terminalreporter.config.stash.get(RUN_KEY, None)
    if run is None or run.session is None:
        return
    from brittle.report.terminal import summary_lines

    lines = summary_lines(run.session)
    error = run.finish_error
    if not lines and not error:
        return
    terminalreporter.write_sep("=", "brittle summary")
    for line in lines:
        terminalreporter.write_line(line)
    if error:
        terminalreporter.write_line(error, red=True)
