"""The gateway's settings from an eval file: the keys ``timeout``, ``retries`` and ``rate_limits``.

An eval sets them like this::

    timeout: 60                    # seconds per call attempt (default 120 for API models)
    retries: 4                     # or {max: 4, backoff: 1.0, max_backoff: 30}
    rate_limits:
      openai/gpt-4o-mini: {rpm: 500, tpm: 200000, concurrency: 8}
      "*": {rpm: 60}               # every other model

:func:`parse_timeout`, :func:`parse_retries` and :func:`parse_rate_limits` read them;
:class:`CallSettings` is what :meth:`brittle.gateway.Gateway.for_spec` takes from a parsed eval.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from brittle._errors import ConfigError
from brittle._registry import first_unknown, unknown_key_error
from brittle.gateway.ratelimit import RateLimit
from brittle.gateway.retry import RetryPolicy

RETRY_KEYS = ("max", "backoff", "max_backoff", "max_retry_after")
LIMIT_KEYS = ("rpm", "tpm", "concurrency")


class CallSettings(Protocol):
    """An eval's call settings, as :class:`~brittle.spec.eval.EvalSpec` holds them."""

    @property
    def concurrency(self) -> int: ...

    @property
    def timeout(self) -> float | None: ...

    @property
    def retries(self) -> RetryPolicy: ...

    @property
    def rate_limits(self) -> Mapping[str, RateLimit]: ...


def _positive_number(value: Any, *, where: str | None, key: str, fix: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"'{key}' must be a positive number, not {value!r}", where=where, fix=fix)
    return float(value)


def parse_timeout(value: Any, *, where: str | None = None) -> float | None:
    """The eval key ``timeout``: seconds per call attempt, or None for the default."""
    if value is None:
        return None
    return _positive_number(
        value, where=where, key="timeout", fix="write e.g. 'timeout: 60' (seconds per call)"
    )


def parse_retries(value: Any, *, where: str | None = None) -> RetryPolicy:
    """The eval key ``retries``: a count, or ``{max, backoff, max_backoff}``."""
    fix = "write e.g. 'retries: 4' or 'retries: {max: 4, backoff: 1.0, max_backoff: 30}'"
    if value is None:
        return RetryPolicy()
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigError(
                f"'retries' must be 0 or more, not {value}", where=where, key="retries", fix=fix
            )
        return RetryPolicy(max_retries=value)
    if isinstance(value, Mapping):
        bad = first_unknown(value, RETRY_KEYS)
        if bad is not None:
            raise unknown_key_error(bad, RETRY_KEYS, where=where, within="retries")
        count = value.get("max", RetryPolicy.max_retries)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(
                f"'retries.max' must be 0 or more, not {count!r}", where=where, fix=fix
            )
        numbers = {}
        for name in ("backoff", "max_backoff", "max_retry_after"):
            if name in value:
                numbers[name] = _positive_number(
                    value[name], where=where, key=f"retries.{name}", fix=fix
                )
        return RetryPolicy(max_retries=count, **numbers)
    raise ConfigError(
        f"'retries' must be a count or a mapping, not {value!r}", where=where, fix=fix
    )


def parse_rate_limits(value: Any, *, where: str | None = None) -> dict[str, RateLimit]:
    """The eval key ``rate_limits``: ``{model: {rpm, tpm, concurrency}}`` (``"*"``: any model)."""
    fix = "write e.g. 'rate_limits: {openai/gpt-4o-mini: {rpm: 500, tpm: 200000}}'"
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(
            "'rate_limits' must map model strings to limits",
            where=where,
            key="rate_limits",
            fix=fix,
        )
    out: dict[str, RateLimit] = {}
    for model, raw in value.items():
        key = f"rate_limits.{model}"
        if not isinstance(raw, Mapping):
            raise ConfigError("limits must be a mapping", where=where, key=key, fix=fix)
        bad = first_unknown(raw, LIMIT_KEYS)
        if bad is not None:
            raise unknown_key_error(bad, LIMIT_KEYS, where=where, within=key, what="limit")
        rpm = raw.get("rpm")
        tpm = raw.get("tpm")
        concurrency = raw.get("concurrency")
        out[str(model)] = RateLimit(
            rpm=_positive_number(rpm, where=where, key=f"{key}.rpm", fix=fix) if rpm else None,
            tpm=_positive_number(tpm, where=where, key=f"{key}.tpm", fix=fix) if tpm else None,
            concurrency=int(
                _positive_number(concurrency, where=where, key=f"{key}.concurrency", fix=fix)
            )
            if concurrency
            else None,
        )
    return out


__all__ = ["CallSettings", "parse_rate_limits", "parse_retries", "parse_timeout"]
