"""The format search in every report: one line (or a small block) per system.

Read from ``systems[].format_search`` of run.json (:mod:`brittle.search.formats`): the best and
worst formats found with their accuracies and intervals, and ``format_spread`` with its interval;
or, for a system without a template, why it has none. A merged run's search (pooled over its
shards, :func:`brittle.search.formats.merge_searches`) says so. The terminal and summary.md show
:func:`format_lines`, the HTML page :func:`format_section`; summary.json carries
:func:`summary_record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from brittle._format import number

FREEZE_HINT = "brittle freeze-formats"


def _interval(values: Any) -> str:
    if not isinstance(values, list | tuple) or len(values) != 2:
        return ""
    return f" [{number(values[0])}, {number(values[1])}]"


def _arm(arm: Mapping[str, Any]) -> str:
    return (
        f"'{arm.get('label')}' {number(arm.get('accuracy'))}{_interval(arm.get('interval'))} "
        f"(n={arm.get('n')})"
    )


def _pooled(record: Mapping[str, Any]) -> str:
    """A merged run's search: how many shards' searches it pools, which formats it left out."""
    shards = record.get("shards")
    if not shards:
        return ""
    text = f", pooled over {shards} shard(s)"
    left = record.get("arms_left_out") or []
    if left:
        text += f" ({len(left)} format(s) drawn in only some shards left out)"
    return text


def format_line(record: Mapping[str, Any] | None) -> str | None:
    """One system's search in words (None when the eval has no format search)."""
    if not isinstance(record, Mapping):
        return None
    if "undefined" in record:
        return f"format spread undefined: {record['undefined']}"
    text = (
        f"format spread {number(record.get('spread'))}{_interval(record.get('interval'))} over "
        f"{record.get('formats_tried')} of {record.get('formats')} formats "
        f"({record.get('calls')} of {record.get('budget')} calls"
        + (f", {record['errors']} errored" if record.get("errors") else "")
        + _pooled(record)
        + f"): worst {_arm(record['worst'])}, best {_arm(record['best'])}"
    )
    if record.get("frozen"):
        return text + "; the worst is frozen in the fixture"
    if record.get("fixture"):
        return text + f"; `{FREEZE_HINT}` freezes the worst into {record['fixture']}"
    return text


def format_lines(ev: Mapping[str, Any]) -> list[str]:
    """``NAME: line`` per system of a run.json eval record that has a format search."""
    out = []
    for name, system in (ev.get("systems") or {}).items():
        line = format_line(system.get("format_search"))
        if line:
            out.append(f"{name}: {line}")
    return out


def format_markdown(ev: Mapping[str, Any]) -> list[str]:
    """summary.md's block: a list item per system, or nothing."""
    lines = format_lines(ev)
    if not lines:
        return []
    return (
        ["**Format spread** (best minus worst accuracy over the formats searched):", ""]
        + [f"- {line}" for line in lines]
        + [""]
    )


def format_section(ev: Mapping[str, Any]) -> str:
    """The HTML block: a small table of best, worst and spread per system (empty without)."""
    rows = []
    for name, system in (ev.get("systems") or {}).items():
        record = system.get("format_search")
        if not isinstance(record, Mapping):
            continue
        if "undefined" in record:
            rows.append(
                f"<tr><td>{escape(name)}</td><td colspan=3>undefined: "
                f"{escape(str(record['undefined']))}</td></tr>"
            )
            continue
        cells = [
            f"{number(record.get('spread'))}{_interval(record.get('interval'))}",
            *(
                f"<code>{escape(str(arm.get('label')))}</code> {number(arm.get('accuracy'))}"
                f"{_interval(arm.get('interval'))} (n={arm.get('n')})"
                for arm in (record["worst"], record["best"])
            ),
        ]
        rows.append(
            f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        )
    if not rows:
        return ""
    return (
        '<div class="format-spread"><h3>Format spread</h3>'
        "<table><tr><th>system</th><th>spread</th><th>worst format</th><th>best format</th></tr>"
        + "".join(rows)
        + "</table></div>"
    )


def summary_record(system: Mapping[str, Any]) -> dict[str, Any] | None:
    """summary.json's ``format_search``: run.json's without the per-arm list."""
    record = system.get("format_search")
    if not isinstance(record, Mapping):
        return None
    return {key: value for key, value in record.items() if key != "arms"}


__all__ = ["format_line", "format_lines", "format_markdown", "format_section", "summary_record"]
