"""Shards: one eval's cases cut into N parts, run apart (CI runners, pytest-xdist workers) and
merged back (:mod:`brittle.report.merge`).

A case goes to shard ``sha256(case id) mod N + 1``: each case id is hashed on its own, so a case
keeps its shard whatever cases are added or removed, and all of a case's rows (its original,
every variant, every repeat) run in the same shard. Variants of one case are correlated: the
statistics resample whole cases, so a shard must hold whole cases.

Each shard's report folder gets :data:`MANIFEST` (:func:`manifest`): what the merge checks before
it puts shards together (the same eval spec, suites and systems, each of 1..N once).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from brittle import __version__
from brittle._atomic import write_text
from brittle.options import Shard

if TYPE_CHECKING:
    from brittle.spec.eval import EvalSpec
    from brittle.stats.gates import Verdict

#: the shard manifest's file name in a shard's report folder
MANIFEST = "manifest.json"
#: the manifest's format; a merge refuses another
MANIFEST_VERSION = 1


def shard_of(case_id: str, n: int) -> int:
    """The shard (1..n) that holds the case ``case_id``: stable across machines and runs."""
    digest = hashlib.sha256(str(case_id).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def select_cases(spec: EvalSpec, shard: Shard) -> None:
    """Keep only ``spec``'s cases that fall in ``shard`` (in their golden-set order)."""
    spec.cases = [case for case in spec.cases if shard_of(case.id, shard.n) == shard.k]


def shard_note(shard: Shard, verdict: Verdict) -> str:
    """Why a gate of a shard run is skipped, with what this shard's cases alone say."""
    return (
        f"shard {shard}: gates are decided by `brittle merge` over all shards (on this "
        f"shard's cases alone: {verdict.status})"
    )


def _file_digest(path: Path | None) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def eval_hash(spec: EvalSpec, case_ids: list[str]) -> str:
    """The eval spec's hash: its name, the eval file's and golden set's bytes and every case id
    (the whole golden set, before sharding): shards of one run agree on it."""
    value = {
        "name": spec.name,
        "source": _file_digest(spec.source),
        "golden": _file_digest(spec.golden_path),
        "cases": case_ids,
    }
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def manifest(session: Any, states: Sequence[Any]) -> dict[str, Any]:
    """The manifest of a shard run (a :class:`~brittle.run.session.BrittleSession` and the
    states of the evals that ran; not imported: the session imports this module): what
    :mod:`brittle.report.merge` checks."""
    from brittle.run.fingerprints import suite_fingerprints  # imports the suites: on use only

    shard = session.options.shard
    assert shard is not None
    return {
        "brittle_shard_version": MANIFEST_VERSION,
        "brittle_version": __version__,
        "run_id": session.run_id,
        "shard": {"k": shard.k, "n": shard.n},
        "evals": [
            {
                "name": state.spec.name,
                "source": str(state.spec.source),
                "source_relative": _relative(state.spec.source),
                "spec_hash": state.spec_hash,
                "cases_total": state.shard_cases_total,
                "case_ids": [case.id for case in state.spec.cases],
                "suites": suite_fingerprints(state.spec),
                "systems": {name: run.fingerprint for name, run in state.run.systems.items()},
            }
            for state in states
        ],
    }


def _relative(path: Path) -> str | None:
    """``path`` relative to the working folder (where a merge on another runner finds it)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return None


def write_manifest(path: Path, session: Any, states: Sequence[Any]) -> Path:
    write_text(path, json.dumps(manifest(session, states), indent=1) + "\n")
    return path


__all__ = [
    "MANIFEST",
    "MANIFEST_VERSION",
    "eval_hash",
    "manifest",
    "select_cases",
    "shard_note",
    "shard_of",
    "write_manifest",
]
