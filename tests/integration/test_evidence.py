"""Failing gates show their evidence (issue 17): the wrong cases of an absolute accuracy gate,
the cases that got worse for a relative one (with the baseline's answer), the flipped variants of
a flip-rate gate; and the per-label, confusion and per-tag breakdowns in every report.

The project is a ticket router over 12 hand-written tickets whose numbers are worked out by hand
below: the system answers each ticket's ``hint`` (wrong on c02, c07, c08, c12), answers ``bug``
for an upper-cased account ticket (c09-c11 flip under the casing suite), and in ``worse`` mode
(mode.txt) gets c03, c05 and c10 wrong as well.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest

TICKETS = [
    ("c01", "I was charged twice for my plan this month", "billing", "billing", ["web", "vip"]),
    ("c02", "Refund still missing after ten days", "billing", "bug", ["web", "vip"]),
    ("c03", "Invoice shows the wrong amount", "billing", "billing", ["web"]),
    ("c04", "Card declined at checkout", "billing", "billing", ["web"]),
    ("c05", "The app crashes when I upload a photo", "bug", "bug", ["web"]),
    ("c06", "Export button does nothing", "bug", "bug", ["web"]),
    ("c07", "Page freezes after login", "bug", "billing", ["phone"]),
    ("c08", "Search returns blank results", "bug", "no idea", ["phone"]),
    ("c09", "Cannot reset my password", "account", "account", ["phone"]),
    ("c10", "Please change my email address", "account", "account", ["phone"]),
    ("c11", "Locked out after two attempts", "account", "account", ["phone"]),
    ("c12", "Delete my profile please", "account", "bug", ["phone"]),
]

ROUTER = """
import pathlib

WORSE = {"c03": "bug", "c05": "billing", "c10": "bug"}


def router(inputs):
    mode = pathlib.Path("mode.txt")
    if mode.exists() and mode.read_text().strip() == "worse" and inputs["ref"] in WORSE:
        return "Route: " + WORSE[inputs["ref"]]
    if inputs["text"].isupper() and inputs["hint"] == "account":
        return "Route: bug"
    return "Route: " + inputs["hint"]
