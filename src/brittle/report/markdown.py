"""``reports/<run-id>/summary.md``: the run in markdown, fit for a CI job summary or a pull
request comment (``$GITHUB_STEP_SUMMARY`` gets it appended, see :mod:`brittle.report.ci`).

It is written from the safe run.json record, and every user or model text in it is made inert
(no HTML, no markup, one line, shortened), because CI pages render it.
"""

from __future__ import annotations

from typing import Any

from brittle._format import number
from brittle.report.decision import decision_markdown
from brittle.report.format_spread import format_markdown
from brittle.report.markdown_cases import breakdown_tables, evidence_lines
from brittle.report.phrases import (
    adapter_line,
    cases_line,
    counts,
    delta,
    family_flips,
    few_cases,
    interval,
    latency_caveat,
    template_line,
)
from brittle.report.probshift import prob_shift_markdown
from brittle.sanitize import for_markdown
from brittle.stats.margin import FEW_CASES


def _md(text: Any) -> str:
    """User or model text as inert markdown (no HTML, no markup, one line, shortened)."""
    return for_markdown(text, limit=200)


def _code(text: Any) -> str:
    """Text for inside a markdown code span: one line, no backticks."""
    return " ".join(str(text).replace("`", "'").split())[:200]


def _problem_lines(name: str, sys: dict[str, Any], limit: int = 5) -> list[str]:
    """The first failing cases (with an excerpt of the output) and errors of a system."""
    lines = []
    failing = sys.get("failing_cases") or []
    for case in failing[:limit]:
        lines.append(
            f"- {_md(name)}: case {_md(case.get('case_id'))} fails its checks; output: "
            f"{_md(case.get('output'))}"
        )
    more = _more(len(failing), sys.get("failing_cases_total"), limit)
    if more:
        lines.append(f"- {_md(name)}: {more} more failing case(s){_where(failing, limit)}")
    errors = sys.get("errors") or []
    for error in errors[:limit]:
        lines.append(
            f"- {_md(name)}: {_md(error.get('row_id'))} errored: {_md(error.get('error'))}"
        )
    more = _more(len(errors), sys.get("errors_total"), limit)
    if more:
        lines.append(f"- {_md(name)}: {more} more error(s){_where(errors, limit)}")
    return lines


def _more(kept: int, total: int | None, limit: int) -> int:
    """How many were not shown: of the run's ``total`` (run.json keeps only the first few)."""
    return max((kept if total is None else total) - limit, 0)


def _where(kept: list[Any], limit: int) -> str:
    """Where the ones not shown are: run.json (its first few) and results.parquet (all)."""
    return f" (run.json has the first {len(kept)}, results.parquet all)" if kept else ""


def _few_cases(ev: dict[str, Any]) -> str:
    """`` Intervals on fewer than 50 cases are approximate: ...`` ("" when none is)."""
    found = []
    for name, sys in ev["systems"].items():
        scopes = [(name, sys["metrics"]["overall"])]
        scopes += [(f"{name} {f}", b) for f, b in sys["metrics"]["families"].items()]
        found += [
            f"{_md(label)} ({block.get('ci_cases')} cases)"
            for label, block in scopes
            if few_cases(block)
        ]
    if not found:
        return ""
    return f" Intervals on fewer than {FEW_CASES} cases are approximate: {', '.join(found)}."


