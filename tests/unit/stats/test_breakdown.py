"""Per-label accuracy, confusion and per-tag figures of a results table, worked out by hand."""

from __future__ import annotations

import pandas as pd

from brittle.stats.breakdown import NO_LABEL, by_label, by_tag, confusion


def _table() -> pd.DataFrame:
    rows = [
        # case, family, passed, answer, error, expected, tags
        ("a", "", True, "yes", None, "yes", ("x",)),
        ("a", "typo", False, "no", None, "yes", ("x",)),
        ("b", "", False, "no", None, "yes", ("x", "y")),
        ("b", "typo", False, "no", None, "yes", ("x", "y")),
        ("c", "", True, "no", None, "no", ()),
        ("c", "typo", None, None, "HTTP 503", "no", ()),
        ("d", "", False, "maybe so", None, "no", ("y",)),
        ("e", "", None, None, "HTTP 503", "yes", ("y",)),  # errored: left out everywhere
        ("f", "", False, "no", None, "other", ()),  # expected outside the choices
    ]
    return pd.DataFrame(
        rows, columns=["case_id", "family", "passed", "answer", "error", "expected", "tags"]
    ).assign(row_id=lambda t: t["case_id"] + t["family"])


def test_accuracy_and_precision_per_label() -> None:
    assert by_label(_table(), ["yes", "no"]) == {
        "yes": {"cases": 2, "correct": 1, "accuracy": 0.5, "predicted": 1, "precision": 1.0},
        "no": {"cases": 2, "correct": 1, "accuracy": 0.5, "predicted": 3, "precision": 1 / 3},
        "other": {"cases": 1, "correct": 0, "accuracy": 0.0, "predicted": 0, "precision": None},
    }


def test_confusion_counts_scored_originals_with_answers_outside_the_labels_apart() -> None:
    assert confusion(_table(), ["yes", "no"]) == {
        "yes": {"yes": 1, "no": 1, NO_LABEL: 0},
        "no": {"yes": 0, "no": 1, NO_LABEL: 1},
        "other": {"yes": 0, "no": 1, NO_LABEL: 0},
    }


def test_per_tag_accuracy_and_flip_rate() -> None:
    assert by_tag(_table()) == {
        "x": {"cases": 2, "accuracy": 0.5, "pairs": 2, "flip_rate": 0.5},
        "y": {"cases": 2, "accuracy": 0.0, "pairs": 1, "flip_rate": 0.0},
    }


def test_pass_shares_of_repeats_count_as_shares() -> None:
    table = _table().assign(passed=[1.0, 0.0, 0.5, 0.0, 1.0, None, 0.0, None, 0.0])
    assert by_label(table, ["yes", "no"])["yes"] == {
        "cases": 2,
        "correct": 1.5,
        "accuracy": 0.75,
        "predicted": 1,
        "precision": 1.0,
    }
