"""Perturbations: seeded, deterministic rewrites of a case that should not change its answer.

Families register a factory under a name (:func:`register_family`); suites build them by name
with :func:`make_perturbation`, and :func:`generate_variants` turns a case into its variants.
Importing this package registers the built-in families: one module per family (or per group of
related families), each imported below; a new family is a new module with a ``@register_family``
factory, added to that import.

Families by level (``target``):

- input, character and word level: ``typo``, ``casing``, ``whitespace``, ``punctuation``,
  ``contractions``, ``prefix``, ``distractor``, ``synonyms``, ``reorder``, ``numbers``;
- input, paraphrase level (frozen files): ``paraphrase``, ``regression``;
- instruction level (the system's template): ``instruction``, ``preamble``, ``placement``;
- format level (the system's template): ``format``.
"""

from brittle.perturb import (  # noqa: F401  (imported to register the built-in families)
    casing,
    contractions,
    distractor,
    formats,
    frozen,
    instruction,
    numbers,
    prefix,
    punctuation,
    reorder,
    synonyms,
    typo,
    whitespace,
)
from brittle.perturb.registry import Perturbation, families, make_perturbation, register_family
from brittle.perturb.rng import rng_for
from brittle.perturb.variants import generate_template_variants, generate_variants

__all__ = [
    "Perturbation",
    "families",
    "generate_template_variants",
    "generate_variants",
    "make_perturbation",
    "register_family",
    "rng_for",
]
