"""Variant fingerprints in the pairing: a row pairs with the baseline's only when its id and its
text hash agree; changed texts are counted per family and said plainly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from brittle.stats.baseline import UPDATE_HINT
from brittle.stats.changes import (
    UNFINGERPRINTED,
    case_changes,
    paired_mask,
    suite_changes,
)
from brittle.stats.gates import Gate
from brittle.stats.paired import compare, paired_tables
from tests.unit.stats.simulation import flip_table

TYPOS = {"hash": "aaaaaaaaaaaa", "seed": 7, "families": ["typo"]}
CASING = {"hash": "cccccccccccc", "seed": 7, "families": ["casing"]}


def hashed(table: pd.DataFrame, salt: str = "") -> pd.DataFrame:
    """``table`` with a text hash per row: ``h(row id)`` (``salt`` changes every variant's)."""
    return table.assign(
        text_hash=[
            f"h-{row}" + (salt if "[" in row else "")
            for row in table["row_id"]  # originals keep
        ]
    )


def stored(table: pd.DataFrame, *, hashes: bool = True) -> dict[str, list[Any]]:
    """A baseline's outcomes: ``[passed, answer, hash]`` (``hashes=False``: an old baseline)."""
    out = {}
    for row, passed, answer, digest in zip(
        table["row_id"], table["passed"], table["answer"], table["text_hash"], strict=True
    ):
        out[row] = [passed, answer, digest] if hashes else [passed, answer]
    return out


def with_new_texts(table: pd.DataFrame, rows: set[str]) -> pd.DataFrame:
    """``table`` where ``rows`` hold other texts (another hash) under the same ids."""
    pairs = zip(table["row_id"], table["text_hash"], strict=True)
    return table.assign(text_hash=[h + "'" if row in rows else h for row, h in pairs])


def test_rows_pair_only_on_the_same_id_and_the_same_text() -> None:
    base = hashed(flip_table(np.zeros((3, 2), dtype=bool)))
    run = with_new_texts(base, {"c001[typo#1]", "c002[typo#2]"})
    mask = paired_mask(run, stored(base))
    assert list(run.loc[~mask, "row_id"]) == ["c001[typo#1]", "c002[typo#2]"]
    # a side without hashes pairs by id: an old baseline, or a run table without the column
    assert paired_mask(run, stored(base, hashes=False)).all()
    assert paired_mask(run.drop(columns="text_hash"), stored(base)).all()
    paired_run, paired_base = paired_tables(run, stored(base))
    assert len(paired_run) == len(paired_base) == 9 - 2
    assert "c001[typo#1]" not in set(paired_run["row_id"])


def test_the_gate_compares_identical_variants_only() -> None:
    # the baseline never flipped; the run flips on every variant, but on 8 of 10 cases those are
    # other texts (a new seed), so only 2 cases x 2 variants are compared: a rise of 1.0 there
    flips = np.zeros((10, 2), dtype=bool)
    base = hashed(flip_table(flips))
    run = hashed(flip_table(~flips), salt="+seed8")
    kept = {f"c00{i}[typo#{j}]" for i in (0, 1) for j in (1, 2)}
    pairs = zip(run["row_id"], run["text_hash"], strict=True)
    run = run.assign(text_hash=[f"h-{r}" if r in kept else h for r, h in pairs])
    comparison = compare(Gate("flip_rate", "max_rise", 0.03), run, stored(base))
    assert comparison is not None
    test = comparison.test
    assert test.cases == 2 and test.run == 1.0 and test.baseline == 0.0
    # the old baseline (no hashes) pairs all 10 cases by id, as before fingerprints
    old = compare(Gate("flip_rate", "max_rise", 0.03), run, stored(base, hashes=False))
    assert old is not None and old.test.cases == 10


def test_changed_variants_are_counted_per_family_and_said_plainly() -> None:
    typo = hashed(flip_table(np.zeros((60, 2), dtype=bool)))
    casing = typo.assign(
        row_id=typo["row_id"].str.replace("typo", "casing"),
        family=typo["family"].replace("typo", "casing"),
        text_hash=typo["text_hash"].str.replace("typo", "casing"),
    )
    base = pd.concat([typo, casing[casing["family"] == "casing"]], ignore_index=True)
    changed_rows = set(base.loc[base["family"] == "typo", "row_id"][:100])
    run = with_new_texts(base, changed_rows)
    run = run[run["row_id"] != "c000[casing#1]"]  # a dropped variant
    changes = case_changes(
        run,
        stored(base),
        suites={"typos": {**TYPOS, "hash": "bbbbbbbbbbbb", "seed": 8}, "casing": CASING},
        baseline_suites={"typos": TYPOS, "casing": CASING},
    )
    assert changes.fingerprinted
    assert changes.variants_changed == 100 and changes.variants_removed == 1
    assert changes.families["typo"].to_dict() == {
        "paired": 20,
        "changed": 100,
        "added": 0,
        "removed": 0,
    }
    assert changes.families["casing"].to_dict() == {
        "paired": 119,
        "changed": 0,
        "added": 0,
        "removed": 1,
    }
    assert changes.scope("typo") == {
        "fingerprinted": True,
        "paired": 20,
        "changed": 100,
        "added": 0,
        "removed": 0,
        "originals_changed": 0,
    }
    assert changes.scope()["paired"] == 139 and changes.scope()["removed"] == 1
    assert changes.notes("typo") == [
        "typo: 100 of 120 variants changed since the baseline (suite 'typos' changed: seed 7 "
        f"-> 8); 20 pairs left: too few to test; refresh the baseline: {UPDATE_HINT}"
    ]
    # casing's texts are the same; one of its variants is gone
    assert changes.lines("casing") == [
        "casing: 1 variant removed since the baseline (its suite is unchanged: the cases, a "
        "variants file, the meaning filter, the family's code or the system's template "
        f"changed); 119 pairs left; refresh the baseline: {UPDATE_HINT}"
    ]
    record = changes.to_dict()
    assert record["suites_changed"] == ["suite 'typos' changed: seed 7 -> 8"]
    assert record["families"]["typo"]["changed"] == 100
    assert record["notes"] == changes.notes()


def test_an_unchanged_suite_changes_nothing() -> None:
    base = hashed(flip_table(np.zeros((5, 3), dtype=bool)))
    changes = case_changes(
        base, stored(base), suites={"typos": TYPOS}, baseline_suites={"typos": TYPOS}
    )
    assert not changes.changed and changes.variants_changed == 0
    assert changes.families["typo"].paired == 15 and changes.lines() == []
    assert changes.to_dict()["suites_changed"] == []


def test_changes_without_a_suite_change_say_what_else_could_have_changed() -> None:
    base = hashed(flip_table(np.zeros((5, 1), dtype=bool)))
    run = with_new_texts(base, {"c000[typo#1]", "c000"})
    changes = case_changes(
        run, stored(base), suites={"typos": TYPOS}, baseline_suites={"typos": TYPOS}
    )
    typo, original = changes.notes()[1], changes.notes()[0]
    assert typo.startswith(
        "typo: 1 of 5 variants changed since the baseline (its suite is unchanged: the cases, a "
        "variants file, the meaning filter, the family's code or the system's template "
        "changed); 4 pairs left: too few to test"
    )
    assert original.startswith(
        "originals: 1 of 5 originals changed since the baseline (the golden set's inputs "
        "changed); 4 pairs left"
    )
    assert changes.originals_changed == 1 and changes.scope("typo")["originals_changed"] == 1


def test_an_old_baseline_pairs_by_id_with_a_one_line_note() -> None:
    base = hashed(flip_table(np.zeros((4, 2), dtype=bool)))
    changes = case_changes(base, stored(base, hashes=False))
    assert not changes.fingerprinted
    assert changes.notes() == [UNFINGERPRINTED + UPDATE_HINT]
    assert "predates variant fingerprints" in changes.notes()[0]
    assert changes.families["typo"].paired == 8  # paired by id, as before
    assert changes.to_dict()["fingerprinted"] is False


def test_suite_changes_name_the_seed_new_and_removed_suites() -> None:
    now = {"typos": {**TYPOS, "hash": "b", "seed": 8}, "casing": CASING}
    before = {"typos": TYPOS, "old": {"hash": "o", "seed": 1, "families": ["emoji"]}}
    assert [c.describe() for c in suite_changes(now, before)] == [
        "suite 'casing' is new",
        "suite 'old' was removed",
        "suite 'typos' changed: seed 7 -> 8",
    ]
    params = {"typos": {**TYPOS, "hash": "b"}}
    (change,) = suite_changes(params, {"typos": TYPOS})
    assert change.describe() == "suite 'typos' changed: its perturbations, parameters or fields"
    assert change.families == ("typo",)
    assert suite_changes(now, None) == suite_changes(None, before) == ()
