"""brittle._registry: the table shape behind the check and perturbation-family registries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from brittle import _registry
from brittle._errors import ConfigError

TAKEN = "{name!r} is taken by {module}:{qualname}"


def test_a_lazy_entry_is_imported_on_first_lookup() -> None:
    table: dict[str, Callable[..., Any] | str] = {"dumps": "json:dumps"}
    assert _registry.lookup(table, "dumps") is json.dumps
    assert table["dumps"] is json.dumps
    assert _registry.lookup(table, "loads") is None
    assert _registry.lookup(table, 3) is None


def test_the_same_factory_may_register_twice_a_different_one_may_not() -> None:
    table: dict[str, Callable[..., Any] | str] = {"dumps": "json:dumps"}
    _registry.register(table, "dumps", json.dumps, taken=TAKEN)  # its lazy entry's own factory
    _registry.register(table, "dumps", json.dumps, taken=TAKEN)
    with pytest.raises(ValueError, match=r"^'dumps' is taken by json:dumps$"):
        _registry.register(table, "dumps", json.loads, taken=TAKEN)
    assert _registry.address(json.loads) == "json:loads"


def test_an_unknown_name_gets_the_closest_and_all_known_names() -> None:
    error = _registry.unknown(
        "thing", "dumsp", {"dumps": 1, "loads": 2}, listing="known: ", where="f.yaml", key="k"
    )
    assert isinstance(error, ConfigError)
    assert error.problem == "unknown thing 'dumsp'"
    assert error.fix == "did you mean 'dumps'? known: dumps, loads"
    assert (error.where, error.key) == ("f.yaml", "k")
    assert _registry.suggest("zzz", ["dumps"]) == ""


def test_unknown_key_error_names_the_place_the_closest_key_and_all_keys() -> None:
    from brittle._registry import first_unknown, unknown_key_error

    allowed = ("error_budget", "gates", "golden")
    assert first_unknown({"golden": 1, "error_budjet": 0, "zzz": 1}, allowed) == "error_budjet"
    assert first_unknown({"golden": 1}, allowed) is None
    error = unknown_key_error("error_budjet", allowed, where="e.yaml", line=3, within="retries")
    assert str(error) == (
        "e.yaml:3: unknown key 'error_budjet' in 'retries'\n"
        "  fix: did you mean 'error_budget'? allowed keys: error_budget, gates, golden"
    )
    far = unknown_key_error("zzz", allowed, what="limit")
    assert str(far) == "unknown limit 'zzz'\n  fix: allowed limits: error_budget, gates, golden"
