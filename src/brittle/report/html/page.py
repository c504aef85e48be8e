"""The HTML run report: one self-contained file, ``reports/<run-id>/index.html``.

Everything is inline (CSS, a few lines of JS, SVG plots drawn here in Python): the file opens
offline and loads nothing. A Content-Security-Policy meta tag forbids any fetch and lets only the
report's own script (by hash) run. Every text that comes from a model, a golden set or a user
file is escaped with :func:`html.escape`.

What it shows, per eval: the gate verdicts; accuracy and flip rate per system with their
intervals; a heatmap of flip rate by perturbation family x system; trend lines of accuracy and
flip rate over the last runs in the history; the prompt-versus-fine-tune table with a short
reading; the (newly) flipped cases with original and variant input and output, differences
highlighted. Case tables are capped (:data:`MAX_CASES_SHOWN` per system, texts clipped at
:data:`MAX_TEXT` characters) so the file stays small whatever the run's size; metrics never are.

The plots carry their numbers as ``data-*`` attributes (``data-system``, ``data-family``,
``data-run``, ``data-value``) so tests and scripts can read them back.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from brittle.report.history import FlippedCase, FlipSet, TrendPoint
from brittle.stats.intervals import metric_interval

MAX_CASES_SHOWN = 100
MAX_FAILING_SHOWN = 30
MAX_TEXT = 1500
PAGE_ROWS = 15
PALETTE = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#17becf",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
)
KIND_LABEL = {"prompt": "prompt", "model": "fine-tuned model", "python": "pipeline"}


@dataclass(frozen=True)
class ReportData:
    """What one report shows: the run (its run.json), its flipped cases and the trends."""

    record: Mapping[str, Any]
    flips: Sequence[FlipSet] = ()
    trends: Mapping[str, Sequence[TrendPoint]] = field(default_factory=dict)
    history: str | None = None
    """The history file the trends come from; None when history is off."""


def esc(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def _f(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def _clip(text: Any, limit: int = MAX_TEXT) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit} more chars]"


_TOKEN = re.compile(r"\w+\s*|[^\w\s]+\s*|\s+", re.UNICODE)
MAX_DIFF_WORK = 200_000
"""Above this product of token counts, a diff marks only what lies between the common prefix
and suffix (difflib's matching is quadratic on repetitive texts)."""


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    if len(a) * len(b) <= MAX_DIFF_WORK:
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        return [(op, i1, i2, j1, j2) for op, i1, i2, j1, j2 in matcher.get_opcodes()]
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end = 0
    while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
        end += 1
    ops = [("equal", 0, start, 0, start)] if start else []
    if start < len(a) - end or start < len(b) - end:
        ops.append(("replace", start, len(a) - end, start, len(b) - end))
    if end:
        ops.append(("equal", len(a) - end, len(a), len(b) - end, len(b)))
    return ops


def word_diff(before: Any, after: Any) -> tuple[str, str]:
    """Escaped HTML of both texts with the words that differ in ``<del>`` and ``<ins>``."""
    a_tokens = _TOKEN.findall(_clip(before))
    b_tokens = _TOKEN.findall(_clip(after))
    out_a: list[str] = []
    out_b: list[str] = []
    for op, i1, i2, j1, j2 in _opcodes(a_tokens, b_tokens):
        a_text = esc("".join(a_tokens[i1:i2]))
        b_text = esc("".join(b_tokens[j1:j2]))
        if op == "equal":
            out_a.append(a_text)
            out_b.append(b_text)
            continue
        if a_text:
            out_a.append(f"<del>{a_text}</del>")
        if b_text:
            out_b.append(f"<ins>{b_text}</ins>")
    return "".join(out_a), "".join(out_b)


# --- plots -------------------------------------------------------------------------------------


def _nice_range(values: Sequence[float], *, zero: bool) -> tuple[float, float]:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low = 0.0 if zero else math.floor(min(finite) * 10) / 10
    high = math.ceil(max(finite) * 10 + 1e-9) / 10
    if high - low < 0.1:
        high = low + 0.1
    return max(0.0, low), min(1.0, high) if max(finite) <= 1 else high


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = next(s for s in (0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0) if span / s <= 6)
    first = math.ceil(low / step - 1e-9) * step
    out = []
    value = first
    while value <= high + 1e-9:
        out.append(round(value, 6))
        value += step
    return out


def _svg(width: int, height: int, body: str, *, label: str, cls: str, attrs: str = "") -> str:
    return (
        f'<svg class="plot {cls}" role="img" aria-label="{esc(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"{attrs}>'
        f"<title>{esc(label)}</title>{body}</svg>"
    )


def _short(name: str, limit: int = 16) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def interval_plot(
    metric: str,
    rows: Sequence[tuple[str, float | None, tuple[float, float] | None, float | None]],
    colours: Mapping[str, str],
) -> str:
    """Dots with interval whiskers per system; a hollow diamond marks the baseline value."""
    width, left, right, top, row_h = 440, 120, 24, 22, 28
    height = top + row_h * max(1, len(rows)) + 26
    values: list[float] = []
    for _, value, ci, base in rows:
        values += [v for v in (value, base) if v is not None]
        if ci:
            values += list(ci)
    low, high = _nice_range(values, zero=metric != "accuracy")
    span = (high - low) or 1.0

    def x(v: float) -> float:
        return left + (min(max(v, low), high) - low) / span * (width - left - right)

    parts = []
    axis_y = top + row_h * max(1, len(rows))
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" '
            f'y2="{axis_y}"/><text class="tick" x="{x(tick):.1f}" y="{axis_y + 14}" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    parts.append(
        f'<text class="axis-label" x="{left}" y="{top - 8}">{esc(metric.replace("_", " "))}</text>'
    )
    for i, (system, value, ci, base) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        colour = colours.get(system, PALETTE[0])
        parts.append(
            f'<text class="row-label" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">'
            f"{esc(_short(system))}</text>"
        )
        if ci:
            parts.append(
                f'<line class="whisker" data-system="{esc(system)}" x1="{x(ci[0]):.1f}" '
                f'y1="{y:.1f}" x2="{x(ci[1]):.1f}" y2="{y:.1f}" stroke="{colour}"/>'
                f'<line class="cap" x1="{x(ci[0]):.1f}" y1="{y - 5:.1f}" x2="{x(ci[0]):.1f}" '
                f'y2="{y + 5:.1f}" stroke="{colour}"/>'
                f'<line class="cap" x1="{x(ci[1]):.1f}" y1="{y - 5:.1f}" x2="{x(ci[1]):.1f}" '
                f'y2="{y + 5:.1f}" stroke="{colour}"/>'
            )
        if base is not None:
            bx = x(base)
            parts.append(
                f'<path class="baseline-mark" d="M{bx:.1f},{y - 6:.1f} L{bx + 6:.1f},{y:.1f} '
                f'L{bx:.1f},{y + 6:.1f} L{bx - 6:.1f},{y:.1f} Z" stroke="{colour}">'
                f"<title>baseline {esc(system)}: {_f(base)}</title></path>"
            )
        if value is not None:
            ci_text = f" [{_f(ci[0])}, {_f(ci[1])}]" if ci else ""
            parts.append(
                f'<circle class="mark" data-system="{esc(system)}" data-value="{float(value)!r}" '
                f'cx="{x(value):.1f}" cy="{y:.1f}" r="5.5" fill="{colour}">'
                f"<title>{esc(system)}: {esc(metric)} {_f(value)}{ci_text}</title></circle>"
            )
    return _svg(
        width,
        height,
        "".join(parts),
        label=f"{metric} per system with intervals",
        cls="intervals",
        attrs=f' data-metric="{esc(metric)}"',
    )


