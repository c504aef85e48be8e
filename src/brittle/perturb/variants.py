"""Turning one case into its perturbed variants."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from brittle._errors import ConfigError
from brittle.perturb.registry import Perturbation
from brittle.perturb.rng import rng_for
from brittle.perturb.template import compiles
from brittle.spec.cases import Case, Variant, variant_id

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

    A perturbation with a ``candidates(case_id, field, text)`` method (frozen files) is not
    drawn from: slot ``k`` takes the ``k``-th candidate of each field, once.
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
    candidates = getattr(perturbation, "candidates", None)
    if callable(candidates):
        # Frozen variants: slot k takes each field's k-th line; there is nothing to redraw.
        pairs = zip(targets, original, strict=True)
        lists = [candidates(case.id, field, text) for field, text in pairs]

        def draw(slot: int, attempt: int) -> tuple[str, ...]:
            return tuple(
                options[slot - 1] if slot <= len(options) else text
                for options, text in zip(lists, original, strict=True)
            )

        attempts = 1
    else:

        def draw(slot: int, attempt: int) -> tuple[str, ...]:
            rng = rng_for(seed, case.id, name, slot, attempt)
            return tuple(perturbation.apply(text, rng) for text in original)

        attempts = ATTEMPTS_PER_SLOT
    variants: list[Variant] = []
    for slot, attempt, texts in _distinct_draws(original, draw, n, attempts):
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
    return variants, n - len(variants)


TEMPLATE_KEY = "<template>"
"""What stands for the case id in the randomness of template-level variants (see below)."""


def generate_template_variants(
    case: Case,
    perturbation: Perturbation,
    template: str | None,
    *,
    name: str,
    n: int,
    seed: int,
    suite: str,
) -> tuple[list[Variant], int]:
    """Up to ``n`` distinct rewrites of a system's ``template`` for ``case``, and the no-ops.

    For instruction- and format-level families (``target`` other than ``"input"``). The case's
    inputs are kept; :attr:`Variant.template` holds the rewritten template. Rewrite ``#k`` is the
    same for every case (its randomness depends on the seed, ``name`` and ``k``, not on the case),
    so each rewrite is measured over the whole golden set, as FormatSpread measures a format, and
    is computed and scored once. Without a template (a Python system, a model sent the bare
    input) every slot is a no-op; so is a rewrite that is no longer valid Jinja2.
    """
    if template is None:
        return [], n
    draws = template_draws(perturbation, template, name=name, n=n, seed=seed)
    variants = [
        Variant(
            id=variant_id(case.id, name, index),
            case_id=case.id,
            suite=suite,
            family=perturbation.family,
            perturbation=name,
            index=index,
            inputs=case.inputs,
            edits={"target": perturbation.target, "slot": slot, "attempt": attempt},
            template=text,
        )
        for index, (slot, attempt, text) in enumerate(draws, start=1)
    ]
    return variants, n - len(variants)


_DRAWS: dict[tuple[Any, ...], tuple[tuple[int, int, str], ...]] = {}
_MAX_DRAWS = 1024


def template_draws(
    perturbation: Perturbation, template: str, *, name: str, n: int, seed: int
) -> tuple[tuple[int, int, str], ...]:
    """``(slot, attempt, rewritten template)`` of each distinct rewrite.

    Kept per (perturbation, template, name, n, seed) when the perturbation is hashable (the
    built-in families are), so each rewrite is made once, not once per case.
    """
    key = (perturbation, template, name, n, seed)
    try:
        return _DRAWS[key]
    except TypeError:  # an unhashable perturbation: compute every time
        return _template_draws(perturbation, template, name=name, n=n, seed=seed)
    except KeyError:
        pass
    if len(_DRAWS) >= _MAX_DRAWS:
        _DRAWS.clear()
    _DRAWS[key] = _template_draws(perturbation, template, name=name, n=n, seed=seed)
    return _DRAWS[key]


def _template_draws(
    perturbation: Perturbation, template: str, *, name: str, n: int, seed: int
) -> tuple[tuple[int, int, str], ...]:

    def draw(slot: int, attempt: int) -> tuple[str, ...]:
        rewritten = perturbation.apply(template, rng_for(seed, TEMPLATE_KEY, name, slot, attempt))
        return (rewritten if compiles(rewritten) else template,)

    return tuple(
        (slot, attempt, texts[0])
        for slot, attempt, texts in _distinct_draws((template,), draw, n, ATTEMPTS_PER_SLOT)
    )


def _distinct_draws(
    original: tuple[str, ...],
    draw: Callable[[int, int], tuple[str, ...]],
    n: int,
    attempts: int,
) -> Iterator[tuple[int, int, tuple[str, ...]]]:
    """``(slot, attempt, texts)`` for each slot whose draw differs from all earlier ones."""
    seen = {original}
    for slot in range(1, n + 1):
        for attempt in range(attempts):
            texts = draw(slot, attempt)
            if texts in seen:
                continue
            seen.add(texts)
            yield slot, attempt, texts
            break
