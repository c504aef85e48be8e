"""``brittle compare RUN_A RUN_B``: what changed between two recorded runs.

Per eval and system: the headline metrics of both runs with their deltas (and the intervals the
runs reported), flip rate per perturbation family, the gate verdicts of both, and paired case
statistics from the per-case outcomes in the history: originals that went pass to fail and fail
to pass, variants that newly flipped or stopped flipping.

Each paired change is tested with the relative gates' own test, so that ``brittle compare`` and a
gate give the same p-value for the same two runs: :func:`brittle.stats.paired.compare`, as if run
A were the baseline of run B and the gate allowed no degradation (``accuracy drop <= 0`` for the
originals, ``flip_rate rise <= 0`` for the variants). That is the rows both runs scored (a row
errored in either run is left out of both), their per-case sums, and the one-sided paired margin
test with the cases as clusters (:func:`brittle.stats.margin.margin_test`: the exact one-sided
McNemar test when each case carries one 0/1 outcome, as originals do, else the t test on the
case-clustered ratio linearization), once for "got worse" and once for "got better".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brittle._format import number, p_value
from brittle.report.history import CaseOutcome, RunInfo, case_outcomes, load_run
from brittle.stats.gates import Gate
from brittle.stats.intervals import reported_interval
from brittle.stats.margin import MarginTest, margin_test
from brittle.stats.metrics import METRICS
from brittle.stats.paired import compare as paired_compare

if TYPE_CHECKING:
    import pandas as pd

LEVEL = 0.05
"""The one-sided level of the tests (a p-value does not depend on it)."""

TESTED = {"originals": ("accuracy", "drop"), "variants": ("flip_rate", "rise")}
"""What each paired change is tested on: the metric, and the direction in which it gets worse."""


@dataclass(frozen=True)
class PairedChange:
    """Paired outcomes of the rows present in both runs, and the gates' test of the change."""

    paired: int
    worse: int
    better: int
    metric: str = ""
    worse_test: MarginTest | None = None  # H0: B is not worse than A
    better_test: MarginTest | None = None  # H0: B is not better than A

    @property
    def p_value(self) -> float | None:
        """One-sided p-value that B is worse than A (None: not tested, the metric is undefined)."""
        return _p(self.worse_test)

    @property
    def p_better(self) -> float | None:
        """One-sided p-value that B is better than A."""
        return _p(self.better_test)

    @property
    def method(self) -> str | None:
        return None if self.worse_test is None else self.worse_test.method

    def describe(self) -> str:
        """``worse: p = 0.0160, better: p = 0.9980; <method>``."""
        if self.p_value is None or self.p_better is None:
            return f"{self.metric} not tested: undefined in one run"
        return (
            f"{self.metric} worse: {p_value(self.p_value)}, better: {p_value(self.p_better)}; "
            f"{self.method}"
        )


def _p(test: MarginTest | None) -> float | None:
    return None if test is None or math.isnan(test.p_value) else test.p_value


@dataclass(frozen=True)
class SystemComparison:
    eval: str
    system: str
    kind: str | None
    fingerprint_a: str | None
    fingerprint_b: str | None
    metrics_a: Mapping[str, Any] | None
    metrics_b: Mapping[str, Any] | None
    verdicts_a: Mapping[str, str] = field(default_factory=dict)
    verdicts_b: Mapping[str, str] = field(default_factory=dict)
    originals: PairedChange | None = None
    variants: PairedChange | None = None


@dataclass(frozen=True)
class Comparison:
    a: RunInfo
    b: RunInfo
    systems: tuple[SystemComparison, ...]


def _systems(record: Mapping[str, Any]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (ev["name"], name): system
        for ev in record.get("evals", [])
        for name, system in ev["systems"].items()
    }


def _flip_states(outcomes: Mapping[str, CaseOutcome]) -> dict[str, bool]:
    originals = {o.case_id: o.passed for row, o in outcomes.items() if o.family == ""}
    out = {}
    for row, o in outcomes.items():
        if o.family == "" or o.passed is None:
            continue
        original = originals.get(o.case_id)
        if original is not None:
            out[row] = o.passed != original
    return out


def _table(outcomes: Mapping[str, CaseOutcome]) -> pd.DataFrame:
    """A results table (the columns :func:`~brittle.stats.results.case_sums` reads) of one run."""
    import pandas as pd  # heavy: only brittle compare builds a table

    return pd.DataFrame(
        {
            "case_id": [o.case_id for o in outcomes.values()],
            "row_id": list(outcomes),
            "family": [o.family for o in outcomes.values()],
            "passed": pd.Series([o.passed for o in outcomes.values()], dtype=object),
            "answer": pd.Series([o.answer for o in outcomes.values()], dtype=object),
            "error": pd.Series(
                ["errored" if o.passed is None else None for o in outcomes.values()],
                dtype=object,
            ),
        }
    )


