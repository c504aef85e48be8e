"""The ``brittle`` command line: run an eval outside pytest, fine-tune the demo adapter.

One module per command group, each with ``add_commands(sub)``: :mod:`.init` (``init``),
:mod:`.run` (``run``), :mod:`.merge` (``merge``),
:mod:`.power`, :mod:`.cache`, :mod:`.finetune`, :mod:`.history` (``history``, ``compare``,
``report``), :mod:`.perturb` (``paraphrase``, ``search``, ``promote``), :mod:`.formats`
(``freeze-formats``) and :mod:`.suites`.
Each imports what is heavy only when its command runs, so ``brittle --help`` stays quick.
"""

from __future__ import annotations

import argparse
import os
import sys

from brittle._errors import BrittleError
from brittle.cli import (
    cache,
    finetune,
    formats,
    history,
    init,
    merge,
    perturb,
    power,
    run,
    suites,
)
from brittle.sanitize import for_terminal


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brittle",
        description="Test LLM systems the way pytest tests code: golden checks, perturbation "
        "suites and baseline gates. Most users run `pytest evals/`; these commands do the same "
        "work outside pytest.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (init, run, merge, power, cache, finetune, history, perturb, formats, suites):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see brittle.local.settings
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BrittleError as exc:
        print(for_terminal(f"brittle: {exc}"), file=sys.stderr)
        return 2


__all__ = ["build_parser", "main"]