def _heat_colour(t: float) -> str:
    t = min(max(t, 0.0), 1.0)
    start, end = (255, 247, 243), (165, 15, 21)
    rgb = tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    families: Sequence[str], systems: Sequence[str], values: Mapping[tuple[str, str], float | None]
) -> str:
    """Flip rate by perturbation family (rows) x system (columns)."""
    left, top, cell_w, cell_h = 130, 28, 100, 30
    width = left + cell_w * max(1, len(systems)) + 10
    height = top + cell_h * max(1, len(families)) + 8
    known = [v for v in values.values() if v is not None]
    vmax = max([0.1, *known])
    parts = []
    for j, system in enumerate(systems):
        parts.append(
            f'<text class="col-label" x="{left + cell_w * j + cell_w / 2:.1f}" y="{top - 10}" '
            f'text-anchor="middle">{esc(_short(system, 14))}</text>'
        )
    for i, family in enumerate(families):
        y = top + cell_h * i
        parts.append(
            f'<text class="row-label" x="{left - 8}" y="{y + cell_h / 2 + 4:.1f}" '
            f'text-anchor="end">{esc(_short(family))}</text>'
        )
        for j, system in enumerate(systems):
            x = left + cell_w * j
            value = values.get((family, system))
            t = (value / vmax) if value is not None else 0.0
            fill = _heat_colour(t) if value is not None else "#eeeeee"
            text_fill = "#ffffff" if t > 0.55 else "#222222"
            data_value = "" if value is None else f"{float(value)!r}"
            parts.append(
                f'<g class="cell" data-family="{esc(family)}" data-system="{esc(system)}" '
                f'data-value="{data_value}"><rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" '
                f'height="{cell_h - 2}" fill="{fill}"/><text x="{x + cell_w / 2:.1f}" '
                f'y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle" fill="{text_fill}">'
                f"{_f(value)}</text><title>{esc(system)} / {esc(family)}: flip rate "
                f"{_f(value)}</title></g>"
            )
    return _svg(
        width, height, "".join(parts), label="flip rate by perturbation family x system", cls="heat"
    )


