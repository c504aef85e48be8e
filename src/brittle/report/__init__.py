"""Run artifacts: run.json, results.parquet, summaries, the HTML page, history and run diffs."""
