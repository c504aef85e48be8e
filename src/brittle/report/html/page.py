"""The HTML run report: one self-contained file, ``reports/<run-id>/index.html``.

Everything is inline (the CSS and a few lines of JS from ``assets/``, SVG plots drawn in Python
by :mod:`.svg`): the file opens offline and loads nothing. A Content-Security-Policy meta tag
forbids any fetch and lets only the report's own script (by hash) run. Every text that comes
from a model, a golden set or a user file is escaped with :func:`html.escape` (:mod:`.text`).

What it shows, per eval: the gate verdicts; accuracy and flip rate per system with their
intervals; a heatmap of flip rate by perturbation family x system; trend lines of accuracy and
flip rate over the last runs in the history; the prompt-versus-fine-tune table with a short
reading (:mod:`.comparison`); the (newly) flipped cases with original and variant input and
output, differences highlighted (:mod:`.cases`). Case tables are capped
(:data:`~.cases.MAX_CASES_SHOWN` per system, texts clipped at :data:`~.text.MAX_TEXT`
characters) so the file stays small whatever the run's size; metrics never are.

This module assembles the page and holds the sections that show the run's numbers; the others
hold what those sections draw on.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from brittle._format import number as _f
from brittle.report.format_spread import format_section
from brittle.report.history import FlipSet, TrendPoint
from brittle.report.html.adapter import adapter_section
from brittle.report.html.breakdown import breakdown_section
from brittle.report.html.cases import evidence_section, failing_section, flips_section
from brittle.report.html.comparison import KIND_LABEL, comparison_section
from brittle.report.html.svg import PALETTE, heatmap, interval_plot, trend_plot
from brittle.report.html.text import clip, esc
from brittle.stats.intervals import metric_interval

PAGE_ROWS = 15
"""Rows a long table shows before its "show more" button; the script reads it from the page."""


@dataclass(frozen=True)
class ReportData:
    """What one report shows: the run (its run.json), its flipped cases and the trends."""

    record: Mapping[str, Any]
    flips: Sequence[FlipSet] = ()
    trends: Mapping[str, Sequence[TrendPoint]] = field(default_factory=dict)
    history: str | None = None
    """The history file the trends come from; None when history is off."""


@functools.cache
def _asset(name: str) -> str:
    """The text of ``assets/<name>``, read once per process (a session may render many pages).

    The CSS and JS are files, not Python strings, so editors and linters see them as what they
    are; they ship in the wheel as package data.
    """
    return (resources.files("brittle.report.html") / "assets" / name).read_text(encoding="utf-8")


def _style() -> str:
    """The page's CSS as inlined, starting on the line after ``<style>``."""
    return "\n" + _asset("report.css")


@functools.cache
def _script() -> str:
    """The page's script exactly as inlined (the CSP carries the hash of these bytes), with the
    ``PAGE_ROWS`` placeholder of ``report.js`` filled in."""
    return "\n" + _asset("report.js").replace("PAGE_ROWS", str(PAGE_ROWS))


def _status_badge(status: str) -> str:
    cls = {"passed": "ok", "FAILED": "bad", "failed": "bad", "inconclusive": "warn"}.get(
        status, "skip"
    )
    return f'<span class="badge {cls}">{esc(status)}</span>'


def _delta_text(now: Any, before: Any, better: str) -> str:
    if now is None or before is None:
        return ""
    delta = now - before
    if abs(delta) < 5e-4:
        return ' <span class="delta">(±0)</span>'
    good = delta > 0 if better == "higher" else delta < 0
    return f' <span class="delta {"up" if good else "down"}">({delta:+.3f})</span>'


