"""Checks on check parameters, and the short forms of values that messages quote.

Parameters arrive from YAML, so they may be any type: each check here accepts exactly the
documented values and otherwise raises a :class:`~brittle._errors.ConfigError` keyed by the
parameter, saying what it must be and what it got. :func:`make_check` adds where the check is.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from brittle._errors import ConfigError


def kind(value: Any) -> str:
    """A value's YAML-level kind, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, numbers.Number):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({short(value)})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def short(text: str, limit: int = 60) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters."""
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def boolean(value: Any, key: str) -> bool:
    """``value``, which must be true or false (YAML's ``yes`` is, ``"yes"`` is not)."""
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, got {kind(value)}", key=key)
    return value


def real(value: Any, key: str, *, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a float: a number (not a boolean, not NaN) within ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ConfigError(f"must be a number, got {kind(value)}", key=key)
    number = float(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"must be {bounds}, got {value!r}", key=key)
    return number


def string(value: Any, key: str) -> str:
    """``value``, which must be a non-empty string."""
    if not isinstance(value, str) or not value:
        raise ConfigError(f"must be a non-empty string, got {kind(value)}", key=key)
    return value


def strings(value: Any, key: str) -> list[str]:
    """``value`` as a list: a non-empty list of non-empty strings (one bare string is not)."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            f"must be a list of strings, got {kind(value)}",
            key=key,
            fix=f"write it as a list, e.g. {key}: [{value if isinstance(value, str) else 'a'}]",
        )
    if not value:
        raise ConfigError("must list at least one string", key=key)
    for index, item in enumerate(value):
        string(item, f"{key}[{index}]")
    return list(value)
