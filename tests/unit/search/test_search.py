"""Search: the smallest rewording that flips an answer, stored, replayed first, promoted.

The system under test is deliberately brittle and deterministic: it answers correctly as long as
the word "battery" is spelt right, and flips as soon as it is misspelt.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from brittle import CallableSystem, checks, strategies
from brittle._errors import ConfigError
from brittle.cli import main
from brittle.search import find_flip, promote, stored_flips
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.suites import suite_from_mapping
from tests.support.sessions import run_eval

TEXT = "The battery lasts all week and charging is quick."
CASE = Case("c01", {"text": TEXT}, expected="positive")
CHECK = checks.label(["positive", "negative"])


def battery_brittle(inputs: dict[str, Any]) -> str:
    words = re.findall(r"[a-z]+", inputs["text"].lower())
    return "positive" if "battery" in words else "negative"


def robust(inputs: dict[str, Any]) -> str:
    return "positive"


BRITTLE = CallableSystem("brittle", battery_brittle)


def test_search_finds_shrinks_stores_and_replays_a_flip(tmp_path: Path) -> None:
    found = find_flip(BRITTLE, CASE, CHECK, budget=200, families=["typo"], directory=tmp_path)
    assert found is not None
    # a flip: the original passes, the variant fails
    assert (found.original_passed, found.variant_passed) == (True, False)
    assert found.variant_answer == "negative"
    # shrunk to a single edit, and that edit misspells "battery" and nothing else
    assert len(found.edits) == 1 and len(found.operators) == 1
    edit = found.edits[0]
    assert edit.operator.startswith("typo.")
    assert 4 <= edit.start <= len("The battery") and edit.before in "battery"
    words, original_words = found.text.split(), TEXT.split()
    assert [w for w, o in zip(words, original_words, strict=True) if w != o] == [words[1]]
    assert words[1] != "battery"
    assert not found.replayed
    # stored: hypothesis's example database and the readable record
    assert any((tmp_path / "examples").rglob("*"))
    record = json.loads((tmp_path / "flips" / f"{found.key}.json").read_text())
    assert record["text"] == found.text and record["id"] == "c01"
    assert record["edits"] == [edit.to_dict()]

    # the next run replays the stored flip first: one candidate, already minimal
    again = find_flip(BRITTLE, CASE, CHECK, budget=200, families=["typo"], directory=tmp_path)
    assert again is not None
    assert again.replayed and again.tries_to_first == 1
    assert again.text == found.text and again.edits == found.edits


def test_a_fixed_system_forgets_its_stored_flip(tmp_path: Path) -> None:
    found = find_flip(BRITTLE, CASE, CHECK, budget=100, families=["typo"], directory=tmp_path)
    assert found is not None and stored_flips(tmp_path)
    fixed = CallableSystem("brittle", robust)
    key_before = found.key
    assert find_flip(fixed, CASE, CHECK, budget=30, families=["typo"], directory=tmp_path) is None
    # the fixed system has another fingerprint, so its search has its own key; its own
    # record never existed, and the brittle system's record is still there
    assert (tmp_path / "flips" / f"{key_before}.json").is_file()


def test_search_without_a_flip_returns_none(tmp_path: Path) -> None:
    system = CallableSystem("robust", robust)
    assert find_flip(system, CASE, CHECK, budget=25, directory=tmp_path) is None
    assert not stored_flips(tmp_path)


def test_search_can_compose_several_families(tmp_path: Path) -> None:
    """A system that flips only on a misspelt "battery" in a longer text needs two edits."""

    def needs_two(inputs: dict[str, Any]) -> str:
        words = re.findall(r"[a-z]+", inputs["text"].lower())
        longer = len(words) > len(TEXT.split())  # typos never add words; a prefix does
        return "negative" if longer and "battery" not in words else "positive"

    system = CallableSystem("two", needs_two)
    found = find_flip(
        system, CASE, CHECK, budget=400, families=["typo", "prefix"], max_ops=3, directory=None
    )
    assert found is not None
    assert len(found.edits) == 2
    assert set(found.operators) >= {"prefix"}


def test_promote_writes_a_regression_fixture_a_suite_can_use(tmp_path: Path) -> None:
    store = tmp_path / ".brittle"
    found = find_flip(BRITTLE, CASE, CHECK, budget=200, families=["typo"], directory=store)
    assert found is not None
    fixture = tmp_path / "fixtures" / "regressions.jsonl"
    assert promote(fixture, directory=store) == (1, 1)
    body = fixture.read_text()
    assert promote(fixture, directory=store) == (0, 1)
    assert fixture.read_text() == body  # idempotent
    line = json.loads(body)
    assert line["id"] == "c01" and line["text"] == found.text and line["original"] == TEXT

    suites_dir = tmp_path / "suites"
    suites_dir.mkdir()
    (suites_dir / "regressions.yaml").write_text(
        "name: regressions\nperturbations:\n"
        "  - {family: regression, n: 3, params: {file: ../fixtures/regressions.jsonl}}\n"
    )
    from brittle.spec.suites import load_suite

    suite = load_suite(suites_dir / "regressions.yaml")
    spec = build_spec(
        Eval(golden=[CASE], systems=[BRITTLE], checks=[CHECK], suites=[suite]),
        source=tmp_path / "x.eval.yaml",
    )
    run = run_eval(spec).systems["brittle"]
    assert "c01[regression#1]" in run.columns["row_id"]
    assert run.metrics["families"]["regression"]["flip_rate"] == 1.0
    assert run.metrics["overall"]["accuracy"] == 1.0


def test_search_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError, match="budget must be a whole number"):
        find_flip(BRITTLE, CASE, CHECK, budget=0, directory=None)
    with pytest.raises(ConfigError, match="search cannot compose the family 'format'"):
        find_flip(BRITTLE, CASE, CHECK, families=["format"], directory=None)
    with pytest.raises(ConfigError, match="max_ops must be a whole number"):
        find_flip(BRITTLE, CASE, CHECK, max_ops=0, directory=None)
    with pytest.raises(ConfigError, match="no text field"):
        find_flip(BRITTLE, Case("n", {"count": 3}), CHECK, directory=None)


def test_search_and_promote_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "searchsys.py").write_text(
        textwrap.dedent(
            """
            import re

            def brittle(inputs):
                words = re.findall(r"[a-z]+", inputs["text"].lower())
                return "positive" if "battery" in words else "negative"
            """
        )
    )
    (tmp_path / "golden.jsonl").write_text(
        json.dumps({"id": "c01", "text": TEXT, "expected": "positive"})
        + "\n"
        + json.dumps(
            {"id": "c02", "text": "Lovely colour and quick delivery.", "expected": "negative"}
        )
        + "\n"
    )
    (tmp_path / "search.yaml").write_text(
        "name: searched\nperturbations: [typo]\n"
        "search: {budget: 150, families: [typo], max_ops: 2}\n"
    )
    (tmp_path / "demo.eval.yaml").write_text(
        textwrap.dedent(
            """
            name: demo
            golden: golden.jsonl
            systems:
              brittle: {kind: python, callable: "searchsys:brittle"}
            checks:
              - label: {choices: [positive, negative]}
            suites: [search.yaml]
            """
        )
    )
    assert main(["search", "demo.eval.yaml", "--case", "c01"]) == 0
    out = capsys.readouterr().out
    assert "flip: brittle / c01 (pass->FAIL, 1 edit(s)" in out
    assert "1 flip(s) in 1 system(s) x 1 case(s) (budget 150, at most 2 edit(s))" in out
    assert main(["search", "demo.eval.yaml", "--case", "c01"]) == 0
    assert "flip (replayed): brittle / c01" in capsys.readouterr().out
    assert main(["promote", "--out", "fixtures/regressions.jsonl"]) == 0
    assert "1 new flip(s); 1 line(s)" in capsys.readouterr().out
    assert main(["search", "demo.eval.yaml", "--case", "nope"]) == 2
    assert "no case with id 'nope'" in capsys.readouterr().err


# --- the public strategies, in a user's own property-based test --------------------------------


@settings(max_examples=60, deadline=None)
@given(strategies.perturbed(TEXT, families=["typo", "synonyms", "casing"], max_ops=2))
def test_perturbed_strategy_makes_small_edits(variant: strategies.Perturbed) -> None:
    assert variant.original == TEXT
    assert len(variant.edits) <= 2
    assert set(variant.operators) <= {
        "typo.substitute",
        "typo.delete",
        "typo.insert",
        "typo.transpose",
        "synonyms",
        "casing",
    }
    if not variant.edits:
        assert variant.text == TEXT


@settings(max_examples=20, deadline=None)
@given(strategies.family_variants(TEXT, "typo", {"rate": 0.1}))
def test_family_variants_strategy(variant: str) -> None:
    assert len(variant.split()) == len(TEXT.split())


def test_strategy_families_cover_the_word_level_families() -> None:
    assert set(strategies.operator_families()) >= {
        "typo",
        "synonyms",
        "numbers",
        "reorder",
        "contractions",
        "casing",
        "punctuation",
        "whitespace",
        "prefix",
        "distractor",
    }


def test_a_suite_can_use_regression_and_search_together() -> None:
    suite = suite_from_mapping(
        {"name": "s", "perturbations": ["typo"], "search": {"budget": 10, "cases": 2}}
    )
    assert suite.search is not None and suite.search.cases == 2
