"""Where each system is wrong: accuracy by expected label with a confusion matrix (label checks)
and accuracy and flip rate by golden-set tag, one small table per system
(:mod:`brittle.stats.breakdown` defines the numbers)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brittle._format import number
from brittle.report.html.text import esc


def _count(value: Any) -> str:
    return esc(f"{value:.4g}") if isinstance(value, int | float) else esc(value)


def _labels(by_label: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{esc(label)}</td><td>{_count(b.get('correct'))}/{esc(b.get('cases'))}"
        f"</td><td>{number(b.get('accuracy'))}</td><td>{esc(b.get('predicted'))}</td>"
        f"<td>{number(b.get('precision'))}</td></tr>"
        for label, b in by_label.items()
    )
    return (
        "<table class='grid-table breakdown'><caption>Accuracy by label</caption><thead><tr>"
        "<th>expected</th><th>correct</th><th>accuracy</th><th>answered</th><th>precision</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )


def _cell(diagonal: bool, count: int) -> str:
    """A confusion cell's opening tag: right answers shaded green, mistakes red."""
    if diagonal:
        return "<td class='diag'>"
    return "<td class='off'>" if count else "<td>"


def _confusion(matrix: Mapping[str, Mapping[str, int]]) -> str:
    columns = list(next(iter(matrix.values())))
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    rows = []
    for want, row in matrix.items():
        cells = "".join(
            f"{_cell(c == want, row.get(c, 0))}{esc(row.get(c, 0))}</td>" for c in columns
        )
        rows.append(f"<tr><th>{esc(want)}</th>{cells}</tr>")
    return (
        "<table class='grid-table breakdown confusion'><caption>Confusion (rows: expected, "
        f"columns: answer)</caption><thead><tr><th></th>{head}</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _tags(by_tag: Mapping[str, Any]) -> str:
    rows = []
    for tag, b in by_tag.items():
        rate, pairs = b.get("flip_rate"), b.get("pairs") or 0
        flips = f"{number(rate)} ({rate * pairs:.4g}/{pairs})" if rate is not None else "–"
        rows.append(
            f"<tr><td>{esc(tag)}</td><td>{esc(b.get('cases'))}</td>"
            f"<td>{number(b.get('accuracy'))}</td><td>{esc(flips)}</td></tr>"
        )
    return (
        "<table class='grid-table breakdown'><caption>By tag</caption><thead><tr><th>tag</th>"
        "<th>cases</th><th>accuracy</th><th>flip rate</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def breakdown_section(ev: Mapping[str, Any]) -> str:
    """The per-system breakdown tables of an eval ("" when no system has any)."""
    parts = []
    for name, system in ev["systems"].items():
        tables = []
        if system.get("by_label"):
            tables.append(_labels(system["by_label"]))
        if system.get("confusion"):
            tables.append(_confusion(system["confusion"]))
        if system.get("by_tag"):
            tables.append(_tags(system["by_tag"]))
        if tables:
            parts.append(
                f"<div class='breakdown-system'><h4>{esc(name)}</h4>{''.join(tables)}</div>"
            )
    if not parts:
        return ""
    return (
        "<h3>Where the systems are wrong</h3>"
        + "".join(parts)
        + "<p class='note'>Originals only for labels (precision: the share of answers of a "
        "label that were right); a case with several tags counts under each.</p>"
    )


__all__ = ["breakdown_section"]
