"""The registry of perturbation families: names, factories, and the checks on suite parameters.

A family is a factory ``factory(**params) -> Perturbation`` registered under a name. Suites name a
family and give its parameters as plain data (YAML), so everything a user can get wrong about them
is caught here, once, and reported as a :class:`~brittle._errors.ConfigError` that names the family,
the parameter and the values it accepts. Families written later (instruction-level, format-level,
paraphrase) plug in with the same decorator and are found by :func:`make_perturbation` without any
change to this module.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

from brittle import _registry
from brittle._errors import ConfigError


@runtime_checkable
class Perturbation(Protocol):
    """One configured perturbation: a family with its parameters fully resolved.

    ``target`` says what it rewrites: ``"input"`` for a case field; instruction-level families use
    ``"instruction"``. ``params`` is JSON-serialisable and includes every default, so a report
    records exactly what was run and ``make_perturbation(p.family, p.params)`` rebuilds it.
    ``apply`` must depend only on ``text`` and ``rng`` (that is what makes variants reproducible);
    it may return ``text`` unchanged when the family does not apply to it.
    """

    @property
    def family(self) -> str: ...

    @property
    def target(self) -> str: ...

    @property
    def params(self) -> Mapping[str, Any]: ...

    def apply(self, text: str, rng: random.Random) -> str: ...


F = TypeVar("F", bound=Callable[..., Perturbation])

_FACTORIES: dict[str, Callable[..., Perturbation] | str] = {}


def register_family(name: str) -> Callable[[F], F]:
    """Register ``factory`` as the family ``name``; used as a decorator on the factory.

    The factory takes the family's parameters as keyword arguments with defaults and validates them
    (raising ``ConfigError``); its keyword names are the parameters suites may set. Registering a
    second, different factory under a taken name is a programming error, so it raises ``ValueError``
    rather than silently replacing a built-in family.
    """
    if not name or not name.replace("_", "").replace("-", "").isalnum() or name != name.lower():
        raise ValueError(f"perturbation family names are lower-case words, got {name!r}")

    def decorate(factory: F) -> F:
        _registry.register(
            _FACTORIES,
            name,
            factory,
            taken="perturbation family {name!r} is already registered by {module}.{qualname}",
        )
        return factory

    return decorate


def families() -> list[str]:
    """The registered family names, sorted."""
    return sorted(_FACTORIES)


def make_perturbation(
    family: str, params: Mapping[str, Any] | None = None, *, where: str | None = None
) -> Perturbation:
    """Build the perturbation ``family`` with ``params`` (defaults fill the rest).

    ``where`` (a file, ``file:line`` or a description of the suite entry) is put into any
    ``ConfigError`` raised, so the user sees which suite entry is wrong.
    """
    factory = _registry.lookup(_FACTORIES, family)
    if factory is None:
        raise _registry.unknown(
            "perturbation family",
            family,
            _FACTORIES,
            listing="use one of the known families: ",
            where=where,
            key="family",
        )
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"the parameters of perturbation family '{family}' must be a mapping of names to "
            f"values, got {type(params).__name__}",
            where=where,
            key="params",
            fix="write them as a mapping, e.g. params: {rate: 0.1}",
        )
    _check_names(family, factory, params, where)
    try:
        perturbation = factory(**params)
    except ConfigError as error:
        if error.where is not None or where is None:
            raise
        raise ConfigError(
            error.problem, where=where, line=error.line, key=error.key, fix=error.fix
        ) from None
    if perturbation.family != family:
        raise TypeError(
            f"the factory registered as {family!r} built a perturbation of family "
            f"{perturbation.family!r}"
        )
    return perturbation


def parameter_names(family: str) -> list[str]:
    """The parameters family ``family`` accepts, in the factory's order (for help and errors)."""
    factory = _registry.lookup(_FACTORIES, family)
    if factory is None:
        raise KeyError(family)
    return list(_parameters(factory))


def _check_names(
    family: str,
    factory: Callable[..., Perturbation],
    params: Mapping[str, Any],
    where: str | None,
) -> None:
    """Reject parameters the factory does not take, before calling it, with a useful message."""
    accepted = _parameters(factory)
    for name in params:
        if not isinstance(name, str) or name not in accepted:
            allowed = ", ".join(accepted) or "none"
            raise ConfigError(
                f"perturbation family '{family}' has no parameter {name!r}",
                where=where,
                key=str(name),
                fix=_registry.suggest(name, accepted) + f"parameters of '{family}': {allowed}",
            )
    missing = [
        name
        for name, parameter in accepted.items()
        if parameter.default is inspect.Parameter.empty and name not in params
    ]
    if missing:
        raise ConfigError(
            f"perturbation family '{family}' needs the parameter(s) {', '.join(missing)}",
            where=where,
            key=missing[0],
            fix=f"add {missing[0]} to the parameters of '{family}'",
        )


def _parameters(factory: Callable[..., Perturbation]) -> dict[str, inspect.Parameter]:
    return {
        name: parameter
        for name, parameter in inspect.signature(factory).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
    }
