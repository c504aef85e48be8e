"""A fine-tuned system's base model, and how its adapter check is set.

A fine-tune that silently is not applied (an adapter path that loads nothing, a provider id that
falls back to the base) is evaluated as the base model, and every number it gets is the base's.
brittle guards against that by running the base on a sample of cases with the fine-tune's own
template and parameters (:mod:`brittle.run.adapter_check`); this module says what the base is:

- ``local/<base>+<adapter folder>``: the base is ``local/<base>``;
- any other model (a provider fine-tune id such as ``openai/ft:gpt-4o-mini:acme::abc``): the
  system's ``base: <model>`` key (``base=`` in Python), else no base is known and no check runs
  (an eval file that sets ``adapter_check`` on such a system is refused at load: the check it
  asks for could not run).

The system key ``adapter_check`` sets the sample: ``true`` (the default, :data:`DEFAULT_SAMPLE`
originals), ``{sample: N}`` or a whole number N, or ``false`` to turn the check off. Neither key
changes what the system answers, so neither is part of its fingerprint.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from brittle._errors import ConfigError, ModelError
from brittle.checks._params import kind
from brittle.local.refs import PREFIX, parse_local_model
from brittle.spec.yamlio import LinePath

#: originals the base answers when ``adapter_check`` does not say how many
DEFAULT_SAMPLE = 30
#: the gate metric: the share of sampled answers the fine-tune changed
METRIC = "adapter_changed"

_FIX = (
    "write 'adapter_check: {sample: 30}' (how many originals the base model answers), "
    "'adapter_check: true' (30) or 'adapter_check: false' (no check)"
)


def parse_adapter_check(value: Any, *, where: str | None, key: str, line: int | None = None) -> int:
    """The sample size a system's ``adapter_check`` asks for: 0 when turned off."""
    if value is None or value is True:
        return DEFAULT_SAMPLE
    if value is False:
        return 0
    sample = value
    if isinstance(value, Mapping):
        unknown = [str(k) for k in value if k != "sample"]
        if unknown:
            raise ConfigError(
                f"unknown key '{unknown[0]}' in adapter_check (it has only 'sample')",
                where=where,
                line=line,
                key=f"{key}.{unknown[0]}",
                fix=_FIX,
            )
        sample = value.get("sample", DEFAULT_SAMPLE)
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise ConfigError(
            f"adapter_check's sample must be a whole number of at least 0, got {kind(sample)}",
            where=where,
            line=line,
            key=f"{key}.sample" if isinstance(value, Mapping) else key,
            fix=_FIX,
        )
    return sample


def check_base(value: Any, *, where: str | None, key: str, line: int | None = None) -> str | None:
    """A system's ``base`` key: a litellm model string, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(
            f"'base' must be the base model's litellm model string, got {kind(value)}",
            where=where,
            line=line,
            key=key,
            fix="write e.g. 'base: openai/gpt-4o-mini' (the model the fine-tune was trained "
            "from), or leave it out",
        )
    return value.strip()


def adapter_base(model: str, call_model: str | None, base: str | None) -> tuple[str, str] | None:
    """The base of a fine-tuned model as ``(written, called)``: the model string as the user
    wrote it (for reports and fingerprints) and the one to call (relative folders resolved).
    None when no base is known: not ``local/<base>+<adapter>`` and no ``base`` key."""
    if base is not None:
        return base, base
    if not model.startswith(PREFIX) or "+" not in model:
        return None
    called = call_model or model
    try:
        ref = parse_local_model(called)
    except ModelError:  # a malformed string: the system's own calls report it
        return None
    if ref.adapter is None:
        return None
    # the written base is as many '+'-separated parts of the written model as the base holds
    parts = model.split("+")
    written = "+".join(parts[: ref.base.count("+") + 1])
    return written, PREFIX + ref.base


def check_adapter_gates(
    gates: Sequence[Any],
    systems: Sequence[Any],
    *,
    where: str,
    lines: Mapping[LinePath, int] | None = None,
) -> None:
    """An ``adapter_changed`` gate needs a fine-tune with a known base to measure it: in an
    eval with none, it could only ever be skipped."""
    if any(getattr(s, "base_model", None) is not None and s.base_model() for s in systems):
        return
    for index, gate in enumerate(gates):
        if getattr(gate, "metric", None) == METRIC:
            raise ConfigError(
                f"gate '{gate.name}' measures how many answers a fine-tune changed from its "
                "base model's, but no system of this eval is a fine-tune with a known base",
                where=where,
                line=(lines or {}).get(("gates", index)),
                key=f"gates[{index}]",
                fix="use a 'local/<base>+<adapter folder>' model, give the fine-tuned system "
                "'base: <model>' (the model it was trained from), or drop the gate",
            )


__all__ = [
    "DEFAULT_SAMPLE",
    "METRIC",
    "adapter_base",
    "check_adapter_gates",
    "check_base",
    "parse_adapter_check",
]
