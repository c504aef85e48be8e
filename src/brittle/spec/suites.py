"""Perturbation suites: YAML files naming which rewordings to apply and how many.

An eval's ``suites:`` names suite files, suites shipped with brittle (``builtin:typos``) or
suites written inline (:mod:`brittle.spec.suite_refs`). A suite file reads::

    name: typos
    version: 1
    description: keyboard typos at two rates
    seed: 13                  # optional (default 0); an eval's 'seed' overrides it
    fields: [text]            # optional; default: the eval's perturb_fields
    min_similarity: 0.8       # optional: drop variants less similar to their original
    label_guard: [positive, negative]   # optional: drop variants that bring in a label word
    search: {budget: 200}     # optional: settings for `brittle search` (see brittle.search)
    sample: 0.3               # optional: perturb only this share of the cases (default 1)
    perturbations:
      - family: typo
        name: typo-light      # optional; the variant id label, default the family
        n: 3                  # variants per case
        params: {rate: 0.03}
        min_similarity: 0.7   # optional; overrides the suite's (so may label_guard)

Entries of instruction- and format-level families (``instruction``, ``preamble``, ``placement``,
``format``) rewrite each system's template instead of the case's input; the engine asks
:meth:`Suite.template_variants` for them per system.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import first_unknown, unknown_key_error
from brittle.perturb import (
    Perturbation,
    generate_template_variants,
    generate_variants,
    make_perturbation,
)
from brittle.perturb._params import relative_to
from brittle.search.meaning import MeaningRule, parse_rule
from brittle.spec.cases import Case, Variant
from brittle.spec.yamlio import load_yaml_with_lines

_SUITE_KEYS = {
    "name",
    "version",
    "description",
    "seed",
    "fields",
    "perturbations",
    "min_similarity",
    "label_guard",
    "search",
    "sample",
}
_ENTRY_KEYS = {"family", "name", "n", "params", "min_similarity", "label_guard"}
_SEARCH_KEYS = {"budget", "families", "max_ops", "cases"}


@dataclass(frozen=True)
class SuiteEntry:
    name: str
    family: str
    n: int
    perturbation: Perturbation
    meaning: MeaningRule = field(default_factory=MeaningRule)

    @property
    def target(self) -> str:
        """``"input"``, or ``"instruction"`` / ``"format"`` for template-level families."""
        return str(getattr(self.perturbation, "target", "input"))


@dataclass(frozen=True)
class SearchSpec:
    """A suite's ``search`` settings for ``brittle search``: examples per case, edit kinds."""

    budget: int = 200
    families: tuple[str, ...] | None = None
    max_ops: int = 3
    cases: int | None = None


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
    search: SearchSpec | None = None
    #: share of the cases this suite perturbs (1.0: all)
    sample: float = 1.0

    def includes(self, case_id: str) -> bool:
        """Whether this suite perturbs the case: a seeded draw per case id, so adding or removing
        other cases never changes which of the existing ones are sampled (baselines stay paired).
        """
        if self.sample >= 1.0:
            return True
        digest = hashlib.sha256(f"brittle.sample/1|{self.name}|{self.seed}|{case_id}".encode())
        return int.from_bytes(digest.digest()[:8], "big") / 2**64 < self.sample

    def spec(self) -> dict[str, Any]:
        return {
            "sample": self.sample,
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
                    **({"target": e.target} if e.target != "input" else {}),
                    **e.meaning.spec(),
                }
                for e in self.entries
            ],
        }

    def entry(self, name: str) -> SuiteEntry:
        """The entry whose variants are labelled ``name``."""
        return next(e for e in self.entries if e.name == name)

    def check_cases(self, cases: Sequence[Case], fields: Sequence[str]) -> None:
        """Let entries that read files about the golden set (frozen variants) check them."""
        for entry in self.entries:
            check = getattr(entry.perturbation, "check_cases", None)
            if callable(check):
                check(cases, self.fields or fields)

    def template_variants(
        self, case: Case, template: str | None, *, seed: int | None = None
    ) -> tuple[list[Variant], dict[str, int]]:
        """Variants of a system's ``template`` for ``case`` (template-level entries only).

        ``template`` None (a system without one) makes every slot a no-op; the second value
        counts no-ops per family, as :meth:`variants` does.
        """
        out: list[Variant] = []
        noops: dict[str, int] = {}
        if not self.includes(case.id):
            return out, noops
        for entry in self.entries:
            if entry.target == "input":
                continue
            variants, skipped = generate_template_variants(
                case,
                entry.perturbation,
                template,
                name=entry.name,
                n=entry.n,
                seed=self.seed if seed is None else seed,
                suite=self.name,
            )
            out.extend(variants)
            if skipped:
                noops[entry.family] = noops.get(entry.family, 0) + skipped
        return out, noops

    def variants(
        self, case: Case, *, fields: Sequence[str], seed: int | None = None
    ) -> tuple[list[Variant], dict[str, int]]:
        """All variants of one case; the second value counts no-ops per perturbation family."""
        out: list[Variant] = []
        noops: dict[str, int] = {}
        if not self.includes(case.id):
            return out, noops
        for entry in self.entries:
            if entry.target != "input":
                continue  # template-level: per system, see template_variants
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
            fix="suite paths are relative to the eval file; for a suite shipped with brittle write "
            "builtin:NAME (`brittle suites` lists them)",
        )
    data, lines = load_yaml_with_lines(path)
    return suite_from_mapping(data, source=str(path), lines=lines, raw=path.read_bytes())


