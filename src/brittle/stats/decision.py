"""Prompt or fine-tune? A paired comparison of two systems of one run, on the same cases.

The question a team brings to a run is "should we keep prompting or fine-tune": this module
answers it with the numbers the evidence supports, and says when it does not settle it. Pure:
no model calls, no disk; :mod:`brittle.report.decision` feeds it a run's tables and prices.

Which pairs
    The best prompt system against the best fine-tuned one (:func:`primary_pair`; best = most
    accurate on the reworded inputs, ``variant_accuracy``, else ``accuracy``, then the steadier:
    :func:`best_key`, the one choice the HTML's table reads too), plus every pair an eval names
    (``compare: [[few-shot, lora]]``). A pair ``[a, b]`` is read as "``b`` against ``a``": every
    delta is ``b - a``.

The paired test (cases as clusters)
    Both systems answered the same rows (originals and their variants); a row either system
    errored on is left out of both, and only rows both have are compared (a prompt system's
    template-level variants have no counterpart in a template-less model). Each metric is a
    ratio of per-case sums (:data:`~brittle.stats.metrics.METRIC_SUMS`); the variants of a case
    are correlated, so the case is the unit. The test is the margin test of
    :mod:`brittle.stats.margin` at allowance 0 (the per-case paired differences of the ratio
    linearization, t with Satterthwaite degrees of freedom; the exact McNemar test when each
    case has one 0/1 unit on both sides), made two-sided::

        p = min(1, 2 min(p_rise, p_drop))

    With the same number of units ``m`` in every case this is the paired t test on the per-case
    differences of the two systems' rates ``d_i = b_i / m - a_i / m``: ``t = mean(d) / (sd(d) /
    sqrt(n))``, ``df = 2 n / (kappa - 1)`` clipped to ``[1, n - 1]``,
    ``kappa = n sum (d_i - dbar)^4 / (sum (d_i - dbar)^2)^2``, ``p = 2 P[T_df >= |t|]``.
    The interval is the margin test's 95 % interval of the delta.

No measurable difference
    When ``p >= alpha`` the recommendation says so, with the cases on which the observed delta,
    if true, would be significant with 80 % power (:func:`brittle.stats.power.cases_needed` at
    the one-sided level ``alpha / 2`` and the observed SD of the paired differences).

Cost and break-even
    Per side: cost per 1,000 calls (the run's token totals at the system's price, over its rows)
    and a one-off ``training_cost`` (a prompt system without one costs nothing to train). The
    side that costs more once repays it after ``extra / saving`` calls, ``extra`` the difference
    of the one-off costs and ``saving`` the difference of the per-call costs; never when it
    costs as much or more per call, and not at all without prices or training costs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from brittle import _format
from brittle.stats.margin import margin_test
from brittle.stats.metrics import METRIC_SUMS
from brittle.stats.power import cases_needed
from brittle.stats.results import case_sums

if TYPE_CHECKING:
    import pandas as pd

COMPARED = ("variant_accuracy", "accuracy", "flip_rate")
"""The metrics of every pair, each with its own paired test."""

WORDS = {
    "variant_accuracy": "accuracy on reworded inputs",
    "accuracy": "accuracy",
    "flip_rate": "flip rate",
}
HIGHER_IS_BETTER = {"variant_accuracy": True, "accuracy": True, "flip_rate": False}


# --- which pair ----------------------------------------------------------------------------------


def best_key(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float]:
    """Most accurate on the reworded inputs first (``variant_accuracy``, else ``accuracy``),
    then the steadier: a system that gives every input the same answer never flips, but it is
    not the prompt anyone would ship. ``item`` is ``(name, system record)``."""
    m = item[1]["metrics"]["overall"]
    acc = m.get("variant_accuracy")
    if acc is None:
        acc = m.get("accuracy")
    flip = m.get("flip_rate")
    return (-(acc if acc is not None else -1.0), flip if flip is not None else math.inf)


def primary_pair(systems: Mapping[str, Mapping[str, Any]]) -> tuple[str, str] | None:
    """``(best prompt, best fine-tuned model)`` of a run's systems (records with ``kind`` and
    ``metrics``), or None without one of each."""
    prompts = [i for i in systems.items() if i[1].get("kind") == "prompt"]
    tuned = [i for i in systems.items() if i[1].get("kind") == "model"]
    if not prompts or not tuned:
        return None
    return min(prompts, key=best_key)[0], min(tuned, key=best_key)[0]


# --- the paired test -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedDelta:
    """One metric of a pair ``[a, b]``: ``delta = b - a`` with its two-sided paired test."""

    metric: str
    a: float
    b: float
    delta: float
    ci95: tuple[float, float]
    p_value: float  # two-sided
    cases: int
    method: str
    sd_paired: float
    significant: bool
    cases_needed: int | None  # to settle a difference of this size (None: significant, or 0)

    def to_dict(self) -> dict[str, Any]:
        def finite(value: Any) -> Any:
            return None if isinstance(value, float) and not math.isfinite(value) else value

        out = {k: finite(v) for k, v in asdict(self).items()}
        out["ci95"] = [finite(v) for v in self.ci95]
        return out


def aligned_tables(a: pd.DataFrame, b: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The outcome tables of two systems on the rows both have (by ``row_id``), in ``a``'s order,
    a row errored on either side errored on both."""
    common = set(a["row_id"]) & set(b["row_id"])
    left = a[a["row_id"].isin(common)].drop_duplicates("row_id").reset_index(drop=True)
    right = (
        b[b["row_id"].isin(common)]
        .drop_duplicates("row_id")
        .set_index("row_id")
        .loc[left["row_id"]]
        .reset_index()
    )
    errored = left["error"].notna().to_numpy() | right["error"].notna().to_numpy()
    marker = np.array(["errored in either system" if e else None for e in errored], dtype=object)
    columns = ["case_id", "row_id", "family", "passed", "answer", "error"]
    return left[columns].assign(error=marker), right[columns].assign(error=marker)


