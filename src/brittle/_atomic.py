"""Files written whole or not at all: readers see the old file or the new one, never half.

The one implementation behind baselines, recordings, run.json, summary.json, summary.md and the
HTML page: a temporary file beside the target (same folder, so the rename stays on one file
system), flushed and fsynced, then renamed over the target. An existing file keeps its mode; a
new one gets the process's default. A failure (a full disk, text that cannot be encoded) leaves
the old file as it was and no temporary behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (creating its folder)."""
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
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; text that cannot be encoded (a lone
    surrogate) raises before anything is written."""
    write_bytes(path, text.encode("utf-8"))


__all__ = ["write_bytes", "write_text"]