def _tests(
    table: pd.DataFrame, stored: Mapping[str, list[Any]], metric: str, worse: str
) -> dict[str, MarginTest | None]:
    """The gates' paired test of ``metric`` from A (the baseline, ``stored``) to B (``table``):
    the relative gate with allowance 0 in the direction of ``worse``, and the same test on the
    same per-case sums in the other direction."""
    found = paired_compare(Gate(metric, f"max_{worse}", 0.0), table, stored, alpha=LEVEL)
    if found is None:
        return {"worse_test": None, "better_test": None}
    better = "rise" if worse == "drop" else "drop"
    return {
        "worse_test": found.test,
        "better_test": margin_test(*found.sums, allowance=0.0, direction=better, level=LEVEL),
    }


def _paired(
    a: Mapping[str, CaseOutcome], b: Mapping[str, CaseOutcome]
) -> tuple[PairedChange, PairedChange]:
    table = _table(b)
    stored = {row: [o.passed, o.answer] for row, o in a.items()}
    orig_a = {r: o.passed for r, o in a.items() if o.family == "" and o.passed is not None}
    orig_b = {r: o.passed for r, o in b.items() if o.family == "" and o.passed is not None}
    common = orig_a.keys() & orig_b.keys()
    metric, direction = TESTED["originals"]
    originals = PairedChange(
        paired=len(common),
        worse=sum(1 for r in common if orig_a[r] and not orig_b[r]),
        better=sum(1 for r in common if not orig_a[r] and orig_b[r]),
        metric=metric,
        **_tests(table, stored, metric, direction),
    )
    flips_a, flips_b = _flip_states(a), _flip_states(b)
    common_v = flips_a.keys() & flips_b.keys()
    metric, direction = TESTED["variants"]
    variants = PairedChange(
        paired=len(common_v),
        worse=sum(1 for r in common_v if flips_b[r] and not flips_a[r]),
        better=sum(1 for r in common_v if flips_a[r] and not flips_b[r]),
        metric=metric,
        **_tests(table, stored, metric, direction),
    )
    return originals, variants


def compare_runs(history: Path, ref_a: str, ref_b: str) -> Comparison:
    """Compare two runs of the history (ids, unique prefixes, ``latest``, ``latest~N``)."""
    run_a, run_b = load_run(history, ref_a), load_run(history, ref_b)
    systems_a, systems_b = _systems(run_a.record), _systems(run_b.record)
    out = []
    for key in [*systems_a, *(k for k in systems_b if k not in systems_a)]:
        sa, sb = systems_a.get(key), systems_b.get(key)
        originals = variants = None
        if sa is not None and sb is not None:
            outcomes_a = case_outcomes(history, run_a.info.run_id, *key)
            outcomes_b = case_outcomes(history, run_b.info.run_id, *key)
            if outcomes_a and outcomes_b:
                originals, variants = _paired(outcomes_a, outcomes_b)
        either = sb if sb is not None else sa
        assert either is not None
        out.append(
            SystemComparison(
                eval=key[0],
                system=key[1],
                kind=either.get("kind"),
                fingerprint_a=sa.get("fingerprint") if sa else None,
                fingerprint_b=sb.get("fingerprint") if sb else None,
                metrics_a=sa["metrics"] if sa else None,
                metrics_b=sb["metrics"] if sb else None,
                verdicts_a={v["gate"]: v["status"] for v in (sa or {}).get("verdicts", [])},
                verdicts_b={v["gate"]: v["status"] for v in (sb or {}).get("verdicts", [])},
                originals=originals,
                variants=variants,
            )
        )
    return Comparison(run_a.info, run_b.info, tuple(out))


def _describe(info: RunInfo) -> str:
    where = "@".join(x for x in (info.git_branch, (info.git_commit or "")[:8]) if x)
    return f"{info.run_id} ({info.created}{', ' + where if where else ''}, {info.status})"


