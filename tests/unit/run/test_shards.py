"""Which shard holds a case (:mod:`brittle.run.shards`): stable, whole cases, unmoved by new
cases; the ``K/N`` option value."""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import pytest

from brittle.options import Shard, parse_shard
from brittle.run.shards import select_cases, shard_of
from brittle.spec.eval import load_eval_file

EVAL = """\
name: shards
golden: golden.jsonl
systems:
  echo: {kind: python, callable: "builtins:str"}
checks:
  - exact: {}
"""


def _spec(folder: Path, ids: list[str]) -> object:
    rows = [{"id": i, "text": f"text of {i}", "expected": i} for i in ids]
    (folder / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "shards.eval.yaml").write_text(EVAL)
    return load_eval_file(folder / "shards.eval.yaml")


def _shards(folder: Path, ids: list[str], n: int) -> dict[str, int]:
    held = {}
    for k in range(1, n + 1):
        spec = _spec(folder, ids)
        select_cases(spec, Shard(k, n))  # type: ignore[arg-type]
        for case in spec.cases:  # type: ignore[attr-defined]
            assert case.id not in held  # each case in one shard only
            held[case.id] = k
    return held


def test_adding_ten_cases_moves_no_existing_case(tmp_path: Path) -> None:
    ids = [f"case-{i:03d}" for i in range(40)]
    before = _shards(tmp_path, ids, 3)
    assert sorted(before) == ids and set(before.values()) == {1, 2, 3}
    added = [f"new-{i}" for i in range(10)]
    after = _shards(tmp_path, added[:5] + ids + added[5:], 3)  # before, among and after them
    assert len(after) == 50
    assert {case: after[case] for case in ids} == before


def test_a_shard_keeps_the_golden_order(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(30)]
    spec = _spec(tmp_path, ids)
    select_cases(spec, Shard(2, 4))  # type: ignore[arg-type]
    kept = [case.id for case in spec.cases]  # type: ignore[attr-defined]
    assert kept == [i for i in ids if shard_of(i, 4) == 2] and kept


def test_shard_of_is_a_stable_hash() -> None:
    # sha256, not Python's salted hash: the same in every process and on every machine
    assert [shard_of(f"c{i:02d}", 3) for i in range(1, 9)] == [
        shard_of(f"c{i:02d}", 3) for i in range(1, 9)
    ]
    assert shard_of("c01", 1) == 1
    digest = hashlib.sha256(b"c01").digest()
    assert shard_of("c01", 3) == int.from_bytes(digest[:8], "big") % 3 + 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", ""])
def test_a_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="K/N with 1 <= K <= N"):
        parse_shard(text)


def test_a_shard_reads_k_of_n() -> None:
    assert parse_shard(" 2/3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
