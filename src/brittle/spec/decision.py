"""The eval keys of the prompt-or-fine-tune decision: ``compare`` (the pairs of systems to test
against each other) and a system's ``training_cost`` (USD, one-off).

The decision itself is measured in :mod:`brittle.stats.decision`; this module only checks what
an eval file or the Python API says, with errors that name the key and the fix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import suggest

COMPARE_FIX = "write e.g. 'compare: [[few-shot, lora]]' (pairs of system names of this eval)"


def parse_training_cost(
    value: Any, *, key: str, where: str | None = None, line: int | None = None
) -> float | None:
    """A system's ``training_cost``: a number of US dollars >= 0 (None: not set)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(
            f"'training_cost' must be a number of US dollars, not {value!r}",
            where=where,
            line=line,
            key=key,
            fix="write e.g. 'training_cost: 250' (USD spent once to train the fine-tune)",
        )
    if value < 0:
        raise ConfigError(
            f"'training_cost' cannot be negative ({value!r})",
            where=where,
            line=line,
            key=key,
            fix="write the one-off training cost in US dollars, e.g. 'training_cost: 250'",
        )
    return float(value)


def parse_compare(
    value: Any,
    systems: Sequence[str],
    *,
    where: str | None = None,
    lines: Mapping[Any, int] | None = None,
) -> tuple[tuple[str, str], ...]:
    """The eval's ``compare`` pairs: each a list of two distinct system names of the eval."""
    lines = lines or {}
    if value is None:
        return ()
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise ConfigError(
            f"'compare' must be a list of pairs of system names, not {value!r}",
            where=where,
            line=lines.get(("compare",)),
            key="compare",
            fix=COMPARE_FIX,
        )
    pairs: list[tuple[str, str]] = []
    for index, pair in enumerate(value):
        line = lines.get(("compare", index), lines.get(("compare",)))
        key = f"compare[{index}]"
        if (
            isinstance(pair, str | bytes | Mapping)
            or not isinstance(pair, Sequence)
            or len(pair) != 2
        ):
            raise ConfigError(
                f"each comparison must be a pair of two system names, not {pair!r}",
                where=where,
                line=line,
                key=key,
                fix=COMPARE_FIX,
            )
        for name in pair:
            if name not in systems:
                raise ConfigError(
                    f"'{name}' is not a system of this eval",
                    where=where,
                    line=line,
                    key=key,
                    fix=f"{suggest(name, systems)}systems: {', '.join(systems)}",
                )
        if pair[0] == pair[1]:
            raise ConfigError(
                f"a system cannot be compared with itself ('{pair[0]}')",
                where=where,
                line=line,
                key=key,
                fix=COMPARE_FIX,
            )
        if (pair[0], pair[1]) not in pairs:
            pairs.append((str(pair[0]), str(pair[1])))
    return tuple(pairs)


__all__ = ["parse_compare", "parse_training_cost"]
