"""Probability shift: how much rewording moves the probability of the expected answer.

A flip is a coarse signal: an answer flips only once the expected label's probability crosses
the other's. On a small golden set brittleness shows first as a shift of that probability, long
before answers flip (the sensitivity measure of POSIX, Chatterjee et al. 2024). Where a system
returns token log-probabilities (the embedded ``local/`` provider always; an OpenAI-compatible
endpoint whose system's params say ``logprobs: true``), each row gets

``expected_prob``
    the probability the model gave the expected label, read at the answer position: the first
    generated token that begins one of the label check's choices (case- and space-insensitive:
    ``" Positive"`` begins ``positive``), else the first token that is not only white space.
    At that position it is the probability mass of the tokens that begin the expected label
    (the chosen token and the ``top_logprobs`` alternatives, each counted once): a token
    ``t`` begins label ``l`` when, both without white space and case-folded, ``t`` is a prefix
    of ``l`` or ``l`` a prefix of ``t`` (``"pos"``, ``"positive"`` and ``"positive."`` all
    begin ``positive``).

    None (unknown) when the call gave no log-probabilities (an endpoint without them, a cache
    entry or recording written before them, an errored row), when the eval has no ``label``
    check or the case no expected label, or when the position lists no alternatives and its
    own token does not begin the expected label.

    Limits: only the listed alternatives count, so with ``top_logprobs: k`` the value is a lower
    bound (the mass beyond the ``k`` likeliest tokens is unseen; the ``local/`` provider lists
    10); a token that begins two labels (``"ne"`` for ``negative`` and ``neutral``) counts for
    both; synonyms of the check (``good`` for ``positive``) are not counted; and the answer
    position is read from the row's own answer, so a variant whose answer starts elsewhere
    ("This review is positive" against "Positive") is measured at its own position.

``prob_shift``
    the mean, over (original, variant) pairs whose two ``expected_prob`` are known, of
    ``|expected_prob(variant) - expected_prob(original)|``: 0 for a system whose confidence no
    rewording moves, up to 1. Per case it is the sum and count of its pairs' shifts
    (``shift_sum``, ``shift_pairs``), so its interval is the case-clustered bootstrap of every
    other ratio metric and its relative gate (``prob_shift rise <= 0.05``) the paired
    case-clustered t test (:mod:`brittle.stats.paired`).

Pure functions, no model: the engine hands in each row's log-probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

#: the results column holding each row's probability of the expected label (None: unknown)
EXPECTED_PROB = "expected_prob"

#: one generated token: ``(token, logprob, ((alternative, logprob), ...))``
#: (:data:`brittle.gateway.calls.TokenLogprob`, repeated here: stats imports no gateway)
Token = tuple[str, float, Sequence[tuple[str, float]]]


def _fold(text: str) -> str:
    return "".join(text.split()).casefold()


def begins(token: str, label: str) -> bool:
    """Whether ``token`` begins ``label`` (see the module docstring): case- and
    space-insensitive, either a prefix of the other; a token of white space begins nothing."""
    folded, target = _fold(token), _fold(label)
    return (
        bool(folded) and bool(target) and (target.startswith(folded) or folded.startswith(target))
    )


def answer_position(tokens: Sequence[Token], labels: Iterable[str]) -> int | None:
    """The index of the first token that begins one of ``labels``, else of the first token that
    is not only white space; None when every token is white space (or there are none)."""
    choices = [label for label in labels if _fold(label)]
    first_text = None
    for index, (token, _, _) in enumerate(tokens):
        if not _fold(token):
            continue
        if first_text is None:
            first_text = index
        if any(begins(token, label) for label in choices):
            return index
    return first_text


def expected_prob(
    tokens: Sequence[Token] | None, expected: str | None, labels: Iterable[str]
) -> float | None:
    """The probability the answer gave ``expected`` among ``labels`` (module docstring)."""
    if not tokens or not expected or not _fold(expected):
        return None
    position = answer_position(tokens, [*labels, expected])
    if position is None:
        return None
    token, logprob, alternatives = tokens[position]
    seen: dict[str, float] = {str(text): float(value) for text, value in alternatives}
    if not seen and not begins(token, expected):
        return None  # only the chosen token is known, and it is another answer
    seen.setdefault(token, float(logprob))
    mass = sum(math.exp(value) for text, value in seen.items() if begins(text, expected))
    return min(max(mass, 0.0), 1.0)


def _probabilities(values: Any) -> np.ndarray:
    """A column of probabilities as floats, NaN where unknown (None, NaN, missing)."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
            out[i] = float(value)
    return out


def shift_sums(
    probabilities: Any, codes: np.ndarray, paired: np.ndarray, partner: np.ndarray, cases: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per case, the count of (original, variant) pairs with both probabilities known and the
    sum of their absolute shifts: ``(shift_pairs, shift_sum)``.

    ``paired`` marks the variant rows in scope that have a scored original, ``partner`` gives
    that original's row for each of them (as in :func:`brittle.stats.results.case_sums`)."""
    p = _probabilities(probabilities)
    shifts = np.abs(p[paired] - p[partner])
    known = ~np.isnan(shifts)
    rows = codes[paired][known]
    count = np.bincount(rows, minlength=cases).astype(float)
    total = np.bincount(rows, weights=shifts[known], minlength=cases).astype(float)
    return count, total


def prob_shift(original: Sequence[Any], variant: Sequence[Any]) -> float | None:
    """The mean absolute shift over pairs ``(original[i], variant[i])`` both known, or None."""
    a, b = _probabilities(original), _probabilities(variant)
    shifts = np.abs(a - b)
    known = shifts[~np.isnan(shifts)]
    return float(known.mean()) if len(known) else None


__all__ = [
    "EXPECTED_PROB",
    "answer_position",
    "begins",
    "expected_prob",
    "prob_shift",
    "shift_sums",
]
