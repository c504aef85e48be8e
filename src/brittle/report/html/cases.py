"""The case tables of each eval: the (newly) flipped cases, original against variant with the
differences marked, and the originals that fail their checks.

These are the only parts of the page that grow with the run's size, so they are capped
(:data:`MAX_CASES_SHOWN` flipped cases per system, :data:`MAX_FAILING_SHOWN` failing originals)
and say how many they left out; every row stays in results.parquet beside the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from brittle.report.history import FlippedCase, FlipSet
from brittle.report.html.text import MAX_ANSWER, clip, esc, word_diff
from brittle.report.phrases import outcome

MAX_CASES_SHOWN = 100
MAX_FAILING_SHOWN = 30
#: characters of an input in the failing and evidence tables
MAX_INPUT = 600


def _flip_row(system: str, case: FlippedCase) -> str:
    in_a, in_b = word_diff(case.original_input, case.variant_input)
    out_a, out_b = word_diff(case.original_output, case.variant_output)
    change = (
        '<span class="bad-text">pass → FAIL</span>'
        if case.original_passed
        else '<span class="ok-text">fail → pass</span>'
    )
    return (
        f'<tr data-system="{esc(system)}" data-family="{esc(case.family)}">'
        f"<td><code>{esc(case.variant_id)}</code><br><small>{esc(system)} · "
        f"{esc(case.family)}</small></td><td>{change}</td>"
        f'<td><div class="pair"><span class="tag">original</span><span class="text">{in_a}'
        f'</span></div><div class="pair"><span class="tag">variant</span>'
        f'<span class="text">{in_b}</span></div></td>'
        f'<td><div class="pair"><span class="tag">original</span><span class="text">{out_a}'
        f'</span></div><div class="pair"><span class="tag">variant</span>'
        f'<span class="text">{out_b}</span></div></td>'
        f"<td>{esc(clip(case.original_answer, MAX_ANSWER))} → "
        f"{esc(clip(case.variant_answer, MAX_ANSWER))}</td></tr>"
    )


def flips_section(ev_name: str, flips: Sequence[FlipSet], index: int) -> str:
    """The flipped cases of eval ``ev_name``, pass → FAIL first, with a filter box; ``index``
    numbers the table so each eval's filter finds its own."""
    sets = [f for f in flips if f.eval == ev_name]
    if not sets:
        return ""
    notes = []
    rows = []
    for flip_set in sets:
        shown = flip_set.cases[:MAX_CASES_SHOWN]
        label = (
            "newly flipped (not flipped in the baseline)"
            if flip_set.against_baseline
            else ("flipped (no baseline to compare with)")
        )
        notes.append(
            f"<li><strong>{esc(flip_set.system)}</strong>: {flip_set.total} {label}"
            + (f"; showing the first {len(shown)}" if flip_set.total > len(shown) else "")
            + "</li>"
        )
        rows += [_flip_row(flip_set.system, c) for c in shown]
    if not rows:
        return "<h3>Newly flipped cases</h3><ul class='flip-notes'>" + "".join(notes) + "</ul>"
    table_id = f"flips-{index}"
    return (
        "<h3>Newly flipped cases</h3><ul class='flip-notes'>"
        + "".join(notes)
        + "</ul>"
        + f'<p><input type="search" class="filter" data-table="{table_id}" '
        'placeholder="filter cases (id, family, text)" aria-label="filter cases"></p>'
        + f'<table class="grid-table flips paged" id="{table_id}"><thead><tr><th>variant</th>'
        "<th>change</th><th>input</th><th>output</th><th>answer</th></tr></thead><tbody>"
        + "".join(rows)
        + '</tbody></table><p class="note">Pass → FAIL first; every row is in '
        "results.parquet. <del>struck</del>: only in the original; <ins>marked</ins>: only in "
        "the variant.</p>"
    )


