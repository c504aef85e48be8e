"""Baseline files: round trip, merging updates, loud failures on foreign files, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brittle._errors import BaselineError, ConfigError
from brittle.stats.baseline import (
    FORMAT_VERSION,
    VERSION_KEY,
    Baseline,
    SystemBaseline,
    atomic_write_text,
    merge_update,
    read_baseline,
    write_baseline,
)

METRICS: dict[str, Any] = {
    "overall": {"cases": 4, "variants": 8, "accuracy": 0.75, "flip_rate": 0.25, "pdr": None},
    "families": {"typo": {"flip_rate": 0.25}},
}
#: ``[passed, answer, text_hash]``; the two-value entry is how files before fingerprints store it
OUTCOMES: dict[str, list[Any]] = {
    "c1": [True, "positive", "0123456789ab"],
    "c1[typo#1]": [False, "negative", "ba9876543210"],
    "c2": [None, None],
}
SUITES = {"typos": {"hash": "5f0e1d2c3b4a", "seed": 7, "families": ["typo"]}}


def system(fingerprint: str, accuracy: float = 0.75) -> SystemBaseline:
    return SystemBaseline(
        fingerprint=fingerprint,
        metrics={**METRICS, "overall": {**METRICS["overall"], "accuracy": accuracy}},
        outcomes=dict(OUTCOMES),
        spec={"kind": "prompt", "model": "local/smollm2", "params": {"temperature": 0}},
        suites=SUITES,
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "__baselines__" / "sentiment.json"
    written = Baseline(
        "sentiment",
        {"zero-shot": system("aaaa1111"), "few-shot": system("bbbb2222", 0.9)},
        meta={"brittle_version": "0.1.0", "commit": "f83efd3"},
    )
    write_baseline(path, written)
    read = read_baseline(path)
    assert read == written
    assert read is not None
    assert read.systems["zero-shot"].outcomes == OUTCOMES
    assert read.systems["few-shot"].metrics["overall"]["accuracy"] == 0.9
    assert read.systems["few-shot"].metrics["overall"]["pdr"] is None
    assert read.meta == {"brittle_version": "0.1.0", "commit": "f83efd3"}


def test_written_file_is_versioned_sorted_json(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    write_baseline(path, Baseline("demo", {"zz": system("1"), "aa": system("2")}))
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data[VERSION_KEY] == FORMAT_VERSION == 1
    assert data["eval"] == "demo"
    assert list(data["systems"]) == ["aa", "zz"]  # stable diffs
    assert set(data["systems"]["aa"]) == {"fingerprint", "spec", "suites", "metrics", "outcomes"}
    assert data["systems"]["aa"]["suites"] == SUITES
    assert data["systems"]["aa"]["outcomes"]["c1"] == [True, "positive", "0123456789ab"]


def test_missing_file_is_no_baseline(tmp_path: Path) -> None:
    assert read_baseline(tmp_path / "none.json") is None


def test_eval_name_defaults_to_the_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "sentiment.json"
    path.write_text(json.dumps({VERSION_KEY: FORMAT_VERSION, "systems": {}}))
    baseline = read_baseline(path)
    assert baseline == Baseline("sentiment", {}, {})


def test_optional_system_entries_default_to_empty(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    entry = {"fingerprint": 123, "metrics": METRICS}
    path.write_text(json.dumps({VERSION_KEY: FORMAT_VERSION, "eval": "b", "systems": {"s": entry}}))
    baseline = read_baseline(path)
    assert baseline is not None
    assert baseline.systems["s"] == SystemBaseline("123", METRICS, {}, {})
    assert baseline.systems["s"].suites == {}  # a file from before variant fingerprints


def test_merge_update_keeps_systems_not_updated(tmp_path: Path) -> None:
    path = tmp_path / "__baselines__" / "demo.json"
    write_baseline(
        path, Baseline("demo", {"a": system("a-old"), "b": system("b-old")}, {"commit": "old"})
    )
    merged = merge_update(path, "demo", {"b": system("b-new", 0.5)}, {"commit": "new"})
    on_disk = read_baseline(path)
    assert on_disk == merged
    assert sorted(on_disk.systems) == ["a", "b"]
    assert on_disk.systems["a"] == system("a-old")
    assert on_disk.systems["b"] == system("b-new", 0.5)
    assert on_disk.meta == {"commit": "new"}


def test_merge_update_adds_a_new_system_and_creates_the_file(tmp_path: Path) -> None:
    path = tmp_path / "evals" / "__baselines__" / "demo.json"
    merge_update(path, "demo", {"a": system("a1")}, {})
    merge_update(path, "demo", {"c": system("c1")}, {})
    baseline = read_baseline(path)
    assert baseline is not None
    assert baseline.eval_name == "demo"
    assert sorted(baseline.systems) == ["a", "c"]


def test_merge_update_replaces_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text('{"brittle_baseline_version": 1, "systems": {"a": ')
    merge_update(path, "demo", {"b": system("b1")}, {})
    baseline = read_baseline(path)
    assert baseline is not None
    assert sorted(baseline.systems) == ["b"]


def test_other_format_version_fails_loudly(tmp_path: Path) -> None:
    path = tmp_path / "__baselines__" / "demo.json"
    path.parent.mkdir()
    path.write_text(json.dumps({VERSION_KEY: 2, "eval": "demo", "systems": {}}))
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    message = str(info.value)
    assert str(path) in message
    assert "format version 2" in message
    assert "reads version 1" in message
    assert VERSION_KEY in message
    assert "--brittle-update-baseline" in message
    assert "brittle run EVAL --update-baseline" in message
    assert isinstance(info.value, ConfigError)


@pytest.mark.parametrize(
    "content",
    [
        '{"brittle_baseline_version": 1, "eval": "demo", "systems": {"a": {"fingerp',  # truncated
        "",
        "{not json}",
        b"\xff\xfe{}",  # not UTF-8
    ],
)
def test_corrupt_file_says_how_to_restore_it(tmp_path: Path, content: str | bytes) -> None:
    path = tmp_path / "demo.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    message = str(info.value)
    assert message.startswith(f"{path}: baseline file is corrupt or truncated")
    assert f"git checkout -- {path}" in message
    assert "--brittle-update-baseline" in message


@pytest.mark.parametrize(
    "data",
    [[1, 2, 3], {"eval": "demo", "systems": {}}, "a string", None],
)
def test_json_that_is_not_a_baseline(tmp_path: Path, data: object) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    message = str(info.value)
    assert message.startswith(f"{path}: this is not a brittle baseline (no format version)")
    assert "fix: delete it and regenerate: pytest evals/ --brittle-update-baseline" in message


@pytest.mark.parametrize(
    "systems",
    [None, {"a": {"metrics": {}}}, {"a": {"fingerprint": "x"}}, {"a": "not an entry"}, []],
)
def test_baseline_missing_an_entry(tmp_path: Path, systems: object) -> None:
    path = tmp_path / "demo.json"
    data = {VERSION_KEY: FORMAT_VERSION, "eval": "demo"}
    if systems is not None:
        data["systems"] = systems
    path.write_text(json.dumps(data))
    with pytest.raises(BaselineError) as info:
        read_baseline(path)
    assert "baseline is missing a required entry" in str(info.value)
    assert str(path) in str(info.value)
    assert "regenerate it" in str(info.value)


def test_atomic_write_replaces_content_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "b.json"
    atomic_write_text(path, "first\n")
    assert path.read_text(encoding="utf-8") == "first\n"
    atomic_write_text(path, "second, ünïcode\n")
    assert path.read_text(encoding="utf-8") == "second, ünïcode\n"
    assert sorted(p.name for p in path.parent.iterdir()) == ["b.json"]


def test_atomic_write_that_fails_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    atomic_write_text(path, "old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "half \ud800 written")  # a lone surrogate cannot be encoded
    assert path.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]


def test_write_baseline_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    for n in range(3):
        write_baseline(path, Baseline("b", {"s": system(str(n))}))
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]
    baseline = read_baseline(path)
    assert baseline is not None
    assert baseline.systems["s"].fingerprint == "2"


def test_atomic_write_keeps_the_file_readable(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("old")
    path.chmod(0o644)
    atomic_write_text(path, "new")
    assert path.stat().st_mode & 0o777 == 0o644


# ----------------------------------------------------------------------------- long answers

#: 5,000 characters; the variants answer it whole, or changed in its last character only
LONG = "word " * 1_000
LONG_OUTCOMES: dict[str, list[Any]] = {
    "c1": [True, LONG, "0123456789ab"],
    "c1[typo#1]": [True, LONG, "ba9876543210"],
    "c1[typo#2]": [True, LONG[:-1] + "X", "aaaaaaaaaaaa"],
}


def _agreement(outcomes: dict[str, list[Any]]) -> float:
    """The agreement that a relative gate computes on the baseline's side of its pairs."""
    import pandas as pd

    from brittle.stats.paired import paired_tables
    from brittle.stats.results import case_sums

    rows = list(LONG_OUTCOMES)
    run = pd.DataFrame(
        {
            "case_id": ["c1"] * 3,
            "row_id": rows,
            "family": ["", "typo", "typo"],
            "passed": [True] * 3,
            "answer": ["a"] * 3,
            "error": [None] * 3,
        }
    )
    _, base = paired_tables(run, outcomes)
    sums = case_sums(base)
    return float(sums["agrees"].sum() / sums["pairs"].sum())


