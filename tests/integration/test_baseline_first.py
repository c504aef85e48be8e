"""A baseline that cannot be used (corrupt, or another eval's) fails before any model call, and
is never compared with (issue 14: bad input loses nothing and spends nothing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from brittle.cli import main

CALLS: list[str] = []


def counting(inputs: dict[str, Any]) -> str:
    """The system under test: right on every case, and it counts its calls."""
    CALLS.append(str(inputs["text"]))
    return "positive" if "good" in str(inputs["text"]) else "negative"


GOLDEN = [
    {"id": f"c{i}", "text": f"{'good' if i % 2 else 'bad'} day {i}", "expected": label}
    for i, label in enumerate(["negative", "positive"] * 4)
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "golden.jsonl").write_text("".join(json.dumps(row) + "\n" for row in GOLDEN))
    (tmp_path / "demo.eval.yaml").write_text(
        "name: demo\n"
        "golden: golden.jsonl\n"
        "systems:\n"
        f"  rules: {{kind: python, callable: '{__name__}:counting'}}\n"
        "checks: [exact]\n"
        "gates: ['accuracy drop <= 0.05']\n"
    )
    CALLS.clear()
    return tmp_path


def test_a_corrupt_baseline_fails_before_any_call(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "__baselines__").mkdir()
    (project / "__baselines__" / "demo.json").write_text('{"brittle_baseline_version": 1, "sy')
    code = main(["run", "demo.eval.yaml", "--history", "off"])
    out = capsys.readouterr()
    assert code != 0
    assert "baseline file is corrupt" in out.out + out.err
    assert CALLS == []  # nothing spent on a run that could not be compared


def test_another_evals_baseline_is_never_compared_with(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "demo.eval.yaml", "--update-baseline", "--history", "off"]) == 0
    written = json.loads((project / "__baselines__" / "demo.json").read_text())
    written["eval"] = "other"
    (project / "__baselines__" / "demo.json").write_text(json.dumps(written))
    CALLS.clear()
    capsys.readouterr()
    code = main(["run", "demo.eval.yaml", "--history", "off"])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code != 0
    assert "belongs to eval 'other'" in out
    assert CALLS == []
    assert "+0.000" not in out  # no delta against the rejected file
