"""Perturbations: seeded, deterministic rewrites of a case that should not change its answer.

Families register a factory under a name (:func:`register_family`); suites build them by name
with :func:`make_perturbation`, and :func:`generate_variants` turns a case into its variants.
Importing this package registers the built-in families: one module per family, each imported
below; a new family is a new module with a ``@register_family`` factory, added to that import.
"""

from brittle.perturb import (  # noqa: F401  (imported to register the built-in families)
    casing,
    contractions,
    distractor,
    prefix,
    punctuation,
    typo,
    whitespace,
)
from brittle.perturb.registry import Perturbation, families, make_perturbation, register_family
from brittle.perturb.rng import rng_for
from brittle.perturb.variants import generate_variants

__all__ = [
    "Perturbation",
    "families",
    "generate_variants",
    "make_perturbation",
    "register_family",
    "rng_for",
]
