"""``brittle finetune``: LoRA-fine-tune the embedded SmolLM2, with the options of
``python -m brittle.local.finetune`` (which imports torch only when it trains)."""

from __future__ import annotations

import argparse
from typing import Any

from brittle.local.finetune import main as finetune_main


def add_commands(sub: Any) -> None:
    """Register ``brittle finetune`` on the ``brittle`` parser's subparsers."""
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


def _cmd_finetune(args: argparse.Namespace) -> int:
    return finetune_main(list(args.rest))


__all__ = ["add_commands"]
