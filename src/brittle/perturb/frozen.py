"""Frozen variants: rewordings read from a committed JSONL file instead of generated at run time.

Two families read such files:

- ``paraphrase``: model-generated paraphrases of the golden inputs, written by ``brittle
  paraphrase`` and reviewed in pull requests. Every golden case must have its lines, and no line
  may name a case the golden set lacks;
- ``regression``: flipping variants found by ``brittle search`` and promoted with ``brittle
  promote``; lines may cover any subset of the cases.

One line per variant (other keys are kept for reviewers and ignored here)::

    {"id": "rev-017", "field": "text", "original": "...", "text": "...", "model": "local/smollm2",
     "prompt": "...", "similarity": 0.83}

``id`` names the golden case, ``text`` is the variant. ``field`` (default: every perturbed field)
says which input it replaces and ``original`` is the text it was made from: when the golden text
has changed since, the line is stale and loading the eval fails with the command that refreshes it.
Lines are used in file order, so variant ``#1`` is always the case's first line: runs are
identical across machines and seeds.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from brittle._errors import ConfigError
from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.spec.cases import Case
from brittle.spec.yamlio import read_jsonl

MAX_IDS_SHOWN = 5


@dataclass(frozen=True)
class FrozenRecord:
    id: str
    text: str
    field: str | None
    original: str | None
    line: int


@dataclass(frozen=True)
class FrozenFile:
    """The records of one frozen file, in file order."""

    path: Path
    records: tuple[FrozenRecord, ...]

    def for_case(self, case_id: str, field_name: str) -> list[str]:
        """Variant texts of one case's field, in file order, without repeats."""
        texts = [
            r.text
            for r in self.records
            if r.id == case_id and (r.field is None or r.field == field_name)
        ]
        return list(dict.fromkeys(texts))

    def for_original(self, text: str) -> list[str]:
        """Variant texts recorded for exactly this original text."""
        return list(dict.fromkeys(r.text for r in self.records if r.original == text))

    @property
    def ids(self) -> list[str]:
        return list(dict.fromkeys(r.id for r in self.records))


_CACHE: dict[tuple[str, int, int], FrozenFile] = {}


def load_frozen(path: Path, *, family: str) -> FrozenFile:
    """Read and check a frozen JSONL file (read once per process while it is unchanged)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE:
        _CACHE[key] = _read(path, family)
    return _CACHE[key]


def _read(path: Path, family: str) -> FrozenFile:
    records: list[FrozenRecord] = []
    fix = "each line is a JSON object with at least 'id' (a golden case id) and 'text'"
    what = f"perturbation family '{family}': line"
    for number, raw in read_jsonl(path, what=what, fix=fix):
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"perturbation family '{family}': line is not a JSON object",
                where=path,
                line=number,
                fix=fix,
            )
        for key in ("id", "text"):
            value = raw.get(key)
            if not isinstance(value, str | int) or isinstance(value, bool) or value == "":
                raise ConfigError(
                    f"perturbation family '{family}': '{key}' is missing or not a string",
                    where=path,
                    line=number,
                    key=key,
                    fix=fix,
                )
        for key in ("field", "original"):
            if raw.get(key) is not None and not isinstance(raw[key], str):
                raise ConfigError(
                    f"perturbation family '{family}': '{key}' must be a string",
                    where=path,
                    line=number,
                    key=key,
                    fix=fix,
                )
        records.append(
            FrozenRecord(
                id=str(raw["id"]),
                text=str(raw["text"]),
                field=raw.get("field"),
                original=raw.get("original"),
                line=number,
            )
        )
    return FrozenFile(path=path, records=tuple(records))


def _listed(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:MAX_IDS_SHOWN])
    return shown + (f" and {len(ids) - MAX_IDS_SHOWN} more" if len(ids) > MAX_IDS_SHOWN else "")


@dataclass(frozen=True)
class FrozenVariants(FamilyBase):
    """Variants read from ``file``: case ``c``'s ``k``-th line is its variant ``#k``."""

    file: str
    frozen: FrozenFile = field(compare=False, repr=False)
    every_case: ClassVar[bool] = False
    refresh: ClassVar[str] = ""

    @property
    def params(self) -> dict[str, Any]:
        return {"file": self.file}

    def apply(self, text: str, rng: random.Random) -> str:
        options = [option for option in self.frozen.for_original(text) if option != text]
        return rng.choice(options) if options else text

    def candidates(self, case_id: str, field_name: str, text: str) -> list[str]:
        """The case's variants of ``field_name``, in file order (the engine numbers them)."""
        return self.frozen.for_case(case_id, field_name)

    def check_cases(self, cases: Sequence[Case], fields: Sequence[str]) -> None:
        """The file's ids match the golden set, and no line was made from an older text."""
        where = str(self.frozen.path)
        known = {case.id: case for case in cases}
        unknown = [case_id for case_id in self.frozen.ids if case_id not in known]
        if unknown:
            raise ConfigError(
                f"perturbation family '{self.family}': {len(unknown)} id(s) in the file are not "
                f"in the golden set: {_listed(unknown)}",
                where=where,
                key="id",
                fix=f"the file belongs to another golden set or is out of date: {self.refresh}",
            )
        if self.every_case:
            covered = set(self.frozen.ids)
            missing = [case.id for case in cases if case.id not in covered]
            if missing:
                raise ConfigError(
                    f"perturbation family '{self.family}': {len(missing)} golden case(s) have no "
                    f"line in the file: {_listed(missing)}",
                    where=where,
                    key="id",
                    fix=self.refresh,
                )
        for record in self.frozen.records:
            if record.original is None:
                continue
            case = known[record.id]
            names = [record.field] if record.field is not None else list(fields)
            current = [case.inputs.get(name) for name in names]
            if record.original not in current:
                raise ConfigError(
                    f"perturbation family '{self.family}': the golden text of case "
                    f"'{record.id}' has changed since this line was written (stale variant)",
                    where=where,
                    line=record.line,
                    key="original",
                    fix=self.refresh,
                )


@dataclass(frozen=True)
class Paraphrase(FrozenVariants):
    family: ClassVar[str] = "paraphrase"
    every_case: ClassVar[bool] = True
    refresh: ClassVar[str] = (
        "run `brittle paraphrase GOLDEN --out FILE` to add the missing cases and regenerate "
        "stale ones (it keeps every line that is still valid), then review the diff"
    )


@dataclass(frozen=True)
class Regression(FrozenVariants):
    family: ClassVar[str] = "regression"
    refresh: ClassVar[str] = (
        "remove the lines of cases that are no longer in the golden set, or re-run "
        "`brittle search` and `brittle promote`"
    )


@register_family("paraphrase")
def paraphrase(*, file: str) -> Perturbation:
    """Frozen model paraphrases of the inputs from ``file`` (JSONL, relative to the suite)."""
    return Paraphrase(
        file=file, frozen=load_frozen(_params.path("paraphrase", "file", file), family="paraphrase")
    )


@register_family("regression")
def regression(*, file: str) -> Perturbation:
    """Promoted flipping variants from ``file`` (JSONL, relative to the suite)."""
    return Regression(
        file=file, frozen=load_frozen(_params.path("regression", "file", file), family="regression")
    )
