"""Checks: how one output of the system under test is judged against its case.

A check is made by a factory from JSON-serialisable parameters, so that an eval file can name it
(``label: {choices: [positive, negative]}``) and a results log can record exactly how each output
was scored (:attr:`Check.params` is fully resolved and :func:`make_check` rebuilds the check from
it). Factories are registered under a name with :func:`register_check`; the built-in ones are

=============  ==============================================================================
``exact``      the output equals the expected answer (stripped; optionally case-insensitive)
``normalized`` equal after :func:`normalize_text` (case, punctuation, quotes, whitespace)
``label``      the first of a fixed set of labels mentioned in the output is the expected one
``contains``   the output contains the expected answer, or given strings (all of / any of)
``regex``      a pattern matches, or a capture group of it equals the expected answer
``json``       the output holds JSON, optionally valid against a schema and equal to the expected
``numeric``    the first (or last) number in the output is close to the expected number
``similarity`` embedding cosine similarity with the expected answer reaches a threshold
``python``     a user function ``(output, case) -> bool | float | CheckResult`` decides
``deepeval``   a deepeval metric judged by an LLM through the gateway (:mod:`brittle.deepeval`)
=============  ==============================================================================

Each returns a :class:`CheckResult` whose ``answer`` is what the check read from the output (a
label, a number, canonical JSON, normalised text). Comparing answers rather than pass/fail is
what lets a brittleness suite see that a perturbed input changed the answer, even between two
wrong answers. Checks that read nothing out of free text (``contains``, ``similarity``, a plain
``python`` function) leave ``answer`` as None.

Nothing here raises on a bad output: a malformed, empty or surprising output is a failed result
with a short ``detail``. Bad parameters raise :class:`~brittle._errors.ConfigError` when the
check is built, so a typo in an eval file fails before any model is called.

Where things are: :mod:`~brittle.checks.base` (:class:`Check`, :class:`CheckResult`),
:mod:`~brittle.checks.registry` (names, :func:`make_check`, :func:`checks_from_config`), and one
module per kind of check: :mod:`~brittle.checks.text` (``exact``, ``normalized``, ``contains``,
``regex``), :mod:`~brittle.checks.labels`, :mod:`~brittle.checks.number` (``numeric``),
:mod:`~brittle.checks.json`, :mod:`~brittle.checks.semantic` (``similarity``) and
:mod:`~brittle.checks.function` (``python``). The last three need jsonschema, numpy or user code,
so they, like :mod:`brittle.deepeval.check`, are imported only when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brittle._registry import lazy_attributes
from brittle.checks.base import Check, CheckResult
from brittle.checks.labels import label
from brittle.checks.number import extract_number, format_number, numeric
from brittle.checks.registry import check_names, checks_from_config, make_check, register_check
from brittle.checks.text import contains, exact, normalize_text, normalized, regex

if TYPE_CHECKING:
    from brittle.checks.function import python
    from brittle.checks.json import NO_JSON as NO_JSON
    from brittle.checks.json import extract_json, json_schema
    from brittle.checks.semantic import similarity

__all__ = [
    "Check",
    "CheckResult",
    "check_names",
    "checks_from_config",
    "contains",
    "exact",
    "extract_json",
    "extract_number",
    "format_number",
    "json_schema",
    "label",
    "make_check",
    "normalize_text",
    "normalized",
    "numeric",
    "python",
    "regex",
    "register_check",
    "similarity",
]

_LAZY = {
    "NO_JSON": "brittle.checks.json",
    "extract_json": "brittle.checks.json",
    "json_schema": "brittle.checks.json",
    "python": "brittle.checks.function",
    "similarity": "brittle.checks.semantic",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
