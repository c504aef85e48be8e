"""Reviewable baselines: one line per case outcome, sorted keys, metrics rounded to 6
significant digits (outcomes never), provenance in ``<eval>.meta.json``, no churn from an
unchanged update, and no verdict changed by the rounding."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from brittle.stats.baseline import (
    FORMAT_VERSION,
    META_KEY,
    VERSION_KEY,
    Baseline,
    SystemBaseline,
    describe_written,
    dumps_baseline,
    merge_update,
    meta_path,
    read_baseline,
    rounded,
    write_baseline,
)
from brittle.stats.gates import ErrorBudget, Gate
from brittle.stats.paired import compare
from brittle.stats.results import compute_metrics

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "evals" / "__baselines__" / "sentiment.json"

METRICS: dict[str, Any] = {
    "overall": {
        "cases": 142,
        "accuracy": 0.8732394366197183,
        "flip_rate": 0.17690875232774675,
        "latency_p50_s": 3.8062098079999487,
        "pdr": None,
        "tiny": 1.2345678901e-9,
        "ci": {"accuracy": [0.8085240574212684, 0.9182925889366269]},
        "few_cases": False,
    },
    "families": {"typo": {"flip_rate": 0.25641025641025644, "pairs": 39}},
}
#: fractional passes (the ``mean`` reduction over repeats) and a numeric answer: never rounded
OUTCOMES: dict[str, list[Any]] = {
    "c1": [True, "positive", "0123456789ab"],
    "c1[typo#1]": [0.6666666666666666, "negative", "ba9876543210"],
    "c2": [None, None],
    "c3": [False, 3.141592653589793, "aaaaaaaaaaaa"],
}
META = {"brittle_version": "0.1.0", "git_commit": "f83efd3", "created": "2026-01-01T00:00:00Z"}


def system(fingerprint: str = "f1") -> SystemBaseline:
    return SystemBaseline(
        fingerprint=fingerprint,
        metrics=METRICS,
        outcomes=dict(OUTCOMES),
        spec={"kind": "prompt", "params": {"temperature": 0.7}},
        suites={"typos": {"hash": "5f0e1d2c3b4a", "seed": 7, "families": ["typo"]}},
        errors=0,
    )


def test_rounded_keeps_six_significant_digits_and_leaves_the_rest() -> None:
    assert rounded(0.8732394366197183) == 0.873239
    assert rounded(3.8062098079999487) == 3.80621
    assert rounded(1.2345678901e-9) == 1.23457e-9
    assert rounded(123456789.0) == 123457000.0
    assert rounded(0.25) == 0.25
    assert rounded({"a": [0.1234567, None, 7, True, "x"]}) == {"a": [0.123457, None, 7, True, "x"]}
    assert rounded(float("inf")) == float("inf")


def test_metrics_are_rounded_outcomes_are_not(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    write_baseline(path, Baseline("demo", {"s": system()}, {"source": "demo.eval.yaml", **META}))
    read = read_baseline(path)
    assert read is not None
    stored = read.systems["s"]
    assert stored.outcomes == OUTCOMES  # 2/3 and pi exactly: answers compare as they are
    assert stored.metrics == rounded(METRICS)
    assert stored.metrics["overall"]["accuracy"] == 0.873239
    assert stored.metrics["overall"]["ci"]["accuracy"] == [0.808524, 0.918293]
    assert (
        stored.metrics["overall"]["pdr"] is None
        and stored.metrics["families"]["typo"]["pairs"] == 39
    )
    assert stored.spec == {"kind": "prompt", "params": {"temperature": 0.7}}
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"\d\.\d{7,}", text.split('"outcomes"')[0])  # no long floats before


def test_one_line_per_case_outcome_sorted_keys_valid_json(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    write_baseline(path, Baseline("demo", {"zz": system(), "aa": system()}, {"source": "d"}))
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert json.loads(text)[VERSION_KEY] == FORMAT_VERSION
    for row, entry in OUTCOMES.items():
        line = f"    {json.dumps(row)}: {json.dumps(entry, separators=(', ', ': '))}"
        assert lines.count(line) + lines.count(line + ",") == 2, line  # once per system
    assert '     "families": ["typo"],' in lines or '     "families": ["typo"]' in lines
    assert '      "accuracy": [0.808524, 0.918293]' in lines  # a short list on one line

    def keys_sorted(value: Any) -> bool:
        if isinstance(value, dict):
            return list(value) == sorted(value) and all(map(keys_sorted, value.values()))
        return all(map(keys_sorted, value)) if isinstance(value, list) else True

    # object_pairs_hook keeps the order of the file
    assert keys_sorted(json.loads(text, object_pairs_hook=dict))
    assert text.endswith("}\n") and "\n\n" not in text


def test_provenance_goes_to_the_meta_file_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "__baselines__" / "demo.json"
    merge_update(path, "demo", {"s": system()}, {"source": "demo.eval.yaml", **META})
    data = json.loads(path.read_text(encoding="utf-8"))
    assert set(data) == {VERSION_KEY, "eval", "source", "systems"}  # nothing that churns
    assert meta_path(path) == tmp_path / "__baselines__" / "demo.meta.json"
    meta = json.loads(meta_path(path).read_text(encoding="utf-8"))
    assert meta == {META_KEY: 1, "eval": "demo", **META}
    read = read_baseline(path)
    assert read is not None and read.meta == {"source": "demo.eval.yaml", **META}


def test_an_unchanged_update_rewrites_nothing(tmp_path: Path) -> None:
    """No churn: an update from a run that measured the same leaves both files byte for byte
    (the later run's time and commit are not written either)."""
    path = tmp_path / "__baselines__" / "demo.json"
    first = merge_update(path, "demo", {"s": system(), "t": system("f2")}, {"source": "d", **META})
    assert first.changed is True
    text, meta = path.read_bytes(), meta_path(path).read_bytes()
    later = {**META, "created": "2026-02-02T00:00:00Z", "git_commit": "0badc0de"}
    again = merge_update(path, "demo", {"s": system()}, {"source": "d", **later})
    assert again.changed is False
    assert path.read_bytes() == text and meta_path(path).read_bytes() == meta
    assert again.meta["git_commit"] == "f83efd3"  # what the file beside it says
    assert describe_written(path, again).endswith("KB, 2 systems; unchanged)")
    changed = merge_update(path, "demo", {"s": system("f3")}, {"source": "d", **later})
    assert changed.changed is True and path.read_bytes() != text
    assert json.loads(meta_path(path).read_text(encoding="utf-8"))["git_commit"] == "0badc0de"


def test_two_writes_of_the_same_run_are_byte_identical(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / "demo.json", tmp_path / "b" / "demo.json"
    write_baseline(one, Baseline("demo", {"s": system(), "t": system("f2")}, {**META}))
    reordered = {"t": system("f2"), "s": system()}
    write_baseline(two, Baseline("demo", reordered, {**META, "created": "later"}))
    assert one.read_bytes() == two.read_bytes()


def test_describe_written_gives_size_and_systems(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    baseline = Baseline("demo", {"a": system(), "b": system(), "c": system()})
    write_baseline(path, baseline)
    size = path.stat().st_size
    assert describe_written(path, baseline) == f"{path} ({size / 1000:.1f} KB, 3 systems)"


def test_a_file_with_provenance_inline_still_reads(tmp_path: Path) -> None:
    """Files written before the meta file keep created and git_commit inline."""
    path = tmp_path / "demo.json"
    document = {VERSION_KEY: 1, "eval": "demo", "source": "d.eval.yaml", **META}
    document["systems"] = {"s": {"fingerprint": "f1", "metrics": METRICS, "outcomes": OUTCOMES}}
    path.write_text(json.dumps(document, indent=1))
    read = read_baseline(path)
    assert read is not None
    assert read.meta == {"source": "d.eval.yaml", **META}
    assert read.systems["s"].metrics == METRICS and read.systems["s"].outcomes == OUTCOMES
    write_baseline(path, read)  # rewritten in the new layout, provenance moved beside it
    assert "created" not in json.loads(path.read_text(encoding="utf-8"))
    again = read_baseline(path)
    assert again is not None and again.meta == read.meta
    assert again.systems["s"].outcomes == OUTCOMES
    assert again.systems["s"].metrics == rounded(METRICS)


def _mean_table(rng: np.random.Generator, cases: int, shift: float) -> pd.DataFrame:
    """Outcomes of a ``mean`` reduction over 3 repeats: pass shares 0, 1/3, 2/3, 1."""
    rows = []
    for i in range(cases):
        for label, family in (("", ""), ("[typo#1]", "typo"), ("[typo#2]", "typo")):
            share = float(np.clip(rng.binomial(3, 0.8 - shift * (family != "")) / 3, 0, 1))
            rows.append((f"c{i:03d}", f"c{i:03d}{label}", family, share, "x", None))
    return pd.DataFrame(rows, columns=["case_id", "row_id", "family", "passed", "answer", "error"])


@pytest.mark.parametrize(
    "gate", ["accuracy drop <= 0.02", "flip_rate rise <= 0.03", "variant_accuracy drop <= 0.05"]
)
def test_rounding_changes_no_relative_verdict(tmp_path: Path, gate: str) -> None:
    """Relative gates test per-case outcomes, stored exactly; the rounded summary metrics
    only decide whether a gate is measured, which rounding keeps."""
    rng = np.random.default_rng(17)
    base_table, run_table = _mean_table(rng, 60, 0.0), _mean_table(rng, 60, 0.1)
    metrics = compute_metrics(base_table)
    outcomes = {
        row: [passed, answer]
        for row, passed, answer in zip(
            base_table["row_id"], base_table["passed"], base_table["answer"], strict=True
        )
    }
    path = tmp_path / "demo.json"
    write_baseline(path, Baseline("demo", {"s": SystemBaseline("f", metrics, outcomes)}))
    stored = read_baseline(path).systems["s"]  # type: ignore[union-attr]
    assert stored.metrics != metrics  # the summary metrics were rounded...
    assert stored.outcomes == outcomes  # ...the outcomes were not
    parsed = Gate.parse(gate)
    exact, after = compare(parsed, run_table, outcomes), compare(parsed, run_table, stored.outcomes)
    assert exact is not None and after is not None
    assert after.p_value == exact.p_value
    assert all(np.array_equal(a, b) for a, b in zip(after.sums, exact.sums, strict=True))
    now = compute_metrics(run_table)
    point, rounded_point = (
        parsed.evaluate(now, base, ErrorBudget()) for base in (metrics, stored.metrics)
    )
    assert ("delta" in point.details) == ("delta" in rounded_point.details)
    assert point.passed == rounded_point.passed


def test_the_committed_demo_baseline_is_in_the_reviewable_layout() -> None:
    """evals/__baselines__/sentiment.json was converted (read, then written) without a model
    run: writing what it reads gives the same bytes, and every outcome is one line."""
    read = read_baseline(DEMO)
    assert read is not None
    text = DEMO.read_text(encoding="utf-8")
    assert dumps_baseline(read.to_json()) == text
    assert read.meta["git_commit"] and read.meta["created"]  # from sentiment.meta.json
    lines = set(text.splitlines())
    for system_name, entry in read.systems.items():
        assert entry.metrics == rounded(entry.metrics), system_name
        for row, outcome in entry.outcomes.items():
            line = f"    {json.dumps(row)}: {json.dumps(outcome, separators=(', ', ': '))}"
            assert line in lines or line + "," in lines
    assert len(read.systems) == 3 and all(len(s.outcomes) > 500 for s in read.systems.values())