def trend_plot(metric: str, points: Sequence[TrendPoint], colours: Mapping[str, str]) -> str:
    """One line per system over the runs in ``points`` (oldest left); one circle per run."""
    runs = list(dict.fromkeys((p.run_id, p.created) for p in points))
    index = {run_id: i for i, (run_id, _) in enumerate(runs)}
    width, left, right, top, bottom = 560, 46, 16, 26, 34
    height = 232
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [p.metrics.get(metric) for p in points]
    low, high = _nice_range([v for v in values if v is not None], zero=metric != "accuracy")
    span = (high - low) or 1.0

    def x(i: int) -> float:
        return left + (plot_w * i / (len(runs) - 1) if len(runs) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - (v - low) / span * plot_h

    parts = [f'<text class="axis-label" x="{left}" y="12">{esc(metric.replace("_", " "))}</text>']
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" '
            f'y2="{y(tick):.1f}"/><text class="tick" x="{left - 6}" y="{y(tick) + 4:.1f}" '
            f'text-anchor="end">{tick:g}</text>'
        )
    if runs:
        labels = {0: runs[0][1], len(runs) - 1: runs[-1][1]}
        for i, created in labels.items():
            anchor = "start" if i == 0 and len(runs) > 1 else "end" if i else "middle"
            parts.append(
                f'<text class="tick" x="{x(i):.1f}" y="{height - 12}" text-anchor="{anchor}">'
                f"{esc(created[:10])}</text>"
            )
        parts.append(
            f'<text class="tick" x="{left + plot_w / 2:.1f}" y="{height - 12}" '
            f'text-anchor="middle">{len(runs)} run{"s" if len(runs) != 1 else ""}</text>'
        )
    systems: dict[str, list[TrendPoint]] = {}
    for point in points:
        systems.setdefault(point.system, []).append(point)
    for system, series in systems.items():
        colour = colours.get(system, PALETTE[0])
        segment: list[str] = []
        segments: list[list[str]] = []
        last_index = None
        for point in series:
            value = point.metrics.get(metric)
            i = index[point.run_id]
            if value is None or (last_index is not None and i != last_index + 1):
                if segment:
                    segments.append(segment)
                segment = []
            if value is not None:
                segment.append(f"{x(i):.1f},{y(value):.1f}")
            last_index = i
        if segment:
            segments.append(segment)
        for seg in segments:
            if len(seg) > 1:
                parts.append(
                    f'<polyline class="line" data-system="{esc(system)}" fill="none" '
                    f'stroke="{colour}" points="{" ".join(seg)}"/>'
                )
        for point in series:
            value = point.metrics.get(metric)
            if value is None:
                continue
            i = index[point.run_id]
            parts.append(
                f'<circle class="point" data-system="{esc(system)}" '
                f'data-run="{esc(point.run_id)}" data-value="{float(value)!r}" cx="{x(i):.1f}" '
                f'cy="{y(value):.1f}" r="3.2" fill="{colour}"><title>{esc(system)} '
                f"{esc(point.created)} ({esc(point.run_id)}): {esc(metric)} {_f(value)}"
                "</title></circle>"
            )
    return _svg(
        width,
        height,
        "".join(parts),
        label=f"{metric} over the last {len(runs)} runs",
        cls="trend",
        attrs=f' data-metric="{esc(metric)}" data-runs="{len(runs)}"',
    )


