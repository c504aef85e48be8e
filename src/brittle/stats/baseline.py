"""Baselines: committed JSON files beside the evals (``evals/__baselines__/<eval>.json``).

A baseline holds, per system, its fingerprint, metrics and per-row outcomes, so a later run is
compared with it (and later statistics can pair cases). The format is versioned: a file of another
version fails loudly and says how to regenerate it. Writes are atomic (temporary file, rename).

Variant fingerprints (added within format version 1, so older files still read): each outcome is
``[passed, answer, text_hash]``, the hash of the row's text (:mod:`brittle.run.fingerprints`),
and each system keeps ``suites``, suite name -> ``{"hash", "seed", "families"}``: the spec hash
of each suite it ran. A relative gate pairs a row only with a stored row of the same id *and*
hash (:mod:`brittle.stats.changes`); an outcome of two values (a file written before variant
fingerprints) pairs by id alone, and the gate's message says how to refresh it.

A baseline is evidence: an update is refused for a system that scored no rows or whose errors
exceed the eval's error budget (:func:`brittle.stats.gates.baseline_refusal`), unless forced
(``--brittle-update-baseline=force``); each system records its errored calls (``errors``, absent
in older files) and, when forced, why it was refused (``forced``).

An answer longer than :data:`brittle.sanitize.STORED_LIMIT` characters is written clipped, with
its full length and a hash (a megabyte answer must not land in git); stored answers are only
compared with each other, and the hash keeps different answers different. Files written before
clipping keep whole answers and read and compare as before.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import BaselineError
from brittle.sanitize import clip_stored

FORMAT_VERSION = 1
VERSION_KEY = "brittle_baseline_version"
#: how pytest writes or refreshes baselines
PYTEST_UPDATE = "pytest evals/ --brittle-update-baseline"
#: the same for messages that do not know which front end runs them
UPDATE_HINT = f"{PYTEST_UPDATE} (or brittle run EVAL --update-baseline)"


def run_update(eval_file: str | Path) -> str:
    """How ``brittle run`` writes or refreshes the baseline of ``eval_file``."""
    return f"brittle run {eval_file} --update-baseline"


@dataclass
class SystemBaseline:
    fingerprint: str
    metrics: dict[str, Any]
    #: ``{row_id: [passed, answer, text_hash]}`` (two values in files before fingerprints)
    outcomes: dict[str, list[Any]] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    #: suite name -> ``{"hash", "seed", "families"}`` of the suites this system ran
    suites: dict[str, Any] = field(default_factory=dict)
    #: the errored calls of the run that wrote it (None in files written before this field)
    errors: int | None = None
    #: why the update was refused and written anyway (``--brittle-update-baseline=force``)
    forced: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "spec": self.spec,
            "suites": self.suites,
            **({"errors": self.errors} if self.errors is not None else {}),
            **({"forced": self.forced} if self.forced is not None else {}),
            "metrics": self.metrics,
            "outcomes": {row: _stored(entry) for row, entry in self.outcomes.items()},
        }


def _stored(entry: list[Any]) -> list[Any]:
    """An outcome as written: a long answer clipped to an excerpt, its length and hash
    (:func:`brittle.sanitize.clip_stored`: equal stored answers are equal answers)."""
    if len(entry) > 1 and isinstance(entry[1], str):
        return [entry[0], clip_stored(entry[1]), *entry[2:]]
    return entry


@dataclass
class Baseline:
    eval_name: str
    systems: dict[str, SystemBaseline] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            VERSION_KEY: FORMAT_VERSION,
            "eval": self.eval_name,
            **self.meta,
            "systems": {name: self.systems[name].to_json() for name in sorted(self.systems)},
        }


def read_baseline(path: Path) -> Baseline | None:
    """The baseline at ``path``, or None if there is none. Corrupt or foreign files raise."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BaselineError(
            f"baseline file is corrupt or truncated ({exc})",
            where=path,
            fix=f"restore it from git (git checkout -- {path}) or regenerate it: {UPDATE_HINT}",
        ) from None
    if not isinstance(data, dict) or VERSION_KEY not in data:
        raise BaselineError(
            "this is not a brittle baseline (no format version)",
            where=path,
            fix=f"delete it and regenerate: {UPDATE_HINT}",
        )
    version = data[VERSION_KEY]
    if version != FORMAT_VERSION:
        raise BaselineError(
            f"baseline is in format version {version}; this brittle reads version {FORMAT_VERSION}",
            where=path,
            key=VERSION_KEY,
            fix=f"regenerate it with this version: {UPDATE_HINT}",
        )
    try:
        systems = {
            name: SystemBaseline(
                fingerprint=str(entry["fingerprint"]),
                metrics=entry["metrics"],
                outcomes=entry.get("outcomes", {}),
                spec=entry.get("spec", {}),
                suites=entry.get("suites", {}),
                errors=_count(entry.get("errors")),
                forced=str(entry["forced"]) if entry.get("forced") is not None else None,
            )
            for name, entry in data["systems"].items()
        }
    except (KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(
            f"baseline is missing a required entry ({exc})",
            where=path,
            fix=f"regenerate it: {UPDATE_HINT}",
        ) from None
    meta = {k: v for k, v in data.items() if k not in (VERSION_KEY, "eval", "systems")}
    return Baseline(eval_name=str(data.get("eval", path.stem)), systems=systems, meta=meta)


def _count(value: Any) -> int | None:
    """A stored error count, or None (absent, in files before it was recorded)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_baseline(path: Path, baseline: Baseline) -> None:
    atomic_write_text(path, json.dumps(baseline.to_json(), indent=1, sort_keys=False) + "\n")


def merge_update(
    path: Path, eval_name: str, updates: dict[str, SystemBaseline], meta: dict[str, Any]
) -> Baseline:
    """Write ``updates`` into the baseline at ``path``, keeping systems that were not run.

    An unreadable existing file, or one of another eval, is replaced (the update is how the
    user fixes it).
    """
    try:
        existing = read_baseline(path)
    except BaselineError:
        existing = None
    if existing is not None and existing.eval_name != eval_name:
        existing = None  # another eval's file at this eval's path: replaced, not merged into
    baseline = existing or Baseline(eval_name=eval_name)
    baseline.systems.update(updates)
    baseline.meta = meta
    write_baseline(path, baseline)
    return baseline
