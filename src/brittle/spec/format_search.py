"""The ``format_search`` entry of an eval's ``suites:`` list, and the fixture it freezes into.

::

    suites:
      - builtin:typos
      - format_search: {budget: 60, seed: 0}   # model calls per prompt system

Keys (all optional): ``budget`` (model calls per prompt system, default 60), ``seed`` (default:
the eval's ``seed``, else 0), ``formats`` (how many formats of the grammar are drawn as the
bandit's arms, the template as written among them; default 10), ``batch`` (pulls per round,
default 8), ``choices`` (the answer labels as the template spells them, for the enumeration
dimension; default: a ``label`` check's labels) and ``fixture`` (the JSONL file of frozen worst
formats, relative to the eval file; default ``__formats__/<eval>.jsonl``).

The search itself runs after each system (:mod:`brittle.search.formats`). ``brittle
freeze-formats`` writes the worst format each system's search found into the fixture; when the
fixture exists, its formats become the suite ``format-fixture`` (family ``format_fixture``, one
entry per frozen format, applied to every prompt system's template), so later runs test them
directly, paired with the baseline like any variant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import first_unknown, unknown_key_error
from brittle.perturb.format_grammar import FormatPoint, fixed_format
from brittle.spec.suites import Suite, SuiteEntry
from brittle.spec.yamlio import LinePath, read_jsonl

ENTRY = "format_search"
KEYS = ("budget", "seed", "formats", "batch", "choices", "fixture")
FIXTURE_SUITE = "format-fixture"
FIXTURE_FAMILY = "format_fixture"
METRIC = "format_spread"


@dataclass(frozen=True)
class FormatSearchSpec:
    """What one eval's ``format_search`` entry asks for (see the module docstring)."""

    budget: int = 60
    seed: int = 0
    formats: int = 10
    batch: int = 8
    choices: tuple[str, ...] | None = None
    fixture: Path | None = None

    def spec(self) -> dict[str, Any]:
        return {
            "budget": self.budget,
            "seed": self.seed,
            "formats": self.formats,
            "batch": self.batch,
            "choices": list(self.choices) if self.choices else None,
            "fixture": str(self.fixture) if self.fixture else None,
        }


def is_entry(item: Any) -> bool:
    """Whether a ``suites:`` item is a ``format_search`` entry (a one-key mapping)."""
    return isinstance(item, Mapping) and ENTRY in item


def parse_format_search(
    items: Sequence[Any],
    *,
    base_dir: Path,
    eval_name: str,
    eval_seed: int | None,
    where: str,
    lines: Mapping[LinePath, int] | None = None,
) -> FormatSearchSpec | None:
    """The eval's ``format_search`` settings from its ``suites:`` items (None without one)."""
    lines = lines or {}
    found: FormatSearchSpec | None = None
    for index, item in enumerate(items):
        if not is_entry(item):
            continue
        line = lines.get(("suites", index, ENTRY), lines.get(("suites", index)))
        key = f"suites[{index}].{ENTRY}"
        if found is not None:
            raise ConfigError(
                "an eval may have one format_search entry",
                where=where,
                line=line,
                key=key,
                fix="drop one of them (one search covers every prompt system of the eval)",
            )
        extra = first_unknown(item, (ENTRY,))
        if extra is not None:
            raise ConfigError(
                f"'{extra}' sits beside 'format_search' in one suites entry",
                where=where,
                line=line,
                key=f"suites[{index}].{extra}",
                fix="write its settings inside: '- format_search: {budget: 60, seed: 0}'",
            )
        found = _settings(
            item[ENTRY], base_dir, eval_name, eval_seed, where=where, line=line, key=key
        )
    return found


