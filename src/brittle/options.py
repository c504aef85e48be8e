"""One set of option definitions for the pytest plugin and the ``brittle`` command line, and
the :class:`Options` a run is given once they are parsed.

Light on purpose: the plugin reads it at ``pytest_configure`` of every pytest run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OptionDef:
    flag: str  # without the "--brittle-" / "--" prefix
    help: str
    action: str = "store"
    type: Any = None
    default: Any = None
    metavar: str | None = None
    dest: str = ""


OPTIONS = (
    OptionDef(
        "update-baseline",
        "write the baselines of the evals and systems that ran (queued, written once at the end;"
        " evals not selected are left alone)",
        action="store_true",
        default=False,
        dest="update_baseline",
    ),
    OptionDef(
        "report-dir",
        "folder for run reports: <dir>/<run-id>/run.json, results.parquet, summary.md"
        " (default: reports)",
        default=None,
        metavar="DIR",
        dest="report_dir",
    ),
    OptionDef(
        "no-report",
        "do not write run reports",
        action="store_true",
        default=False,
        dest="no_report",
    ),
    OptionDef(
        "concurrency",
        "maximum concurrent model calls per eval (overrides each eval's 'concurrency')",
        type=int,
        default=None,
        metavar="N",
        dest="concurrency",
    ),
    OptionDef(
        "history",
        "SQLite file that keeps every run's metrics and per-case outcomes, for trends and"
        " `brittle history/compare/report` (default: <report dir>/history.sqlite; 'off' to skip)",
        default=None,
        metavar="PATH",
        dest="history",
    ),
    OptionDef(
        "correct-across-evals",
        "Holm-correct the relative gates of every eval collected in the session together, as one"
        " family, at the smallest 'alpha' among those evals (default: each eval file is its own"
        " family: every relative gate of every system it defines). Stricter: with m relative"
        " gates in the build, the first is decided at alpha / m. Every system with a baseline of"
        " every collected eval runs before the first relative verdict, selected or not, so"
        " selection (-k, node ids) never changes a verdict",
        action="store_true",
        default=False,
        dest="correct_across_evals",
    ),
    OptionDef(
        "cache",
        "response cache mode: rw (default: reuse recorded responses, record missing ones),"
        " replay (no model calls; a missing response is an error: for pull-request CI),"
        " record (always call and refresh), off; env BRITTLE_CACHE",
        default=None,
        metavar="{rw,replay,record,off}",
        dest="cache",
    ),
    OptionDef(
        "cache-dir",
        "folder of the response cache (cache.sqlite; default .brittle under the project root);"
        " env BRITTLE_RESPONSE_CACHE_DIR",
        default=None,
        metavar="DIR",
        dest="cache_dir",
    ),
)


@dataclass
class Options:
    """Options common to ``pytest --brittle-*`` and ``brittle run``."""

    update_baseline: bool = False
    report_dir: Path | None = Path("reports")
    concurrency: int | None = None
    history: str | None = None  # run history file; None: <report_dir>/history.sqlite; "off"
    #: response cache mode (rw, replay, record, off); None: BRITTLE_CACHE, else rw
    cache: str | None = None
    #: the response cache file; None: cache.sqlite in BRITTLE_RESPONSE_CACHE_DIR or ./.brittle
    cache_path: Path | None = None
    #: show a progress line; None: only on an interactive terminal outside CI
    progress: bool | None = None
    #: one Holm family for the relative gates of every eval of the session (else one per eval)
    correct_across_evals: bool = False


__all__ = ["OPTIONS", "OptionDef", "Options"]
