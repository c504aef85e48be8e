"""The adapter check on the page: per fine-tune with a known base, how many sampled answers it
changed from its base model's, and a warning where it changed none or the check did not run
(:mod:`brittle.run.adapter_check` measures it). Shown right under the eval's heading: a warning
here means every other number of that system may be its base model's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brittle.report.html.text import esc
from brittle.run.adapter_check import warning_text


def _line(name: str, record: Mapping[str, Any]) -> str:
    who = f"<strong>{esc(name)}</strong>"
    warning = warning_text(record)
    if warning is not None:
        return f'<p class="adapter-warning">⚠ {who}: {esc(warning)}</p>'
    why = record.get("not_run")
    if why:
        return f'<p class="note">Adapter check of {who}: {esc(why)}.</p>'
    return (
        f'<p class="note">Adapter check: {who} changed {esc(record.get("changed"))} of '
        f"{esc(record.get('sample'))} sampled answers of its base "
        f"<code>{esc(record.get('base'))}</code> (same template and parameters).</p>"
    )


def adapter_section(ev: Mapping[str, Any]) -> str:
    """One line per system with an adapter check (empty when no system has one)."""
    lines = [
        _line(name, record)
        for name, system in ev.get("systems", {}).items()
        if isinstance(record := system.get("adapter_check"), Mapping)
    ]
    return f'<div class="adapter-check">{"".join(lines)}</div>' if lines else ""


__all__ = ["adapter_section"]
