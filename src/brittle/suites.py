"""Perturbation suites: YAML files in ``suites/`` naming which rewordings to apply and how many.

::

    name: typos
    version: 1
    description: keyboard typos at two rates
    seed: 13                  # optional (default 0); an eval's 'seed' overrides it
    fields: [text]            # optional; default: the eval's perturb_fields
    perturbations:
      - family: typo
        name: typo-light      # optional; the variant id label, default the family
        n: 3                  # variants per case
        params: {rate: 0.03}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle.cases import Case, Variant
from brittle.perturb import Perturbation, generate_variants, make_perturbation
from brittle.yamlio import load_yaml_with_lines

_SUITE_KEYS = {"name", "version", "description", "seed", "fields", "perturbations"}
_ENTRY_KEYS = {"family", "name", "n", "params"}


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    family: str
    n: int
    perturbation: Perturbation


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    seed: int
    entries: tuple[SuiteEntry, ...]
    fields: tuple[str, ...] | None = None
    description: str = ""
    source: str = "<inline>"
    digest: str = ""

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "seed": self.seed,
            "source": self.source,
            "sha256": self.digest,
            "perturbations": [
                {
                    "name": e.name,
                    "family": e.family,
                    "n": e.n,
                    "params": dict(e.perturbation.params),
                }
                for e in self.entries
            ],
        }

    def variants(
        self, case: Case, *, fields: Sequence[str], seed: int | None = None
    ) -> tuple[list[Variant], dict[str, int]]:
        """All variants of one case; the second value counts no-ops per perturbation family."""
        out: list[Variant] = []
        noops: dict[str, int] = {}
        for entry in self.entries:
            variants, skipped = generate_variants(
                case,
                entry.perturbation,
                name=entry.name,
                n=entry.n,
                seed=self.seed if seed is None else seed,
                fields=self.fields or fields,
                suite=self.name,
            )
            out.extend(variants)
            if skipped:
                noops[entry.family] = noops.get(entry.family, 0) + skipped
        return out, noops


def load_suite(path: Path, *, referenced_from: str | None = None) -> Suite:
    """Read and validate a suite file."""
    if not path.is_file():
        raise ConfigError(
            f"suite file '{path}' does not exist",
            where=referenced_from,
            key="suites",
            fix="suite paths are relative to the eval file; see suites/ for the available ones",
        )
    data, lines = load_yaml_with_lines(path)
    return suite_from_mapping(data, source=str(path), lines=lines, raw=path.read_bytes())


def suite_from_mapping(
    data: Any,
    *,
    source: str = "<inline>",
    lines: Mapping[tuple[Any, ...], int] | None = None,
    raw: bytes | None = None,
) -> Suite:
    lines = lines or {}
    if not isinstance(data, Mapping):
        raise ConfigError("a suite must be a mapping with 'name' and 'perturbations'", where=source)
    unknown = set(data) - _SUITE_KEYS
    if unknown:
        key = sorted(map(str, unknown))[0]
        raise ConfigError(
            f"unknown key '{key}' in suite",
            where=source,
            line=lines.get((key,)),
            fix=f"allowed keys: {', '.join(sorted(_SUITE_KEYS))}",
        )
    name = data.get("name") or Path(source).stem
    entries_raw = data.get("perturbations")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise ConfigError(
            "suite needs a non-empty 'perturbations' list",
            where=source,
            line=lines.get(("perturbations",)),
            key="perturbations",
            fix="add entries like '- {family: typo, n: 3, params: {rate: 0.05}}'",
        )
    entries: list[SuiteEntry] = []
    seen: set[str] = set()
    for index, raw_entry in enumerate(entries_raw):
        key = f"perturbations[{index}]"
        line = lines.get(("perturbations", index))
        if isinstance(raw_entry, str):
            raw_entry = {"family": raw_entry}
        if not isinstance(raw_entry, Mapping) or "family" not in raw_entry:
            raise ConfigError(
                "each perturbation needs a 'family'",
                where=source,
                line=line,
                key=key,
                fix="write e.g. '- {family: typo, n: 3}'",
            )
        extra = set(raw_entry) - _ENTRY_KEYS
        if extra:
            raise ConfigError(
                f"unknown key '{sorted(map(str, extra))[0]}'",
                where=source,
                line=line,
                key=key,
                fix=f"allowed keys: {', '.join(sorted(_ENTRY_KEYS))}",
            )
        family = str(raw_entry["family"])
        entry_name = str(raw_entry.get("name") or family)
        if entry_name in seen:
            raise ConfigError(
                f"two perturbations are named '{entry_name}'",
                where=source,
                line=line,
                key=key,
                fix="give one of them a distinct 'name' (it labels the variant ids)",
            )
        seen.add(entry_name)
        n = raw_entry.get("n", 1)
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ConfigError(
                f"'n' must be a positive whole number, not {n!r}",
                where=source,
                line=line,
                key=f"{key}.n",
            )
        params = raw_entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError("'params' must be a mapping", where=source, line=line, key=key)
        location = f"{source}:{line}" if line else source
        perturbation = make_perturbation(family, params, where=location)
        entries.append(SuiteEntry(entry_name, family, n, perturbation))
    fields = data.get("fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise ConfigError("'fields' must be a list of field names", where=source, key="fields")
    seed = data.get("seed", 0)
    version = data.get("version", 1)
    for key_name, value in (("seed", seed), ("version", version)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(
                f"'{key_name}' must be a whole number",
                where=source,
                line=lines.get((key_name,)),
                key=key_name,
            )
    digest_source = raw if raw is not None else json.dumps(data, sort_keys=True).encode()
    return Suite(
        name=str(name),
        version=int(version),
        seed=int(seed),
        entries=tuple(entries),
        fields=tuple(fields) if fields else None,
        description=str(data.get("description", "")),
        source=source,
        digest=hashlib.sha256(digest_source).hexdigest()[:16],
    )