def format_comparison(comparison: Comparison) -> list[str]:
    """The comparison as terminal lines."""
    lines = [f"A: {_describe(comparison.a)}", f"B: {_describe(comparison.b)}"]
    for s in comparison.systems:
        lines.append("")
        head = f"{s.eval} / {s.system}" + (f" ({s.kind})" if s.kind else "")
        if s.metrics_a is None or s.metrics_b is None:
            lines.append(f"{head}: only in {'B' if s.metrics_a is None else 'A'}")
            continue
        if s.fingerprint_a != s.fingerprint_b:
            head += f"  fingerprint changed ({s.fingerprint_a} -> {s.fingerprint_b})"
        lines.append(head)
        lines.append(f"  {'metric':<22}{'A':>8}{'B':>8}{'delta':>9}  (! worse; intervals A -> B)")
        oa, ob = s.metrics_a["overall"], s.metrics_b["overall"]
        for name, better in METRICS.items():
            va, vb = oa.get(name), ob.get(name)
            delta = "" if va is None or vb is None else f"{vb - va:+.3f}"
            if delta and abs(vb - va) >= 5e-4:
                worse = (vb < va) if better == "higher" else (vb > va)
                delta += " !" if worse else "  "
            ci_a, ci_b = reported_interval(oa, name), reported_interval(ob, name)
            ci = ""
            if ci_a or ci_b:
                ci = "  " + " -> ".join(
                    f"[{number(c[0])}, {number(c[1])}]" if c else "–" for c in (ci_a, ci_b)
                )
            lines.append(f"  {name:<22}{number(va):>8}{number(vb):>8}{delta:>9}{ci}")
        families = sorted(
            set(s.metrics_a.get("families", {})) | set(s.metrics_b.get("families", {}))
        )
        if families:
            parts = []
            for family in families:
                fa = s.metrics_a.get("families", {}).get(family, {}).get("flip_rate")
                fb = s.metrics_b.get("families", {}).get(family, {}).get("flip_rate")
                change = f" ({fb - fa:+.3f})" if fa is not None and fb is not None else ""
                parts.append(f"{family} {number(fa)} -> {number(fb)}{change}")
            lines.append("  flip rate by family: " + ", ".join(parts))
        if s.originals is not None and s.variants is not None:
            o, v = s.originals, s.variants
            lines.append(
                f"  originals: {o.paired} paired, {o.worse} pass→fail, {o.better} fail→pass "
                f"({o.describe()})"
            )
            lines.append(
                f"  variants: {v.paired} paired, {v.worse} newly flipped, {v.better} no longer "
                f"flipped ({v.describe()})"
            )
        gates = list(dict.fromkeys([*s.verdicts_a, *s.verdicts_b]))
        for gate in gates:
            ga, gb = s.verdicts_a.get(gate, "–"), s.verdicts_b.get(gate, "–")
            mark = "  <- changed" if ga != gb else ""
            lines.append(f"  gate {gate}: {ga} -> {gb}{mark}")
    return lines


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """The comparison as a JSON-ready dict (``brittle compare --json``)."""

    def change(p: PairedChange | None) -> dict[str, Any] | None:
        if p is None:
            return None
        test = p.worse_test
        return {
            "paired": p.paired,
            "worse": p.worse,
            "better": p.better,
            "metric": p.metric,
            "p_value": p.p_value,  # one-sided: B worse than A, as a gate with allowance 0
            "p_better": p.p_better,  # one-sided: B better than A
            "method": p.method,
            "cases": None if test is None else test.cases,
            "delta": None if test is None or math.isnan(test.delta) else test.delta,
            "ci95": None if test is None or math.isnan(test.delta) else list(test.ci95),
        }

    systems = []
    for s in comparison.systems:
        oa = (s.metrics_a or {}).get("overall", {})
        ob = (s.metrics_b or {}).get("overall", {})
        systems.append(
            {
                "eval": s.eval,
                "system": s.system,
                "kind": s.kind,
                "fingerprint": {"a": s.fingerprint_a, "b": s.fingerprint_b},
                "metrics": {
                    name: {
                        "a": oa.get(name),
                        "b": ob.get(name),
                        "delta": None
                        if oa.get(name) is None or ob.get(name) is None
                        else ob[name] - oa[name],
                    }
                    for name in METRICS
                },
                "families": {
                    family: {
                        "a": (s.metrics_a or {})
                        .get("families", {})
                        .get(family, {})
                        .get("flip_rate"),
                        "b": (s.metrics_b or {})
                        .get("families", {})
                        .get(family, {})
                        .get("flip_rate"),
                    }
                    for family in sorted(
                        set((s.metrics_a or {}).get("families", {}))
                        | set((s.metrics_b or {}).get("families", {}))
                    )
                },
                "verdicts": {"a": dict(s.verdicts_a), "b": dict(s.verdicts_b)},
                "originals": change(s.originals),
                "variants": change(s.variants),
            }
        )
    return {"a": comparison.a.run_id, "b": comparison.b.run_id, "systems": systems}


__all__ = [
    "Comparison",
    "compare_runs",
    "comparison_json",
    "format_comparison",
]
