"""``brittle run``: one eval file outside pytest, through the same gate loop as the plugin
(:mod:`brittle.run.verdicts`), with the same options (:mod:`brittle.options`).

The run, the eval definitions and the reports are imported when the command runs, so that
``brittle --help`` and the other commands stay quick.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from brittle._errors import BaselineError, ConfigError
from brittle._registry import suggest
from brittle.gateway.cache import resolve_mode, resolve_path
from brittle.options import DISPLACED, OPTIONS, SHARD_ALONE, Options, argparse_kwargs
from brittle.sanitize import for_terminal


def add_commands(sub: Any) -> None:
    """Register ``brittle run`` on the ``brittle`` parser's subparsers."""
    run = sub.add_parser(
        "run",
        help="run one eval file with the same engine as the pytest plugin",
        description="Run one *.eval.yaml file, print the summary, write the report; exit 1 if "
        "a gate fails or a baseline update is refused, 2 on bad input.",
    )
    # optional to argparse only: a path after a bare --update-baseline is taken for its value
    # and handed back (options.UpdateBaselineAction); _cmd_run says when it is missing
    run.add_argument("eval_file", nargs="?", help="path of an *.eval.yaml file")
    run.add_argument(
        "--system", action="append", help="run only this system (repeatable)", default=None
    )
    _add_shared_options(run)
    run.set_defaults(handler=_cmd_run)


def _add_shared_options(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        kwargs = argparse_kwargs(option, hand_back=False)
        parser.add_argument(f"--{option.flag}", dest=option.dest, **kwargs)


def _cmd_run(args: argparse.Namespace) -> int:
    from brittle.report.artifacts import write_reports
    from brittle.report.startup import check_outputs
    from brittle.report.terminal import summary_lines
    from brittle.run.session import BrittleSession
    from brittle.run.verdicts import check_systems
    from brittle.spec.eval import load_eval_file
    from brittle.stats.baseline import UPDATE_HINT, run_update

    displaced = getattr(args, DISPLACED, None) or []
    files = [f for f in (args.eval_file, *displaced) if f]
    if len(files) != 1:
        raise ConfigError(
            "brittle run takes one eval file" + (f", not {len(files)}" if files else ""),
            fix="write e.g. 'brittle run evals/sentiment.eval.yaml --update-baseline'",
        )
    args.eval_file = files[0]
    if Path(args.eval_file).suffix == ".py":  # an @brittle.evaluation test module
        raise ConfigError(
            "brittle run takes an *.eval.yaml file; Python evals (@brittle.evaluation) run "
            "with pytest",
            where=args.eval_file,
            fix=f"run 'pytest {args.eval_file}' (brittle run's options are its --brittle-* "
            "options), or write the eval as YAML for brittle run",
        )
    if args.limit is not None and args.update_baseline:
        raise ConfigError(
            f"--limit {args.limit} with --update-baseline: a smoke run on the first cases "
            "cannot write a baseline (it would hold only those cases)",
            fix="drop --limit to update the baseline, or --update-baseline to run a smoke run",
        )
    if args.shard is not None and (args.update_baseline or args.limit is not None):
        raise ConfigError(
            f"--shard {args.shard} with --update-baseline or --limit: " + SHARD_ALONE,
            fix="drop --update-baseline and --limit from the shard runs",
        )
    session = BrittleSession(
        Options(
            update_baseline=bool(args.update_baseline),
            force_baseline=args.update_baseline == "force",
            report_dir=None if args.no_report else Path(args.report_dir or "reports"),
            concurrency=args.concurrency,
            history=args.history,
            cache=_cache_mode(args.cache),
            cache_path=resolve_path(args.cache_dir, root=Path.cwd()),
            correct_across_evals=args.correct_across_evals,
            recordings=args.recordings is not False,
            limit=args.limit,
            shard=args.shard,
        )
    )
    session.update_command = run_update(args.eval_file)  # hints name this command, not pytest's
    missed: list[str] = []
    spec = load_eval_file(Path(args.eval_file))
    systems = _selected(spec.systems, args.system, where=args.eval_file)
    check_outputs(session)  # before any model call: reports, history and cache can be kept
    failed = False
    try:
        for checked in check_systems(session, spec, systems):
            if checked.missing is not None:  # this system's gates fail; the others still run
                missed.append(f"\nFAILED {spec.name}::{checked.system}\nbrittle: {checked.missing}")
                failed = True
            elif checked.verdict is not None and checked.verdict.passed is False:
                failed = True
    except BaselineError as exc:  # its fix names both commands: name this one
        raise BaselineError(
            exc.problem,
            where=exc.where,
            line=exc.line,
            key=exc.key,
            fix=(exc.fix or "").replace(UPDATE_HINT, session.update_command) or None,
        ) from None
    report_dir = session.options.report_dir
    try:
        session.finish()
        if report_dir is not None and session.ran():
            session.written = write_reports(session, report_dir)
    except OSError as exc:  # a disk that filled up, a folder removed mid-run
        raise ConfigError(
            f"could not write the reports or baselines ({exc.strerror or exc})",
            where=exc.filename or report_dir,
            fix="free the disk or choose another folder with --report-dir, then rerun (the "
            "response cache keeps the calls already made)",
        ) from None
    for line in summary_lines(session):
        print(line)
    for state in session.evals.values() if args.shard is None else ():  # a shard: no verdicts
        for (system_name, gate_name), verdict in state.verdicts.items():
            message = verdict.message.replace(UPDATE_HINT, session.update_command)
            if verdict.passed is False:
                print(for_terminal(f"\nFAILED {spec.name}::{system_name}::{gate_name}\n{message}"))
            elif verdict.status == "inconclusive":  # a pass, with a warning
                print(
                    for_terminal(
                        f"\nINCONCLUSIVE {spec.name}::{system_name}::{gate_name} (passed; "
                        f"'inconclusive: fail' in the eval fails it)\n{message}"
                    )
                )
    for message in missed:
        print(for_terminal(message))
    if args.shard is not None:  # a shard decides no gate (brittle merge does): errors only
        print(f"\nshard {args.shard}: gates are decided by `brittle merge` over all shards")
        return 1 if missed else 0
    return 1 if failed or session.baselines_refused else 0


def _cache_mode(value: str | None) -> str:
    """``--cache`` (else BRITTLE_CACHE), named as this command spells it when it is wrong."""
    try:
        return resolve_mode(value).value
    except ConfigError as exc:
        if value is None:
            raise
        raise ConfigError(exc.problem, where="--cache", fix=exc.fix) from None


def _selected(systems: Any, names: list[str] | None, *, where: str) -> list[str]:
    """The systems ``--system`` names (all without it); a name the eval lacks is an error."""
    known = [system.name for system in systems]
    for name in names or ():
        if name not in known:
            raise ConfigError(
                f"the eval has no system '{name}'",
                where=where,
                key="--system",
                fix=f"{suggest(name, known)}systems of this eval: {', '.join(known)}",
            )
    return [name for name in known if not names or name in names]


__all__ = ["add_commands"]
