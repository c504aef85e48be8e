"""A small eval project for plugin tests: a golden set and deterministic systems under test.

``write_project(pytester)`` lays out golden.jsonl, a typo suite, the systems module and an eval
file in the pytester folder, like a user's repository.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

TEXTS = [
    ("c01", "The battery lasts all week and charging is quick", "positive"),
    ("c02", "The screen cracked after two days of normal use", "negative"),
    ("c03", "Friendly staff and the room was spotless", "positive"),
    ("c04", "The soup was cold and the waiter ignored us", "negative"),
    ("c05", "This novel kept me reading until three in the morning", "positive"),
    ("c06", "The app crashes every time I open the camera", "negative"),
    ("c07", "Comfortable shoes that fit perfectly out of the box", "positive"),
    ("c08", "The drill stopped working within a month", "negative"),
    ("c09", "My kids play with this puzzle every single day", "positive"),
    ("c10", "The film was slow and the ending made no sense", "negative"),
    ("c11", "Delivery arrived early and the packaging was neat", "positive"),
    ("c12", "Customer support hung up on me twice", "negative"),
    ("c13", "The blender crushes ice like a dream", "positive"),
    ("c14", "The jacket ripped at the seam on first wear", "negative"),
    ("c15", "Great value for money and it looks stylish", "positive"),
    ("c16", "The headphones hiss constantly and hurt my ears", "negative"),
]

SYSTEMS_MODULE = '''
"""Deterministic systems under test (written by tests/evalproject.py)."""
import pathlib

VOCAB = set(" ".join(%(texts)r).split())
OPPOSITE = {"positive": "negative", "negative": "positive"}


def stable(inputs):
    return "The sentiment is " + inputs["hint"] + "."


def typo_brittle(inputs):
    # answers right on clean text and flips as soon as a word is misspelt
    words = inputs["text"].split()
    if any(word not in VOCAB for word in words):
        return OPPOSITE[inputs["hint"]]
    return inputs["hint"]


def degradable(inputs):
    # reads its behaviour from mode.txt: "good", "bad" (wrong on every third case), "some"
    # (wrong on 4 cases) or "typos" (flips as soon as a word is misspelt)
    path = pathlib.Path("mode.txt")
    mode = path.read_text().strip() if path.exists() else "good"
    if mode == "bad" and sum(map(ord, inputs["text"])) %% 3 == 0:
        return OPPOSITE[inputs["hint"]]
    if mode == "some" and sum(map(ord, inputs["text"])) %% 3 == 2:  # 4 of the 16 originals
        return OPPOSITE[inputs["hint"]]
    if mode == "typos":
        return typo_brittle(inputs)
    return inputs["hint"]


_CALLS = {"n": 0}


def noisy(inputs):
    # wrong on every third call, whatever the input: randomness, not brittleness
    _CALLS["n"] += 1
    if _CALLS["n"] %% 3 == 0:
        return OPPOSITE[inputs["hint"]]
    return inputs["hint"]


def erroring(inputs):
    if len(inputs["text"]) %% 2 == 0:
        raise RuntimeError("backend unavailable (HTTP 503)")
    return inputs["hint"]
'''

TYPO_SUITE = """
name: typos
version: 1
seed: 7
perturbations:
  - family: typo
    n: 2
    params: {rate: 0.08}
"""


def golden_rows() -> list[dict[str, Any]]:
    return [{"id": i, "text": t, "hint": label, "expected": label} for i, t, label in TEXTS]


def eval_yaml(
    systems: dict[str, str],
    gates: list[str],
    *,
    name: str = "demo",
    suites: tuple[str, ...] = ("suites/typos.yaml",),
    extra: str = "",
) -> str:
    system_lines = "\n".join(
        f"  {n}:\n    kind: python\n    callable: sysmod:{fn}" for n, fn in systems.items()
    )
    gate_lines = "\n".join(f"  - {g}" for g in gates)
    suite_lines = "\n".join(f"  - {s}" for s in suites)
    return textwrap.dedent(
        f"""\
name: {name}
golden: golden.jsonl
perturb_fields: [text]
systems:
{system_lines}
checks:
  - label: {{choices: [positive, negative]}}
suites:
{suite_lines}
gates:
{gate_lines}
{extra}"""
    )


def write_project(pytester: pytest.Pytester) -> None:
    # the test systems read mode.txt, which their fingerprints do not cover: no response cache
    pytester.makeini(
        "[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\nbrittle_cache = off\n"
    )
    pytester.syspathinsert()
    pytester.makepyfile(sysmod=SYSTEMS_MODULE % {"texts": [t for _, t, _ in TEXTS]})
    (pytester.path / "golden.jsonl").write_text(
        "".join(json.dumps(row) + "\n" for row in golden_rows())
    )
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "typos.yaml").write_text(TYPO_SUITE)
