"""What a CI system reads besides the report folder: the GitHub Actions job summary and the
metrics a JUnit XML report carries for each gate item.

- ``$GITHUB_STEP_SUMMARY``: summary.md is appended to it when the variable is set;
- JUnit XML: :func:`gate_properties` gives each gate item's status, paired test and metrics as
  ``<property>`` entries.

The pytest plugin imports this module at load, so it stays light (no pandas, no pyarrow).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from brittle.report.history import HEADLINE_COLUMNS
from brittle.stats.gates import Gate, Verdict
from brittle.stats.intervals import reported_interval
from brittle.stats.metrics import REPEAT_METRICS


def append_step_summary(text: str) -> Path | None:
    """Append ``text`` to ``$GITHUB_STEP_SUMMARY`` when that is set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text if text.endswith("\n") else text + "\n")
    return path


#: the paired test of a relative verdict, as JUnit properties (``brittle_<name>``)
TEST_PROPERTIES = (
    "allowance",
    "degradation",
    "bound",
    "confidence",
    "p_value",
    "p_adjusted",
    "holm_step",
    "family_size",
    "cases",
    "cases_needed",
)


def gate_properties(
    metrics: Mapping[str, Any], gate: Gate | None, verdict: Verdict | None = None
) -> list[tuple[str, Any]]:
    """JUnit ``<property>`` entries for a gate item: its verdict's status (``passed``,
    ``failed``, ``inconclusive``, ``skipped``) and, for a relative gate, its paired test (the
    one-sided bound at its level, the p-values, the cases that would settle an inconclusive
    verdict); then the metrics of its system (and family)."""
    props: list[tuple[str, Any]] = []
    if verdict is not None:
        props.append(("brittle_status", verdict.status.lower()))
        for name in TEST_PROPERTIES:
            value = verdict.details.get(name) if "p_value" in verdict.details else None
            if value is not None:
                props.append((f"brittle_{name}", value))
    scopes: list[tuple[str, Mapping[str, Any]]] = [("", metrics.get("overall", {}))]
    if gate is not None and gate.family:
        props.append(("brittle_family", gate.family))
        scopes.append((f"[{gate.family}]", metrics.get("families", {}).get(gate.family, {})))
    for suffix, block in scopes:
        for name in (*HEADLINE_COLUMNS, *REPEAT_METRICS, "errors"):  # repeats: when run
            value = block.get(name)
            if value is not None:
                props.append((f"brittle_{name}{suffix}", value))
            found = reported_interval(block, name)
            if found is not None:
                props.append((f"brittle_{name}{suffix}_ci", f"[{found[0]:.4f}, {found[1]:.4f}]"))
    return props


__all__ = ["append_step_summary", "gate_properties"]
