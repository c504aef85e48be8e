"""``brittle power``: the smallest regression a relative gate detects, and the cases it needs
(:mod:`brittle.stats.power`, imported when the command runs)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(sub: Any) -> None:
    """Register ``brittle power`` on the ``brittle`` parser's subparsers."""
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


def _cmd_power(args: argparse.Namespace) -> int:
    from brittle.stats.power import cases_needed, design_effect, minimum_detectable_effect

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
        f"{design_effect(args.variants, args.icc):.3g})"
    )
    mde = minimum_detectable_effect(args.cases, args.baseline_rate, **options)
    if mde is None:
        print("  smallest detectable rise: none (too few cases for any rise)")
    else:
        print(f"  smallest detectable rise: {mde:.4f} (to {args.baseline_rate + mde:.4f})")
    if args.delta is not None:
        needed = cases_needed(args.delta, args.baseline_rate, **options)
        if needed is None:
            print(f"  a rise of {args.delta:g} is impossible from {args.baseline_rate:g}")
        else:
            print(
                f"  cases needed to detect a rise of {args.delta:g}: {needed}"
                + (f" (x {args.variants:g} variants)" if args.variants != 1 else "")
            )
    return 0


__all__ = ["add_commands"]
