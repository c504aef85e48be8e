"""Run history: every run's summary and per-case outcomes in one SQLite file.

The default file is ``reports/history.sqlite`` (``--brittle-history PATH``, or ``off``). Several
processes may record into it at once (CI shards, a nightly job and a developer): it is opened in
WAL mode with a busy timeout, and each run is written in one ``BEGIN IMMEDIATE`` transaction.

Tables (``PRAGMA user_version`` holds :data:`SCHEMA_VERSION`)::

    runs            one row per run: time, git commit and branch, brittle version, verdict counts,
                    report folder, and run.json itself (spec, fingerprints, metrics, verdicts)
    system_metrics  one row per (run, eval, system): fingerprint, headline metrics as columns,
                    the whole metrics dict (with intervals when the run has them) as JSON
    family_metrics  one row per (run, eval, system, perturbation family)
    verdicts        one row per (run, eval, system, gate)
    case_results    one row per result row: row id, case id, family, passed (1 or 0, the share
                    of repeats that passed when the eval repeats calls; NULL: errored), answer
    flipped_cases   the (newly) flipped variants shown in reports, with original and variant input
                    and output (at most MAX_FLIPPED_STORED per system; all rows stay in
                    results.parquet)

Texts other than flipped cases are not stored: ``runs.folder`` points at results.parquet.

Modules: :mod:`.store` (the file, its schema, connections), :mod:`.recording` (writing a run),
:mod:`.queries` (reading runs back), :mod:`.records` (what comes back). Everything public is
imported here; the package loads only the standard library.
"""

from brittle.report.history.queries import case_outcomes, list_runs, load_run, resolve_run, trend
from brittle.report.history.recording import (
    OUTCOME_COLUMNS,
    TREND_RUNS,
    Published,
    flip_set,
    prepare_run,
    record_run,
    run_status,
)
from brittle.report.history.records import (
    HEADLINE_COLUMNS,
    MAX_FLIPPED_STORED,
    USAGE_COLUMNS,
    CaseOutcome,
    FlippedCase,
    FlipSet,
    RunInfo,
    StoredRun,
    TrendPoint,
    headline,
)
from brittle.report.history.store import SCHEMA_VERSION, connect, history_path, history_setting

__all__ = [
    "HEADLINE_COLUMNS",
    "MAX_FLIPPED_STORED",
    "OUTCOME_COLUMNS",
    "SCHEMA_VERSION",
    "TREND_RUNS",
    "USAGE_COLUMNS",
    "CaseOutcome",
    "FlipSet",
    "FlippedCase",
    "Published",
    "RunInfo",
    "StoredRun",
    "TrendPoint",
    "case_outcomes",
    "connect",
    "flip_set",
    "headline",
    "history_path",
    "history_setting",
    "list_runs",
    "load_run",
    "prepare_run",
    "record_run",
    "resolve_run",
    "run_status",
    "trend",
]
