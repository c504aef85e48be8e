"""The report's plots, drawn as inline SVG strings: interval whiskers, the flip-rate heatmap and
trend lines.

Drawn here in Python rather than by a plotting library or a script in the page, so the report
stays one static file that opens offline, needs no dependency at render time and lets the
Content-Security-Policy forbid every fetch. Each mark carries its numbers as ``data-*``
attributes (``data-system``, ``data-family``, ``data-run``, ``data-value``) so tests and scripts
can read the plotted values back without parsing geometry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from brittle._format import number as _f
from brittle.report.history import TrendPoint
from brittle.report.html.text import esc

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
"""One colour per system, in the order the systems appear; the same system keeps its colour in
every plot of an eval."""


def _nice_range(values: Sequence[float], *, zero: bool) -> tuple[float, float]:
    """An axis range rounded to tenths around ``values``: from 0 when ``zero``, else zoomed to
    the data so close values stay apart; never past 1 when the values are rates."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low = 0.0 if zero else math.floor(min(finite) * 10) / 10
    high = math.ceil(max(finite) * 10 + 1e-9) / 10
    if high - low < 0.1:
        high = low + 0.1
    return max(0.0, low), min(1.0, high) if max(finite) <= 1 else high


def _ticks(low: float, high: float) -> list[float]:
    """At most about six round tick values between ``low`` and ``high``."""
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
    """The ``<svg>`` element around ``body``, labelled for screen readers and tooltips."""
    return (
        f'<svg class="plot {cls}" role="img" aria-label="{esc(label)}" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}"{attrs}>'
        f"<title>{esc(label)}</title>{body}</svg>"
    )


def _short(name: str, limit: int = 16) -> str:
    """``name`` cut to ``limit`` characters for an axis label (the full name is in the title)."""
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
    """A colour from pale to dark red for ``t`` in [0, 1] (darker is more brittle)."""
    t = min(max(t, 0.0), 1.0)
    start, end = (255, 247, 243), (165, 15, 21)
    rgb = tuple(round(a + (b - a) * t) for a, b in zip(start, end, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def heatmap(
    families: Sequence[str],
    systems: Sequence[str],
    values: Mapping[tuple[str, str], float | None],
    counts: Mapping[tuple[str, str], str] | None = None,
) -> str:
    """Flip rate by perturbation family (rows) x system (columns); ``counts`` adds what each
    cell counts (``1/1``: flipped pairs of pairs) to its text."""
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
            count = (counts or {}).get((family, system))
            shown = _f(value) + (f" ({count})" if count else "")
            parts.append(
                f'<g class="cell" data-family="{esc(family)}" data-system="{esc(system)}" '
                f'data-value="{data_value}"><rect x="{x + 1}" y="{y + 1}" width="{cell_w - 2}" '
                f'height="{cell_h - 2}" fill="{fill}"/><text x="{x + cell_w / 2:.1f}" '
                f'y="{y + cell_h / 2 + 4:.1f}" text-anchor="middle" fill="{text_fill}">'
                f"{esc(shown)}</text><title>{esc(system)} / {esc(family)}: flip rate "
                f"{esc(shown)}</title></g>"
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


__all__ = ["PALETTE", "heatmap", "interval_plot", "trend_plot"]