def failing_section(ev: Mapping[str, Any]) -> str:
    """The originals that fail their checks, folded away: they are not what the run is about,
    but they explain a low accuracy."""
    rows = []
    total = 0
    for name, system in ev["systems"].items():
        failing = system.get("failing_cases", [])
        total += len(failing)
        for case in failing[:MAX_FAILING_SHOWN]:
            rows.append(
                f"<tr><td>{esc(name)}</td><td><code>{esc(case.get('case_id'))}</code></td>"
                f'<td><span class="text">{esc(clip(case.get("input"), MAX_INPUT))}</span></td>'
                f"<td>{esc(clip(case.get('expected'), MAX_ANSWER))}</td>"
                f'<td><span class="text">{esc(clip(case.get("output")))}</span></td>'
                f"<td>{esc(clip(case.get('detail'), 400))}</td></tr>"
            )
    if not rows:
        return ""
    return (
        f"<details class='failing'><summary>Originals that fail their checks ({total})"
        "</summary><table class='grid-table paged'><thead><tr><th>system</th><th>case</th>"
        "<th>input</th><th>expected</th><th>output</th><th>check</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></details>"
    )


_EVIDENCE_HEADS = {
    "wrong": "wrong",
    "worse": "got worse since the baseline",
    "flipped": "flipped variant(s)",
    "newly flipped": "newly flipped variant(s)",
}


def _evidence_row(case: Mapping[str, Any]) -> str:
    """One case behind a failed gate: its id, input(s), expected answer and answer(s)."""
    if "variant_id" in case:  # a flip: original against variant
        in_a, in_b = word_diff(case.get("original_input"), case.get("variant_input"))
        diff = case.get("template_diff")
        template = f"<pre class='template-diff'>{esc(clip(diff, 800))}</pre>" if diff else ""
        change = "pass → FAIL" if case.get("original_passed") else "fail → pass"
        return (
            f"<tr><td><code>{esc(case['variant_id'])}</code><br><small>{esc(change)}</small>"
            f'</td><td><div class="pair"><span class="tag">original</span><span class="text">'
            f'{in_a}</span></div><div class="pair"><span class="tag">variant</span>'
            f'<span class="text">{in_b}</span></div>{template}</td>'
            f"<td>{esc(clip(case.get('expected'), MAX_ANSWER))}</td>"
            f"<td>{esc(clip(case.get('original_answer'), MAX_ANSWER))} → "
            f"{esc(clip(case.get('variant_answer'), MAX_ANSWER))}</td></tr>"
        )
    answer = esc(clip(case.get("answer"), MAX_ANSWER))
    if "baseline_answer" in case:
        answer = (
            f"{esc(clip(case.get('baseline_answer'), MAX_ANSWER))} "
            f"<small>({outcome(case.get('baseline_passed'))})</small> → {answer} "
            f"<small>({outcome(case.get('passed'))})</small>"
        )
    return (
        f"<tr><td><code>{esc(case.get('row_id'))}</code></td>"
        f'<td><span class="text">{esc(clip(case.get("input"), MAX_INPUT))}</span></td>'
        f"<td>{esc(clip(case.get('expected'), MAX_ANSWER))}</td><td>{answer}</td></tr>"
    )


def evidence_section(ev: Mapping[str, Any]) -> str:
    """For each failed gate with evidence (:mod:`brittle.run.evidence`), the cases behind it:
    the wrong rows, those that got worse since the baseline (baseline answer → answer), or the
    flipped variants (original against variant, a template diff for template-level ones)."""
    parts = []
    for name, system in ev["systems"].items():
        for v in system.get("verdicts", []):
            found = v.get("evidence") or {}
            cases = list(found.get("cases") or [])
            if v.get("status") != "FAILED" or not cases:
                continue
            total = int(found.get("total") or len(cases))
            kind = str(found.get("kind"))
            what = _EVIDENCE_HEADS.get(kind, "case(s)")
            if kind == "wrong" and found.get("scope"):
                what = f"of {found['scope']} {what}"
            shown = f"; the first {len(cases)}" if total > len(cases) else ""
            flips = "variant_id" in cases[0]
            head = (
                "<th>variant</th><th>input</th><th>expected</th><th>answer</th>"
                if flips
                else "<th>case</th><th>input</th><th>expected</th><th>answer</th>"
            )
            parts.append(
                f"<details class='evidence' open><summary>{esc(name)} · <code>{esc(v['gate'])}"
                f"</code>: {total} {esc(what)}{shown}</summary><table class='grid-table'>"
                f"<thead><tr>{head}</tr></thead><tbody>"
                + "".join(_evidence_row(case) for case in cases)
                + "</tbody></table></details>"
            )
    if not parts:
        return ""
    return "<h3>Why gates failed</h3>" + "".join(parts)


__all__ = [
    "MAX_CASES_SHOWN",
    "MAX_FAILING_SHOWN",
    "evidence_section",
    "failing_section",
    "flips_section",
]
