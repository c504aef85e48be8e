"""The "Prompt or fine-tune?" block of each eval: a table of every system's accuracy,
steadiness, latency and cost, and a short plain-language reading of it.

The question a team brings to the report is rarely "what is the flip rate" but "should we keep
prompting or fine-tune"; the table puts the answer's ingredients side by side and
:func:`reading` says it in one paragraph, with the caveat when the intervals overlap so one run
is not taken for proof. Above them, the eval's decision (:func:`decision_block`): the paired
tests of :mod:`brittle.stats.decision`, which do take one run's evidence as far as it goes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from brittle._format import number as _f
from brittle.report.html.text import esc
from brittle.report.phrases import latency_caveat
from brittle.stats.decision import WORDS, best_key
from brittle.stats.intervals import metric_interval

KIND_LABEL = {"prompt": "prompt", "model": "fine-tuned model", "python": "pipeline"}
"""What the page calls each system kind."""


def _ci_text(block: Mapping[str, Any], metric: str) -> str:
    """The 95 % interval after a value; ``*`` marks a Wilson interval computed here from the
    counts rather than one the run reported."""
    found = metric_interval(block, metric)
    if found is None:
        return ""
    (low, high), source = found
    mark = "" if source == "run" else "*"
    return f' <span class="ci">[{_f(low)}, {_f(high)}]{mark}</span>'


def _prob_shift(block: Mapping[str, Any]) -> str:
    """Under the flip rate, where the system gave log-probabilities: ``prob_shift`` (the mean
    change of the expected label's probability between variant and original) and its interval."""
    if block.get("prob_shift") is None:
        return ""
    return (
        '<br><span class="note prob-shift" title="mean change of the expected label\'s '
        'probability between each variant and its original (moves before answers flip)">'
        f"prob. shift {_f(block['prob_shift'])}{_ci_text(block, 'prob_shift')}</span>"
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


def _price_text(price: Any) -> str:
    """Under a cost: the price it was computed at (USD per 1M tokens in / out) and its source."""
    if not isinstance(price, Mapping):
        return ""
    source = str(price.get("source") or "")
    origin = {"price": "set in the eval", "local": "local model"}.get(
        source, source.replace("litellm:", "litellm's price of ")
    )
    rates = f"{_rate(price.get('input_per_mtok'))} / {_rate(price.get('output_per_mtok'))}"
    return f' <span class="ci" title="{esc(origin)}">at {esc(rates)} per 1M tokens</span>'


def _rate(value: Any) -> str:
    return "–" if not isinstance(value, int | float) else f"${value:,.4g}"


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
        first, second = min(tuned, key=best_key), min(prompts, key=best_key)
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


def _p(value: Any) -> str:
    return "–" if value is None else "&lt; 0.0001" if value < 1e-4 else f"{value:.4f}"


def _signed(value: Any) -> str:
    return "–" if value is None else f"{value:+.3f}"


def decision_block(ev: Mapping[str, Any]) -> str:
    """The eval's decision (``ev["decision"]``: :mod:`brittle.report.decision`): per pair, the
    paired deltas with their 95 % intervals and two-sided p-values, cost and break-even, and
    the recommendation; empty when there is nothing to compare."""
    decision = ev.get("decision")
    if not decision:
        return ""
    parts = []
    for pair in decision.get("pairs") or [decision]:
        a, b = pair["systems"]
        rows = []
        for metric, word in WORDS.items():
            test = (pair.get("tests") or {}).get(metric)
            if not test:
                continue
            low, high = test["ci95"]
            rows.append(
                f'<tr data-metric="{esc(metric)}"><td>{esc(word)}</td><td>{_f(test["b"])}</td>'
                f"<td>{_f(test['a'])}</td><td>{_signed(test['delta'])} "
                f'<span class="ci">[{_signed(low)}, {_signed(high)}]</span></td>'
                f"<td>{_p(test['p_value'])}</td><td>{esc(test['cases'])}</td></tr>"
            )
        costs = pair.get("cost_per_1k") or {}
        calls = pair.get("break_even_calls")
        parts.append(
            f'<div class="decision" data-pair="{esc(a)},{esc(b)}"><p class="meta">'
            f"{esc(b)} against {esc(a)} ({esc(pair.get('why', 'compared'))}) · cost per 1,000 "
            f"calls {esc(b)} {_money(costs.get(b))}, {esc(a)} {_money(costs.get(a))} · "
            + (f"break-even after {calls:,} calls" if calls is not None else "no break-even")
            + '</p><table class="grid-table decision"><thead><tr><th>paired on the same '
            f"cases</th><th>{esc(b)}</th><th>{esc(a)}</th><th>delta [95% CI]</th>"
            "<th>p (two-sided)</th><th>cases</th></tr></thead><tbody>"
            + "".join(rows)
            + f'</tbody></table><p class="reading recommendation">'
            f"{esc(pair['recommendation'])}</p></div>"
        )
    return "".join(parts)


def comparison_section(ev: Mapping[str, Any]) -> str:
    """The table of every system of ``ev`` with the reading under it."""
    rows = []
    for name, system in ev["systems"].items():
        m = system["metrics"]["overall"]
        tokens = _tokens_per_call(system)
        rows.append(
            f'<tr data-system="{esc(name)}"><td>{esc(name)}</td>'
            f"<td>{esc(KIND_LABEL.get(system.get('kind', ''), system.get('kind')))}</td>"
            f"<td>{_f(m.get('accuracy'))}{_ci_text(m, 'accuracy')}</td>"
            f"<td>{_f(m.get('flip_rate'))}{_ci_text(m, 'flip_rate')}{_prob_shift(m)}</td>"
            f"<td>{_f(m.get('pdr'))}</td>"
            f"<td>{_latency(m.get('latency_p50_s'))}</td>"
            f"<td>{_latency(m.get('latency_p95_s'))}</td>"
            f"<td>{_money(_per_1k(system, 'cost'))}{_price_text(system.get('price'))}</td>"
            f"<td>{'–' if tokens is None else f'{tokens:.1f}'}</td>"
            f"<td>{_f(m.get('prompt_tokens'))} / {_f(m.get('completion_tokens'))}</td></tr>"
        )
    return (
        "<h3>Prompt or fine-tune?</h3>"
        + decision_block(ev)
        + '<table class="grid-table compare"><thead><tr>'
        "<th>system</th><th>kind</th><th>accuracy</th><th>flip rate</th><th>PDR</th>"
        "<th>latency p50</th><th>latency p95</th><th>cost / 1,000 calls</th>"
        "<th>tokens / call</th><th>tokens in / out (total)</th></tr></thead><tbody>"
        + "".join(rows)
        + f'</tbody></table><p class="reading">{esc(reading(ev["systems"]))}</p>'
        + (f'<p class="note latency">{esc(latency_caveat(ev))}</p>' if "concurrency" in ev else "")
    )


__all__ = ["KIND_LABEL", "comparison_section", "decision_block", "reading"]
