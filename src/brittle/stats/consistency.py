"""Repeats: randomness (self-disagreement) apart from brittleness (excess flip rate).

With ``repeats: r`` every original and variant is drawn ``r`` times. A system can disagree with
itself for two reasons: it is random (two draws of the *same* input differ) or it is brittle
(the variant is really treated differently from the original). A flip rate alone mixes them: a
system that answers at random, the same way for the original and its variants, flips as often
as it disagrees with itself, yet perturbations change nothing. The two measures here separate
them, both on the scale of the flip rate (the probability that two draws disagree), so they can
be read side by side and gated like any other ratio metric.

Input: an array ``outcomes[case, input, repeat]`` (leading axes allowed for many runs at once),
``input`` 0 the case's original and 1.. its variants, holding each draw's outcome: 0/1 pass, or
an answer coded as a number (equal codes, equal answers); NaN marks a missing or errored draw
and pads cases with fewer variants or repeats. :func:`outcome_cube` builds it from flat columns.

self_disagreement (randomness)
    For an input with ``r >= 2`` valid draws, the share of ordered pairs of distinct draws that
    disagree::

        s = #{(a, b): a != b, x_a != x_b} / (r (r - 1))
          = 2 k (r - k) / (r (r - 1))                        for 0/1 outcomes with k passes

    an unbiased estimate of the probability that two independent draws of the input disagree
    (``2 p (1 - p)`` for pass probability ``p``), whatever ``r``: unlike "share of rows whose
    repeats gave more than one answer" it does not grow with the number of repeats.
    ``self_disagreement = sum_i sum_inputs s / #inputs with r >= 2``, a ratio of per-case sums.

flip rate between draws
    For variant ``j`` of case ``i`` the share of (original draw, variant draw) pairs that
    disagree, over all ``r_0 r_j`` pairs: an unbiased estimate of ``P(original draw != variant
    draw)`` (``p_0 (1 - p_j) + p_j (1 - p_0)``), the flip rate of one draw of each.

excess_flip_rate (brittleness)
    The flip rate beyond what the two inputs' own randomness explains, per (case, variant)::

        e_ij = flip_ij - (s_i0 + s_ij) / 2
        excess_flip_rate = sum_i sum_j e_ij / #(case, variant) with r_0, r_j >= 2

    Its expectation is ``(p_0 - p_j)^2`` for 0/1 outcomes, and ``1/2 sum_c (pi_0c - pi_jc)^2``
    for answers with distributions ``pi``: 0 when a variant is answered exactly like its original
    (random or not: not brittle), and the flip rate itself for a deterministic system (``s = 0``).
    An estimate may be negative; its interval covers 0 for a system that is not brittle.

Intervals
    Each measure is a ratio of per-case sums (:class:`RepeatSums`), so cases are clusters: the
    interval is the linearized t interval of :func:`brittle.stats.margin.ratio_t_interval`
    (``R +- t_{df, (1+c)/2} se``, Satterthwaite df), and the per-case sums feed
    :func:`brittle.stats.margin.margin_test` for a relative gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from brittle.stats.margin import CONFIDENCE, FEW_CASES, ratio_t_interval


@dataclass(frozen=True)
class RepeatSums:
    """Per-case numerators and denominators of the three measures (arrays ``(..., cases)``)."""

    self_num: np.ndarray  # sum of s over the case's inputs with >= 2 draws
    self_den: np.ndarray  # inputs with >= 2 draws
    flip_num: np.ndarray  # sum over variants of the between-draw flip rate
    flip_den: np.ndarray  # variants with >= 1 draw, their original too
    excess_num: np.ndarray  # sum over variants of e_ij
    excess_den: np.ndarray  # variants with >= 2 draws, their original too


@dataclass(frozen=True)
class RepeatMeasure:
    """One repeats measure with its case-clustered interval."""

    name: str
    estimate: float
    low: float
    high: float
    confidence: float
    cases: int  # cases contributing a unit
    units: int  # inputs (self_disagreement) or (case, variant) pairs
    few_cases: bool
    num: np.ndarray = field(repr=False, compare=False)  # per-case sums, for margin_test
    den: np.ndarray = field(repr=False, compare=False)


def _pairwise(left: np.ndarray, right: np.ndarray, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """(disagreeing pairs, pairs) between the draws of ``left`` and ``right`` (last axis)."""
    ok_left = np.isfinite(left)
    ok_right = np.isfinite(right)
    pair_ok = ok_left[..., :, None] & ok_right[..., None, :]
    if same:
        pair_ok = pair_ok & ~np.eye(left.shape[-1], dtype=bool)
    differ = (left[..., :, None] != right[..., None, :]) & pair_ok
    return differ.sum(axis=(-2, -1)).astype(float), pair_ok.sum(axis=(-2, -1)).astype(float)


def repeat_sums(outcomes: np.ndarray) -> RepeatSums:
    """Per-case sums of the measures from ``outcomes[..., case, input, repeat]`` (NaN missing)."""
    x = np.asarray(outcomes, dtype=float)
    if x.ndim < 3 or x.shape[-2] < 1:
        raise ValueError(
            f"outcomes must be shaped (..., cases, inputs, repeats) with input 0 the original; "
            f"got {x.shape}"
        )
    draws = np.isfinite(x).sum(axis=-1)
    differ, pairs = _pairwise(x, x, same=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = np.where(pairs > 0, differ / np.where(pairs > 0, pairs, 1.0), 0.0)
    repeated = draws >= 2
    original, variants = x[..., :1, :], x[..., 1:, :]
    cross_differ, cross_pairs = _pairwise(
        np.broadcast_to(original, variants.shape), variants, same=False
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        flip = np.where(
            cross_pairs > 0, cross_differ / np.where(cross_pairs > 0, cross_pairs, 1), 0
        )
    flipped = cross_pairs > 0
    both = repeated[..., :1] & repeated[..., 1:]
    excess = np.where(both, flip - (own[..., :1] + own[..., 1:]) / 2, 0.0)
    return RepeatSums(
        self_num=np.where(repeated, own, 0.0).sum(axis=-1),
        self_den=repeated.sum(axis=-1).astype(float),
        flip_num=np.where(flipped, flip, 0.0).sum(axis=-1),
        flip_den=flipped.sum(axis=-1).astype(float),
        excess_num=excess.sum(axis=-1),
        excess_den=both.sum(axis=-1).astype(float),
    )


def _measure(
    name: str, num: np.ndarray, den: np.ndarray, confidence: float, bounded: bool
) -> RepeatMeasure:
    ratio, low, high, cases = ratio_t_interval(num[None], den[None], confidence)
    lo, hi = float(low[0]), float(high[0])
    if bounded:
        lo, hi = max(lo, 0.0), min(hi, 1.0)
    n = int(cases[0])
    return RepeatMeasure(
        name=name,
        estimate=float(ratio[0]),
        low=lo,
        high=hi,
        confidence=confidence,
        cases=n,
        units=int(den.sum()),
        few_cases=n < FEW_CASES,
        num=num,
        den=den,
    )


def _single(outcomes: np.ndarray) -> RepeatSums:
    if np.ndim(outcomes) != 3:
        raise ValueError("one run: outcomes shaped (cases, inputs, repeats)")
    return repeat_sums(outcomes)


def self_disagreement(outcomes: np.ndarray, *, confidence: float = CONFIDENCE) -> RepeatMeasure:
    """How often two draws of the same input disagree (randomness), with a clustered CI."""
    sums = _single(outcomes)
    return _measure("self_disagreement", sums.self_num, sums.self_den, confidence, True)


def flip_rate_between_draws(
    outcomes: np.ndarray, *, confidence: float = CONFIDENCE
) -> RepeatMeasure:
    """How often a draw of a variant disagrees with a draw of its original, clustered CI."""
    sums = _single(outcomes)
    return _measure("flip_rate", sums.flip_num, sums.flip_den, confidence, True)


def excess_flip_rate(outcomes: np.ndarray, *, confidence: float = CONFIDENCE) -> RepeatMeasure:
    """Flip rate beyond self-disagreement (brittleness), with a clustered CI (may be < 0)."""
    sums = _single(outcomes)
    return _measure("excess_flip_rate", sums.excess_num, sums.excess_den, confidence, False)


def repeat_measures(
    outcomes: np.ndarray, *, confidence: float = CONFIDENCE
) -> dict[str, RepeatMeasure]:
    """The three measures of one run at once: ``self_disagreement``, ``flip_rate`` (between
    draws) and ``excess_flip_rate``, keyed by name (the sums are computed once)."""
    sums = _single(outcomes)
    return {
        "self_disagreement": _measure(
            "self_disagreement", sums.self_num, sums.self_den, confidence, True
        ),
        "flip_rate": _measure("flip_rate", sums.flip_num, sums.flip_den, confidence, True),
        "excess_flip_rate": _measure(
            "excess_flip_rate", sums.excess_num, sums.excess_den, confidence, False
        ),
    }


def outcome_cube(
    case: np.ndarray, input_index: np.ndarray, repeat: np.ndarray, value: np.ndarray
) -> np.ndarray:
    """``outcomes[case, input, repeat]`` from flat columns of integer codes and values.

    ``case`` and ``repeat`` are 0-based codes, ``input_index`` 0 for the original and 1.. for
    the variants; missing combinations are NaN (a draw that errored should be NaN too).
    """
    c = np.asarray(case, dtype=int)
    i = np.asarray(input_index, dtype=int)
    r = np.asarray(repeat, dtype=int)
    v = np.asarray(value, dtype=float)
    if not (c.shape == i.shape == r.shape == v.shape):
        raise ValueError("case, input_index, repeat and value must have the same length")
    shape = (
        int(c.max(initial=-1)) + 1,
        int(i.max(initial=-1)) + 1,
        int(r.max(initial=-1)) + 1,
    )
    cube = np.full(shape, np.nan)
    cube[c, i, r] = v
    return cube


__all__ = [
    "RepeatMeasure",
    "RepeatSums",
    "excess_flip_rate",
    "flip_rate_between_draws",
    "outcome_cube",
    "repeat_measures",
    "repeat_sums",
    "self_disagreement",
]
