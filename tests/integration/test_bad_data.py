"""Bad data never crashes a run: broken golden files, enormous fields, thousands of columns,
hostile model outputs (markup, terminal escapes, megabytes), corrupt baselines; and model text is
escaped wherever it is rendered."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from brittle.redact import MASK, ScrubFilter, public_params, register, scrub
from brittle.sanitize import clip, for_html, for_markdown, for_terminal, strip_ansi

# pandas registers its Arrow extension types when its parquet support is first imported; do it
# here, not inside an in-process pytester run (which undoes the import but not the registration)
pd.DataFrame({"a": [1]}).to_parquet(io.BytesIO())

HOSTILE = (
    "<script>alert('pwned')</script> | not a cell | **bold** [link](javascript:x) "
    "\x1b[31mRED\x1b[0m\x1b]0;window title\x07\x1b[2J negative"
)
BIG_OUTPUT = "positive " + "A" * 3_000_000

SYSTEMS = f"""
BIG_OUTPUT = {BIG_OUTPUT[:9]!r} + "A" * 3_000_000
HOSTILE = {HOSTILE!r}


def stable(inputs):
    return inputs["hint"]


def hostile(inputs):
    if inputs["text"].startswith("case zero"):
        return HOSTILE  # wrong (expected positive): listed among the failing cases
    if inputs["text"].startswith("case one"):
        return BIG_OUTPUT
    return inputs["hint"]


def length(inputs):
    return "positive" if len(inputs.get("context", "")) > 1000 else "negative"
"""

SUITE = "name: typos\nversion: 1\nseed: 7\nperturbations:\n  - family: typo\n    n: 1\n"


def _project(pytester: pytest.Pytester, golden: str = "golden.jsonl") -> None:
    pytester.makeini(
        "[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\nbrittle_cache = off\n"
    )
    pytester.syspathinsert()
    pytester.makepyfile(badsys=SYSTEMS)
    (pytester.path / "suites").mkdir(exist_ok=True)
    (pytester.path / "suites" / "typos.yaml").write_text(SUITE)


def _eval(pytester: pytest.Pytester, system: str, golden: str, fields: str = "[text]") -> None:
    pytester.makefile(
        ".eval.yaml",
        demo=f"""
name: demo
golden: {golden}
perturb_fields: {fields}
systems:
  sys:
    kind: python
    callable: badsys:{system}
checks:
  - label: {{choices: [positive, negative]}}
suites: [suites/typos.yaml]
gates:
  - accuracy >= 0.5
