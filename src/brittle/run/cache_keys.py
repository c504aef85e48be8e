"""The response-cache keys an eval's run needs, predicted without running it.

``brittle cache export EVAL_FILE`` exports them. The prediction expands an eval's rows and calls
as the engine does (:func:`brittle.run.engine.call_rows`), so it cannot drift from what a run
asks the cache for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import cast

from brittle.gateway.keys import callable_key, request_key
from brittle.run.engine import build_rows, call_rows, system_for_row
from brittle.spec.eval import EvalSpec
from brittle.spec.systems import CallableSystem, LLMSystem, System


def eval_keys(spec: EvalSpec, systems: Sequence[str] | None = None) -> tuple[list[str], list[str]]:
    """The cache keys an eval's run needs (its selected systems, every row), without running it.

    Returns ``(keys, unknown)``: ``unknown`` names systems whose calls cannot be predicted
    (custom :class:`~brittle.spec.systems.System` subclasses).
    """
    rows, _, _ = build_rows(spec)
    keys: list[str] = []
    unknown: list[str] = []
    for system in spec.systems:
        if systems is not None and system.name not in systems:
            continue
        fingerprint = system.fingerprint()
        if isinstance(system, LLMSystem):
            rewritten: dict[str, System] = {}
            for row in call_rows(spec, system, rows)[0]:
                answering = system_for_row(system, row, rewritten)  # its rewritten copy, maybe
                try:
                    request = cast(LLMSystem, answering).request(row.inputs)
                except Exception:
                    continue
                keys.append(
                    request_key(replace(request, fingerprint=fingerprint, repeat=row.repeat))
                )
        elif isinstance(system, CallableSystem):
            calls = call_rows(spec, system, rows)[0]
            keys.extend(callable_key(fingerprint, row.inputs, row.repeat) for row in calls)
        else:
            unknown.append(system.name)
    return keys, unknown


__all__ = ["eval_keys"]
