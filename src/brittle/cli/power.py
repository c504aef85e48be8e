"""``brittle power``: the smallest degradation a relative gate detects, and the cases it needs.

The same power as the gates' "underpowered" notes (:mod:`brittle.stats.power`, imported when
the command runs): the noncentral t of the gate's one-sided margin test against its allowance,
with the SD of per-case paired differences predicted from the baseline rate, the variants per
case and their intra-case correlation.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_commands(sub: Any) -> None:
    """Register ``brittle power`` on the ``brittle`` parser's subparsers."""
    power = sub.add_parser(
        "power",
        help="the smallest degradation a relative gate detects, and the cases it needs",
        description="Power of a paired relative gate ('flip_rate rise <= A') against its "
        "allowance: the chance that the gate fails at a true rise, from the one-sided margin "
        "test the gates use (cases as clusters; the exact McNemar test on one "
        "variant per case). The SD of the per-case paired differences is "
        "predicted from the baseline rate, assuming a case's variants are independent given a "
        "stable per-case propensity (--icc sets how much of their variance that propensity "
        "holds; it cancels between runs). Prints the smallest true rise detected with the given "
        "power and, with --delta, the cases needed to detect that rise.",
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
    power.add_argument(
        "--allowance",
        type=float,
        default=0.0,
        help="the gate's allowance A ('rise <= A'; default 0: any significant rise)",
    )
    power.add_argument(
        "--delta", type=float, default=None, help="a true rise to detect (above the allowance)"
    )
    power.add_argument(
        "--alpha", type=float, default=0.05, help="the family's level, one-sided (0.05)"
    )
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
        help="relative gates in the Holm family (the first is decided at alpha / gates; default 1)",
    )
    power.set_defaults(handler=_cmd_power)


def _problems(args: argparse.Namespace) -> list[str]:
    return [
        f"{name} must be {rule}"
        for name, bad, rule in (
            ("--cases", args.cases < 1, "at least 1"),
            ("--variants", args.variants < 1, "at least 1"),
            ("--baseline-rate", not 0 <= args.baseline_rate < 1, "in [0, 1)"),
            ("--allowance", not 0 <= args.allowance < 1, "in [0, 1)"),
            ("--delta", args.delta is not None and not 0 < args.delta <= 1, "in (0, 1]"),
            ("--alpha", not 0 < args.alpha < 1, "in (0, 1)"),
            ("--power", not 0 < args.power < 1, "in (0, 1)"),
            ("--icc", not 0 <= args.icc <= 1, "in [0, 1]"),
            ("--gates", args.gates < 1, "at least 1"),
        )
        if bad
    ]


def _cmd_power(args: argparse.Namespace) -> int:
    from brittle.stats.power import cases_needed, minimum_detectable_degradation, sd_for_rate

    problems = _problems(args)
    if problems:
        print("brittle power: " + "; ".join(problems), file=sys.stderr)
        return 2
    rate, allowance = args.baseline_rate, args.allowance
    level = args.alpha / args.gates

    def sd(degradation: float) -> float:
        return sd_for_rate(rate, args.variants, args.icc, degradation)

    options: dict[str, Any] = {
        "allowance": allowance,
        "sd_paired": sd,
        "level": level,
        "power": args.power,
        # one 0/1 unit per case and no allowance: the gate is the exact McNemar test
        "mcnemar": args.variants == 1,
    }
    units = args.cases * args.variants
    print(
        f"paired gate 'rise <= {allowance:g}' on {args.cases} cases x {args.variants:g} variants "
        f"({units:g} paired units), baseline rate {rate:g}, intra-case correlation {args.icc:g}; "
        f"one-sided level {level:.3g} (alpha {args.alpha:g} / {args.gates} gate(s)), power "
        f"{args.power:.0%}; SD of per-case paired differences {sd(0.0):.4f} without a change"
    )
    mde = minimum_detectable_degradation(args.cases, largest=1.0 - rate, **options)
    if mde is None:
        print(f"  smallest detectable rise: none up to {1 - rate:g} (too few cases)")
    else:
        print(
            f"  smallest detectable rise: {mde:.4f} (to {rate + mde:.4f}): the gate fails on "
            f"{args.power:.0%} of runs with this true rise (on {level:.3g} of runs at the "
            "allowance)"
        )
    if args.delta is not None:
        needed = cases_needed(args.delta, **options) if rate + args.delta <= 1 else None
        if args.delta <= allowance:
            print(
                f"  a rise of {args.delta:g} is within the allowance of {allowance:g}: the gate "
                f"fails on it at most {level:.3g} of the time, whatever the number of cases"
            )
        elif needed is None:
            print(f"  a rise of {args.delta:g} is impossible from {rate:g}")
        else:
            print(
                f"  cases needed to detect a rise of {args.delta:g}: {needed}"
                + (f" (x {args.variants:g} variants)" if args.variants != 1 else "")
            )
    return 0


__all__ = ["add_commands"]