# --- sections ----------------------------------------------------------------------------------


def _status_badge(status: str) -> str:
    cls = {"passed": "ok", "FAILED": "bad", "failed": "bad"}.get(status, "skip")
    return f'<span class="badge {cls}">{esc(status)}</span>'


def _ci_text(block: Mapping[str, Any], metric: str) -> str:
    found = metric_interval(block, metric)
    if found is None:
        return ""
    (low, high), source = found
    mark = "" if source == "run" else "*"
    return f' <span class="ci">[{_f(low)}, {_f(high)}]{mark}</span>'


def _delta_text(now: Any, before: Any, better: str) -> str:
    if now is None or before is None:
        return ""
    delta = now - before
    if abs(delta) < 5e-4:
        return ' <span class="delta">(±0)</span>'
    good = delta > 0 if better == "higher" else delta < 0
    return f' <span class="delta {"up" if good else "down"}">({delta:+.3f})</span>'


def _headline(record: Mapping[str, Any]) -> str:
    counts = {"passed": 0, "FAILED": 0, "skipped": 0}
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
            gates = f"{n_pass} passed"
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
        f"{counts['skipped']} skipped</p></header>"
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
                f"<details><summary>details</summary><pre>{esc(_clip(rest, 4000))}</pre></details>"
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
    values = {
        (family, name): ev["systems"][name]["metrics"]["families"].get(family, {}).get("flip_rate")
        for family in families
        for name in systems
    }
    return (
        "<h3>Flip rate by perturbation family</h3>"
        + heatmap(families, systems, values)
        + '<p class="note">Share of (original, variant) pairs whose pass/fail differs from the '
        "original's; darker is more brittle.</p>"
    )


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


def _per_1k(system: Mapping[str, Any], key: str) -> float | None:
    value = system["metrics"]["overall"].get(key)
    calls = system.get("rows") or 0
    if value is None or not calls:
        return None
    return float(value) / calls * 1000


def _tokens_per_call(system: Mapping[str, Any]) -> float | None:
    m = system["metrics"]["overall"]
    parts = [m.get("prompt_tokens"), m.get("completion_tokens")]
    if all(p is None for p in parts) or not system.get("rows"):
        return None
    return sum(p or 0 for p in parts) / system["rows"]


def _money(value: float | None) -> str:
    if value is None:
        return "–"
    return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"


