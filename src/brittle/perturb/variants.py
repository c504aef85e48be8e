"""Turning one case into its perturbed variants."""

from __future__ import annotations

from collections.abc import Sequence

from brittle._errors import ConfigError
from brittle.cases import Case, Variant, variant_id
from brittle.perturb.registry import Perturbation
from brittle.perturb.rng import rng_for

ATTEMPTS_PER_SLOT = 5
"""Fresh draws a slot gets before it is given up as a no-op.

A few retries recover from unlucky draws (a duplicate of an earlier variant, a random flip that
undid itself) while a family that cannot change a text gives up quickly.
"""


def generate_variants(
    case: Case,
    perturbation: Perturbation,
    *,
    name: str,
    n: int,
    seed: int,
    fields: Sequence[str],
    suite: str,
) -> tuple[list[Variant], int]:
    """Up to ``n`` distinct variants of ``case``, and the number of slots that stayed no-ops.

    Each variant applies ``perturbation`` to every listed field that holds a string (other fields
    are copied as they are). A draw equal to the original or to an earlier variant is redrawn with
    the next attempt number; a slot that gets nothing new in ``ATTEMPTS_PER_SLOT`` draws counts as
    a no-op, so ``len(variants) + no_ops == n`` always. Emitted variants are numbered 1..k without
    gaps; the randomness of slot ``i`` depends only on the seed, the case id, ``name``, ``i`` and
    the attempt, so a variant does not change when other cases or perturbations are added. The
    fields share that slot's generator, in the order listed.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ConfigError(
            f"the number of variants for perturbation '{name}' must be a whole number >= 0, "
            f"got {n!r}",
            key="n",
            fix="set n to e.g. 5",
        )
    if isinstance(fields, str):
        raise ConfigError(
            f"the fields perturbed by '{name}' must be a list of field names, got the string "
            f"{fields!r}",
            key="fields",
            fix=f"write fields: [{fields}]",
        )
    targets = [field for field in dict.fromkeys(fields) if isinstance(case.inputs.get(field), str)]
    if not targets:
        return [], n
    original = tuple(case.inputs[field] for field in targets)
    seen = {original}
    variants: list[Variant] = []
    for slot in range(1, n + 1):
        for attempt in range(ATTEMPTS_PER_SLOT):
            rng = rng_for(seed, case.id, name, slot, attempt)
            texts = tuple(perturbation.apply(text, rng) for text in original)
            if texts in seen:
                continue
            seen.add(texts)
            index = len(variants) + 1
            variants.append(
                Variant(
                    id=variant_id(case.id, name, index),
                    case_id=case.id,
                    suite=suite,
                    family=perturbation.family,
                    perturbation=name,
                    index=index,
                    inputs={**case.inputs, **dict(zip(targets, texts, strict=True))},
                    edits={
                        "fields": [
                            field
                            for field, old, new in zip(targets, original, texts, strict=True)
                            if old != new
                        ],
                        "slot": slot,
                        "attempt": attempt,
                    },
                )
            )
            break
    return variants, n - len(variants)