def paired_delta(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, *, alpha: float = 0.05
) -> PairedDelta | None:
    """The two-sided paired test of ``metric(b) - metric(a)`` on the rows both systems have
    (outcome tables: ``case_id, row_id, family, passed, answer, error``); None when the metric
    is undefined on one side."""
    left, right = aligned_tables(a, b)
    if left.empty:
        return None
    sums_a, sums_b = case_sums(left), case_sums(right)
    numerator, denominator = METRIC_SUMS[metric]
    arrays = [
        s[column].to_numpy(dtype=float)
        for s in (sums_b, sums_a)
        for column in (numerator, denominator)
    ]
    rise = margin_test(*arrays, allowance=0.0, direction="rise", level=alpha / 2)
    if math.isnan(rise.p_value):
        return None
    drop = margin_test(*arrays, allowance=0.0, direction="drop", level=alpha / 2)
    p = min(1.0, 2 * min(rise.p_value, drop.p_value))
    significant = p < alpha
    needed = None
    if not significant and abs(rise.delta) > 1e-12 and rise.sd_paired > 0:
        needed = cases_needed(
            abs(rise.delta),
            allowance=0.0,
            sd_paired=rise.sd_paired,
            level=alpha / 2,
            mcnemar=rise.discordant is not None,
        )
    method = rise.method.replace("one-sided", "two-sided")
    return PairedDelta(
        metric=metric,
        a=rise.baseline,
        b=rise.run,
        delta=rise.delta,
        ci95=rise.ci95,
        p_value=p,
        cases=rise.cases,
        method=method,
        sd_paired=rise.sd_paired,
        significant=significant,
        cases_needed=needed,
    )


# --- cost and break-even -------------------------------------------------------------------------


@dataclass(frozen=True)
class BreakEven:
    """When the side that costs more once (its training) becomes the cheaper one."""

    calls: int | None  # the call volume at which both cost the same in total; None: never / n.a.
    repaid_by: str | None  # the side whose training is repaid
    reason: str  # one sentence: how it was found, or why there is none


def break_even(
    names: tuple[str, str],
    per_1k: tuple[float | None, float | None],
    training: tuple[float | None, float | None],
) -> BreakEven:
    """The break-even call volume of a pair (see the module docs). ``per_1k``: cost per 1,000
    calls of each side (None: no price); ``training``: each side's one-off cost (None: unknown).
    """
    for name, cost in zip(names, training, strict=True):
        if cost is None:
            return BreakEven(
                None, None, f"no training_cost set for {name} (USD, one-off: add it beside price)"
            )
    one_off = (float(training[0] or 0.0), float(training[1] or 0.0))
    if abs(one_off[0] - one_off[1]) < 1e-12:
        return BreakEven(None, None, "no training cost to repay: the one-off costs are equal")
    high = 0 if one_off[0] > one_off[1] else 1
    low = 1 - high
    for name, cost in zip(names, per_1k, strict=True):
        if cost is None:
            return BreakEven(None, names[high], f"no price for {name}, so no cost per call")
    saving = float(per_1k[low]) - float(per_1k[high])  # type: ignore[arg-type]
    extra = one_off[high] - one_off[low]
    if saving <= 0:
        return BreakEven(
            None,
            names[high],
            f"never: {names[high]} costs as much or more per call "
            f"({money(per_1k[high])} against {money(per_1k[low])} per 1,000 calls), so its "
            f"{money(extra)} of training is never repaid",
        )
    calls = math.ceil(extra / saving * 1000)
    return BreakEven(
        calls,
        names[high],
        f"{names[high]}'s {money(extra)} of training is repaid after {calls:,} calls "
        f"(it saves {money(saving)} per 1,000 calls)",
    )


def money(value: float | None) -> str:
    """US dollars as the reports show them (``–`` for unknown)."""
    if value is None:
        return "–"
    return f"${value:,.4f}" if abs(value) < 1 else f"${value:,.2f}"


# --- the recommendation --------------------------------------------------------------------------


def headline_metric(deltas: Mapping[str, PairedDelta | None]) -> str | None:
    """The metric the verdict rests on: accuracy on reworded inputs, else accuracy."""
    for metric in ("variant_accuracy", "accuracy"):
        if deltas.get(metric) is not None:
            return metric
    return None