def _latency(value: Any) -> str:
    if value is None:
        return "–"
    value = float(value)
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _steadiness_key(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float]:
    m = item[1]["metrics"]["overall"]
    flip = m.get("flip_rate")
    acc = m.get("accuracy")
    return (flip if flip is not None else math.inf, -(acc if acc is not None else -1.0))


def _best_key(item: tuple[str, Mapping[str, Any]]) -> tuple[float, float]:
    """Most accurate on the reworded inputs first (``variant_accuracy``, else ``accuracy``),
    then the steadier: a system that gives every input the same answer never flips, but it is
    not the prompt anyone would ship."""
    m = item[1]["metrics"]["overall"]
    acc = m.get("variant_accuracy")
    if acc is None:
        acc = m.get("accuracy")
    flip = m.get("flip_rate")
    return (-(acc if acc is not None else -1.0), flip if flip is not None else math.inf)


def reading(systems: Mapping[str, Mapping[str, Any]]) -> str:
    """A short plain-language comparison: which system is steadier, and at what cost."""
    items = list(systems.items())
    if not items:
        return ""
    if len(items) == 1:
        name, system = items[0]
        m = system["metrics"]["overall"]
        return (
            f"Only {name} ran: flip rate {_f(m.get('flip_rate'))}, accuracy "
            f"{_f(m.get('accuracy'))}."
        )
    prompts = [i for i in items if i[1].get("kind") == "prompt"]
    tuned = [i for i in items if i[1].get("kind") == "model"]
    if prompts and tuned:
        first, second = min(tuned, key=_best_key), min(prompts, key=_best_key)
        scope = "The best fine-tuned model and the best prompt (most accurate on reworded inputs): "
    else:
        ranked = sorted(items, key=_steadiness_key)
        first, second = ranked[0], ranked[1]
        scope = "The two steadiest systems: "
    (a_name, a), (b_name, b) = sorted([first, second], key=_steadiness_key)
    am, bm = a["metrics"]["overall"], b["metrics"]["overall"]
    a_label = f"{a_name} ({KIND_LABEL.get(a.get('kind', ''), a.get('kind'))})"
    b_label = f"{b_name} ({KIND_LABEL.get(b.get('kind', ''), b.get('kind'))})"
    af, bf = am.get("flip_rate"), bm.get("flip_rate")
    if af is None or bf is None:
        text = f"{a_label} and {b_label}: flip rate is undefined for one of them."
    elif abs(af - bf) < 5e-4:
        text = f"{a_label} and {b_label} are equally steady (flip rate {_f(af)})."
    else:
        text = f"{a_label} is steadier than {b_label}: flip rate {_f(af)} against {_f(bf)}"
        if af > 0:
            text += f" ({bf / af:.1f}× fewer flips)"
        a_ci, b_ci = metric_interval(am, "flip_rate"), metric_interval(bm, "flip_rate")
        if a_ci and b_ci and a_ci[0][1] >= b_ci[0][0]:
            text += ", though their 95 % intervals overlap, so this run alone does not settle it"
        text += "."
    aa, ba = am.get("accuracy"), bm.get("accuracy")
    if aa is not None and ba is not None:
        if abs(aa - ba) < 5e-4:
            text += f" Both are as accurate ({_f(aa)})."
        else:
            more = a_name if aa > ba else b_name
            text += f" {more} is the more accurate ({_f(max(aa, ba))} against {_f(min(aa, ba))})."
    costs = (_per_1k(a, "cost"), _per_1k(b, "cost"))
    if all(c is not None for c in costs) and any(costs):
        text += f" Per 1,000 calls {a_name} costs {_money(costs[0])} against {_money(costs[1])}"
    else:
        text += " No prices were reported"
    tokens = (_tokens_per_call(a), _tokens_per_call(b))
    if all(t is not None for t in tokens):
        text += f"; it uses {tokens[0]:.0f} tokens per call against {tokens[1]:.0f}"
    lat = (am.get("latency_p50_s"), bm.get("latency_p50_s"))
    if all(v is not None for v in lat):
        text += f" and answers in {_latency(lat[0])} against {_latency(lat[1])} (median)"
    return scope + text + "."


