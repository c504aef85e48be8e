"""The HTML report: escaping, self-containment, plots, and a real headless Chromium.

The browser test drives the distribution's Chromium (``/usr/bin/chromium``) with Playwright's
Python package; it skips when either is missing, except under CI (``CI`` set), where it fails:
.ci/run installs both.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from brittle.report.history import FlippedCase, FlipSet, TrendPoint
from brittle.report.html.cases import MAX_CASES_SHOWN
from brittle.report.html.comparison import reading
from brittle.report.html.page import ReportData, render_report
from brittle.report.html.text import word_diff
from brittle.report.summary_json import SUMMARY_SCHEMA_VERSION
from tests.support.sessions import finish
from tests.support.synthetic_runs import (
    FAMILIES,
    IMG_PAYLOAD,
    SCRIPT_PAYLOAD,
    SYSTEMS,
    has_class,
    start_tags,
    synthetic_session,
)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of the third of three synthetic nightly runs (so trends have 3 points)."""
    folder = tmp_path_factory.mktemp("html")
    for night in range(3):
        finish(synthetic_session(folder, run_index=night, cases=30))
    return (folder / "reports" / "latest").resolve()


def test_report_files_are_written(report: Path) -> None:
    assert (report / "index.html").is_file()
    assert (report / "summary.json").is_file()
    assert (report.parent / "history.sqlite").is_file()


def test_model_text_is_escaped(report: Path) -> None:
    document = (report / "index.html").read_text()
    assert html_escaped(SCRIPT_PAYLOAD) in document
    assert html_escaped(IMG_PAYLOAD) in document
    tags = [tag for tag, _ in start_tags(document)]
    assert tags.count("script") == 1  # the report's own
    assert "img" not in tags


def html_escaped(text: str) -> str:
    import html

    return html.escape(text, quote=True)


