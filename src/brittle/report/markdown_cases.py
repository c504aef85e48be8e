"""summary.md's evidence and breakdowns: the cases behind each failed gate (up to
:data:`MAX_EVIDENCE`), accuracy by label with a confusion matrix, and accuracy and flip rate by
tag, as compact markdown tables.

Every user or model text is made inert (:func:`brittle.sanitize.for_markdown`: no HTML, no markup,
one line, shortened), as in the rest of summary.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brittle._format import number
from brittle.report.phrases import outcome
from brittle.sanitize import for_markdown

#: cases listed under a failed gate (run.json keeps as many: run/evidence.py's MAX_KEPT)
MAX_EVIDENCE = 20
#: characters of an input or answer shown in a case line
TEXT_LIMIT = 120


def _md(text: Any, limit: int = TEXT_LIMIT) -> str:
    return for_markdown(text, limit=limit)


def _code(text: Any) -> str:
    """Text for inside a markdown code span: one line, no backticks."""
    return " ".join(str(text).replace("`", "'").split())[:120]


def _case_line(case: Mapping[str, Any]) -> str:
    if "variant_id" in case:  # a flip
        change = "pass→FAIL" if case.get("original_passed") else "fail→pass"
        line = (
            f"    - `{_code(case['variant_id'])}` ({change}): original: "
            f"{_md(case.get('original_input'))} → {_md(case.get('original_answer'), 60)}; "
            f"variant: {_md(case.get('variant_input'))} → {_md(case.get('variant_answer'), 60)}"
        )
        diff = case.get("template_diff")
        if diff:
            line += f"; template: {_md(' / '.join(str(diff).splitlines()), 300)}"
        return line
    line = (
        f"    - `{_code(case.get('row_id'))}`: input: {_md(case.get('input'))}; "
        f"expected: {_md(case.get('expected'), 60)}; "
    )
    if "baseline_answer" in case:
        return line + (
            f"baseline: {_md(case.get('baseline_answer'), 60)} "
            f"({outcome(case.get('baseline_passed'))}); now: {_md(case.get('answer'), 60)} "
            f"({outcome(case.get('passed'))})"
        )
    return line + f"answer: {_md(case.get('answer'), 60)}"


_HEADS = {
    "wrong": "wrong",
    "worse": "got worse since the baseline",
    "flipped": "flipped variant(s)",
    "newly flipped": "newly flipped variant(s)",
}


def evidence_lines(evidence: Mapping[str, Any] | None) -> list[str]:
    """The nested list under a failed gate: how many cases, then the first few."""
    if not evidence or not evidence.get("cases"):
        return []
    cases = list(evidence["cases"])[:MAX_EVIDENCE]
    total = int(evidence.get("total") or len(cases))
    kind = str(evidence.get("kind"))
    scope = f" of {evidence['scope']}" if kind == "wrong" and evidence.get("scope") else ""
    head = f"  - {total}{scope} {_HEADS.get(kind, 'case(s)')}"
    if total > len(cases):
        head += f"; the first {len(cases)} (results.parquet has every row)"
    return [head + ":", *(_case_line(case) for case in cases)]


def _share(correct: Any, cases: Any, rate: Any) -> str:
    return f"{correct:.4g}/{cases} ({number(rate)})" if cases else "–"


def _label_table(systems: Mapping[str, Any]) -> list[str]:
    rows = [
        f"| {_md(name, 60)} | {_md(label, 60)} | "
        f"{_share(block.get('correct'), block.get('cases'), block.get('accuracy'))} | "
        f"{number(block.get('precision'))} |"
        for name, sys in systems.items()
        for label, block in (sys.get("by_label") or {}).items()
    ]
    if not rows:
        return []
    return [
        "Accuracy by expected label (correct / cases; precision: the share of answers of that "
        "label that were right):",
        "",
        "| system | label | accuracy | precision |",
        "|---|---|---|---|",
        *rows,
        "",
    ]


def _confusion_tables(systems: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for name, sys in systems.items():
        matrix = sys.get("confusion") or {}
        if not matrix:
            continue
        columns = list(next(iter(matrix.values())))
        lines += [
            f"Confusion of {_md(name, 60)} (rows: expected, columns: answer):",
            "",
            "| expected \\ answer | " + " | ".join(_md(c, 40) for c in columns) + " |",
            "|---" * (len(columns) + 1) + "|",
        ]
        for want, row in matrix.items():
            cells = [str(row.get(c, 0)) for c in columns]
            lines.append(f"| {_md(want, 40)} | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def _tag_table(systems: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, sys in systems.items():
        for tag, block in (sys.get("by_tag") or {}).items():
            rate, pairs = block.get("flip_rate"), block.get("pairs") or 0
            flips = f"{number(rate)} ({rate * pairs:.4g}/{pairs})" if rate is not None else "–"
            rows.append(
                f"| {_md(name, 60)} | {_md(tag, 60)} | {block.get('cases')} | "
                f"{number(block.get('accuracy'))} | {flips} |"
            )
    if not rows:
        return []
    return [
        "By tag (a case with several tags counts under each):",
        "",
        "| system | tag | cases | accuracy | flip rate |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def breakdown_tables(ev: Mapping[str, Any]) -> list[str]:
    """Accuracy by label, confusion matrices and the per-tag table of an eval ([] if none)."""
    systems = ev.get("systems") or {}
    return [*_label_table(systems), *_confusion_tables(systems), *_tag_table(systems)]


__all__ = ["MAX_EVIDENCE", "breakdown_tables", "evidence_lines"]