def _comparison_section(ev: Mapping[str, Any]) -> str:
    rows = []
    for name, system in ev["systems"].items():
        m = system["metrics"]["overall"]
        tokens = _tokens_per_call(system)
        rows.append(
            f'<tr data-system="{esc(name)}"><td>{esc(name)}</td>'
            f"<td>{esc(KIND_LABEL.get(system.get('kind', ''), system.get('kind')))}</td>"
            f"<td>{_f(m.get('accuracy'))}{_ci_text(m, 'accuracy')}</td>"
            f"<td>{_f(m.get('flip_rate'))}{_ci_text(m, 'flip_rate')}</td>"
            f"<td>{_f(m.get('pdr'))}</td>"
            f"<td>{_latency(m.get('latency_p50_s'))}</td>"
            f"<td>{_latency(m.get('latency_p95_s'))}</td>"
            f"<td>{_money(_per_1k(system, 'cost'))}</td>"
            f"<td>{'–' if tokens is None else f'{tokens:.1f}'}</td>"
            f"<td>{_f(m.get('prompt_tokens'))} / {_f(m.get('completion_tokens'))}</td></tr>"
        )
    return (
        '<h3>Prompt or fine-tune?</h3><table class="grid-table compare"><thead><tr>'
        "<th>system</th><th>kind</th><th>accuracy</th><th>flip rate</th><th>PDR</th>"
        "<th>latency p50</th><th>latency p95</th><th>cost / 1,000 calls</th>"
        "<th>tokens / call</th><th>tokens in / out (total)</th></tr></thead><tbody>"
        + "".join(rows)
        + f'</tbody></table><p class="reading">{esc(reading(ev["systems"]))}</p>'
    )


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
        f"<td>{esc(case.original_answer)} → {esc(case.variant_answer)}</td></tr>"
    )


def _flips_section(ev_name: str, flips: Sequence[FlipSet], index: int) -> str:
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


def _failing_section(ev: Mapping[str, Any]) -> str:
    rows = []
    total = 0
    for name, system in ev["systems"].items():
        failing = system.get("failing_cases", [])
        total += len(failing)
        for case in failing[:MAX_FAILING_SHOWN]:
            rows.append(
                f"<tr><td>{esc(name)}</td><td><code>{esc(case.get('case_id'))}</code></td>"
                f'<td><span class="text">{esc(_clip(case.get("output")))}</span></td>'
                f"<td>{esc(_clip(case.get('detail'), 400))}</td></tr>"
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
        + _gates_table(ev)
        + _intervals_section(ev, colours)
        + _heatmap_section(ev)
        + _trend_section(ev, data.trends.get(ev["name"], ()), colours, data.history)
        + _comparison_section(ev)
        + _flips_section(ev["name"], data.flips, index)
        + _failing_section(ev)
        + "</section>"
    )


CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;
margin:0;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:20px 24px 60px}
header h1{font-size:24px;margin:8px 0}
h2{font-size:20px;margin:28px 0 6px;border-bottom:2px solid #dde1e6;padding-bottom:4px}
h3{font-size:16px;margin:22px 0 8px}
section.eval,#headline{background:#fff;border:1px solid #e3e6ea;border-radius:8px;
padding:4px 18px 16px;margin-top:18px}
.meta,.counts,.note,.legend{color:#555;margin:4px 0}
.note{font-size:12.5px}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f5;
padding:1px 4px;border-radius:3px}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;
background:#e9ecef;color:#444}
.badge.big{font-size:15px;vertical-align:middle;padding:3px 12px}
.badge.ok{background:#d3f3dc;color:#146c2e}.badge.bad{background:#fddcdc;color:#a11}
.bad-text{color:#b00020}.ok-text{color:#146c2e}
table.grid-table{border-collapse:collapse;width:100%;font-size:13px}
.grid-table th,.grid-table td{border-bottom:1px solid #e9ecef;padding:5px 8px;text-align:left;
vertical-align:top}
.grid-table th{background:#f8f9fa;font-weight:600}
tr.verdict.failed td{background:#fff5f5}
.ci{color:#777;font-size:12px}.delta{font-size:12px;color:#777}
.delta.up{color:#146c2e}.delta.down{color:#b00020}
.plots{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}
svg.plot{background:#fff;font-size:11px;overflow:visible}
svg .grid{stroke:#e6e8eb;stroke-width:1}
svg .tick{fill:#666}svg .axis-label{fill:#333;font-weight:600}
svg .row-label,svg .col-label{fill:#333}
svg .whisker{stroke-width:2}svg .cap{stroke-width:2}
svg .baseline-mark{fill:#fff;stroke-width:1.6}
svg .line{stroke-width:2}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin:0 4px 0 10px;
vertical-align:-1px}
.reading{background:#f3f7ff;border-left:3px solid #1f77b4;padding:8px 12px;margin:10px 0}
.pair{display:flex;gap:6px;margin:2px 0}
.tag{flex:none;font-size:11px;color:#666;width:52px}
.text{white-space:pre-wrap;word-break:break-word}
del{background:#ffd7d5;color:#82071e;text-decoration:line-through}
ins{background:#ccffd8;color:#055d20;text-decoration:none}
input.filter{width:320px;padding:5px 8px;border:1px solid #ccd;border-radius:5px}
button.more{margin:8px 0;padding:4px 12px;border:1px solid #ccd;border-radius:5px;
background:#fff;cursor:pointer}
tr.hidden{display:none}
footer{color:#777;font-size:12px;margin-top:30px}
"""

SCRIPT = """
(function () {
  "use strict";
  var PAGE = PAGE_ROWS;
  function page(table) {
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var shown = PAGE;
    var button = document.createElement("button");
    button.className = "more";
    function apply() {
      var visible = 0;
      rows.forEach(function (row) {
        var match = !row.dataset.filtered;
        if (match) { visible += 1; }
        row.classList.toggle("hidden", !match || visible > shown);
      });
      var hidden = rows.filter(function (r) { return r.classList.contains("hidden") &&
        !r.dataset.filtered; }).length;
      button.textContent = "show " + Math.min(hidden, PAGE) + " more (" + hidden + " hidden)";
      button.style.display = hidden ? "" : "none";
    }
    button.addEventListener("click", function () { shown += PAGE; apply(); });
    table.parentNode.insertBefore(button, table.nextSibling);
    table.brittleApply = apply;
    apply();
  }
  document.querySelectorAll("table.paged").forEach(page);
  document.querySelectorAll("input.filter").forEach(function (input) {
    input.addEventListener("input", function () {
      var table = document.getElementById(input.dataset.table);
      if (!table) { return; }
      var needle = input.value.toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var hit = !needle || row.textContent.toLowerCase().indexOf(needle) >= 0;
        if (hit) { delete row.dataset.filtered; } else { row.dataset.filtered = "1"; }
      });
      if (table.brittleApply) { table.brittleApply(); }
    });
  });
  document.documentElement.dataset.ready = "1";
})();
""".replace("PAGE_ROWS", str(PAGE_ROWS))


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
        f'<meta http-equiv="Content-Security-Policy" content="{_csp(SCRIPT)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
        + body
        + footer
        + f"</main><script>{SCRIPT}</script></body></html>\n"
    )


__all__ = [
    "MAX_CASES_SHOWN",
    "ReportData",
    "heatmap",
    "interval_plot",
    "reading",
    "render_report",
    "trend_plot",
    "word_diff",
]
