"""Where a system is wrong: accuracy per expected label with a confusion matrix, and accuracy and
flip rate per golden-set tag.

Both read a results table (one row per case or variant after repeats are reduced, the columns of
:mod:`brittle.stats.metrics`) with two more columns that the caller adds from the golden set:

- ``expected``: the case's expected answer (for labels, spelled as the label check's choice);
- ``tags``: the case's tags (a tuple of strings; empty: none).

Definitions (over scored rows, that is rows without errors; a pass share counts as its share):

by_label[L]     over the originals expected to be L: ``cases``, ``correct`` (passing), ``accuracy``
                (= recall of L); over the originals answered L: ``predicted`` and ``precision``
                (the share of them expected to be L)
confusion[E][A] scored originals expected E and answered A (:data:`NO_LABEL` when the answer
                is none of the labels)
by_tag[T]       the headline metrics of the cases tagged T (:func:`~brittle.stats.results.
                compute_metrics` on those cases' rows): ``cases``, ``accuracy``, ``pairs``,
                ``flip_rate``; a case with several tags counts under each
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from brittle.stats.results import Rows, Table, compute_metrics, take_rows

#: the confusion matrix's column for an answer that names none of the labels
NO_LABEL = "(none)"


def _scored_originals(rows: Rows) -> np.ndarray:
    """The positions of the scored originals."""
    return np.flatnonzero(rows.original & rows.ok)


def _texts(rows: Rows, name: str, positions: np.ndarray) -> list[str | None]:
    values = rows.raw(name)
    return [_text(values[i]) for i in positions.tolist()]


def by_label(table: Table, labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per label of ``labels`` (then any other expected value, in order of appearance):
    ``cases``, ``correct``, ``accuracy``, ``predicted``, ``precision`` (None when undefined)."""
    rows = Rows(table)
    originals = _scored_originals(rows)
    expected_texts = _texts(rows, "expected", originals)
    expected = _array(expected_texts)
    answers = _array(_texts(rows, "answer", originals))
    passes = rows.passed[originals]
    out: dict[str, dict[str, Any]] = {}
    for label in _labels(labels, expected_texts):
        mine = expected == label
        cases = int(mine.sum())
        correct = float(passes[mine].sum())
        answered = answers == label
        predicted = int(answered.sum())
        right = float(passes[answered & mine].sum())
        out[label] = {
            "cases": cases,
            "correct": _count(correct),
            "accuracy": correct / cases if cases else None,
            "predicted": predicted,
            "precision": right / predicted if predicted else None,
        }
    return out


def _array(values: list[Any]) -> np.ndarray:
    return np.fromiter(values, dtype=object, count=len(values))


def confusion(table: Table, labels: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{expected: {answer: count}}`` over the scored originals: every label of ``labels`` as
    a row and a column (zeros kept, so the matrix is square), answers outside them counted
    under :data:`NO_LABEL` (a column only when some answer is)."""
    rows = Rows(table)
    originals = _scored_originals(rows)
    expected = _texts(rows, "expected", originals)
    known = set(labels)
    answers = [a if a in known else NO_LABEL for a in _texts(rows, "answer", originals)]
    matrix_rows = _labels(labels, expected)
    columns = [*labels, *([NO_LABEL] if NO_LABEL in answers else [])]
    matrix = {row: dict.fromkeys(columns, 0) for row in matrix_rows}
    for want, got in zip(expected, answers, strict=True):
        matrix[want][got] += 1  # type: ignore[index]
    return matrix


def by_tag(table: Table) -> dict[str, dict[str, Any]]:
    """Per tag (sorted): ``cases`` (scored originals), ``accuracy``, ``pairs`` and
    ``flip_rate`` of the rows of the cases with that tag; empty when no case has a tag."""
    rows = Rows(table)
    tags_of: dict[str, set[int]] = {}
    tags = rows.raw("tags")
    first = np.full(len(rows.cases), -1)
    first[rows.case_codes[::-1]] = np.arange(rows.n)[::-1]  # each case's first row
    for code, at in enumerate(first.tolist()):
        for tag in _tags(tags[at]):
            tags_of.setdefault(tag, set()).add(code)
    out: dict[str, dict[str, Any]] = {}
    for tag in sorted(tags_of):
        positions = np.flatnonzero(np.isin(rows.case_codes, sorted(tags_of[tag])))
        tagged = Rows(take_rows(table, positions, _MEASURED))
        overall = compute_metrics(tagged)["overall"]
        pairs = overall.get("pairs") or 0
        out[tag] = {
            "cases": len(_scored_originals(tagged)),
            "accuracy": overall.get("accuracy"),
            "pairs": int(pairs),
            "flip_rate": overall.get("flip_rate"),
        }
    return out


#: the columns a tag's metrics read
_MEASURED = ("case_id", "row_id", "family", "passed", "answer", "error", "expected_prob")


def _labels(labels: Sequence[str], expected: Iterable[str | None]) -> list[str]:
    """``labels``, then the other expected values in order of appearance (an expected answer
    outside the choices still gets its row)."""
    seen = dict.fromkeys(labels)
    for value in expected:
        if value is not None:
            seen.setdefault(value)
    return list(seen)


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)


def _tags(value: Any) -> Iterable[str]:
    if value is None or isinstance(value, float):
        return ()
    if isinstance(value, str):
        return (value,)
    return (str(tag) for tag in value)


def _count(value: float) -> int | float:
    """A count of passes: an int, unless repeats made it a sum of pass shares."""
    return int(value) if float(value).is_integer() else value


__all__ = ["NO_LABEL", "by_label", "by_tag", "confusion"]
