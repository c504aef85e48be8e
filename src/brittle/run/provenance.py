"""Provenance of a run: which brittle, which commit and branch, when.

Recorded in run files (``run.json``) and in the baselines a run writes, so a reader can tell
what produced them.
"""

from __future__ import annotations

import subprocess
import time
from typing import Any

from brittle import __version__


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out or None


def run_meta(started: float) -> dict[str, Any]:
    """Provenance recorded in run files and baselines."""
    return {
        "brittle_version": __version__,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }


__all__ = ["run_meta"]
