"""The ``brittle`` command line: run an eval outside pytest, fine-tune the demo adapter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from brittle._errors import BrittleError
from brittle.options import OPTIONS


def _add_shared_options(parser: argparse.ArgumentParser) -> None:
    for option in OPTIONS:
        kwargs: dict[str, object] = {
            "action": option.action,
            "help": option.help,
            "dest": option.dest,
        }
        if option.action == "store":
            kwargs.update(default=option.default, metavar=option.metavar)
            if option.type is not None:
                kwargs["type"] = option.type
        parser.add_argument(f"--{option.flag}", **kwargs)  # type: ignore[arg-type]


def _cmd_run(args: argparse.Namespace) -> int:
    from brittle._errors import ReplayMissError
    from brittle.gateway.cache import resolve_mode, resolve_path
    from brittle.run.session import BrittleSession, Options
    from brittle.sanitize import for_terminal
    from brittle.spec.eval import load_eval_file

    session = BrittleSession(
        Options(
            update_baseline=args.update_baseline,
            report_dir=None if args.no_report else Path(args.report_dir or "reports"),
            concurrency=args.concurrency,
            history=args.history,
            cache=resolve_mode(args.cache).value,
            cache_path=resolve_path(args.cache_dir, root=Path.cwd()),
        )
    )
    missed: list[str] = []
    spec = load_eval_file(Path(args.eval_file))
    failed = False
    for system in spec.systems:
        if args.system and system.name not in args.system:
            continue
        session.select(spec, system.name)
    for system in spec.systems:
        if args.system and system.name not in args.system:
            continue
        gates: list[Any] = [*spec.gates] or [None]
        for gate in gates:
            if gate is not None and gate.relative and args.update_baseline:
                session.run_system(spec, system.name)
                continue
            try:
                verdict = session.check_gate(spec, system.name, gate)
            except ReplayMissError as exc:  # this system's gates fail; the others still run
                missed.append(f"\nFAILED {spec.name}::{system.name}\nbrittle: {exc}")
                failed = True
                break
            if verdict.passed is False:
                failed = True
    session.finish()
    for line in session.summary_lines():
        print(line)
    for state in session.evals.values():
        for (system_name, gate_name), verdict in state.verdicts.items():
            if verdict.passed is False:
                print(
                    for_terminal(
                        f"\nFAILED {spec.name}::{system_name}::{gate_name}\n{verdict.message}"
                    )
                )
    for message in missed:
        print(for_terminal(message))
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brittle",
        description="Test LLM systems the way pytest tests code: golden checks, perturbation "
        "suites and baseline gates. Most users run `pytest evals/`; these commands do the same "
        "work outside pytest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run one eval file with the same engine as the pytest plugin",
        description="Run one *.eval.yaml file, print the summary, write the report; exit 1 if "
        "a gate fails, 2 on bad input.",
    )
    run.add_argument("eval_file", help="path of an *.eval.yaml file")
    run.add_argument(
        "--system", action="append", help="run only this system (repeatable)", default=None
    )
    _add_shared_options(run)
    run.set_defaults(handler=_cmd_run)

    power = sub.add_parser(
        "power",
        help="the smallest regression a relative gate detects, and the cases it needs",
        description="Power of a paired relative gate (normal approximation of McNemar's test, "
        "clustered by case; runs assumed independent given the case, which is conservative for "
        "deterministic systems). Prints the minimum detectable rise with the given power and, "
        "with --delta, the number of cases needed to detect that rise.",
    )
    power.add_argument("--cases", type=int, required=True, help="golden cases (paired)")
    power.add_argument(
        "--variants", type=float, default=1.0, help="paired units per case (default 1)"
    )
    power.add_argument(
        "--baseline-rate",
        type=float,
        required=True,
        help="the baseline rate of the bad event: flip rate, or 1 - accuracy",
    )
    power.add_argument("--delta", type=float, default=None, help="a rise to detect")
    power.add_argument("--alpha", type=float, default=0.05, help="significance level (0.05)")
    power.add_argument("--power", type=float, default=0.8, help="power (default 0.8)")
    power.add_argument(
        "--icc",
        type=float,
        default=0.0,
        help="intra-case correlation of the variants' outcomes, 0..1 (default 0: independent)",
    )
    power.add_argument(
        "--gates",
        type=int,
        default=1,
        help="relative gates in the eval's Holm family (alpha is divided by it; default 1)",
    )
    power.set_defaults(handler=_cmd_power)

    _add_cache_commands(sub)

    finetune = sub.add_parser(
        "finetune",
        help="LoRA-fine-tune the embedded SmolLM2 on a JSONL training set",
        description="Seeded, deterministic LoRA fine-tune of SmolLM2-135M-Instruct on the CPU "
        "(see fixtures/adapters/sentiment-lora/README.md). Arguments are passed to "
        "`python -m brittle.local.finetune`; run `brittle finetune --help` for them.",
        add_help=False,
    )
    finetune.add_argument("rest", nargs=argparse.REMAINDER)
    finetune.set_defaults(handler=_cmd_finetune)
    from brittle.cli.history import add_commands  # history, compare, report

    add_commands(sub)
    from brittle.cli.perturb import add_commands as add_perturb_commands  # paraphrase, search

    add_perturb_commands(sub)
    return parser


def _cmd_power(args: argparse.Namespace) -> int:
    from brittle.stats import inference as stats

    problems = [
        f"{name} must be {rule}"
        for name, bad, rule in (
            ("--cases", args.cases < 1, "at least 1"),
            ("--variants", args.variants < 1, "at least 1"),
            ("--baseline-rate", not 0 <= args.baseline_rate < 1, "in [0, 1)"),
            ("--delta", args.delta is not None and not 0 < args.delta <= 1, "in (0, 1]"),
            ("--alpha", not 0 < args.alpha < 1, "in (0, 1)"),
            ("--power", not 0 < args.power < 1, "in (0, 1)"),
            ("--icc", not 0 <= args.icc <= 1, "in [0, 1]"),
            ("--gates", args.gates < 1, "at least 1"),
        )
        if bad
    ]
    if problems:
        print("brittle power: " + "; ".join(problems), file=sys.stderr)
        return 2
    alpha = args.alpha / args.gates
    options = {"variants": args.variants, "icc": args.icc, "alpha": alpha, "power": args.power}
    units = args.cases * args.variants
    print(
        f"paired gate on {args.cases} cases x {args.variants:g} variants ({units:g} paired units), "
        f"baseline rate {args.baseline_rate:g}, alpha {alpha:.3g} (two-sided), power "
        f"{args.power:.0%}, intra-case correlation {args.icc:g} (design effect "
        f"{stats.design_effect(args.variants, args.icc):.3g})"
    )
    mde = stats.minimum_detectable_effect(args.cases, args.baseline_rate, **options)
    if mde is None:
        print("  smallest detectable rise: none (too few cases for any rise)")
    else:
        print(f"  smallest detectable rise: {mde:.4f} (to {args.baseline_rate + mde:.4f})")
    if args.delta is not None:
        needed = stats.cases_needed(args.delta, args.baseline_rate, **options)
        if needed is None:
            print(f"  a rise of {args.delta:g} is impossible from {args.baseline_rate:g}")
        else:
            print(
                f"  cases needed to detect a rise of {args.delta:g}: {needed}"
                + (f" (x {args.variants:g} variants)" if args.variants != 1 else "")
            )
    return 0


def _add_cache_commands(sub: Any) -> None:
    cache = sub.add_parser(
        "cache",
        help="export, import or inspect the response cache",
        description="The response cache (.brittle/cache.sqlite) keeps every successful model "
        "call. Export a run's entries to commit them or keep them as a CI artifact; import them "
        "where runs replay (--brittle-cache=replay).",
    )
    actions = cache.add_subparsers(dest="cache_command", required=True)
    export = actions.add_parser(
        "export",
        help="write the entries of a run or an eval to a JSON-lines file",
        description="SELECTOR is a run id (the report folder's name), 'latest', or an "
        "*.eval.yaml file (the entries its current cases, variants and systems need).",
    )
    export.add_argument("selector", metavar="RUN_ID|latest|EVAL_FILE")
    export.add_argument("--out", required=True, help="the JSON-lines file to write")
    export.add_argument(
        "--system", action="append", default=None, help="eval selector: only this system"
    )
    export.set_defaults(handler=_cmd_cache_export)
    load = actions.add_parser("import", help="load an export into the cache (newer entries win)")
    load.add_argument("file", help="a file written by 'brittle cache export'")
    load.set_defaults(handler=_cmd_cache_import)
    info = actions.add_parser("info", help="where the cache is, its size, and an integrity check")
    info.set_defaults(handler=_cmd_cache_info)
    for parser in (export, load, info):
        parser.add_argument(
            "--cache-dir",
            default=None,
            metavar="DIR",
            help="folder of cache.sqlite (default: .brittle; env BRITTLE_RESPONSE_CACHE_DIR)",
        )


def _open_cache(args: argparse.Namespace) -> Any:
    from brittle.gateway.cache import ResponseCache, resolve_path

    return ResponseCache(resolve_path(args.cache_dir, root=Path.cwd()))


def _cmd_cache_export(args: argparse.Namespace) -> int:
    from brittle._errors import CacheError
    from brittle.run.cache_keys import eval_keys

    cache = _open_cache(args)
    selector = str(args.selector)
    if selector.endswith((".yaml", ".yml")) or Path(selector).is_file():
        from brittle.spec.eval import load_eval_file

        keys, unknown = eval_keys(load_eval_file(Path(selector)), args.system)
        for name in unknown:
            print(f"brittle: system '{name}' is a custom System: its calls cannot be predicted")
        source = f"eval {selector}"
    else:
        run_id = cache.latest_run() if selector == "latest" else selector
        keys = cache.run_keys(run_id) if run_id else []
        if not keys:
            raise CacheError(
                f"no run '{selector}' in the response cache",
                where=cache.path,
                fix="give a run id from reports/ (the run's folder name), 'latest', or an "
                "*.eval.yaml file",
            )
        source = f"run {run_id}"
    count = cache.export(Path(args.out), keys, source=source)
    wanted = len(set(keys))
    print(f"exported {count} response(s) of {source} to {args.out}")
    if count < wanted:
        print(f"  {wanted - count} call(s) of it are not in the cache (not recorded yet)")
    cache.close()
    return 0


def _cmd_cache_import(args: argparse.Namespace) -> int:
    cache = _open_cache(args)
    loaded, kept = cache.import_file(Path(args.file))
    print(f"imported {loaded} response(s) into {cache.path} ({kept} already there and newer)")
    cache.close()
    return 0


def _cmd_cache_info(args: argparse.Namespace) -> int:
    cache = _open_cache(args)
    print(f"{cache.path}: {cache.count()} response(s); integrity: {cache.integrity()}")
    cache.close()
    return 0


def _cmd_finetune(args: argparse.Namespace) -> int:
    from brittle.local.finetune import main as finetune_main

    return finetune_main(list(args.rest))


def main(argv: list[str] | None = None) -> int:
    import os

    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BrittleError as exc:
        from brittle.sanitize import for_terminal

        print(for_terminal(f"brittle: {exc}"), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
