"""What a run leaves behind, one module per artifact.

:mod:`.artifacts` writes them all, in order, at the end of ``pytest`` and ``brittle run``:
:mod:`.run_json` (the full record, made safe once, that the others are written from),
:mod:`.parquet` (every result row), :mod:`.markdown` (summary.md), :mod:`.history` (the SQLite
run history, and the trends it gives back), :mod:`.html` (index.html), :mod:`.summary_json`
(the versioned summary for other programs) and :mod:`.ci` (the GitHub job summary; JUnit
properties). :mod:`.terminal` prints the end-of-run summary, :mod:`.phrases` holds the sentences
it shares with summary.md and run.json, and :mod:`.diff` compares two recorded runs
(``brittle compare``).

Nothing is imported here: the plugin loads :mod:`.ci` and :mod:`.history` at start-up, and they
stay free of pandas and pyarrow.
"""