def _headline(record: Mapping[str, Any]) -> str:
    counts = {"passed": 0, "FAILED": 0, "inconclusive": 0, "skipped": 0}
    for ev in record.get("evals", []):
        for system in ev["systems"].values():
            for v in system.get("verdicts", []):
                counts[v["status"]] = counts.get(v["status"], 0) + 1
    failed = counts["FAILED"]
    status = "FAILED" if failed else "PASSED"
    rows = []
    for ev in record.get("evals", []):
        for name, system in ev["systems"].items():
            m = system["metrics"]["overall"]
            b = (system.get("baseline_metrics") or {}).get("overall", {})
            verdicts = system.get("verdicts", [])
            n_fail = sum(v["status"] == "FAILED" for v in verdicts)
            n_pass = sum(v["status"] == "passed" for v in verdicts)
            n_skip = sum(v["status"] == "skipped" for v in verdicts)
            n_unsure = sum(v["status"] == "inconclusive" for v in verdicts)
            gates = f"{n_pass} passed"
            if n_unsure:
                gates += f', <span class="badge warn">{n_unsure} inconclusive</span>'
            if n_fail:
                gates += f', <strong class="bad-text">{n_fail} failed</strong>'
            if n_skip:
                gates += f", {n_skip} skipped"
            note = (
                ' <span class="note">fingerprint changed since the baseline</span>'
                if system.get("fingerprint_changed")
                else ""
            )
            rows.append(
                f'<tr data-eval="{esc(ev["name"])}" data-system="{esc(name)}">'
                f"<td>{esc(ev['name'])}</td><td>{esc(name)}{note}</td>"
                f"<td>{esc(KIND_LABEL.get(system.get('kind', ''), system.get('kind')))}</td>"
                f"<td>{_status_badge('FAILED' if n_fail else 'passed')}</td><td>{gates}</td>"
                f"<td>{_f(m.get('accuracy'))}"
                f"{_delta_text(m.get('accuracy'), b.get('accuracy'), 'higher')}</td>"
                f"<td>{_f(m.get('flip_rate'))}"
                f"{_delta_text(m.get('flip_rate'), b.get('flip_rate'), 'lower')}</td>"
                f"<td>{_f(m.get('errors'))}</td></tr>"
            )
    commit = record.get("git_commit") or "–"
    meta = (
        f"run <code>{esc(record.get('run_id'))}</code> · {esc(record.get('created'))} · "
        f"branch <code>{esc(record.get('git_branch') or '–')}</code> · commit "
        f"<code>{esc(commit[:12])}</code> · brittle {esc(record.get('brittle_version'))}"
    )
    return (
        f'<header><h1>brittle run report <span class="badge big {"bad" if failed else "ok"}" '
        f'id="verdict">{status}</span></h1><p class="meta">{meta}</p>'
        f'<p class="counts">gates: {counts["passed"]} passed, {failed} failed, '
        f"{counts['inconclusive']} inconclusive, {counts['skipped']} skipped</p></header>"
        '<section id="headline"><h2>Verdicts</h2><table class="grid-table"><thead><tr>'
        "<th>eval</th><th>system</th><th>kind</th><th>verdict</th><th>gates</th>"
        "<th>accuracy (Δ baseline)</th><th>flip rate (Δ baseline)</th><th>errors</th>"
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def _gates_table(ev: Mapping[str, Any]) -> str:
    rows = []
    for name, system in ev["systems"].items():
        for v in system.get("verdicts", []):
            message = str(v.get("message") or "")
            first, _, rest = message.partition("\n")
            more = (
                f"<details><summary>details</summary><pre>{esc(clip(rest, 4000))}</pre></details>"
                if rest
                else ""
            )
            rows.append(
                f'<tr class="verdict {esc(v["status"].lower())}"><td>{esc(name)}</td>'
                f"<td><code>{esc(v['gate'])}</code></td><td>{_status_badge(v['status'])}</td>"
                f"<td>{_f(v.get('now'), 4)}</td><td>{_f(v.get('baseline'), 4)}</td>"
                f"<td>{esc(first)}{more}</td></tr>"
            )
    if not rows:
        return ""
    return (
        '<h3>Gates</h3><table class="grid-table gates"><thead><tr><th>system</th><th>gate</th>'
        "<th>verdict</th><th>now</th><th>baseline</th><th>message</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        + (f'<p class="note">{esc(ev["underpowered"])}</p>' if ev.get("underpowered") else "")
    )


def _intervals_section(ev: Mapping[str, Any], colours: Mapping[str, str]) -> str:
    plots = []
    any_wilson = False
    for metric in ("accuracy", "flip_rate"):
        rows = []
        for name, system in ev["systems"].items():
            block = system["metrics"]["overall"]
            found = metric_interval(block, metric)
            if found and found[1] == "wilson":
                any_wilson = True
            base = (system.get("baseline_metrics") or {}).get("overall", {}).get(metric)
            rows.append((name, block.get(metric), found[0] if found else None, base))
        plots.append(interval_plot(metric, rows, colours))
    note = (
        "Whiskers: 95 % intervals"
        + (" (* Wilson score intervals from the counts)" if any_wilson else "")
        + "; ◇ the committed baseline."
    )
    return (
        '<h3>Accuracy and flip rate</h3><div class="plots">'
        + "".join(plots)
        + f'</div><p class="note">{note}</p>'
    )


def _heatmap_section(ev: Mapping[str, Any]) -> str:
    systems = list(ev["systems"])
    families = sorted({f for s in ev["systems"].values() for f in s["metrics"]["families"]})
    if not families:
        return '<h3>Flip rate by perturbation family</h3><p class="note">No variants ran.</p>'
    blocks = {
        (family, name): ev["systems"][name]["metrics"]["families"].get(family, {})
        for family in families
        for name in systems
    }
    values = {key: block.get("flip_rate") for key, block in blocks.items()}
    counts = {
        key: f"{block['flip_rate'] * block['pairs']:.4g}/{block['pairs']}"
        for key, block in blocks.items()
        if block.get("flip_rate") is not None and block.get("pairs")
    }
    return (
        "<h3>Flip rate by perturbation family</h3>"
        + heatmap(families, systems, values, counts)
        + '<p class="note">Share of (original, variant) pairs whose pass/fail differs from the '
        "original's (flipped pairs / pairs in brackets); darker is more brittle.</p>"
    )


def _repeats_section(ev: Mapping[str, Any]) -> str:
    """Self-disagreement (randomness) and excess flip rate (brittleness) of systems that
    repeat their calls."""
    rows = []
    for name, system in ev["systems"].items():
        info = system["metrics"].get("repeats")
        if not info or "excess_flip_rate" not in info:
            continue
        cells = "".join(
            f'<td data-metric="{metric}" data-value="{_data(info.get(metric))}">'
            f"{_f(info.get(metric))}{_interval((info.get('ci') or {}).get(metric))}</td>"
            for metric in ("self_disagreement", "excess_flip_rate", "flip_rate_between_draws")
        )
        rows.append(
            f'<tr data-system="{esc(name)}"><td>{esc(name)}</td>'
            f"<td>{esc(info['k'])} ({esc(info['reduction'])})</td>{cells}</tr>"
        )
    if not rows:
        return ""
    return (
        '<h3>Repeats</h3><table class="grid-table repeats"><thead><tr><th>system</th>'
        "<th>repeats</th><th>self-disagreement</th><th>excess flip rate</th>"
        "<th>flips between draws</th></tr></thead><tbody>"
        + "".join(rows)
        + '</tbody></table><p class="note">Self-disagreement: how often two draws of the same '
        "input disagree (randomness). Excess flip rate: how much more often a variant's draw "
        "disagrees with its original's (brittleness; about 0 for a system that is random but "
        "not brittle). 95 % intervals, cases as clusters.</p>"
    )


def _data(value: Any) -> str:
    return "" if value is None else repr(float(value))


def _interval(found: Any) -> str:
    if not found:
        return ""
    return f' <span class="ci">[{_f(found[0])}, {_f(found[1])}]</span>'


def _trend_section(
    ev: Mapping[str, Any], points: Sequence[TrendPoint], colours: Mapping[str, str], history: Any
) -> str:
    if not points:
        return ""
    legend = "".join(
        f'<span class="swatch" style="background:{colours.get(s, PALETTE[0])}"></span>{esc(s)} '
        for s in dict.fromkeys(p.system for p in points)
    )
    source = (
        f"from the history {esc(history)}"
        if history
        else "history is off: this run only (--brittle-history PATH to keep one)"
    )
    return (
        '<h3>Trends</h3><div class="plots">'
        + trend_plot("accuracy", points, colours)
        + trend_plot("flip_rate", points, colours)
        + f'</div><p class="legend">{legend}</p><p class="note">Last runs of this eval, '
        f"{source}.</p>"
    )


def _eval_section(ev: Mapping[str, Any], data: ReportData, index: int) -> str:
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(ev["systems"])}
    for point in data.trends.get(ev["name"], ()):
        colours.setdefault(point.system, PALETTE[len(colours) % len(PALETTE)])
    per_family = ev.get("variants_per_family") or {}
    variants = ", ".join(f"{esc(k)} {v}" for k, v in sorted(per_family.items()))
    noops = ev.get("noops_per_family") or {}
    noop_text = (
        " · no-ops: " + ", ".join(f"{esc(k)} {v}" for k, v in sorted(noops.items()))
        if noops
        else ""
    )
    return (
        f'<section class="eval" data-eval="{esc(ev["name"])}"><h2>{esc(ev["name"])}</h2>'
        f'<p class="meta">{esc(ev.get("cases"))} cases · variants: {variants or "none"}'
        f"{noop_text} · <code>{esc(ev.get('source'))}</code></p>"
        + adapter_section(ev)  # a fine-tune that changed nothing: its numbers are its base's
        + comparison_section(ev)  # prompt or fine-tune: the decision first
        + _gates_table(ev)
        + evidence_section(ev)
        + _intervals_section(ev, colours)
        + _heatmap_section(ev)
        + breakdown_section(ev)
        + format_section(ev)  # best and worst formats per system (format_search)
        + _repeats_section(ev)
        + _trend_section(ev, data.trends.get(ev["name"], ()), colours, data.history)
        + flips_section(ev["name"], data.flips, index)
        + failing_section(ev)
        + "</section>"
    )


def _csp(script: str) -> str:
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def render_report(data: ReportData) -> str:
    """The whole report as one HTML document."""
    record = data.record
    evals = record.get("evals", [])
    body = _headline(record) + "".join(_eval_section(ev, data, i) for i, ev in enumerate(evals))
    title = f"brittle {record.get('run_id', '')}"
    footer = (
        f"<footer>Generated by brittle {esc(record.get('brittle_version'))} from run "
        f"<code>{esc(record.get('run_id'))}</code>. All metrics are in run.json and every result "
        "row in results.parquet beside this file. Regenerate with <code>brittle report "
        f"{esc(record.get('run_id'))}</code>.</footer>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(_script())}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_style()}</style></head><body><main>"
        + body
        + footer
        + f"</main><script>{_script()}</script></body></html>\n"
    )


__all__ = ["PAGE_ROWS", "ReportData", "render_report"]