def _metrics_table(ev: dict[str, Any]) -> list[str]:
    """One row per system: headline metrics with intervals, change since the baseline, gates."""
    lines = [
        "| system | kind | accuracy | variant acc. | flip rate | agreement | PDR | "
        "worst-case | errors | gates |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, sys in ev["systems"].items():
        m = sys["metrics"]["overall"]
        b = (sys["baseline_metrics"] or {}).get("overall", {})
        failed = sum(v["status"] == "FAILED" for v in sys["verdicts"])
        passed = sum(v["status"] == "passed" for v in sys["verdicts"])
        unsure = sum(v["status"] == "inconclusive" for v in sys["verdicts"])
        gates = (
            f"{passed} passed"
            + (f", {unsure} inconclusive" if unsure else "")
            + (f", **{failed} FAILED**" if failed else "")
        )
        lines.append(
            f"| {_md(name)} | {sys['kind']} | {number(m['accuracy'])}{interval(m, 'accuracy')}"
            f"{delta(m['accuracy'], b.get('accuracy'))}"
            f" | {number(m['variant_accuracy'])}{interval(m, 'variant_accuracy')}"
            f" | {number(m['flip_rate'])}{interval(m, 'flip_rate')}"
            f"{delta(m['flip_rate'], b.get('flip_rate'))}"
            f" | {number(m['agreement'])}{interval(m, 'agreement')}"
            f" | {number(m['pdr'])}{interval(m, 'pdr')}"
            f" | {number(m['worst_case_accuracy'])}{interval(m, 'worst_case_accuracy')}"
            f" | {m['errors']} | {gates} |"
        )
    return lines + prob_shift_markdown(ev["systems"])


def _family_table(ev: dict[str, Any]) -> list[str]:
    """Flip rate by perturbation family, one row per system (nothing when no family ran)."""
    families = sorted({f for s in ev["systems"].values() for f in s["metrics"]["families"]})
    if not families:
        return []
    lines = ["Flip rate by perturbation family (flipped pairs / pairs):", ""]
    lines.append("| system | " + " | ".join(families) + " |")
    lines.append("|---" * (len(families) + 1) + "|")
    for name, sys in ev["systems"].items():
        fam = sys["metrics"]["families"]
        cells = [family_flips(fam.get(f), sep=", ") for f in families]
        lines.append(f"| {_md(name)} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def _repeats_table(ev: dict[str, Any]) -> list[str]:
    """Randomness apart from brittleness, one row per system that repeats its calls."""
    rows = []
    for name, sys in ev["systems"].items():
        info = sys["metrics"].get("repeats")
        if not info or "excess_flip_rate" not in info:
            continue
        overall = {"ci": info.get("ci") or {}}
        families = sys["metrics"].get("families") or {}
        by_family = ", ".join(
            f"{_md(family)} {number(block.get('excess_flip_rate'))}"
            f"{interval(block, 'excess_flip_rate')}"
            for family, block in families.items()
        )
        rows.append(
            f"| {_md(name)} | {info['k']} ({info['reduction']}) "
            f"| {number(info['self_disagreement'])}{interval(overall, 'self_disagreement')} "
            f"| {number(info['excess_flip_rate'])}{interval(overall, 'excess_flip_rate')} "
            f"| {number(info['flip_rate_between_draws'])} | {by_family or '–'} |"
        )
    if not rows:
        return []
    return [
        "Repeats: self-disagreement (two draws of one input disagree: randomness) and excess "
        "flip rate (flips between draws beyond self-disagreement: brittleness):",
        "",
        "| system | repeats | self-disagreement | excess flip rate | flips between draws | "
        "excess by family |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def _notes(ev: dict[str, Any]) -> list[str]:
    """Failed and inconclusive gates, changed fingerprints, underpowered gates (one line for the
    eval), changed cases, problems."""
    lines = []
    for name, sys in ev["systems"].items():
        for v in sys["verdicts"]:
            first = for_markdown(v["message"].splitlines()[0], limit=500)
            if v["status"] == "FAILED":
                lines.append(f"- **{_md(name)}**: gate `{_code(v['gate'])}` failed: {first}")
                lines += evidence_lines(v.get("evidence"))
            elif v["status"] == "inconclusive":
                lines.append(
                    f"- {_md(name)}: gate `{_code(v['gate'])}` inconclusive (passed; "
                    f"`inconclusive: fail` in the eval fails it): {first}"
                )
        if sys["fingerprint_changed"]:
            lines.append(f"- {_md(name)}: fingerprint changed since the baseline (system edited)")
        cases = sys.get("baseline_cases")
        if cases and (cases["added"] or cases["removed"]):
            lines.append(f"- {_md(name)}: {cases_line(cases, _md)}")
        for note in (cases or {}).get("notes", ()):  # changed variants; an old baseline
            lines.append(f"- {_md(name)}: {for_markdown(note, limit=500)}")
    if ev.get("underpowered"):
        lines.append(f"- {for_markdown(ev['underpowered'], limit=1000)}")
    lines += [f"- {for_markdown(note, limit=500)}" for note in ev.get("notes") or ()]
    for name, sys in ev["systems"].items():
        lines += _problem_lines(name, sys)
    if ev["noops_per_family"]:
        noops = ", ".join(f"{k}: {v}" for k, v in sorted(ev["noops_per_family"].items()))
        lines.append(f"- perturbations that did not apply (no-ops): {noops}")
    if ev.get("dropped_per_family"):
        lines.append(
            f"- variants dropped by the meaning filter: {counts(ev['dropped_per_family'])}"
        )
    for name, sys in ev["systems"].items():
        line = template_line(
            sys.get("template_variants_per_family"),
            sys.get("template_noops_per_family"),
            sys.get("template_dropped_per_family"),
        )
        if line:
            lines.append(f"- {_md(name)}: {line}")
    return lines


def markdown_summary(record: dict[str, Any]) -> str:
    """summary.md of the run.json ``record``."""
    lines = [f"# brittle run {record['run_id']}", ""]
    if record.get("partial"):  # --brittle-limit N
        lines += [
            f"**Smoke run** (limit {record.get('limit')}): only the first cases of each golden "
            "set, with their variants; partial results, no baseline written.",
            "",
        ]
    for ev in record["evals"]:
        total = f" of {ev['cases_total']}" if ev.get("cases_total") else ""
        lines += [f"## {_md(ev['name'])} ({ev['cases']}{total} cases)", ""]
        lines += decision_markdown(ev.get("decision"))
        checks = [
            f"- {_md(name)}: {_md(line)}"
            for name, system in ev["systems"].items()
            if (line := adapter_line(system.get("adapter_check")))
        ]
        lines += [*checks, ""] if checks else []
        lines += _metrics_table(ev)
        lines += [
            "",
            "Metrics show their 95% confidence interval in brackets." + _few_cases(ev),
            "",
            latency_caveat(ev),
            "",
            "",
        ]
        lines += _family_table(ev)
        lines += format_markdown(ev)  # best and worst formats per system (format_search)
        lines += _repeats_table(ev)
        lines += breakdown_tables(ev)
        lines += _notes(ev)
        lines.append("")
    return "\n".join(lines)


__all__ = ["markdown_summary"]