def test_report_is_self_contained(report: Path) -> None:
    document = (report / "index.html").read_text()
    for tag, attrs in start_tags(document):
        for name in ("src", "href", "action", "srcset", "poster", "data"):
            assert attrs.get(name) is None, f"<{tag} {name}=...> would load something"
    assert not re.search(r"url\(", document), "CSS must not load anything"
    assert "@import" not in document
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', document)
    assert csp is not None and "default-src 'none'" in csp.group(1)
    script = re.search(r"<script>(.*?)</script>", document, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp.group(1)


def test_plots_carry_the_metrics(report: Path) -> None:
    document = (report / "index.html").read_text()
    run = json.loads((report / "run.json").read_text())
    systems = run["evals"][0]["systems"]
    tags = start_tags(document)
    cells = {
        (a["data-family"], a["data-system"]): a["data-value"]
        for t, a in tags
        if has_class(a, "cell")
    }
    assert set(cells) == {(f, s) for f in FAMILIES for s in SYSTEMS}
    for (family, system), value in cells.items():
        assert value is not None
        expected = systems[system]["metrics"]["families"][family]["flip_rate"]
        assert float(value) == pytest.approx(expected, abs=1e-12)
    marks = [a for t, a in tags if t == "circle" and has_class(a, "mark")]
    assert len(marks) == 2 * len(SYSTEMS)  # accuracy and flip rate per system
    whiskers = [a for t, a in tags if has_class(a, "whisker")]
    assert len(whiskers) == 2 * len(SYSTEMS)  # an interval per dot
    points = [a for t, a in tags if t == "circle" and has_class(a, "point")]
    assert len(points) == 2 * 3 * len(SYSTEMS)  # 2 metrics x 3 runs x systems


def test_flipped_cases_show_both_texts_with_differences(report: Path) -> None:
    document = (report / "index.html").read_text()
    assert "r00000[typo-light#1]" in document
    assert "<del>" in document and "<ins>" in document
    assert "pass → FAIL" in document


def test_word_diff_marks_changed_words_and_escapes() -> None:
    before, after = word_diff("the <b>soup</b> was cold", "the <b>suop</b> was cold")
    assert before == "the &lt;b&gt;<del>soup</del>&lt;/b&gt; was cold"
    assert after == "the &lt;b&gt;<ins>suop</ins>&lt;/b&gt; was cold"
    same, same_too = word_diff("no change", "no change")
    assert "<del>" not in same and "<ins>" not in same_too


def test_word_diff_stays_fast_on_long_repetitive_texts() -> None:
    import time

    start = time.perf_counter()
    before, after = word_diff("a " * 2000, "a " * 100 + "b " + "a " * 1899)
    assert time.perf_counter() - start < 1.0
    assert before.startswith("a " * 100 + "<del>") and after.startswith("a " * 100 + "<ins>b ")


def _system(kind: str, accuracy: float, flip: float, cost: float, rows: int = 100) -> dict:
    return {
        "kind": kind,
        "rows": rows,
        "metrics": {
            "overall": {
                "accuracy": accuracy,
                "flip_rate": flip,
                "cases": 50,
                "pairs": 400,
                "cost": cost,
                "prompt_tokens": 300 * rows,
                "completion_tokens": 2 * rows,
                "latency_p50_s": 0.05,
            },
            "families": {},
        },
    }


def test_reading_names_the_steadier_system_and_its_cost() -> None:
    text = reading(
        {
            "few-shot": _system("prompt", 0.85, 0.12, 0.50),
            "zero-shot": _system("prompt", 0.80, 0.20, 0.10),
            "lora": _system("model", 0.90, 0.03, 0.20),
        }
    )
    assert "lora (fine-tuned model) is steadier than few-shot (prompt)" in text
    assert "flip rate 0.030 against 0.120" in text
    assert "costs $2.00 against $5.00" in text


def test_reading_compares_the_prompt_worth_shipping_not_a_constant_answerer() -> None:
    constant = _system("prompt", 0.50, 0.0, 0.10)  # "positive" to every review: never flips
    constant["metrics"]["overall"]["variant_accuracy"] = 0.50
    few_shot = _system("prompt", 0.87, 0.18, 0.50)
    few_shot["metrics"]["overall"]["variant_accuracy"] = 0.76
    lora = _system("model", 0.94, 0.075, 0.20)
    lora["metrics"]["overall"]["variant_accuracy"] = 0.90
    text = reading({"zero-shot": constant, "few-shot": few_shot, "lora": lora})
    assert text.startswith("The best fine-tuned model and the best prompt")
    assert "lora (fine-tuned model) is steadier than few-shot (prompt)" in text
    assert "lora is the more accurate (0.940 against 0.870)" in text
    assert "zero-shot" not in text


def test_reading_says_when_intervals_overlap() -> None:
    a = _system("prompt", 0.85, 0.10, 0.1)
    b = _system("model", 0.86, 0.09, 0.1)
    a["metrics"]["overall"]["ci"] = {"flip_rate": [0.05, 0.15]}
    b["metrics"]["overall"]["ci"] = {"flip_rate": [0.04, 0.14]}
    assert "intervals overlap" in reading({"a": a, "b": b})


def _big_data(systems: int, flips_per_system: int) -> ReportData:
    record_systems = {}
    flip_sets = []
    for s in range(systems):
        name = f"sys{s}"
        record_systems[name] = {
            "kind": "prompt",
            "rows": 100_000 // systems,
            "metrics": {
                "overall": {"accuracy": 0.9, "flip_rate": 0.1, "cases": 1000, "pairs": 9000},
                "families": {f: {"flip_rate": 0.1 + 0.01 * i} for i, f in enumerate(FAMILIES)},
            },
            "verdicts": [],
            "failing_cases": [{"case_id": f"c{i}", "output": "x" * 5000} for i in range(200)],
        }
        cases = tuple(
            FlippedCase(
                case_id=f"c{i}",
                variant_id=f"c{i}[typo#1]",
                family="typo",
                original_passed=True,
                variant_passed=False,
                original_input="word " * 2000,
                variant_input="wrod " * 2000,
                original_output="out " * 2000,
                variant_output="uot " * 2000,
                original_answer="a",
                variant_answer="b",
            )
            for i in range(200)
        )
        flip_sets.append(FlipSet("big", name, False, flips_per_system, cases))
    record = {"run_id": "r", "evals": [{"name": "big", "systems": record_systems}]}
    trends = {
        "big": [
            TrendPoint(f"run{i}", "2026-01-01", f"sys{s}", {"accuracy": 0.9, "flip_rate": 0.1})
            for i in range(30)
            for s in range(systems)
        ]
    }
    return ReportData(record, flip_sets, trends, "history.sqlite")


def test_case_tables_are_capped_but_metrics_are_not() -> None:
    document = render_report(_big_data(systems=4, flips_per_system=25_000))
    assert len(document.encode()) <= 5_000_000
    tags = start_tags(document)
    assert sum(1 for t, a in tags if t == "tr" and a.get("data-family") == "typo") == (
        4 * MAX_CASES_SHOWN
    )
    assert f"25000 flipped (no baseline to compare with); showing the first {MAX_CASES_SHOWN}" in (
        document
    )
    assert sum(1 for _, a in tags if has_class(a, "cell")) == 4 * len(FAMILIES)
    assert sum(1 for t, a in tags if t == "circle" and has_class(a, "point")) == 2 * 30 * 4


def test_summary_json_schema(report: Path) -> None:
    summary = json.loads((report / "summary.json").read_text())
    assert summary["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert set(summary) >= {
        "schema_version",
        "run_id",
        "status",
        "created",
        "finished",
        "git",
        "brittle_version",
        "gates",
        "files",
        "history",
        "evals",
    }
    assert summary["status"] == "failed"  # zero-shot's typo flip rate is over 0.15
    assert summary["files"]["html"] == "index.html"
    ev = summary["evals"][0]
    assert ev["families"] == sorted(FAMILIES)
    by_name = {s["name"]: s for s in ev["systems"]}
    assert set(by_name) == set(SYSTEMS)
    lora = by_name["lora"]
    assert set(lora) >= {
        "name",
        "kind",
        "fingerprint",
        "fingerprint_changed",
        "rows",
        "status",
        "metrics",
        "intervals",
        "baseline",
        "families",
        "gates",
        "flips",
        "newly_flipped",
    }
    assert lora["kind"] == "model" and lora["status"] == "passed"
    assert set(lora["metrics"]) >= {"accuracy", "flip_rate", "pdr", "cost_per_1k_calls"}
    assert {g["status"] for g in by_name["zero-shot"]["gates"]} <= {"passed", "failed", "skipped"}
    assert summary["gates"]["failed"] == sum(
        g["status"] == "failed" for s in ev["systems"] for g in s["gates"]
    )


def test_step_summary_is_appended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "step-summary.md"
    target.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(target))
    finish(synthetic_session(tmp_path, cases=6, variants=1, intervals=False))
    text = target.read_text()
    assert text.startswith("earlier step\n")
    assert "# brittle run" in text and "| lora |" in text


