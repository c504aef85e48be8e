"""The response cache keeps each response's notes; a cache made before notes existed gains the
column when opened and its entries read back without notes."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from brittle.gateway import CallResult
from brittle.gateway.cache import ResponseCache

OLD_SCHEMA = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('format', '1');
CREATE TABLE responses (
    key TEXT PRIMARY KEY, text TEXT NOT NULL, prompt_tokens INTEGER, completion_tokens INTEGER,
    cost REAL, latency_s REAL, created REAL NOT NULL, model TEXT, fingerprint TEXT, label TEXT
) WITHOUT ROWID;
"""


def test_notes_round_trip_and_export(tmp_path: Path) -> None:
    cache = ResponseCache(tmp_path / "cache.sqlite")
    notes = ("1 lone surrogate(s) replaced with U+FFFD", "secrets masked in the output")
    cache.put("k", CallResult(text="positive \ufffd", notes=notes))
    hit = cache.get("k")
    assert hit is not None and (hit.text, hit.notes) == ("positive \ufffd", notes)
    exported = tmp_path / "export.jsonl"
    assert cache.export(exported, ["k"]) == 1
    other = ResponseCache(tmp_path / "other.sqlite")
    assert other.import_file(exported) == (1, 0)
    again = other.get("k")
    assert again is not None and again.notes == notes


def test_an_older_cache_gains_the_notes_column(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO responses (key, text, created) VALUES ('old', 'negative', ?)",
            (time.time(),),
        )
    cache = ResponseCache(path)
    old = cache.get("old")
    assert old is not None and (old.text, old.notes) == ("negative", ())
    cache.put("new", CallResult(text="positive", notes=("a note",)))
    new = cache.get("new")
    assert new is not None and new.notes == ("a note",)
