"""Old home of the run reports, kept only until run/session.py imports the new modules:
:mod:`brittle.report.artifacts`, :mod:`brittle.report.terminal`, :mod:`brittle.report.run_json`.
"""

from brittle.report.artifacts import write_reports
from brittle.report.markdown import markdown_summary
from brittle.report.parquet import write_parquet
from brittle.report.terminal import summary_lines
from brittle.run.provenance import run_meta

__all__ = ["markdown_summary", "run_meta", "summary_lines", "write_parquet", "write_reports"]
