"""The ``brittle`` command line: run an eval outside pytest, fine-tune the demo adapter."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    from brittle.evalspec import load_eval_file
    from brittle.session import BrittleSession, Options

    session = BrittleSession(
        Options(
            update_baseline=args.update_baseline,
            report_dir=None if args.no_report else Path(args.report_dir or "reports"),
            concurrency=args.concurrency,
        )
    )
    spec = load_eval_file(Path(args.eval_file))
    failed = False
    for system in spec.systems:
        if args.system and system.name not in args.system:
            continue
        gates = spec.gates or [None]
        for gate in gates:
            if gate is not None and gate.relative and args.update_baseline:
                session.run_system(spec, system.name)
                continue
            verdict = session.check_gate(spec, system.name, gate)
            if verdict.passed is False:
                failed = True
    session.finish()
    for line in session.summary_lines():
        print(line)
    for state in session.evals.values():
        for (system_name, gate_name), verdict in state.verdicts.items():
            if verdict.passed is False:
                print(f"\nFAILED {spec.name}::{system_name}::{gate_name}\n{verdict.message}")
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
    return parser


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
        print(f"brittle: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
