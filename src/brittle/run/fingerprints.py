"""Variant fingerprints: a short hash of what each row put before the model, and of each suite.

A row id (``c07[typo#2]``) names a slot, not a text: a suite run with another seed or other
parameters puts another rewording in the same slot. A baseline therefore stores, beside each
row's outcome, the hash of the row's text (:func:`row_hash`), and the relative gates pair a row
with the baseline's only when both agree (:mod:`brittle.stats.changes`). What is hashed:

- an original or an input-level variant: its input fields, all of them, as the system gets
  them (canonical JSON: sorted keys, exact characters);
- an instruction- or format-level variant: its input fields and **the edit** its family made
  to the system's template (:func:`template_edit`: each replaced stretch, what replaced it, and
  a few tokens of context on either side), not the whole rewritten template. With the system's
  template unchanged, the same edit is the same text; with a new template (the change a
  relative gate exists to judge), the same edit of an untouched passage still pairs, as an
  input variant pairs whatever the system.

Each suite also gets a spec hash (:func:`suite_fingerprints`): its parsed definition as the
eval uses it (entries, families, ``n``, parameters, meaning rules, fields, ``sample``, the
suite's seed and the seed it runs with), so a report can say *why* variants changed: "suite
'typos' changed: seed 7 -> 8". Its ``version``, ``description``, comments and layout are left
out: they change no variant.

Hashes are SHA-256 of canonical JSON cut to :data:`HASH_CHARS` hex characters: the same on every
machine and in every process (never Python's salted ``hash``). A row is only ever compared with
the baseline's row of the same id, so 48 bits make a false match a 1 in 2**48 event per row.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from brittle.spec.eval import EvalSpec
from brittle.spec.suites import Suite

HASH_CHARS = 12
#: tokens of unchanged template kept on either side of an edit, to place it
CONTEXT_TOKENS = 6
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


#: ``json.dumps`` with these options makes a new encoder per call (a row's hash is made per row)
_CANONICAL = json.JSONEncoder(
    sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
)


def _digest(value: Any) -> str:
    text = _CANONICAL.encode(value)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:HASH_CHARS]


def row_hash(inputs: Mapping[str, Any], edit: Any = None) -> str:
    """The fingerprint of a row: its input fields and, for a template-level variant, its
    template edit (:func:`template_edit`)."""
    value: dict[str, Any] = {"inputs": dict(inputs)}
    if edit is not None:
        value["template_edit"] = edit
    return _digest(value)


@lru_cache(maxsize=256)
def template_edit(original: str, rewritten: str) -> tuple[tuple[str, str, str, str], ...]:
    """What a family changed in a template: ``(before, old, new, after)`` per changed stretch,
    ``before``/``after`` being up to :data:`CONTEXT_TOKENS` unchanged tokens around it.

    Word, punctuation and whitespace tokens, so the edit is exact to the character.
    """
    old, new = _TOKENS.findall(original), _TOKENS.findall(rewritten)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return tuple(
        (
            "".join(old[max(0, i1 - CONTEXT_TOKENS) : i1]),
            "".join(old[i1:i2]),
            "".join(new[j1:j2]),
            "".join(old[i2 : i2 + CONTEXT_TOKENS]),
        )
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    )


def suite_definition(suite: Suite, spec: EvalSpec) -> dict[str, Any]:
    """What of ``suite`` decides its variants in ``spec`` (the input of its spec hash)."""
    return {
        "name": suite.name,
        "seed": effective_seed(suite, spec),
        "suite_seed": suite.seed,  # which cases ``sample`` draws
        "sample": suite.sample,
        "fields": list(suite.fields or spec.perturb_fields),
        "perturbations": [
            {
                "name": e.name,
                "family": e.family,
                "n": e.n,
                "target": e.target,
                "params": dict(e.perturbation.params),
                **e.meaning.spec(),
            }
            for e in suite.entries
        ],
    }


def effective_seed(suite: Suite, spec: EvalSpec) -> int:
    """The seed ``suite``'s variants are drawn with: the eval's ``seed``, else the suite's."""
    return suite.seed if spec.seed is None else spec.seed


def suite_fingerprints(spec: EvalSpec) -> dict[str, dict[str, Any]]:
    """Suite name -> ``{"hash", "seed", "families"}`` for each suite of ``spec``, as a
    baseline stores them."""
    return {
        suite.name: {
            "hash": _digest(suite_definition(suite, spec)),
            "seed": effective_seed(suite, spec),
            "families": sorted({e.family for e in suite.entries}),
        }
        for suite in spec.suites
    }


__all__ = [
    "CONTEXT_TOKENS",
    "HASH_CHARS",
    "effective_seed",
    "row_hash",
    "suite_definition",
    "suite_fingerprints",
    "template_edit",
]
