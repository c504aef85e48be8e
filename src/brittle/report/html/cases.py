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

MAX_CASES_SHOWN = 100
MAX_FAILING_SHOWN = 30


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
                f'<td><span class="text">{esc(clip(case.get("output")))}</span></td>'
                f"<td>{esc(clip(case.get('detail'), 400))}</td></tr>"
            )
    if not rows:
        return ""
    return (
        f"<details class='failing'><summary>Originals that fail their checks ({total})"
        "</summary><table class='grid-table paged'><thead><tr><th>system</th><th>case</th>"
        "<th>output</th><th>check</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></details>"
    )


__all__ = ["MAX_CASES_SHOWN", "MAX_FAILING_SHOWN", "failing_section", "flips_section"]