"""

CASING = (
    "name: shout\nversion: 1\nseed: 3\nperturbations:\n"
    "  - family: casing\n    n: 1\n    params: {mode: upper}\n"
)


def _eval(gates: list[str], extra: str = "") -> str:
    return (
        "name: tickets\ngolden: golden.jsonl\nperturb_fields: [text]\n"
        "systems:\n  router:\n    kind: python\n    callable: routermod:router\n"
        "checks:\n  - label: {choices: [billing, bug, account]}\n"
        "suites:\n  - suites/shout.yaml\n"
        "gates:\n" + "".join(f"  - {g}\n" for g in gates) + extra
    )


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("BRITTLE_CACHE", "off")  # the system reads mode.txt: never replay it
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    pytester.makeini("[pytest]\naddopts = -p no:deepeval -p no:cacheprovider\n")
    pytester.syspathinsert()
    pytester.makepyfile(routermod=ROUTER)
    rows = [
        {"id": i, "ref": i, "text": t, "hint": hint, "expected": want, "tags": tags}
        for i, t, want, hint, tags in TICKETS
    ]
    (pytester.path / "golden.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (pytester.path / "suites").mkdir()
    (pytester.path / "suites" / "shout.yaml").write_text(CASING)
    return pytester


def _latest(project: pytest.Pytester, name: str) -> Path:
    return project.path / "reports" / "latest" / name


def _system(project: pytest.Pytester) -> dict[str, Any]:
    summary = json.loads(_latest(project, "summary.json").read_text())
    system: dict[str, Any] = summary["evals"][0]["systems"][0]
    return system


def test_an_accuracy_gate_names_its_wrong_cases_with_input_expected_and_answer(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", tickets=_eval(["accuracy >= 0.9"]))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "4 of 12 originals wrong:" in out
    result.stdout.fnmatch_lines(
        [
            "*c02: input 'Refund still missing after ten days', expected 'billing', answer 'bug'",
            "*c07: input 'Page freezes after login', expected 'bug', answer 'billing'",
            "*c08: input 'Search returns blank results', expected 'bug', answer 'route: no idea'",
            "*c12: input 'Delete my profile please', expected 'account', answer 'bug'",
        ]
    )
    assert "flipped variant" not in out  # the accuracy of originals: its evidence is wrong cases

    gate = _system(project)["gates"][0]
    assert gate["evidence"]["kind"] == "wrong" and gate["evidence"]["total"] == 4
    assert [c["row_id"] for c in gate["evidence"]["cases"]] == ["c02", "c07", "c08", "c12"]
    summary = _latest(project, "summary.md").read_text()
    assert "`c02`: input: Refund still missing after ten days; expected: billing; answer: bug" in (
        summary
    )
    page = html.unescape(_latest(project, "index.html").read_text())
    evidence = page[page.index("Why gates failed") :]
    assert "accuracy >= 0.9</code>: 4 of 12 originals wrong" in evidence
    row = '<td><code>c07</code></td><td><span class="text">Page freezes after login</span>'
    assert row + "</td><td>bug</td><td>billing</td></tr>" in evidence
    failing = page[page.index("Originals that fail their checks") :]  # shows inputs too
    assert (
        '<td><code>c02</code></td><td><span class="text">Refund still missing after ten days'
        '</span></td><td>billing</td><td><span class="text">Route: bug</span>' in failing
    )


def test_a_relative_gate_names_the_cases_that_got_worse_with_both_answers(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", tickets=_eval(["accuracy drop <= 0"], "alpha: 0.2\n"))
    project.runpytest("--brittle-update-baseline").assert_outcomes(skipped=1)  # not checked
    (project.path / "mode.txt").write_text("worse")
    result = project.runpytest()
    result.assert_outcomes(failed=1)  # 3 of 3 discordant cases worse: p = 1/8 < 0.2
    result.stdout.fnmatch_lines(
        [
            "*3 got worse since the baseline:",
            "*c03: input 'Invoice shows the wrong amount', expected 'billing': baseline answer "
            "'billing' (passed) -> now 'bug' (failed)",
            "*c05: input 'The app crashes when I upload a photo', expected 'bug': baseline "
            "answer 'bug' (passed) -> now 'billing' (failed)",
            "*c10: input 'Please change my email address', expected 'account': baseline answer "
            "'account' (passed) -> now 'bug' (failed)",
        ]
    )
    evidence = _system(project)["gates"][0]["evidence"]
    assert evidence["kind"] == "worse"
    assert [(c["row_id"], c["baseline_answer"], c["answer"]) for c in evidence["cases"]] == [
        ("c03", "billing", "bug"),
        ("c05", "bug", "billing"),
        ("c10", "account", "bug"),
    ]
    summary = _latest(project, "summary.md").read_text()
    assert "`c05`: input: The app crashes when I upload a photo; expected: bug; baseline: bug" in (
        summary
    )


def test_a_flip_rate_gate_names_the_flipped_variants_with_both_inputs(
    project: pytest.Pytester,
) -> None:
    project.makefile(".eval.yaml", tickets=_eval(["flip_rate <= 0.1"]))
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*3 flipped variant(s) (families: casing); the worst:",
            "*c09[[]casing#1] (pass→FAIL): input 'CANNOT RESET MY PASSWORD' -> answer 'bug'; "
            "original input 'Cannot reset my password' -> answer 'account'",
        ]
    )


def test_summary_json_breaks_accuracy_down_by_label_and_tag(project: pytest.Pytester) -> None:
    project.makefile(".eval.yaml", tickets=_eval(["accuracy >= 0"]))
    project.runpytest().assert_outcomes(passed=1)
    system = _system(project)
    assert system["by_label"] == {
        "billing": {
            "cases": 4,
            "correct": 3,
            "accuracy": 0.75,
            "predicted": 4,
            "precision": 0.75,
        },
        "bug": {"cases": 4, "correct": 2, "accuracy": 0.5, "predicted": 4, "precision": 0.5},
        "account": {"cases": 4, "correct": 3, "accuracy": 0.75, "predicted": 3, "precision": 1.0},
    }
    assert system["confusion"] == {
        "billing": {"billing": 3, "bug": 1, "account": 0, "(none)": 0},
        "bug": {"billing": 1, "bug": 2, "account": 0, "(none)": 1},
        "account": {"billing": 0, "bug": 1, "account": 3, "(none)": 0},
    }
    assert system["by_tag"] == {
        "phone": {"cases": 6, "accuracy": 0.5, "pairs": 6, "flip_rate": 0.5},
        "vip": {"cases": 2, "accuracy": 0.5, "pairs": 2, "flip_rate": 0.0},
        "web": {"cases": 6, "accuracy": 5 / 6, "pairs": 6, "flip_rate": 0.0},
    }
    summary = _latest(project, "summary.md").read_text()
    assert "| router | billing | 3/4 (0.750) | 0.750 |" in summary
    assert "| router | phone | 6 | 0.500 | 0.500 (3/6) |" in summary
    page = _latest(project, "index.html").read_text()
    assert "Accuracy by label" in page and "Confusion" in page and "By tag" in page
