"""Checks on family parameters, shared by the family factories.

Parameters arrive from YAML, so they may be any type: each check accepts exactly the documented
values, returns them in canonical form (tuples for lists, floats for numbers) and otherwise raises
a ``ConfigError`` naming the family, the parameter, what it accepts and what it got.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError


def rate(family: str, key: str, value: Any) -> float:
    """A share in (0, 1]: zero would make the family a no-op, which is never what a suite means."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or not 0 < value <= 1
    ):
        raise ConfigError(
            f"perturbation family '{family}': {key} must be a number with 0 < {key} <= 1, "
            f"got {value!r}",
            key=key,
            fix=f"set {key} to a share such as 0.05 (5%) or 0.2 (20%)",
        )
    return float(value)


def choice(family: str, key: str, value: Any, allowed: Sequence[str]) -> str:
    """One of ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(
            f"perturbation family '{family}': {key} must be one of {', '.join(allowed)}, "
            f"got {value!r}",
            key=key,
            fix=f"set {key} to one of: {', '.join(allowed)}",
        )
    return value


def subset(family: str, key: str, value: Any, allowed: Sequence[str]) -> tuple[str, ...]:
    """A non-empty list drawn from ``allowed``, returned in ``allowed`` order without repeats.

    The canonical order makes ``[delete, insert]`` and ``[insert, delete]`` the same perturbation,
    with the same variants and the same recorded parameters.
    """
    example = f"{key}: [{', '.join(allowed[:2])}]"
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"perturbation family '{family}': {key} must be a non-empty list drawn from "
            f"{', '.join(allowed)}, got {value!r}",
            key=key,
            fix=f"write it as a list, e.g. {example}",
        )
    unknown = [item for item in value if not isinstance(item, str) or item not in allowed]
    if unknown:
        raise ConfigError(
            f"perturbation family '{family}': {key} may only contain {', '.join(allowed)}, "
            f"got {unknown[0]!r}",
            key=key,
            fix=f"remove {unknown[0]!r}, e.g. {example}",
        )
    return tuple(item for item in allowed if item in value)


def texts(family: str, key: str, value: Any) -> tuple[str, ...]:
    """A non-empty list of non-blank strings (a bare string is refused: it is not a list of one)."""
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise ConfigError(
            f"perturbation family '{family}': {key} must be a non-empty list of strings, "
            f"got {value!r}",
            key=key,
            fix=f'write it as a YAML list, e.g. {key}: ["first", "second"]',
        )
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigError(
                f"perturbation family '{family}': every entry of {key} must be a non-blank "
                f"string, got {item!r}",
                key=key,
                fix=f"remove or fill the entry {item!r}",
            )
    return tuple(value)


_BASE_DIR: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "brittle_perturb_base_dir", default=None
)


@contextlib.contextmanager
def relative_to(folder: Path | None) -> Iterator[None]:
    """Resolve relative file parameters against ``folder`` (the suite's folder) meanwhile."""
    token = _BASE_DIR.set(folder)
    try:
        yield
    finally:
        _BASE_DIR.reset(token)


def path(family: str, key: str, value: Any) -> Path:
    """An existing file; a relative path is taken relative to the suite file that names it."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"perturbation family '{family}': {key} must be a file path, got {value!r}",
            key=key,
            fix=f"set {key} to a path relative to the suite file, e.g. "
            f"{key}: ../fixtures/sentiment/paraphrases.jsonl",
        )
    resolved = Path(value).expanduser()
    base = _BASE_DIR.get()
    if not resolved.is_absolute() and base is not None:
        resolved = base / resolved
    if not resolved.is_file():
        raise ConfigError(
            f"perturbation family '{family}': {key} '{value}' does not exist "
            f"(looked for {resolved})",
            key=key,
            fix="paths are relative to the suite file; create the file with "
            "`brittle paraphrase` (paraphrases) or `brittle promote` (regressions)",
        )
    return resolved