""",
    )


def _rows(n: int) -> list[dict[str, str]]:
    words = ("zero", "one", "two", "three", "four", "five")
    return [
        {"id": f"c{i}", "text": f"case {words[i]} text", "hint": "positive", "expected": "positive"}
        for i in range(n)
    ]


def _clean(output: str) -> None:
    assert "Traceback" not in output
    assert "site-packages" not in output


# ----------------------------------------------------------------------------- golden files


@pytest.mark.parametrize(
    ("payload", "problem"),
    [
        (b'{"id": "c2", "text": "caf\xe9 latte", "expected": "positive"}\n', "not valid UTF-8"),
        (b'{"id": "c2", "text": "nul\x00byte", "expected": "positive"}\n', "NUL byte"),
    ],
    ids=["invalid-utf8", "nul-byte"],
)
def test_golden_with_invalid_bytes_is_a_clear_error(
    pytester: pytest.Pytester, payload: bytes, problem: str
) -> None:
    _project(pytester)
    good = "".join(json.dumps(r) + "\n" for r in _rows(1)).encode()
    (pytester.path / "golden.jsonl").write_bytes(good + payload)
    _eval(pytester, "stable", "golden.jsonl")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    assert "golden.jsonl:2" in out and problem in out and "fix:" in out
    _clean(out)


def test_enormous_field_runs(pytester: pytest.Pytester) -> None:
    _project(pytester)
    rows = _rows(3)
    for row in rows:
        row["context"] = "short"
    rows[0]["context"] = "lorem ipsum " * 440_000  # about 5 MB
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    _eval(pytester, "length", "golden.jsonl")
    result = pytester.runpytest("--brittle-cache=rw")
    result.assert_outcomes(failed=1)  # two of three cases are negative: accuracy 1/3
    _clean(result.stdout.str())
    table = pd.read_parquet(pytester.path / "reports" / "latest" / "results.parquet")
    assert len(table) == 6
    run_json = pytester.path / "reports" / "latest" / "run.json"
    assert run_json.stat().st_size < 1_000_000
    # the response cache hashes the 5 MB inputs into its key: a rerun answers from it
    again = pytester.runpytest("--brittle-cache=rw")
    again.stdout.fnmatch_lines(["*model calls: 0 made, 6 from the response cache*"])


def test_thousands_of_columns(pytester: pytest.Pytester) -> None:
    _project(pytester)
    extra = [f"col{i:04d}" for i in range(3000)]
    with (pytester.path / "golden.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "hint", "expected", *extra])
        for row in _rows(4):
            writer.writerow([*row.values(), *(f"v{i}" for i in range(len(extra)))])
    _eval(pytester, "stable", "golden.csv")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    _clean(result.stdout.str())
    table = pd.read_parquet(pytester.path / "reports" / "latest" / "results.parquet")
    assert len(table) == 8 and set(table["input"]) >= {"case zero text"}


# ----------------------------------------------------------------------------- model outputs


def test_hostile_and_huge_outputs_are_escaped_and_shortened_where_rendered(
    pytester: pytest.Pytester,
) -> None:
    _project(pytester)
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(4)))
    _eval(pytester, "hostile", "golden.jsonl")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    terminal = result.stdout.str() + result.stderr.str()
    _clean(terminal)
    assert "\x1b[31m" not in terminal and "\x1b]0;" not in terminal and "\x1b[2J" not in terminal
    assert "1 case(s) fail their checks: c0" in terminal

    report = pytester.path / "reports" / "latest"
    summary = (report / "summary.md").read_text()
    assert "<script>" not in summary and "\x1b" not in summary
    assert "&lt;script&gt;" in summary  # shown, as text
    assert "\\| not a cell" in summary  # a pipe cannot break the table
    assert len(summary) < 20_000
    assert "case c0 fails its checks" in summary

    run = json.loads((report / "run.json").read_text())
    failing = run["evals"][0]["systems"]["sys"]["failing_cases"]
    assert failing[0]["output"] == HOSTILE  # run.json keeps the text (JSON-escaped)
    longest = max(len(s) for s in _strings(run))
    assert longest < 5_000  # the 3 MB output is shortened in the record
    for page in report.glob("*.html"):
        assert "<script>alert(" not in page.read_text()

    table = pd.read_parquet(report / "results.parquet")
    outputs = set(table["output"])
    assert BIG_OUTPUT in outputs and HOSTILE in outputs  # the results table keeps every byte


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


# ----------------------------------------------------------------------------- baselines


DAMAGE = {
    "truncated mid-write": lambda text: text[: len(text) // 2],
    "zeroed blocks after a crash": lambda text: "\x00" * 512,
    "no systems": lambda text: json.dumps({"brittle_baseline_version": 1, "eval": "demo"}),
}


def test_corrupt_baseline_is_detected_with_the_fix(pytester: pytest.Pytester) -> None:
    _project(pytester)
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in _rows(3)))
    _eval(pytester, "stable", "golden.jsonl")
    pytester.runpytest("--brittle-update-baseline").assert_outcomes(passed=1)
    baseline = pytester.path / "__baselines__" / "demo.json"
    good = baseline.read_text()
    for name, damage in DAMAGE.items():
        baseline.write_text(damage(good))
        result = pytester.runpytest()
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        assert "__baselines__/demo.json" in out, name
        assert "fix:" in out and "--brittle-update-baseline" in out, name
        _clean(out)
    # the update is how it is repaired
    pytester.runpytest("--brittle-update-baseline").assert_outcomes(passed=1)
    assert json.loads(baseline.read_text())["systems"]["sys"]["metrics"]


def test_baselines_and_reports_are_written_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from brittle.stats.baseline import atomic_write_text

    target = tmp_path / "b.json"
    atomic_write_text(target, "old\n")

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]  # no temporary file left


# ----------------------------------------------------------------------------- helpers


def test_strip_ansi_and_controls() -> None:
    text = (
        "a\x1b[1;31mb\x1b[0m c\x1b]8;;http://x\x07link\x1b]8;;\x07 d\x07e\rf\x00g\u202eh"
        "\x9b2Ji\tj\nk"
    )
    assert strip_ansi(text) == "ab clink defghi\tj\nk"


def test_for_markdown_is_one_inert_line() -> None:
    out = for_markdown("<b>x</b> | y *z* `c`\n# h & [l](u)")
    assert "<" not in out and "\n" not in out
    assert out == "&lt;b&gt;x&lt;/b&gt; \\| y \\*z\\* \\`c\\` \\# h &amp; \\[l\\](u)"
    assert len(for_markdown("x" * 10_000, limit=50)) < 100


def test_for_html_and_terminal_and_clip() -> None:
    assert for_html('<img src=x onerror="y">') == "&lt;img src=x onerror=&quot;y&quot;&gt;"
    assert for_terminal("\x1b[2Jclear") == "clear"
    assert clip("abcdef", 3) == "abc… (3 more characters)"
    assert clip("abc", 3) == "abc"


def test_scrub_masks_environment_secrets_key_shapes_and_pairs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_API_KEY", "acme-0123456789")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false-but-long")  # not a secret's name
    text = (
        "key acme-0123456789, sk-proj-abcdefghijklmnop, Authorization: Bearer abc.def.ghijklmnop "
        "password=hunter2hunter2 AKIAABCDEFGHIJKLMNOP false-but-long"
    )
    assert scrub(text) == (
        f"key {MASK}, {MASK}, Authorization: {MASK} password={MASK} {MASK} false-but-long"
    )


def test_public_params_drop_credentials_and_register_them() -> None:
    params = {
        "api_key": "sk-secret-value-1",
        "api_base": "https://user:pw@example.com/v1?api-key=zzzzzzzz&x=1",
        "extra_headers": {"Authorization": "Bearer hhhhhhhhhhhhhh"},
        "temperature": 0,
        "max_tokens": 5,
    }
    public = public_params(params)
    assert public == {
        "api_base": "https://example.com/v1?api-key=[REDACTED]&x=1",
        "temperature": 0,
        "max_tokens": 5,
    }
    assert scrub("echo sk-secret-value-1 hhhhhhhhhhhhhh") == f"echo {MASK} {MASK}"


def test_log_records_are_scrubbed() -> None:
    register("registered-secret-42")
    record = logging.LogRecord(
        "LiteLLM", logging.DEBUG, "x", 1, "headers %s", ("registered-secret-42",), None
    )
    assert ScrubFilter().filter(record)
    assert record.getMessage() == f"headers {MASK}"
