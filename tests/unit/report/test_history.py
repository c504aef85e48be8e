"""The run history: 30 nightly runs, trends, the heatmap against the results table, the
``brittle history/compare/report`` commands, and concurrent writers."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from brittle._errors import ConfigError
from brittle.cli import main
from brittle.report.history import (
    SCHEMA_VERSION,
    list_runs,
    load_run,
    record_run,
    resolve_run,
    trend,
)
from tests.support.sessions import finish
from tests.support.synthetic_runs import FAMILIES, SYSTEMS, has_class, start_tags, synthetic_session

NIGHTS = 30


@pytest.fixture(scope="module")
def nightly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Thirty synthetic nightly runs recorded into one history; returns the project folder."""
    folder = tmp_path_factory.mktemp("nightly")
    for night in range(NIGHTS):
        finish(synthetic_session(folder, run_index=night, cases=12, variants=1, intervals=False))
    return folder


def _history(folder: Path) -> Path:
    return folder / "reports" / "history.sqlite"


def test_thirty_nights_give_thirty_trend_points(nightly: Path) -> None:
    runs = list_runs(_history(nightly), limit=100)
    assert len(runs) == NIGHTS
    document = (nightly / "reports" / "latest" / "index.html").read_text()
    tags = start_tags(document)
    trends = [a for t, a in tags if t == "svg" and has_class(a, "trend")]
    assert [a["data-metric"] for a in trends] == ["accuracy", "flip_rate"]
    assert all(a["data-runs"] == str(NIGHTS) for a in trends)
    points = [a for t, a in tags if t == "circle" and has_class(a, "point")]
    for system in SYSTEMS:
        mine = [a for a in points if a["data-system"] == system]
        assert len(mine) == 2 * NIGHTS  # accuracy and flip rate
        run_ids = [a["data-run"] for a in mine[:NIGHTS]]
        assert run_ids == [r.run_id for r in reversed(runs)]  # oldest first
    lines = [a for t, a in tags if t == "polyline" and has_class(a, "line")]
    assert len(lines) == 2 * len(SYSTEMS)


def test_trend_values_are_the_recorded_metrics(nightly: Path) -> None:
    history = _history(nightly)
    points = trend(history, "sentiment", limit=NIGHTS)
    first = list_runs(history)[-1]
    stored = load_run(history, first.run_id)
    lora = stored.record["evals"][0]["systems"]["lora"]["metrics"]["overall"]
    point = next(p for p in points if p.run_id == first.run_id and p.system == "lora")
    assert point.metrics["accuracy"] == lora["accuracy"]
    assert point.metrics["flip_rate"] == lora["flip_rate"]


def _flip_rates_from_results(path: Path) -> dict[tuple[str, str], float]:
    """Flip rate per (family, system), computed from results.parquet alone."""
    table = pd.read_parquet(path)
    table = table[table["error"].isna()]
    originals = table[table["family"] == ""][["system", "case_id", "passed"]]
    variants = table[table["family"] != ""]
    paired = variants.merge(originals, on=["system", "case_id"], suffixes=("", "_original"))
    paired["flipped"] = paired["passed"] != paired["passed_original"]
    rates = paired.groupby(["family", "system"])["flipped"].mean()
    return {(str(f), str(s)): float(v) for (f, s), v in rates.items()}


def test_heatmap_values_match_the_results_table(nightly: Path) -> None:
    latest = nightly / "reports" / "latest"
    expected = _flip_rates_from_results(latest / "results.parquet")
    assert set(expected) == {(f, s) for f in FAMILIES for s in SYSTEMS}
    cells = {
        (a["data-family"], a["data-system"]): float(a["data-value"] or "nan")
        for _, a in start_tags((latest / "index.html").read_text())
        if has_class(a, "cell")
    }
    assert cells.keys() == expected.keys()
    for key, value in expected.items():
        assert cells[key] == pytest.approx(value, abs=1e-12), key