def _settings(
    raw: Any,
    base_dir: Path,
    eval_name: str,
    eval_seed: int | None,
    *,
    where: str,
    line: int | None,
    key: str,
) -> FormatSearchSpec:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"'format_search' must be a mapping of settings, not {type(raw).__name__}",
            where=where,
            line=line,
            key=key,
            fix="write e.g. '- format_search: {budget: 60, seed: 0}'",
        )
    stray = first_unknown(raw, KEYS)
    if stray is not None:
        raise unknown_key_error(stray, KEYS, where=where, line=line, within=key)
    numbers: dict[str, int] = {}
    for name, default, low in (
        ("budget", 60, 2),
        ("seed", 0 if eval_seed is None else eval_seed, 0),
        ("formats", 10, 2),
        ("batch", 8, 1),
    ):
        value = raw.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ConfigError(
                f"'{name}' must be a whole number >= {low}, not {value!r}",
                where=where,
                line=line,
                key=f"{key}.{name}",
                fix=_FIXES[name],
            )
        numbers[name] = value
    choices = raw.get("choices")
    if choices is not None and (
        isinstance(choices, str)
        or not isinstance(choices, list)
        or len(choices) < 2
        or not all(isinstance(c, str) and c for c in choices)
    ):
        raise ConfigError(
            f"'choices' must be a list of at least two answer labels, not {choices!r}",
            where=where,
            line=line,
            key=f"{key}.choices",
            fix="write e.g. 'choices: [positive, negative]', as the template spells them",
        )
    fixture = raw.get("fixture", f"__formats__/{eval_name}.jsonl")
    if not isinstance(fixture, str) or not fixture.strip():
        raise ConfigError(
            f"'fixture' must be a file path, not {fixture!r}",
            where=where,
            line=line,
            key=f"{key}.fixture",
            fix="write e.g. 'fixture: __formats__/mine.jsonl' (relative to the eval file)",
        )
    path = Path(fixture).expanduser()
    return FormatSearchSpec(
        budget=numbers["budget"],
        seed=numbers["seed"],
        formats=numbers["formats"],
        batch=numbers["batch"],
        choices=tuple(choices) if choices else None,
        fixture=path if path.is_absolute() else base_dir / path,
    )


_FIXES = {
    "budget": "write e.g. 'budget: 60' (model calls per prompt system)",
    "seed": "write e.g. 'seed: 0'",
    "formats": "write e.g. 'formats: 10' (formats of the grammar the bandit compares)",
    "batch": "write e.g. 'batch: 8' (calls per round of the bandit)",
}


def fixture_suite(settings: FormatSearchSpec | None) -> Suite | None:
    """The suite of the formats frozen in the fixture, or None when it has none (or no file).

    Each line is ``{"format": {dimension: style}, ...}`` (other keys are kept for reviewers);
    a bad line is a ConfigError naming the file and line."""
    if settings is None or settings.fixture is None or not settings.fixture.is_file():
        return None
    path = settings.fixture
    fix = (
        "each line is a JSON object with a 'format' mapping, as `brittle freeze-formats` "
        "writes; fix or delete the line"
    )
    entries: list[SuiteEntry] = []
    for number, record in read_jsonl(path, what="format fixture line", fix=fix):
        if not isinstance(record, Mapping) or "format" not in record:
            raise ConfigError(
                "a format fixture line needs a 'format' mapping", where=path, line=number, fix=fix
            )
        point = FormatPoint.from_dict(record["format"], where=f"{path}:{number}")
        perturbation = fixed_format(point, settings.choices)
        name = f"frozen-format-{len(entries) + 1}"
        entries.append(SuiteEntry(name, FIXTURE_FAMILY, 1, perturbation))
    if not entries:
        return None
    raw = path.read_bytes()
    return Suite(
        name=FIXTURE_SUITE,
        version=1,
        seed=settings.seed,
        entries=tuple(entries),
        description="worst formats frozen from format_search (brittle freeze-formats)",
        source=str(path),
        digest=hashlib.sha256(raw).hexdigest()[:16],
    )


def check_gates(
    gates: Sequence[Any],
    settings: FormatSearchSpec | None,
    *,
    where: str,
    lines: Mapping[LinePath, int] | None = None,
) -> None:
    """A ``format_spread`` gate needs a ``format_search`` entry to measure it."""
    lines = lines or {}
    if settings is not None:
        return
    for index, gate in enumerate(gates):
        if getattr(gate, "metric", None) == METRIC:
            raise ConfigError(
                f"gate '{gate.name}' measures the format spread, but the eval has no "
                "format_search entry",
                where=where,
                line=lines.get(("gates", index)),
                key=f"gates[{index}]",
                fix="add '- format_search: {budget: 60}' under 'suites', or drop the gate",
            )


__all__ = [
    "ENTRY",
    "FIXTURE_FAMILY",
    "FIXTURE_SUITE",
    "METRIC",
    "FormatSearchSpec",
    "check_gates",
    "fixture_suite",
    "is_entry",
    "parse_format_search",
]
