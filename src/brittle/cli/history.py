"""The ``brittle history``, ``brittle compare`` and ``brittle report`` commands, which read the
run history (:mod:`brittle.report.history`, which needs only the standard library). The run
comparison (pandas and scipy: the gates' paired test) and the HTML page (the report writers) are
imported when their command runs."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from brittle._format import number
from brittle.report.history import list_runs

DEFAULT_HISTORY = "reports/history.sqlite"


def _add_history_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        default=DEFAULT_HISTORY,
        metavar="PATH",
        help=f"the run history file (default: {DEFAULT_HISTORY})",
    )


def add_commands(sub: Any) -> None:
    """Register the subcommands on the ``brittle`` parser's subparsers."""
    history = sub.add_parser(
        "history",
        help="list the runs recorded in the history, newest first",
        description="List the recorded runs: id, time, branch and commit, verdict, gate counts "
        "and (with -v) each system's accuracy and flip rate.",
    )
    _add_history_option(history)
    history.add_argument("--limit", type=int, default=30, help="at most N runs (default 30)")
    history.add_argument("-v", "--verbose", action="store_true", help="one line per system too")
    history.add_argument("--json", action="store_true", help="print JSON")
    history.set_defaults(handler=_cmd_history)

    compare = sub.add_parser(
        "compare",
        help="per-system and per-family deltas between two recorded runs",
        description="Compare two recorded runs (ids, unique prefixes, latest, latest~N): headline "
        "metrics and their deltas, flip rate per family, gate verdicts, and paired case changes "
        "(originals on accuracy, variants on flip rate) tested with the relative gates' own "
        "paired test: one-sided, cases as clusters, allowance 0 (exact McNemar when each case "
        "carries one pass/fail, else a t test on the case-clustered ratio), once for 'got worse' "
        "and once for 'got better', so compare and a gate give the same p-value for the same "
        "two runs.",
    )
    compare.add_argument("run_a", help="the earlier run (e.g. latest~1)")
    compare.add_argument("run_b", help="the later run (e.g. latest)")
    _add_history_option(compare)
    compare.add_argument("--json", action="store_true", help="print JSON")
    compare.set_defaults(handler=_cmd_compare)

    report = sub.add_parser(
        "report",
        help="write the HTML report of a recorded run",
        description="Regenerate the self-contained HTML report of any recorded run from the "
        "history (trends up to that run).",
    )
    report.add_argument("run_id", help="a run id, a unique prefix of one, latest or latest~N")
    _add_history_option(report)
    report.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="where to write it (default: index.html in the run's report folder)",
    )
    report.add_argument(
        "--last", type=int, default=30, metavar="N", help="runs in the trend plots (default 30)"
    )
    report.set_defaults(handler=_cmd_report)


def _cmd_history(args: argparse.Namespace) -> int:
    runs = list_runs(Path(args.history), limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "run_id": r.run_id,
                        "created": r.created,
                        "git_commit": r.git_commit,
                        "git_branch": r.git_branch,
                        "status": r.status,
                        "gates": {
                            "passed": r.gates_passed,
                            "failed": r.gates_failed,
                            "skipped": r.gates_skipped,
                        },
                        "systems": [
                            {"eval": e, "system": s, "accuracy": a, "flip_rate": f}
                            for e, s, a, f in r.systems
                        ],
                    }
                    for r in runs
                ],
                indent=1,
            )
        )
        return 0
    if not runs:
        print(f"no runs in {args.history}")
        return 0
    print(f"{'run':<22} {'created':<21} {'branch@commit':<24} {'status':<7} gates")
    for r in runs:
        where = "@".join(x for x in (r.git_branch, (r.git_commit or "")[:8]) if x) or "–"
        gates = f"{r.gates_passed} passed, {r.gates_failed} failed"
        if r.gates_skipped:
            gates += f", {r.gates_skipped} skipped"
        print(f"{r.run_id:<22} {r.created:<21} {where[:24]:<24} {r.status:<7} {gates}")
        if args.verbose:
            for eval_name, system, accuracy, flip_rate in r.systems:
                scores = f"accuracy {number(accuracy)}, flip {number(flip_rate)}"
                print(f"    {eval_name} / {system}: {scores}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from brittle.report.diff import compare_runs, comparison_json, format_comparison

    comparison = compare_runs(Path(args.history), args.run_a, args.run_b)
    if args.json:
        print(json.dumps(comparison_json(comparison), indent=1))
    else:
        print("\n".join(format_comparison(comparison)))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from brittle.report.artifacts import render_run

    out = render_run(
        Path(args.history),
        args.run_id,
        out=Path(args.out) if args.out else None,
        last=max(1, args.last),
    )
    print(out)
    return 0


__all__ = ["add_commands"]
