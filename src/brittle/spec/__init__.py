"""Eval definitions: the eval file, its golden set, suites and systems, read and validated."""
