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

**Reviewable** (a baseline is reviewed in the pull request that changes it): keys sorted, one
line per case outcome (``"c07[typo#2]": [true, "positive", "1f0c9a62d3b8"]``), short lists on one
line, and the stored metrics rounded to :data:`SIGNIFICANT_DIGITS` significant digits
(:func:`dumps_baseline`; the file is still plain JSON). Outcomes are never rounded: answers are
compared with a later run's as they are, and relative gates pair per-case outcomes, so rounding
the summary metrics changes no verdict (they are shown, and compared only for a file of the
days before per-case outcomes). The run's provenance (``created``, ``git_commit``,
``git_branch``, ``brittle_version``) goes to a small file beside it,
``__baselines__/<eval>.meta.json`` (:func:`meta_path`), written only when the baseline itself
changed: an update from an unchanged run rewrites neither file. Files that keep their
provenance inline (before this layout) still read; :attr:`Baseline.meta` holds it either way.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._atomic import write_text
from brittle._errors import BaselineError
from brittle.sanitize import clip_stored

FORMAT_VERSION = 1
VERSION_KEY = "brittle_baseline_version"
#: stored metrics are rounded to this many significant digits (outcomes never are)
SIGNIFICANT_DIGITS = 6
#: the provenance file's own version key (``<eval>.meta.json``)
META_KEY = "brittle_baseline_meta"
#: meta entries kept in the baseline itself: they change only when the eval does
STABLE_META = ("source",)
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
            "metrics": rounded(self.metrics),
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
    #: whether :func:`merge_update` changed the file (None: not written here); not compared
    changed: bool | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        """The baseline file's document: provenance left out (:meth:`provenance`)."""
        return {
            VERSION_KEY: FORMAT_VERSION,
            "eval": self.eval_name,
            **{k: v for k, v in self.meta.items() if k in STABLE_META},
            "systems": {name: self.systems[name].to_json() for name in sorted(self.systems)},
        }

    def provenance(self) -> dict[str, Any]:
        """What the meta file beside the baseline holds: the meta entries that change from
        run to run (when, which commit, which brittle)."""
        return {k: v for k, v in self.meta.items() if k not in STABLE_META}


def rounded(value: Any, digits: int = SIGNIFICANT_DIGITS) -> Any:
    """``value`` with every float rounded to ``digits`` significant digits (in dicts and
    lists; integers, booleans, None, text and non-finite floats as they are)."""
    if isinstance(value, float) and math.isfinite(value):
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v, digits) for v in value]
    return value


def dumps_baseline(document: dict[str, Any]) -> str:
    """A baseline document as reviewable JSON: every object spread one key a line, keys
    sorted, each list on one line (so each case outcome is one line), newline-terminated."""
    return _layout(document, 0) + "\n"


def _layout(value: Any, depth: int) -> str:
    if isinstance(value, dict) and value:
        pad = " " * (depth + 1)
        entries = [
            f"{pad}{json.dumps(str(key))}: {_layout(value[key], depth + 1)}"
            for key in sorted(value, key=str)
        ]
        return "{\n" + ",\n".join(entries) + "\n" + " " * depth + "}"
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def meta_path(path: Path) -> Path:
    """The provenance file beside the baseline at ``path``: ``<eval>.meta.json``."""
    return path.with_name(f"{path.stem}.meta.json")


def _read_meta(path: Path) -> dict[str, Any]:
    """The provenance file beside ``path`` (empty when absent or unreadable: it is only
    information, never compared)."""
    try:
        data = json.loads(meta_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k not in (META_KEY, "eval")}


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
    meta = {**_read_meta(path), **meta}  # provenance inline in files before the meta file
    return Baseline(eval_name=str(data.get("eval", path.stem)), systems=systems, meta=meta)


def _count(value: Any) -> int | None:
    """A stored error count, or None (absent, in files before it was recorded)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: kept under this name for the report writers that import it from here
atomic_write_text = write_text


def write_baseline(path: Path, baseline: Baseline) -> bool:
    """Write ``baseline`` to ``path`` and its provenance to :func:`meta_path`; returns whether
    the baseline changed. An unchanged baseline is not rewritten, nor is its meta file (no
    churn in git from an update that measured the same)."""
    text = dumps_baseline(baseline.to_json())
    try:
        unchanged = path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        unchanged = False
    if unchanged and meta_path(path).exists():
        return False
    atomic_write_text(path, text)
    provenance = baseline.provenance()
    if provenance:
        document = {META_KEY: FORMAT_VERSION, "eval": baseline.eval_name, **provenance}
        atomic_write_text(meta_path(path), dumps_baseline(document))
    else:
        meta_path(path).unlink(missing_ok=True)  # none given: no stale provenance beside it
    return not unchanged


def describe_written(path: Path, baseline: Baseline) -> str:
    """``evals/__baselines__/x.json (12.3 KB, 3 systems)``, ``; unchanged`` when the update
    left the file as it was."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    count = len(baseline.systems)
    shown = f"{size / 1000:.1f} KB" if size >= 1000 else f"{size} bytes"
    note = "; unchanged" if baseline.changed is False else ""
    return f"{path} ({shown}, {count} system{'s' if count != 1 else ''}{note})"


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
    before = existing.meta if existing is not None else {}
    baseline.systems.update(updates)
    baseline.meta = meta
    baseline.changed = write_baseline(path, baseline)
    if not baseline.changed:
        baseline.meta = before  # unchanged: the provenance on disk is the earlier run's
    return baseline
