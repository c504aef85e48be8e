"""Named factories: the one registry shape behind checks and perturbation families.

Eval and suite files name what they use (``- label: {...}``, ``family: typo``), so both checks
(:mod:`brittle.checks.registry`) and perturbation families (:mod:`brittle.perturb.registry`) keep a
table from a name to the factory that builds the thing from its YAML parameters. The table is a
plain ``dict``; what they share is here: how a name is taken, how it is found, and how a misspelt
one is answered with the closest known name.

An entry is the factory itself or its address, ``"package.module:attr"``, imported the first time
the name is looked up. A table can so list every built-in name without importing what each needs
(jsonschema, numpy, an optional package such as deepeval), and a module that provides an entry can
import the registry's package without the registry importing it back.

:func:`lazy_attributes` applies the same idea to a package's public names: the package lists the
module that defines each, and a name is imported the first time it is read (PEP 562), so that
importing the package stays light.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from brittle._errors import ConfigError

T = TypeVar("T")


def address(factory: object) -> str:
    """``module:qualname`` of a function or class; a lazy entry is its own address."""
    if isinstance(factory, str):
        return factory
    module = getattr(factory, "__module__", "?")
    return f"{module}:{getattr(factory, '__qualname__', repr(factory))}"


def register(table: dict[str, T], name: str, factory: T, *, taken: str) -> None:
    """Put ``factory`` in ``table`` under ``name``.

    A different factory already there is a programming error: ``ValueError(taken)``, with
    ``{name}``, ``{module}`` and ``{qualname}`` (those of the factory registered first) filled in.
    The same factory again, as on a module reload or from the module a lazy entry points to, is
    not.
    """
    previous = table.get(name)
    if previous is not None and address(previous) != address(factory):
        module, _, qualname = address(previous).partition(":")
        raise ValueError(taken.format(name=name, module=module, qualname=qualname))
    table[name] = factory


def lookup(table: dict[str, T | str], name: object) -> T | None:
    """The factory under ``name`` (importing it if the entry is an address), or None."""
    if not isinstance(name, str):
        return None
    entry = table.get(name)
    if isinstance(entry, str):
        module, _, attr = entry.partition(":")
        factory: T = getattr(importlib.import_module(module), attr)
        table[name] = factory
        return factory
    return entry


def lazy_attributes(
    package: str, modules: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``modules[name]`` names the module that defines
    ``name``, imported on first use; the value is then kept in ``namespace`` (the package's
    ``globals()``), so later reads cost nothing."""

    def __getattr__(name: str) -> Any:
        module = modules.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__


def suggest(name: object, known: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` for the known name closest to ``name``, or ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f"did you mean '{close[0]}'? " if close else ""


def unknown(
    what: str,
    name: object,
    known: Iterable[str],
    *,
    listing: str,
    where: str | None = None,
    key: str | None = None,
) -> ConfigError:
    """The error for a name no factory is registered under: the closest name, then all of them.

    ``what`` names the kind of thing ("check"); ``listing`` introduces the known names.
    """
    names = sorted(known)
    return ConfigError(
        f"unknown {what} {name!r}",
        where=where,
        key=key,
        fix=f"{suggest(name, names)}{listing}{', '.join(names)}",
    )


def unknown_key_error(
    key: object,
    allowed: Iterable[str],
    *,
    where: str | None = None,
    line: int | None = None,
    within: str | None = None,
    what: str = "key",
) -> ConfigError:
    """The one error for a mistyped key in an eval, suite or golden file.

    It names the file and line (``where``, ``line``), the key and the mapping it sits in
    (``within``: ``"systems.zero-shot"``, ``"retries"``; None for the top level), the closest
    allowed key ("did you mean 'error_budget'?"), then every allowed key. ``what`` names the kind
    of entry ("key", "limit", "parameter").
    """
    names = sorted(allowed)
    place = f" in '{within}'" if within else ""
    return ConfigError(
        f"unknown {what} '{key}'{place}",
        where=where,
        line=line,
        fix=f"{suggest(key, names)}allowed {what}s: {', '.join(names)}",
    )


def first_unknown(mapping: Iterable[object], allowed: Iterable[str]) -> str | None:
    """The first key of ``mapping`` (in file order) that is not in ``allowed``, or None."""
    allowed = set(allowed)
    for key in mapping:
        if str(key) not in allowed:
            return str(key)
    return None
