"""Hostile model output cannot bloat a run's artifacts: a megabyte answer is clipped wherever
answers are stored or shown (baseline, history, HTML, summaries), results.parquet keeps it whole,
and comparisons of clipped answers still tell different answers apart."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from tests.support.stubproject import FAKE_KEY, start_in_thread

#: long words (no whitespace; the stub answers the first word of the prompt): 1 MB, and 200 KB
#: that upper case changes only in its last five characters, far past any excerpt
BIG = {"r2": "lorem" * 200_000, "r3": "12345" * 39_999 + "ipsum"}
SHORT = {"r2": "lorem", "r3": "ipsum"}


def _project(
    folder: Path, name: str, base_url: str, words: dict[str, str], *, gates: str = ""
) -> Path:
    """An eval whose system answers each prompt's first word; rows r2 and r3 start with
    ``words``. The casing suite upper-cases the text, so every variant fails its exact check:
    each case flips, and the flips of r2 and r3 carry the long answers on both sides."""
    rows = [
        {"id": "r0", "text": "alpha is the word", "expected": "alpha"},
        {"id": "r1", "text": "beta is the word", "expected": "beta"},
        *(
            {"id": row, "text": f"{word} is the word", "expected": word}
            for row, word in words.items()
        ),
    ]
    (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "suites").mkdir(exist_ok=True)
    (folder / "suites" / "upper.yaml").write_text(
        "name: upper\nversion: 1\nseed: 1\nperturbations:\n"
        "  - family: casing\n    n: 1\n    params: {mode: upper}\n"
    )
    path = folder / f"{name}.eval.yaml"
    path.write_text(
        f"name: {name}\n"
        f"golden: {name}.jsonl\n"
        "perturb_fields: [text]\n"
        "systems:\n"
        "  echo:\n"
        "    kind: prompt\n"
        "    model: openai/stub\n"
        '    template: "{{ text }}"\n'
        f'    params: {{api_base: "{base_url}", temperature: 0}}\n'
        "checks:\n  - exact\n"
        "suites: [suites/upper.yaml]\n"
        f"gates:\n  - accuracy >= 0.9\n{gates}"
    )
    return path


def _sizes(root: Path, name: str) -> dict[str, int]:
    report = root / f"reports-{name}"
    return {
        "baseline": (root / "__baselines__" / f"{name}.json").stat().st_size,
        "html": (report / "latest" / "index.html").stat().st_size,
        "history": (report / "history.sqlite").stat().st_size,
        "run.json": (report / "latest" / "run.json").stat().st_size,
        "summary.md": (report / "latest" / "summary.md").stat().st_size,
        "summary.json": (report / "latest" / "summary.json").stat().st_size,
    }


def test_megabyte_answers_are_clipped_in_every_artifact_but_the_results_table(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Acceptance (issue 14): a system answering 1 MB and 200 KB on two rows, each a flip. Against
    the same run with short answers, the baseline grows by less than 10 KB, index.html by less
    than 20 KB and the history by less than 50 KB; results.parquet holds every answer whole. A
    baseline written before clipping (whole answers) still reads and compares."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    with start_in_thread(latency=0.0) as stub:
        for name, words in (("short", SHORT), ("big", BIG)):
            _project(pytester.path, name, stub.base_url, words)
            result = pytester.runpytest(
                f"{name}.eval.yaml",
                "--brittle-update-baseline",
                "--brittle-report-dir",
                f"reports-{name}",
            )
            result.assert_outcomes(passed=1)
        short, big = _sizes(pytester.path, "short"), _sizes(pytester.path, "big")
        growth = {key: big[key] - short[key] for key in short}
        print("growth (bytes):", growth)
        assert growth["baseline"] < 10_000, growth
        assert growth["html"] < 20_000, growth
        assert growth["history"] < 50_000, growth
        for key in ("run.json", "summary.md", "summary.json"):
            assert growth[key] < 10_000, growth

        latest = pytester.path / "reports-big" / "latest"
        table = pd.read_parquet(latest / "results.parquet")
        answers = dict(zip(table["row_id"], table["answer"], strict=True))
        assert answers["r2"] == BIG["r2"] and answers["r3"] == BIG["r3"]  # kept whole
        assert answers["r2[casing#1]"] == BIG["r2"].upper()
        assert table["passed"].sum() == 4  # the originals pass, every upper-cased variant fails

        # the page shows no text longer than its excerpts (1,500 characters; answers 300)
        page = (latest / "index.html").read_text()
        assert "lorem" * 300 in page and "lorem" * 310 not in page
        assert "LOREM" * 60 in page and "LOREM" * 310 not in page
        record = json.loads((latest / "run.json").read_text())
        flips = record["evals"][0]["systems"]["echo"]["flips"]
        assert len(flips) == 4
        assert max(len(f["variant_answer"]) for f in flips) < 400

        # the stored answers: clipped, with the full length and a hash that tells them apart
        base_file = pytester.path / "__baselines__" / "big.json"
        stored = json.loads(base_file.read_text())
        outcomes = stored["systems"]["echo"]["outcomes"]
        clipped = outcomes["r2"][1]
        assert clipped.startswith("lorem" * 100) and "1,000,000 characters" in clipped
        assert len(clipped) < 2_100
        assert outcomes["r0"][1] == "alpha"  # short answers are kept as they are
        assert outcomes["r2"][1] != outcomes["r2[casing#1]"][1] != outcomes["r3"][1]
        # r3's answers differ past the excerpt only: their notes tell them apart
        r3, r3_upper = outcomes["r3"][1], outcomes["r3[casing#1]"][1]
        assert r3[:2000] == r3_upper[:2000] and r3 != r3_upper
        with sqlite3.connect(pytester.path / "reports-big" / "history.sqlite") as db:
            longest = db.execute("SELECT max(length(answer)) FROM case_results").fetchone()[0]
            texts = db.execute(
                "SELECT max(length(original_input)), max(length(variant_output)), "
                "max(length(original_answer)), count(*) FROM flipped_cases"
            ).fetchone()
        assert longest < 2_100 and max(texts[:3]) < 2_100 and texts[3] == 4

        # a baseline written before clipping holds the whole answers: it reads and compares
        for row, entry in outcomes.items():
            entry[1] = answers[row]
        base_file.write_text(json.dumps(stored))
        _project(
            pytester.path,
            "big",
            stub.base_url,
            BIG,
            gates="  - agreement drop <= 0\n  - flip_rate rise <= 0\n",
        )
        result = pytester.runpytest("big.eval.yaml", "--brittle-report-dir", "reports-big")
    result.assert_outcomes(passed=3)
    verdicts = json.loads((latest / "run.json").read_text())["evals"][0]["systems"]["echo"]
    assert {v["gate"]: (v["now"], v["baseline"]) for v in verdicts["verdicts"]} == {
        "accuracy >= 0.9": (1.0, None),
        "agreement drop <= 0": (0.0, 0.0),
        "flip_rate rise <= 0": (1.0, 1.0),
    }
