"""``brittle merge SHARD_DIR...``: the shards of one run (``--shard K/N``) put back together
and gated as one run (:mod:`brittle.report.merge`): one report, one history entry, the
baselines when asked; exit 1 when a gate fails, 2 on bad input (shards that do not belong
together, a shard missing or given twice)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from brittle.options import UPDATE_MODES
from brittle.sanitize import for_terminal


def add_commands(sub: Any) -> None:
    """Register ``brittle merge`` on the ``brittle`` parser's subparsers."""
    merge = sub.add_parser(
        "merge",
        help="merge the report folders of shard runs (--shard K/N) into one gated run",
        description="Check that the shard folders belong together (same eval spec, suites and "
        "systems; each of 1..N once; no case twice), rebuild every system's rows from their "
        "results.parquet, recompute metrics, intervals, paired tests and gates as one run, "
        "write one report and one history entry. Exit 1 if a gate fails or a baseline update "
        "is refused, 2 on bad input. Run it from the project root the shards ran in.",
    )
    merge.add_argument("shard_dirs", nargs="+", metavar="SHARD_DIR", help="a shard's report folder")
    merge.add_argument(
        "--report-dir",
        default=None,
        metavar="DIR",
        help="folder for the merged report (default: reports)",
    )
    merge.add_argument(
        "--update-baseline",
        nargs="?",
        const="yes",
        default=None,
        choices=UPDATE_MODES,
        metavar="force",
        help="write the baselines of the merged run ('=force' writes a refused one anyway); "
        "no recordings are written from a merge",
    )
    merge.add_argument(
        "--history",
        default=None,
        metavar="PATH",
        help="SQLite run history (default: <report dir>/history.sqlite; 'off' to skip)",
    )
    merge.set_defaults(handler=_cmd_merge)


#: Arrow's jemalloc (the pool a merge reads and writes the rows in, report/merge_rows.py)
#: giving freed pages back at once: read when pyarrow starts, so set before it is imported.
#: Its decay set later applies to new arenas only (1M rows: 419 -> 349 MB after reading).
ARROW_JEMALLOC = ("JE_ARROW_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


def _cmd_merge(args: argparse.Namespace) -> int:
    if "pyarrow" not in sys.modules:
        os.environ.setdefault(*ARROW_JEMALLOC)
    from brittle.options import Options
    from brittle.report.merge import gate_and_write, merge_shards
    from brittle.report.terminal import summary_lines
    from brittle.stats.baseline import UPDATE_HINT

    options = Options(
        update_baseline=bool(args.update_baseline),
        force_baseline=args.update_baseline == "force",
        report_dir=Path(args.report_dir or "reports"),
        history=args.history,
        recordings=False,  # a merge holds no responses to record
    )
    session = merge_shards([Path(folder) for folder in args.shard_dirs], options)
    command = "brittle merge " + " ".join(args.shard_dirs) + " --update-baseline"
    session.update_command = command
    failed = gate_and_write(session)
    print(f"merged {len(session.shards)} shards: " + ", ".join(session.shards))
    for line in summary_lines(session):
        print(line)
    for state in session.evals.values():
        for (system_name, gate_name), verdict in state.verdicts.items():
            message = verdict.message.replace(UPDATE_HINT, command)
            if verdict.passed is False:
                where = f"{state.spec.name}::{system_name}::{gate_name}"
                print(for_terminal(f"\nFAILED {where}\n{message}"))
    return 1 if failed else 0


__all__ = ["add_commands"]
