"""No secret reaches an artifact: a model that echoes its API key (as sent, upper-cased,
lower-cased, case-swapped) and a secret-named variable's value in a golden input leave no trace,
in any case, in the response cache, the baseline, the history, the report folder, the JUnit XML
or the terminal, on a fresh run and on a run answered from the cache."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from brittle.redact import MASK
from tests.support.stub_server import start_in_thread

#: the API key: shaped like no well-known key format, so only its variable's name protects it
KEY = "brittle-Echo-Key-7f3a9c2e1d5b"
#: a secret-named variable (``*_PASS``) whose value a golden input quotes
PASSWORD = "Input-Pass-5e6f7a8b9c"
#: the user's own inputs, which hold the password on purpose
INPUTS = {"golden.jsonl", "secrets.eval.yaml", "typos.yaml", "checks.py"}


def _project(folder: Path, base_url: str) -> None:
    """An eval whose model echoes its key after the prompt's first word; the check passes when
    that word is the expected label and gives no answer (the engine then keeps the lower-cased
    output as the answer: what the baseline and the history store). Typos in the first word
    flip cases, so flipped cases (with their texts) reach the history and the HTML page."""
    rows = []
    for i in range(12):
        label = ("positive", "negative")[i % 2]
        text = f"{label} review {i} of the product"
        if i == 0:
            text += f" (the admin password is {PASSWORD})"
        rows.append({"id": f"r{i:02d}", "text": text, "expected": label})
    (folder / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "suites").mkdir()
    (folder / "suites" / "typos.yaml").write_text(
        "name: typos\nversion: 1\nseed: 3\nperturbations:\n"
        "  - family: typo\n    n: 2\n    params: {rate: 0.4}\n"
    )
    (folder / "checks.py").write_text(
        "def first_word(output, case):\n    return output.split()[0] == case.expected\n"
    )
    (folder / "secrets.eval.yaml").write_text(
        "name: secrets\n"
        "golden: golden.jsonl\n"
        "perturb_fields: [text]\n"
        "systems:\n"
        "  echo:\n"
        "    kind: prompt\n"
        "    model: openai/echo-key\n"
        '    template: "{{ text }}"\n'
        f'    params: {{api_base: "{base_url}", temperature: 0}}\n'
        "checks:\n"
        '  - python: {function: "checks.py:first_word"}\n'
        "suites: [suites/typos.yaml]\n"
        "gates:\n"
        "  - accuracy >= 0.1\n"
        "  - flip_rate <= 0.99\n"
    )


def _sqlite_text(path: Path) -> str:
    """Every value of every table, read through SQLite (pages still in the WAL included)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return "\n".join(conn.iterdump())


def _artifacts(root: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of every file under ``root`` but the user's inputs: raw bytes for all,
    and decoded contents where the bytes are compressed (parquet) or may lag (SQLite)."""
    for file in sorted(root.rglob("*")):
        if not file.is_file() or file.name in INPUTS:
            continue
        yield str(file), file.read_bytes().decode("utf-8", "replace")
        if file.suffix == ".parquet":
            table = pd.read_parquet(file)
            yield f"{file} (values)", table.to_csv()
        elif file.suffix == ".sqlite":
            yield f"{file} (values)", _sqlite_text(file)


def _leaks(texts: dict[str, str]) -> dict[str, list[str]]:
    """For each secret, the artifacts holding it in any letter case."""
    return {
        secret: [name for name, text in texts.items() if secret.lower() in text.lower()]
        for secret in (KEY, PASSWORD)
    }


def _run_twice(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MY_SERVICE_PASS", PASSWORD)
    monkeypatch.delenv("BRITTLE_CACHE", raising=False)
    monkeypatch.delenv("BRITTLE_RESPONSE_CACHE_DIR", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    texts: dict[str, str] = {}
    with start_in_thread(latency=0.0) as stub:
        _project(pytester.path, stub.base_url)
        # fresh calls (an empty cache), writing the baseline; then answered from the cache
        first = pytester.runpytest("--brittle-update-baseline", "--junitxml=junit-fresh.xml")
        calls = stub.stats.requests
        second = pytester.runpytest("--junitxml=junit-cached.xml")
        assert stub.stats.requests == calls  # the second run made no call
    assert calls >= 36  # 12 cases x (1 + 2 typo variants)
    for name, result in (("fresh", first), ("cached", second)):
        texts[f"terminal ({name})"] = "\n".join([*result.outlines, *result.errlines])
    texts.update(_artifacts(pytester.path))
    return texts


def test_no_artifact_holds_an_echoed_key_in_any_case(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = _run_twice(pytester, monkeypatch)
    names = "\n".join(texts)
    for expected in (
        "cache.sqlite",
        "history.sqlite",
        "__baselines__",
        "index.html",
        "results.parquet",
        "summary.md",
        "summary.json",
        "run.json",
        "junit-fresh.xml",
        "junit-cached.xml",
    ):
        assert expected in names, f"no {expected} was written: {sorted(texts)}"
    assert _leaks(texts) == {KEY: [], PASSWORD: []}

    # the texts did reach the artifacts, masked: the grep above looked where they are
    rows = pd.read_parquet(next(pytester.path.glob("reports/*/results.parquet")))
    assert rows["output"].str.contains(f"my key is {MASK}; loudly {MASK}", regex=False).all()
    assert set(rows["notes"]) == {"secrets masked in the output"}
    assert rows["input"].str.contains(MASK, regex=False).any()  # the golden input's password
    baseline = "\n".join(p.read_text() for p in pytester.path.rglob("__baselines__/*.json"))
    assert f"my key is {MASK.lower()}" in baseline  # the answers, lower-cased
    history = texts[next(n for n in texts if n.endswith("history.sqlite (values)"))]
    assert f"my key is {MASK.lower()}" in history  # case_results.answer
    html = next(text for name, text in texts.items() if name.endswith("index.html"))
    assert "my key is" in html  # flipped cases are shown with their outputs


def test_the_scan_finds_the_key_when_the_gateway_does_not_mask_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scan above can fail: with the gateway's edge masking nothing, the key leaks (the
    baseline and the history keep it, lower-cased), as it did before the edge existed."""
    import brittle.gateway.core as core

    monkeypatch.setattr(core, "at_edge", lambda result: result)
    texts = _run_twice(pytester, monkeypatch)
    leaks = _leaks(texts)
    assert any("__baselines__" in name for name in leaks[KEY]), leaks
    assert any("history.sqlite" in name for name in leaks[KEY]), leaks