def verdict(delta: PairedDelta | None) -> str:
    """``better`` / ``worse`` (b against a, significant) or ``no measurable difference``."""
    if delta is None:
        return "undefined"
    if not delta.significant:
        return "no measurable difference"
    good = (delta.delta > 0) == HIGHER_IS_BETTER[delta.metric]
    return "better" if good else "worse"


def _figures(d: PairedDelta) -> str:
    low, high = d.ci95
    return (
        f"{_format.number(d.b)} against {_format.number(d.a)}, delta {d.delta:+.3f}, "
        f"95% CI {low:+.3f} to {high:+.3f}, two-sided {_format.p_value(d.p_value)}, "
        f"paired over {d.cases} cases, on the rows both answered"
    )


def recommendation(
    names: tuple[str, str],
    deltas: Mapping[str, PairedDelta | None],
    per_1k: tuple[float | None, float | None],
    even: BreakEven,
) -> str:
    """One paragraph that says what the evidence supports about ``b`` against ``a``."""
    a, b = names
    metric = headline_metric(deltas)
    if metric is None:
        return f"{b} and {a} share no scored rows: nothing can be compared."
    head = deltas[metric]
    assert head is not None
    word = WORDS[metric]
    outcome = verdict(head)
    if outcome == "better":
        text = f"{b} is better than {a} on {word} ({_figures(head)})."
    elif outcome == "worse":
        text = f"{b} is worse than {a} on {word} ({_figures(head)})."
    else:
        text = (
            f"No measurable difference between {b} and {a} on {word} at this sample size "
            f"({_figures(head)})"
        )
        if head.cases_needed is not None:
            text += f"; {head.cases_needed} cases would settle it (80% power for this delta)."
        elif abs(head.delta) <= 1e-12:
            text += "; the delta observed is zero, so a difference, if any, is within the interval."
        else:
            text += "; many more cases would be needed to settle it."
    flips = deltas.get("flip_rate")
    if flips is not None:
        if flips.significant:
            steadier = b if flips.delta < 0 else a
            text += (
                f" {steadier} flips less often on reworded inputs (flip rate "
                f"{_format.number(flips.b)} for {b} against {_format.number(flips.a)}, "
                f"{_format.p_value(flips.p_value)})."
            )
        else:
            text += (
                f" Their flip rates do not differ measurably ({_format.number(flips.b)} against "
                f"{_format.number(flips.a)}, {_format.p_value(flips.p_value)})."
            )
    if per_1k[0] is not None and per_1k[1] is not None:
        text += f" Per 1,000 calls {b} costs {money(per_1k[1])} and {a} {money(per_1k[0])}"
    else:
        missing = [n for n, c in zip(names, per_1k, strict=True) if c is None]
        text += f" No cost per call for {' and '.join(missing)} (no price)"
    text += f"; break-even: {even.reason}."
    if outcome == "better":
        text += f" The evidence supports {b}."
    elif outcome == "worse":
        text += f" The evidence supports keeping {a}."
    else:
        text += " The evidence does not favour either on quality; decide on cost and steadiness."
    return text


def compare_pair(
    names: tuple[str, str],
    tables: tuple[pd.DataFrame, pd.DataFrame],
    *,
    per_1k: tuple[float | None, float | None],
    training: tuple[float | None, float | None],
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The decision record of one pair ``[a, b]`` (JSON-ready; docs/reports.md)."""
    deltas = {m: paired_delta(tables[0], tables[1], m, alpha=alpha) for m in COMPARED}
    even = break_even(names, per_1k, training)
    metric = headline_metric(deltas)
    head = deltas.get(metric) if metric else None
    return {
        "systems": list(names),
        "metric": metric,
        "verdict": verdict(head),
        "p_value": head.p_value if head else None,
        "delta": head.delta if head else None,
        "cases": head.cases if head else 0,
        "cases_needed": head.cases_needed if head else None,
        "deltas": {m: (d.delta if d else None) for m, d in deltas.items()},
        "intervals": {m: (d.to_dict()["ci95"] if d else None) for m, d in deltas.items()},
        "p_values": {m: (d.p_value if d else None) for m, d in deltas.items()},
        "tests": {m: (d.to_dict() if d else None) for m, d in deltas.items()},
        "alpha": alpha,
        "cost_per_1k": {n: c for n, c in zip(names, per_1k, strict=True)},
        "training_cost": {n: t for n, t in zip(names, training, strict=True)},
        "break_even_calls": even.calls,
        "break_even": {"calls": even.calls, "repaid_by": even.repaid_by, "reason": even.reason},
        "recommendation": recommendation(names, deltas, per_1k, even),
    }


__all__ = [
    "COMPARED",
    "BreakEven",
    "PairedDelta",
    "aligned_tables",
    "best_key",
    "break_even",
    "compare_pair",
    "headline_metric",
    "money",
    "paired_delta",
    "primary_pair",
    "recommendation",
    "verdict",
]