def suite_from_mapping(
    data: Any,
    *,
    source: str = "<inline>",
    lines: Mapping[tuple[Any, ...], int] | None = None,
    raw: bytes | None = None,
    folder: Path | None = None,
    within: str | None = None,
) -> Suite:
    """A suite from its parsed YAML ``data``; ``source`` names it in errors and in run.json.

    ``lines`` maps key paths to line numbers (:func:`~brittle.spec.yamlio.load_yaml_with_lines`);
    ``raw`` is the file's bytes, hashed for run.json's ``sha256`` (else canonical JSON of
    ``data``); ``folder`` is where relative file parameters point (default: ``source``'s
    folder); ``within`` names the place of an inline suite in its eval (``"suites[2]"``).
    """
    lines = lines or {}
    prefix = f"{within}." if within else ""
    if not isinstance(data, Mapping):
        raise ConfigError("a suite must be a mapping with 'name' and 'perturbations'", where=source)
    bad = first_unknown(data, _SUITE_KEYS)
    if bad is not None:
        raise unknown_key_error(
            bad, _SUITE_KEYS, where=source, line=lines.get((bad,)), within=within
        )
    name = data.get("name") or Path(source).stem
    entries_raw = data.get("perturbations")
    if not isinstance(entries_raw, list) or not entries_raw:
        raise ConfigError(
            "suite needs a non-empty 'perturbations' list",
            where=source,
            line=lines.get(("perturbations",)) or lines.get(()),
            key=f"{prefix}perturbations",
            fix="add entries like '- {family: typo, n: 3, params: {rate: 0.05}}'",
        )
    suite_rule = parse_rule(
        data,
        inherited=MeaningRule(),
        where=source,
        line=lines.get(("min_similarity",)),
        key=prefix,
    )
    entries: list[SuiteEntry] = []
    seen: set[str] = set()
    for index, raw_entry in enumerate(entries_raw):
        key = f"{prefix}perturbations[{index}]"
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
        extra = first_unknown(raw_entry, _ENTRY_KEYS)
        if extra is not None:
            raise unknown_key_error(
                extra,
                _ENTRY_KEYS,
                where=source,
                line=lines.get(("perturbations", index, extra), line),
                within=key,
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
                line=lines.get(("perturbations", index, "n"), line),
                key=f"{key}.n",
            )
        params = raw_entry.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError(
                "'params' must be a mapping",
                where=source,
                line=lines.get(("perturbations", index, "params"), line),
                key=f"{key}.params",
                fix="write e.g. 'params: {rate: 0.05}'",
            )
        location = f"{source}:{line}" if line else source
        if folder is None and source != "<inline>":
            folder = Path(source).parent
        with relative_to(folder):
            perturbation = make_perturbation(family, params, where=location)
        rule = parse_rule(raw_entry, inherited=suite_rule, where=source, line=line, key=f"{key}.")
        entries.append(SuiteEntry(entry_name, family, n, perturbation, rule))
    fields = data.get("fields")
    if fields is not None and (
        not isinstance(fields, list) or not all(isinstance(f, str) for f in fields)
    ):
        raise ConfigError(
            "'fields' must be a list of field names",
            where=source,
            line=lines.get(("fields",)),
            key=f"{prefix}fields",
        )
    seed = data.get("seed", 0)
    version = data.get("version", 1)
    for key_name, value in (("seed", seed), ("version", version)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise ConfigError(
                f"'{key_name}' must be a whole number",
                where=source,
                line=lines.get((key_name,)),
                key=f"{prefix}{key_name}",
            )
    sample = data.get("sample", 1.0)
    if isinstance(sample, bool) or not isinstance(sample, int | float) or not 0 < sample <= 1:
        raise ConfigError(
            f"'sample' must be a share of the cases, above 0 and at most 1, not {sample!r}",
            where=source,
            line=lines.get(("sample",)),
            key=f"{prefix}sample",
            fix="write e.g. 'sample: 0.3' to perturb about 30% of the cases, or leave it out",
        )
    digest_source = raw if raw is not None else json.dumps(data, sort_keys=True).encode()
    return Suite(
        sample=float(sample),
        name=str(name),
        version=int(version),
        seed=int(seed),
        entries=tuple(entries),
        fields=tuple(fields) if fields else None,
        description=str(data.get("description", "")),
        source=source,
        digest=hashlib.sha256(digest_source).hexdigest()[:16],
        search=_search_spec(data.get("search"), source, lines.get(("search",))),
    )


def _search_spec(raw: Any, source: str, line: int | None) -> SearchSpec | None:
    """The ``search`` mapping: ``budget`` (tries a case), ``families``, ``max_ops``, ``cases``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "'search' must be a mapping",
            where=source,
            line=line,
            key="search",
            fix="write e.g. search: {budget: 200, max_ops: 3}",
        )
    stray = first_unknown(raw, _SEARCH_KEYS)
    if stray is not None:
        raise unknown_key_error(stray, _SEARCH_KEYS, where=source, line=line, within="search")
    numbers: dict[str, int | None] = {}
    for name, default, low in (("budget", 200, 1), ("max_ops", 3, 1), ("cases", None, 1)):
        value = raw.get(name, default)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < low
        ):
            raise ConfigError(
                f"'search.{name}' must be a whole number >= {low}, got {value!r}",
                where=source,
                line=line,
                key=f"search.{name}",
            )
        numbers[name] = value
    families = raw.get("families")
    if families is not None:
        from brittle.strategies import operator_families  # lazy: it imports hypothesis

        known = operator_families()
        if isinstance(families, str) or not isinstance(families, list) or not families:
            raise ConfigError(
                "'search.families' must be a non-empty list of family names",
                where=source,
                line=line,
                key="search.families",
                fix=f"choose from: {', '.join(known)}",
            )
        bad = [f for f in families if f not in known]
        if bad:
            raise ConfigError(
                f"'search.families' names {bad[0]!r}, which search cannot compose",
                where=source,
                line=line,
                key="search.families",
                fix=f"choose from: {', '.join(known)}",
            )
        families = tuple(families)
    return SearchSpec(
        budget=int(numbers["budget"] or 200),
        families=families,
        max_ops=int(numbers["max_ops"] or 3),
        cases=numbers["cases"],
    )