# --- in a real browser ---------------------------------------------------------------------------


def _browser_or_skip() -> Any:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None  # type: ignore[assignment]
    missing = []
    if chromium is None:
        missing.append("chromium (apt-get install chromium)")
    if sync_playwright is None:
        missing.append("playwright's Python package (pip install playwright)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("CI"):
            pytest.fail(message + "; .ci/run installs them")
        pytest.skip(message)
    return chromium, sync_playwright


def test_report_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    chromium, sync_playwright = _browser_or_skip()
    console: list[tuple[str, str]] = []
    page_errors: list[str] = []
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a new, empty profile
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: console.append((m.type, m.text)))
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

            def route(r: Any) -> None:
                requests.append(r.request.url)
                if r.request.url.startswith("file://"):
                    r.continue_()
                else:
                    r.abort()

            page.route("**/*", route)
            page.goto((report / "index.html").as_uri(), wait_until="load")
            page.wait_for_function("document.documentElement.dataset.ready === '1'")
            plots = page.evaluate(
                """() => Array.from(document.querySelectorAll('svg.plot')).map(svg => {
                    const box = svg.getBoundingClientRect();
                    const marks = svg.querySelectorAll('circle, rect, polyline, line, path');
                    const drawn = Array.from(marks).filter(m => {
                        const b = m.getBoundingClientRect();
                        return b.width > 0 || b.height > 0;
                    });
                    return {cls: svg.getAttribute('class'), w: box.width, h: box.height,
                            marks: marks.length, drawn: drawn.length};
                })"""
            )
            body_text = page.inner_text("body")
            scripts = page.evaluate("document.scripts.length")
            images = page.evaluate("document.images.length")
            rows_before = page.locator("table.flips tbody tr:not(.hidden)").count()
            page.fill("input.filter", "r00000[typo-light#1]")
            rows_filtered = page.locator("table.flips tbody tr:not(.hidden)").count()
            page.wait_for_timeout(100)
        finally:
            browser.close()
    errors = [text for kind, text in console if kind in ("error", "warning")]
    assert not errors, f"console errors: {errors}"
    assert not page_errors, f"page errors: {page_errors}"
    assert not dialogs, "a model output ran as a script"
    assert requests == [(report / "index.html").as_uri()], f"external requests: {requests}"
    assert {p["cls"].split()[1] for p in plots} == {"intervals", "heat", "trend"}
    for plot in plots:
        assert plot["w"] > 0 and plot["h"] > 0 and plot["drawn"] > 0, plot
    assert SCRIPT_PAYLOAD in body_text
    assert IMG_PAYLOAD in body_text
    assert scripts == 1 and images == 0
    assert 0 < rows_filtered < rows_before
