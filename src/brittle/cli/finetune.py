"""``brittle finetune``: LoRA-fine-tune the embedded SmolLM2, with the options of
``python -m brittle.local.finetune`` (which imports torch only when it trains)."""

from __future__ import annotations

import argparse
from typing import Any

from brittle.local.finetune import add_arguments, run


def add_commands(sub: Any) -> None:
    """Register ``brittle finetune`` on the ``brittle`` parser's subparsers."""
    finetune = sub.add_parser(
        "finetune",
        help="LoRA-fine-tune the embedded SmolLM2 on a JSONL training set",
        description="Seeded, deterministic LoRA fine-tune of SmolLM2-135M-Instruct on the CPU "
        "(see fixtures/adapters/sentiment-lora/README.md); the same options as "
        "`python -m brittle.local.finetune`.",
    )
    add_arguments(finetune)
    finetune.set_defaults(handler=_cmd_finetune)


def _cmd_finetune(args: argparse.Namespace) -> int:
    return run(args)


__all__ = ["add_commands"]