def test_long_answers_are_written_clipped_and_still_compare_as_the_full_texts(
    tmp_path: Path,
) -> None:
    """A megabyte answer must not land in git: the file keeps 2,000 characters, the length and
    a hash, so two answers that differ past the excerpt still differ (agreement 1/2, not 1)."""
    path = tmp_path / "demo.json"
    write_baseline(path, Baseline("demo", {"s": SystemBaseline("f", METRICS, LONG_OUTCOMES)}))
    assert path.stat().st_size < 8_000
    stored = read_baseline(path).systems["s"].outcomes  # type: ignore[union-attr]
    first = stored["c1"][1]
    assert first.startswith(LONG[:2000]) and "5,000 characters, sha256 " in first
    assert len(first) < 2_100
    assert stored["c1[typo#1]"] == [True, first, "ba9876543210"]
    assert stored["c1[typo#2]"][1] != first
    assert _agreement(LONG_OUTCOMES) == _agreement(stored) == 0.5
    write_baseline(path, read_baseline(path))  # type: ignore[arg-type]
    assert read_baseline(path).systems["s"].outcomes == stored  # type: ignore[union-attr]


def test_a_baseline_with_whole_long_answers_reads_and_compares_as_before(tmp_path: Path) -> None:
    """Files written before clipping keep their whole answers: read as they are, compared the
    same; rewriting one (another system updated) clips them all alike."""
    path = tmp_path / "demo.json"
    entry = {"fingerprint": "f", "metrics": METRICS, "outcomes": LONG_OUTCOMES}
    path.write_text(
        json.dumps({VERSION_KEY: FORMAT_VERSION, "eval": "demo", "systems": {"old": entry}})
    )
    before = read_baseline(path)
    assert before is not None and before.systems["old"].outcomes == LONG_OUTCOMES
    assert _agreement(before.systems["old"].outcomes) == 0.5
    merge_update(path, "demo", {"new": system("n")}, {})
    after = read_baseline(path).systems["old"].outcomes  # type: ignore[union-attr]
    assert len(after["c1"][1]) < 2_100
    assert _agreement(after) == 0.5
