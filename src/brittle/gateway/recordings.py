"""Recordings: the responses a baseline was measured on, committed beside it.

``--brittle-update-baseline`` (``brittle run --update-baseline``) writes, beside
``evals/__baselines__/<eval>.json``, the responses that run used:
``evals/__recordings__/<eval>.jsonl.gz``. A pull request that changes a prompt then carries its
new baseline *and* the answers behind it (made by the author with a key, like a snapshot
update), and CI replays them without a key or a network (``--brittle-cache replay``).

**Contents**: compact and scrubbed. One JSON line per (system, cache key): the answer as the
gateway's edge left it (:func:`brittle.redact.scrub` again on the way out), its token counts,
reported cost, notes and token log-probabilities (``logprobs``: ``[token, logprob,
[[alternative, logprob], ...]]`` per answer token, when the call asked for them): what a
response cache entry needs to be replayed. No prompts, no labels, no latencies, no
timestamps. The first line is the header ``{"brittle_recordings": 1, "eval": NAME, "entries":
N}``.

**Deterministic**: lines sorted by system and key, JSON with sorted keys, gzip with no file name
and ``mtime=0``: an unchanged run writes a byte-identical file (no git churn). Written
atomically (temporary file, rename).

**Merged per system**: an update rewrites the entries of the systems whose baseline it wrote and
keeps the others' (``-k`` or ``brittle run --system`` updates one system, as for baselines).

**Read** in replay mode only, before the response cache (:class:`Recorder`): the committed
recordings are what the committed baseline was measured on, so CI and a local replay agree with
it whatever a local cache holds. The ``rw`` and ``record`` modes never read them.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from brittle._atomic import write_bytes
from brittle._errors import CacheError
from brittle.gateway.calls import CallResult, logprobs_from_rows, logprobs_rows
from brittle.redact import scrub

FORMAT_VERSION = 1
HEADER = "brittle_recordings"
FOLDER = "__recordings__"
SUFFIX = ".jsonl.gz"

#: ``{system: {cache key: result}}``
Entries = Mapping[str, Mapping[str, CallResult]]


def recordings_path(evals_folder: Path, eval_name: str) -> Path:
    """``<evals folder>/__recordings__/<eval>.jsonl.gz``, beside ``__baselines__``."""
    return Path(evals_folder) / FOLDER / f"{eval_name}{SUFFIX}"


class Recorder:
    """A gateway's recordings: what it replays (``replay``: key -> result, read from the
    committed files) and what it handed out (:meth:`use`, collected per system run by
    :meth:`take`)."""

    def __init__(self, replay: Mapping[str, CallResult] | None = None) -> None:
        self.replay = dict(replay or {})
        self.used: dict[str, CallResult] = {}
        #: calls answered from the recordings
        self.hits = 0

    def get(self, key: str) -> CallResult | None:
        """The recorded response of ``key`` (marked cached: no call was made), or None."""
        hit = self.replay.get(key)
        if hit is None:
            return None
        self.hits += 1
        return hit if hit.cached else replace(hit, cached=True)

    def use(self, key: str, result: CallResult) -> None:
        """Remember a successful response this run used (made, cached or replayed)."""
        if result.ok and result.text is not None:
            self.used[key] = result

    def take(self) -> dict[str, CallResult]:
        """The responses used since the last take (one system's run), forgotten here."""
        used, self.used = self.used, {}
        return used


def read_recordings(path: Path) -> dict[str, dict[str, CallResult]]:
    """The recordings at ``path`` per system (``{}`` without a file); a damaged file raises
    :class:`CacheError` naming it and the fix."""
    if not path.exists():
        return {}
    fix = (
        "restore it from git, or record it again: pytest <eval file> --brittle-update-baseline "
        "(with the model's key set)"
    )
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise CacheError(
            f"the recordings are unreadable or truncated ({exc})", where=path, fix=fix
        ) from None
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or HEADER not in header:
        raise CacheError("not a brittle recordings file (no header)", where=path, line=1, fix=fix)
    if header[HEADER] != FORMAT_VERSION:
        raise CacheError(
            f"the recordings are in format {header[HEADER]}; this brittle reads format "
            f"{FORMAT_VERSION}",
            where=path,
            line=1,
            fix=fix,
        )
    out: dict[str, dict[str, CallResult]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            system, key, text = row["system"], row["key"], row["text"]
            if not all(isinstance(v, str) for v in (system, key, text)):
                raise TypeError("'system', 'key' and 'text' must be strings")
            result = CallResult(
                text=text,
                prompt_tokens=row.get("prompt_tokens"),
                completion_tokens=row.get("completion_tokens"),
                cost=row.get("cost"),
                cached=True,
                notes=tuple(row.get("notes") or ()),
                logprobs=logprobs_from_rows(row.get("logprobs")),  # absent: unknown
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise CacheError(
                f"invalid recording ({exc})", where=path, line=number, fix=fix
            ) from None
        out.setdefault(system, {})[key] = result
    return out


def replay_index(recordings: Mapping[str, Mapping[str, CallResult]]) -> dict[str, CallResult]:
    """Every system's recordings as one key -> result map (a key names one call, whoever
    made it)."""
    return {key: result for entries in recordings.values() for key, result in entries.items()}


def encode(eval_name: str, recordings: Entries) -> bytes:
    """The file's bytes: the same recordings always give the same bytes."""
    lines = []
    for system in sorted(recordings):
        for key in sorted(recordings[system]):
            lines.append(_line(system, key, recordings[system][key]))
    header = {"brittle_recordings": FORMAT_VERSION, "entries": len(lines), "eval": eval_name}
    text = "".join(f"{line}\n" for line in [_dumps(header), *lines])
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buffer.getvalue()


def _line(system: str, key: str, result: CallResult) -> str:
    row: dict[str, Any] = {
        "system": system,
        "key": key,
        "text": scrub(result.text or "", pairs=False),
    }
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        value = getattr(result, name)
        if value is not None:
            row[name] = value
    if result.notes:
        row["notes"] = list(result.notes)
    if result.logprobs is not None:
        row["logprobs"] = logprobs_rows(result.logprobs)
    return _dumps(row)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def write_recordings(path: Path, eval_name: str, updates: Entries) -> int:
    """Write the recordings of ``updates``' systems into ``path``, keeping the entries of the
    systems it does not name (they did not run, or their baseline was not rewritten), as
    :func:`brittle.stats.baseline.merge_update` keeps their baselines; returns how many entries
    the file holds. An unreadable existing file is replaced (the update is how it is repaired);
    an unchanged file is not touched."""
    try:
        existing = read_recordings(path)
    except CacheError:
        existing = {}
    merged = {name: dict(entries) for name, entries in existing.items()}
    merged.update({name: dict(entries) for name, entries in updates.items()})
    data = encode(eval_name, merged)
    if not (path.exists() and path.read_bytes() == data):
        write_bytes(path, data)
    return sum(len(entries) for entries in merged.values())


__all__ = [
    "FOLDER",
    "FORMAT_VERSION",
    "Recorder",
    "read_recordings",
    "recordings_path",
    "replay_index",
    "write_recordings",
]
