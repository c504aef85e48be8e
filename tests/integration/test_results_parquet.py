"""results.parquet's analysis columns: ``expected``, ``tags``, ``original_answer``, ``flipped``
and the ``suite`` on every row (``(original)`` on the originals), on a small real run."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from brittle.report.parquet import ORIGINAL_SUITE
from tests.support.evalproject import eval_yaml, golden_rows, write_project


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    rows = golden_rows()
    for row in rows[:4]:
        row["tags"] = ["short", "retail"] if row["id"] in ("c01", "c02") else ["long"]
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    systems = {"brittle": "typo_brittle", "flaky": "erroring"}
    pytester.makefile(
        ".eval.yaml", demo=eval_yaml(systems, ["accuracy >= 0"], extra="error_budget: 1000\n")
    )
    pytester.runpytest().assert_outcomes(passed=2)
    return pytester


@pytest.fixture
def table(project: pytest.Pytester) -> pd.DataFrame:
    return pd.read_parquet(project.path / "reports" / "latest" / "results.parquet")


def test_expected_and_tags_on_every_row(table: pd.DataFrame) -> None:
    for column in ("expected", "tags", "original_answer", "flipped"):
        assert column in table.columns
    c01 = table[table["case_id"] == "c01"]
    assert set(c01["expected"]) == {"positive"}
    assert all(list(tags) == ["short", "retail"] for tags in c01["tags"])
    assert all(list(tags) == ["long"] for tags in table.loc[table["case_id"] == "c03", "tags"])
    assert all(len(tags) == 0 for tags in table.loc[table["case_id"] == "c09", "tags"])
    assert (table["expected"] == table["case_id"].map(dict(zip(
        [r["id"] for r in golden_rows()], [r["expected"] for r in golden_rows()], strict=True
    )))).all()  # fmt: skip


def test_suite_on_every_row(table: pd.DataFrame) -> None:
    originals = table["family"] == ""
    assert set(table.loc[originals, "suite"]) == {ORIGINAL_SUITE}
    assert set(table.loc[~originals, "suite"]) == {"typos"}
    assert table["suite"].notna().all() and (table["suite"] != "").all()


def test_original_answer_and_flipped(project: pytest.Pytester, table: pd.DataFrame) -> None:
    brittle = table[table["system"] == "brittle"]
    originals = brittle[brittle["family"] == ""].set_index("case_id")["answer"]
    assert (brittle["original_answer"] == brittle["case_id"].map(originals)).all()
    assert brittle.loc[brittle["family"] == "", "flipped"].isna().all()  # originals: no pair
    variants = brittle[brittle["family"] != ""]
    # typo_brittle answers the opposite as soon as a word is misspelt: every variant flips
    assert variants["flipped"].notna().all()
    assert (variants["flipped"] == (variants["answer"] != variants["original_answer"])).all()
    assert variants["flipped"].sum() > 0
    run = json.loads((project.path / "reports" / "latest" / "run.json").read_text())
    overall = run["evals"][0]["systems"]["brittle"]["metrics"]["overall"]
    # flip_rate counts the same pairs
    assert variants["flipped"].sum() == round(overall["flip_rate"] * overall["pairs"])


def test_flipped_is_null_where_a_side_errored(table: pd.DataFrame) -> None:
    flaky = table[table["system"] == "flaky"]
    errored_cases = set(flaky.loc[(flaky["family"] == "") & flaky["error"].notna(), "case_id"])
    assert errored_cases  # the erroring system fails on even-length texts
    variants = flaky[flaky["family"] != ""]
    on_errored = variants[variants["case_id"].isin(errored_cases) | variants["error"].notna()]
    assert len(on_errored) and on_errored["flipped"].isna().all()
    measured = variants.drop(on_errored.index)
    assert len(measured) and measured["flipped"].notna().all()
    assert not measured["flipped"].any()  # it answers the hint whenever it answers
