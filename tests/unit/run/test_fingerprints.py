"""Variant fingerprints: the same text gives the same hash in every process; any change to what
the model sees gives another; a suite's spec hash follows what decides its variants."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from brittle.run.fingerprints import HASH_CHARS, row_hash, suite_fingerprints, template_edit
from brittle.spec.cases import Case
from brittle.spec.eval import EvalSpec
from brittle.spec.suites import Suite, suite_from_mapping

INPUTS = {"text": "The battery lasts all week", "hint": "positive"}
TEMPLATE = (
    "Classify the sentiment of the review as positive or negative.\n\n"
    "Review: {{ text }}\nSentiment:"
)
#: the same template with a line added far from the instruction
EDITED = TEMPLATE.replace("\nSentiment:", "\nAnswer in one word.\nSentiment:")


def test_the_hash_is_short_hex_and_pinned() -> None:
    # pinned: a baseline written today must pair with a run of any later brittle on any machine
    assert row_hash(INPUTS) == "74397345c41e"
    assert len(row_hash(INPUTS)) == HASH_CHARS
    assert row_hash(dict(reversed(list(INPUTS.items())))) == row_hash(INPUTS)  # same mapping


def test_the_hash_is_the_same_in_other_processes() -> None:
    code = (
        "from brittle.run.fingerprints import row_hash, template_edit\n"
        f"inputs = {INPUTS!r}\n"
        f"edit = template_edit({TEMPLATE!r}, 'Please c' + {TEMPLATE[1:]!r})\n"
        "print(row_hash(inputs), row_hash(inputs, edit))\n"
    )
    here = " ".join(
        (row_hash(INPUTS), row_hash(INPUTS, template_edit(TEMPLATE, "Please c" + TEMPLATE[1:])))
    )
    for salt in ("0", "1", "random"):
        env = {**os.environ, "PYTHONHASHSEED": salt}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == here


@pytest.mark.parametrize(
    "changed",
    [
        {**INPUTS, "text": "The battery lasts all week."},  # one character
        {**INPUTS, "text": "The battery lasts  all week"},  # whitespace
        {**INPUTS, "text": "the battery lasts all week"},  # casing
        {**INPUTS, "hint": "negative"},  # a field that is not perturbed: the model sees it too
        {**INPUTS, "extra": ""},
        {"text": INPUTS["text"]},
    ],
)
def test_any_change_to_the_inputs_changes_the_hash(changed: dict[str, Any]) -> None:
    assert row_hash(changed) != row_hash(INPUTS)


def template_rows(suite: Suite, template: str, seed: int) -> list[tuple[str, str]]:
    """``(rewritten template, hash)`` of each template variant of one case."""
    variants, _ = suite.template_variants(Case("c1", INPUTS), template, seed=seed)
    return [
        (v.template or "", row_hash(v.inputs, template_edit(template, v.template or "")))
        for v in variants
    ]


@pytest.mark.parametrize(
    "entry",
    [
        {"family": "instruction", "n": 3},
        {"family": "preamble", "n": 3, "params": {"kind": "both"}},
        {"family": "format", "n": 3, "params": {"vary": ["separators", "spacing", "casing"]}},
    ],
)
def test_a_template_variant_hashes_its_edit_exactly(entry: dict[str, Any]) -> None:
    suite = suite_from_mapping({"name": "s", "perturbations": [entry]})
    seven, eight = template_rows(suite, TEMPLATE, 7), template_rows(suite, TEMPLATE, 8)
    assert len(seven) == len(eight) == 3
    assert template_rows(suite, TEMPLATE, 7) == seven  # the same draw: the same hashes
    for (text_a, hash_a), (text_b, hash_b) in zip(seven, eight, strict=True):
        assert (hash_a == hash_b) == (text_a == text_b)  # another seed: equal iff same text
    assert any(a != b for a, b in zip(seven, eight, strict=True))
    assert row_hash(INPUTS, template_edit(TEMPLATE, seven[0][0])) != row_hash(INPUTS)


def test_the_same_edit_of_an_edited_system_template_pairs() -> None:
    # the system's own template changed since the baseline (what the gate exists to judge):
    # the same rewording of its instruction is the same variant
    suite = suite_from_mapping({"name": "s", "perturbations": [{"family": "instruction", "n": 2}]})
    before, after = template_rows(suite, TEMPLATE, 7), template_rows(suite, EDITED, 7)
    assert [h for _, h in before] == [h for _, h in after]
    assert [t for t, _ in before] != [t for t, _ in after]
    # an edit is exact: what was replaced, by what, and where
    assert template_edit(TEMPLATE, "Please classify" + TEMPLATE[len("Classify") :]) == (
        ("", "Classify", "Please classify", " the sentiment of"),
    )
    assert template_edit(TEMPLATE, TEMPLATE) == ()


def spec_with(suite: dict[str, Any], *, seed: int | None = None) -> EvalSpec:
    return EvalSpec(
        name="demo",
        source=Path("demo.eval.yaml"),
        cases=[],
        systems=[],
        checks=[],
        suites=[suite_from_mapping(suite)],
        perturb_fields=("text",),
        seed=seed,
    )


TYPOS = {
    "name": "typos",
    "version": 1,
    "description": "keyboard typos",
    "seed": 7,
    "perturbations": [{"family": "typo", "n": 2, "params": {"rate": 0.08}}],
}


def fingerprint(suite: dict[str, Any], *, seed: int | None = None) -> dict[str, Any]:
    return suite_fingerprints(spec_with(suite, seed=seed))["typos"]


def test_a_suite_spec_hash_follows_what_decides_its_variants() -> None:
    base = fingerprint(TYPOS)
    assert base["seed"] == 7 and base["families"] == ["typo"]
    assert json.loads(json.dumps(base)) == base  # as stored in the baseline
    assert fingerprint(TYPOS) == base
    changed = [
        {**TYPOS, "seed": 8},
        {**TYPOS, "perturbations": [{"family": "typo", "n": 3, "params": {"rate": 0.08}}]},
        {**TYPOS, "perturbations": [{"family": "typo", "n": 2, "params": {"rate": 0.1}}]},
        {**TYPOS, "fields": ["hint"]},
        {**TYPOS, "sample": 0.5},
        {**TYPOS, "min_similarity": 0.8},
    ]
    hashes = {fingerprint(suite)["hash"] for suite in changed}
    assert len(hashes) == len(changed) and base["hash"] not in hashes
    # what changes no variant leaves the hash alone
    assert fingerprint({**TYPOS, "version": 2, "description": "other words"}) == base
    # the eval's seed overrides the suite's: the hash and the seed follow it
    overridden = fingerprint(TYPOS, seed=8)
    assert overridden["seed"] == 8 and overridden["hash"] != base["hash"]
    assert fingerprint(TYPOS, seed=7) == base  # an override to the suite's own seed: the same
