"""``brittle freeze-formats``: keep the worst formats a format search found, so later runs test
them directly.

A run of an eval with a ``format_search`` entry records, per prompt system, the worst format
it found (run.json's ``systems[].format_search.worst``). This command merges those formats into
each eval's fixture (the entry's ``fixture``, by default ``__formats__/<eval>.jsonl`` beside the
eval file: commit it). From then on the eval has the suite ``format-fixture``: every prompt
system answers every case in each frozen format, paired with the baseline like any variant and
gated like any family (``flip_rate[format_fixture] <= 0.1``). See
:mod:`brittle.search.formats`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError


def add_commands(sub: Any) -> None:
    freeze = sub.add_parser(
        "freeze-formats",
        help="freeze the worst formats a run's format search found into each eval's fixture",
        description="Read a run's report (run.json) and merge the worst format that the "
        "format_search of each prompt system found into its eval's fixture (the format_search "
        "entry's 'fixture', default __formats__/<eval>.jsonl beside the eval file). Later runs "
        "test each frozen format as the suite 'format-fixture' (family format_fixture). "
        "Freezing the same run twice leaves the file unchanged.",
    )
    freeze.add_argument(
        "report",
        nargs="?",
        default="reports/latest",
        help="a report folder or its run.json (default: reports/latest)",
    )
    freeze.add_argument("--eval", action="append", default=[], help="only this eval (repeatable)")
    freeze.set_defaults(handler=_cmd_freeze)


def _cmd_freeze(args: argparse.Namespace) -> int:
    from brittle.search.formats import freeze

    path = Path(args.report)
    if path.is_dir():
        path = path / "run.json"
    if not path.is_file():
        raise ConfigError(
            f"no run.json at {path}",
            key="report",
            fix="run the eval first (pytest evals/ or brittle run), or name its report folder",
        )
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc.msg})", where=path) from None
    written = freeze(record, only=args.eval)
    if not written:
        print(
            f"freeze-formats: no format search with a worst format in {path} (add "
            "'- format_search: {budget: 60}' under an eval's suites and run it)"
        )
        return 1
    for fixture, added, total in written:
        print(f"freeze-formats: {added} new format(s); {total} line(s) in {fixture}")
    return 0


__all__ = ["add_commands"]
