"""Cases and variants: the rows a system under test is run on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Case:
    """One golden row: an id, the input fields, the expected answer and optional tags.

    ``source`` is ``"file:line"`` of the row, for error messages.
    """

    id: str
    inputs: Mapping[str, Any]
    expected: Any = None
    tags: tuple[str, ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class Variant:
    """A perturbed copy of a case's inputs (or, for instruction-level families, of its prompt).

    ``id`` is stable across runs and machines for the same seed, e.g. ``case-17[typo#3]``.
    ``family`` is the perturbation family (``typo``, ``casing``, ...); ``perturbation`` is the name
    under which the suite lists it (several entries of one family may differ in parameters).
    """

    id: str
    case_id: str
    suite: str
    family: str
    perturbation: str
    index: int
    inputs: Mapping[str, Any]
    edits: Mapping[str, Any] = field(default_factory=dict)
    template: str | None = None
    """The perturbed prompt template, for instruction- and format-level families (else None)."""


def variant_id(case_id: str, perturbation: str, index: int) -> str:
    """The stable id of the ``index``-th (1-based) variant of a case under a perturbation."""
    return f"{case_id}[{perturbation}#{index}]"
