"""What each brittleness metric means, and which way is better: the one ``METRICS`` table.

A results table has one row per (case, variant) of one system, with the columns

- ``case_id``: the golden case; ``row_id``: the case id for the original, the variant id otherwise;
- ``family``: ``""`` for the original, else the perturbation family (``typo``, ``casing``, ...);
- ``passed``: whether every check passed (missing when the call errored);
- ``answer``: the normalised answer the checks extracted; ``error``: the error text or missing.

Definitions (over rows without errors; a variant whose original errored is left out of pairs):

accuracy              share of originals that pass
variant_accuracy      share of variants that pass
flip_rate             share of (original, variant) pairs whose pass/fail outcome differs
agreement             share of (original, variant) pairs whose normalised answers are equal
pdr                   performance drop rate, 1 - variant_accuracy / accuracy
worst_case_accuracy   share of cases that pass on the original and on every one of its variants
error_rate            share of all rows (originals and variants) that errored
prob_shift            mean |expected_prob(variant) - expected_prob(original)| over pairs whose
                      probabilities of the expected label are both known (token
                      log-probabilities; None without them): :mod:`brittle.stats.probshift`

With ``repeats: k`` (k >= 2) the engine also measures, on the per-call outcomes before the
repeats are reduced (:mod:`brittle.stats.repeats`; the estimators are written out in
:mod:`brittle.stats.consistency`), on the scale of the flip rate (the chance two draws disagree):

self_disagreement     randomness: the share of pairs of repeats of the same input (original or
                      variant) whose pass/fail differs; unbiased whatever k, so it does not grow
                      with the number of repeats
excess_flip_rate      brittleness: the flip rate between draws of an original and of its variant,
                      less the two inputs' mean self-disagreement, per (case, variant); ~0 for a
                      system that answers variants exactly like originals (random or not), the
                      flip rate itself for a deterministic system; may be negative

For a fine-tune with a known base (``local/base+adapter``, or ``base: <model>``), the adapter
check (:mod:`brittle.run.adapter_check`) adds, measured on a sample of originals:

adapter_changed       share of sampled originals whose output the fine-tune changed from its
                      base model's (same template and parameters); 0 means the adapter may not
                      be applied at all

:mod:`brittle.stats.results` computes the headline metrics from a results table. This module stays
light (no pandas, no numpy): gates, ``brittle compare`` and the reports name metrics through it.
"""

from __future__ import annotations

from typing import Any

METRICS: dict[str, str] = {
    "accuracy": "higher",
    "variant_accuracy": "higher",
    "flip_rate": "lower",
    "agreement": "higher",
    "pdr": "lower",
    "worst_case_accuracy": "higher",
    "error_rate": "lower",
    "prob_shift": "lower",
}
"""The headline metrics of every run, with the direction in which each is better."""

REPEAT_METRICS: dict[str, str] = {
    "self_disagreement": "lower",
    "excess_flip_rate": "lower",
}
"""The metrics of an eval with ``repeats: k >= 2``, with their direction. They are gated
absolutely only (``excess_flip_rate <= 0.05``): a baseline keeps one reduced outcome per row, not
every repeat, so there are no per-case sums of them to pair with."""

ADAPTER_METRICS: dict[str, str] = {"adapter_changed": "higher"}
"""The adapter check's metric: gated absolutely only (``adapter_changed >= 0.1``), on the
fine-tuned systems with a known base (skipped on the others)."""

FORMAT_METRICS: dict[str, str] = {"format_spread": "lower"}
"""The format search's metric (:mod:`brittle.stats.format_spread`): best minus worst accuracy
over the formats searched, gated absolutely only (``format_spread <= 0.10``); undefined, with
``format_spread_undefined`` saying why, for a system without a template."""

GATE_METRICS: dict[str, str] = {**METRICS, **REPEAT_METRICS, **ADAPTER_METRICS, **FORMAT_METRICS}
"""Every metric a gate may name, with the direction in which it is better."""

CONTINUOUS_METRICS = frozenset({"prob_shift"})
"""Metrics that average values in [0, 1] rather than count passes: never a Wilson interval."""

ORIGINAL = ""
"""The ``family`` of an original (unperturbed) row."""


def metric_value(metrics: dict[str, Any], name: str, family: str | None = None) -> float | None:
    """Look a metric up in the output of :func:`~brittle.stats.results.compute_metrics`
    (None when undefined)."""
    block = metrics["overall"] if family is None else metrics["families"].get(family)
    if block is None:
        return None
    value = block.get(name)
    return None if value is None else float(value)


# --- per-case sums: what the statistics resample, swap and pair ---------------------------------

CASE_SUM_COLUMNS = (
    "orig_ok",  # scored originals (0 or 1)
    "orig_pass",  # passing originals (or pass share)
    "var_ok",  # scored variants
    "var_pass",  # passing variants
    "pairs",  # (original, variant) pairs scored on both sides
    "flips",  # pairs whose pass differs (|difference| of pass shares)
    "agrees",  # pairs whose answers are equal
    "worst",  # the case's lowest pass over its original and variants (0 if a variant errored)
    "rows",  # all rows, errored or not
    "errors",  # errored rows
    "shift_pairs",  # pairs whose two probabilities of the expected label are known
    "shift_sum",  # the sum of their absolute differences
)
"""The per-case counts every metric is a ratio of; see :data:`METRIC_SUMS`."""

METRIC_SUMS: dict[str, tuple[str, str]] = {
    "accuracy": ("orig_pass", "orig_ok"),
    "variant_accuracy": ("var_pass", "var_ok"),
    "flip_rate": ("flips", "pairs"),
    "agreement": ("agrees", "pairs"),
    "worst_case_accuracy": ("worst", "orig_ok"),
    "error_rate": ("errors", "rows"),
    "prob_shift": ("shift_sum", "shift_pairs"),
}
"""Each metric as ``numerator / denominator`` of case sums (``pdr`` combines two of them)."""


__all__ = [
    "ADAPTER_METRICS",
    "CASE_SUM_COLUMNS",
    "CONTINUOUS_METRICS",
    "FORMAT_METRICS",
    "GATE_METRICS",
    "METRICS",
    "METRIC_SUMS",
    "ORIGINAL",
    "REPEAT_METRICS",
    "metric_value",
]