def test_history_command_lists_runs(nightly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    history = str(_history(nightly))
    assert main(["history", "--history", history, "--limit", "5", "-v"]) == 0
    out = capsys.readouterr().out
    newest = list_runs(_history(nightly), limit=1)[0]
    assert out.splitlines()[1].startswith(newest.run_id)
    assert "sentiment / lora: accuracy" in out
    assert main(["history", "--history", history, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == NIGHTS
    assert {s["system"] for s in listed[0]["systems"]} == set(SYSTEMS)


def test_compare_command_shows_deltas_and_paired_statistics(
    nightly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = str(_history(nightly))
    assert main(["compare", "latest~1", "latest", "--history", history]) == 0
    out = capsys.readouterr().out
    for system in SYSTEMS:
        assert f"sentiment / {system}" in out
    assert "flip rate by family: casing" in out and "punctuation" in out
    assert "(accuracy worse: p" in out and "(flip_rate worse: p" in out
    assert "gate flip_rate[typo] <= 0.15:" in out
    assert main(["compare", "latest~1", "latest", "--history", history, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    lora = next(s for s in data["systems"] if s["system"] == "lora")
    a, b = lora["metrics"]["accuracy"]["a"], lora["metrics"]["accuracy"]["b"]
    assert lora["metrics"]["accuracy"]["delta"] == pytest.approx(b - a)
    assert lora["originals"]["paired"] == 12
    assert set(lora["families"]) == set(FAMILIES)


def test_report_command_regenerates_any_run(
    nightly: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = _history(nightly)
    tenth = list(reversed(list_runs(history)))[9]
    out = tmp_path / "tenth.html"
    code = main(["report", tenth.run_id[:17], "--history", str(history), "--out", str(out)])
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    tags = start_tags(out.read_text())
    trends = [a for t, a in tags if t == "svg" and has_class(a, "trend")]
    assert all(a["data-runs"] == "10" for a in trends)  # the trend stops at that run
    original = (Path(tenth.folder or "") / "index.html").read_text()
    assert _cells(out.read_text()) == _cells(original)
    # without --out it goes back into the run's own folder
    assert main(["report", tenth.run_id, "--history", str(history)]) == 0
    assert capsys.readouterr().out.strip() == str(Path(tenth.folder or "") / "index.html")


def _cells(document: str) -> dict[tuple[str | None, str | None], str | None]:
    return {
        (a["data-family"], a["data-system"]): a["data-value"]
        for _, a in start_tags(document)
        if has_class(a, "cell")
    }


def test_stored_run_keeps_flipped_cases_with_texts(nightly: Path) -> None:
    stored = load_run(_history(nightly), "latest")
    zero_shot = next(f for f in stored.flips if f.system == "zero-shot")
    assert not zero_shot.against_baseline
    case = next(c for c in zero_shot.cases if c.variant_id == "r00000[typo-light#1]")
    assert case.original_passed and not case.variant_passed
    assert case.variant_output is not None and "<script>" in case.variant_output
    assert case.original_input != case.variant_input
    run_json = json.loads((nightly / "reports" / "latest" / "run.json").read_text())
    assert stored.record["run_id"] == run_json["run_id"]


def test_run_references(nightly: Path) -> None:
    history = _history(nightly)
    runs = list_runs(history)
    assert resolve_run(history, "latest") == runs[0].run_id
    assert resolve_run(history, "latest~2") == runs[2].run_id
    assert resolve_run(history, runs[5].run_id[:17]) == runs[5].run_id
    with pytest.raises(ConfigError, match="ambiguous"):
        resolve_run(history, "2026")
    with pytest.raises(ConfigError, match="no run 'nope'"):
        resolve_run(history, "nope")


def test_missing_history_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "--history", str(tmp_path / "none.sqlite")]) == 2
    err = capsys.readouterr().err
    assert "none.sqlite" in err and "no run history here" in err


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="schema version"):
        list_runs(path)


def test_history_off_writes_no_file(tmp_path: Path) -> None:
    session = synthetic_session(tmp_path, cases=4, variants=1, intervals=False, history="off")
    finish(session)
    assert not (tmp_path / "reports" / "history.sqlite").exists()
    document = (tmp_path / "reports" / "latest" / "index.html").read_text()
    assert "history is off" in document


def _fake_record(run_id: str, created: str) -> dict:
    metrics = {
        "overall": {"accuracy": 0.9, "flip_rate": 0.1, "errors": 0, "pairs": 10},
        "families": {"typo": {"flip_rate": 0.1, "pairs": 10}},
    }
    system = {"kind": "prompt", "fingerprint": "f", "rows": 20, "metrics": metrics}
    system["verdicts"] = [{"gate": "accuracy >= 0.5", "status": "passed", "message": "ok"}]
    return {
        "run_id": run_id,
        "created": created,
        "evals": [{"name": "e", "systems": {"s": system}}],
    }


WRITER = """
import sys
import time
from pathlib import Path
from brittle.report.history import FlipSet, record_run

path, worker, runs = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
(path.parent / f"ready-{worker}").touch()
while not (path.parent / "go").exists():  # start writing together
    time.sleep(0.01)
metrics = {
    "overall": {"accuracy": 0.9, "flip_rate": 0.1, "errors": 0, "pairs": 10},
    "families": {"typo": {"flip_rate": 0.1, "pairs": 10}},
}
verdicts = [{"gate": "accuracy >= 0.5", "status": "passed", "message": "ok"}]
system = {"kind": "prompt", "fingerprint": "f", "rows": 500, "metrics": metrics,
          "verdicts": verdicts}
columns = {
    "row_id": [f"c{k}" for k in range(2000)],
    "case_id": [f"c{k}" for k in range(2000)],
    "family": [""] * 2000,
    "passed": [k % 2 == 0 for k in range(2000)],
    "answer": ["x"] * 2000,
}
for i in range(runs):
    record = {"run_id": f"w{worker}-{i}", "created": f"2026-01-01T00:00:{worker:02d}Z",
              "evals": [{"name": "e", "systems": {"s": system}}]}
    record_run(path, record, results={("e", "s"): columns}, flips=[FlipSet("e", "s", False, 0)])
"""


def test_concurrent_writers(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    workers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "8"]) for w in range(3)
    ]
    deadline = time.monotonic() + 120
    while not all((tmp_path / f"ready-{w}").exists() for w in range(3)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in workers)
        time.sleep(0.05)
    (tmp_path / "go").touch()
    assert [p.wait(120) for p in workers] == [0, 0, 0]
    runs = list_runs(path)
    assert len(runs) == 24
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM case_results").fetchone()[0] == 24 * 2000


def test_recording_a_run_again_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    record_run(path, _fake_record("one", "2026-01-01T00:00:00Z"))
    record_run(path, _fake_record("one", "2026-01-01T00:00:00Z"))
    assert [r.run_id for r in list_runs(path)] == ["one"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM system_metrics").fetchone()[0] == 1
