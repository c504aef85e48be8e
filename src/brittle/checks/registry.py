"""The registry of checks: names, factories, and building checks from an eval file's list.

A check factory ``factory(**params) -> Check`` is registered under a name, so that an eval file
can name it (``- label: {choices: [positive, negative]}``) and :func:`make_check` rebuilds a
check from its recorded :attr:`~brittle.checks.base.Check.params`. The built-in checks are
entered below by address (``module:factory``) and imported on first use, so that naming them
costs nothing: the ``json`` check's jsonschema, the ``similarity`` check's numpy and the
``deepeval`` check's deepeval load only for an eval that uses them. Everything a user can get
wrong in a ``checks:`` list is caught here, before any model is called, as a
:class:`~brittle._errors.ConfigError` that names the file, the item and the fix.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from brittle import _registry
from brittle._errors import ConfigError
from brittle.checks._params import kind
from brittle.checks.base import Check

__all__ = ["check_names", "checks_from_config", "make_check", "register_check"]

F = TypeVar("F", bound=Callable[..., Check])

_REGISTRY: dict[str, Callable[..., Check] | str] = {
    "contains": "brittle.checks.text:contains",
    "deepeval": "brittle.deepeval.check:_deepeval_from_config",
    "exact": "brittle.checks.text:exact",
    "json": "brittle.checks.json:json_schema",
    "label": "brittle.checks.labels:label",
    "normalized": "brittle.checks.text:normalized",
    "numeric": "brittle.checks.number:numeric",
    "python": "brittle.checks.function:python",
    "regex": "brittle.checks.text:regex",
    "similarity": "brittle.checks.semantic:_similarity_from_config",
}
"""Check names to factories, or to the address of a built-in factory not imported yet."""

_FORMS = (
    "write each item as a bare name, a name with no parameters, or a one-key mapping from the "
    "name to its parameters:\n"
    "    checks:\n"
    "      - exact\n"
    "      - normalized: null\n"
    "      - label: {choices: [positive, negative]}"
)


def register_check(name: str) -> Callable[[F], F]:
    """Register ``factory(**params) -> Check`` under ``name`` for eval files and :func:`make_check`.

    The factory's keyword parameters are the check's parameters: :func:`make_check` rejects
    others by name before calling it. Registering a second, different factory under a taken name
    is a programming error (re-registering the same function, as on a module reload, is not).
    """

    def decorator(factory: F) -> F:
        _registry.register(
            _REGISTRY,
            name,
            factory,
            taken="a check named {name!r} is already registered ({module}:{qualname})",
        )
        return factory

    return decorator


def check_names() -> list[str]:
    """The registered check names, sorted."""
    return sorted(_REGISTRY)


def make_check(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    where: str | None = None,
    key: str | None = None,
    base_dir: str | Path | None = None,
) -> Check:
    """Build the registered check ``name`` from ``params``.

    ``where`` (a file) and ``key`` (the check's position, e.g. ``checks[2]``) go into error
    messages. ``base_dir`` is the folder of the eval file: checks that read files or modules
    (``json`` schemas, ``python`` functions) resolve relative paths against it; it is passed only
    to factories that take a ``base_dir`` parameter and is not recorded in :attr:`Check.params`.
    """
    factory = _registry.lookup(_REGISTRY, name)
    if factory is None:
        raise _registry.unknown(
            "check", name, _REGISTRY, listing="known checks: ", where=where, key=key
        )
    prefix = f"{key}.{name}" if key else name
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"the parameters of check '{name}' must be a mapping, got {kind(params)}",
            where=where,
            key=prefix,
            fix=_FORMS,
        )
    resolved = {str(k): v for k, v in params.items()}
    accepted, required, open_ended = _signature(factory)
    if base_dir is not None and "base_dir" in accepted and "base_dir" not in resolved:
        resolved["base_dir"] = str(base_dir)
    if not open_ended:
        for param in resolved:
            if param not in accepted:
                public = sorted(p for p in accepted if p != "base_dir")
                raise ConfigError(
                    f"check '{name}' has no parameter '{param}'",
                    where=where,
                    key=f"{prefix}.{param}",
                    fix=_registry.suggest(param, public)
                    + f"parameters of '{name}': {', '.join(public) or '(none)'}",
                )
    for param in required:
        if param not in resolved:
            raise ConfigError(
                f"check '{name}' needs the parameter '{param}'",
                where=where,
                key=prefix,
                fix=f"give it, e.g. `- {name}: {{{param}: ...}}`",
            )
    try:
        return factory(**resolved)
    except ConfigError as exc:
        raise ConfigError(
            exc.problem,
            where=where or exc.where,
            line=exc.line,
            key=f"{prefix}.{exc.key}" if exc.key else prefix,
            fix=exc.fix,
        ) from None


def checks_from_config(
    spec: Any,
    *,
    where: str | None = None,
    key: str = "checks",
    base_dir: str | Path | None = None,
    lines: Mapping[int, int] | None = None,
) -> list[Check]:
    """Build the checks an eval file lists under ``key``.

    Each item is a bare name (``exact``), a one-key mapping from a name to its parameters
    (``{label: {choices: [positive, negative]}}``) or to null (``{normalized: null}``).
    ``lines`` maps item indexes to their line in ``where``, for error messages.
    """
    if not isinstance(spec, list):
        raise ConfigError(
            f"must be a list of checks, got {kind(spec)}", where=where, key=key, fix=_FORMS
        )
    if not spec:
        raise ConfigError("lists no checks", where=where, key=key, fix=_FORMS)
    checks = []
    file = where
    for index, item in enumerate(spec):
        item_key = f"{key}[{index}]"
        if lines and index in lines and file is not None:
            where = f"{file}:{lines[index]}"
        if isinstance(item, str):
            name, params = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, params),) = item.items()
        elif isinstance(item, Mapping) and len(item) > 1:
            names = [str(k) for k in item]
            registered = [n for n in names if n in _REGISTRY]
            fix = _FORMS
            if len(registered) == 1:
                others = ", ".join(n for n in names if n != registered[0])
                fix = f"indent {others} under '{registered[0]}:' (its parameters)\n  or: {_FORMS}"
            raise ConfigError(
                f"has {len(item)} keys ({', '.join(names)}); each item names one check",
                where=where,
                key=item_key,
                fix=fix,
            )
        else:
            raise ConfigError(
                f"is {kind(item)}, not a check", where=where, key=item_key, fix=_FORMS
            )
        if params is not None and not isinstance(params, Mapping):
            raise ConfigError(
                f"the parameters of check '{name}' must be a mapping, got {kind(params)}",
                where=where,
                key=f"{item_key}.{name}",
                fix=_FORMS,
            )
        checks.append(make_check(name, params, where=where, key=item_key, base_dir=base_dir))
    return checks


def _signature(factory: Callable[..., Check]) -> tuple[set[str], list[str], bool]:
    """Accepted keyword names, required names, and whether it takes ``**kwargs``."""
    accepted: set[str] = set()
    required: list[str] = []
    open_ended = False
    for param in inspect.signature(factory).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            open_ended = True
        elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            accepted.add(param.name)
            if param.default is param.empty:
                required.append(param.name)
    return accepted, required, open_ended
