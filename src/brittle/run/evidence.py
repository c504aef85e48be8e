"""The evidence of a failing gate: the cases behind it, with their inputs and answers.

What a gate lists depends on what it measures:

- ``accuracy >= 0.8`` (and ``variant_accuracy``): the *wrong* rows of its scope, each with its
  input, expected answer and answer;
- ``accuracy drop <= 0.03`` (a relative gate on accuracy or variant accuracy): the rows that
  *got worse* since the baseline (paired: same id and text), with the baseline's answer and the
  run's;
- every other metric (``flip_rate``, ``agreement``, ``pdr``, ...): the *flipped* variants (for
  a relative gate those newly flipped since the baseline, when there are any), with the
  original's and the variant's input and answer; a variant of an instruction- or format-level
  family keeps the input and changes the template, so it shows a short diff of the two prompts
  instead.

A verdict's message lists the first :data:`MAX_IN_MESSAGE` (the terminal); its details keep the
first :data:`MAX_KEPT` under ``evidence`` (run.json, summary.md, HTML).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from brittle.run.engine import SystemRun
from brittle.run.session import newly_flipped
from brittle.spec.eval import EvalSpec
from brittle.stats.baseline import SystemBaseline
from brittle.stats.changes import HASH_COLUMN, same_text
from brittle.stats.gates import Gate
from brittle.stats.results import Flip, Rows, column

#: cases listed in a failing verdict's message (the terminal)
MAX_IN_MESSAGE = 5
#: cases kept in its details (run.json, summary.md, the HTML report)
MAX_KEPT = 20
#: lines of a template diff, and characters of each
DIFF_LINES, DIFF_WIDTH = 6, 100
#: the gates whose evidence is the wrong (or worsened) rows rather than the flips
_ROW_METRICS = ("accuracy", "variant_accuracy")


@dataclass(frozen=True)
class Evidence:
    """The cases behind a failing gate: ``kind`` is ``wrong``, ``worse``, ``flipped`` or
    ``newly flipped``; ``cases`` the first :data:`MAX_KEPT` of ``total``."""

    kind: str
    total: int
    cases: list[dict[str, Any]]
    #: the families of the flipped variants (flips only)
    families: tuple[str, ...] = ()
    #: the scored rows in the gate's scope (wrong rows only: "16 originals")
    scope: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "total": self.total, "cases": self.cases}
        if self.scope is not None:
            out["scope"] = self.scope
        return out

    def lines(self, limit: int = MAX_IN_MESSAGE) -> list[str]:
        """The verdict message's lines: a head, then the first ``limit`` cases."""
        shown = self.cases[:limit]
        first = f"; the first {len(shown)}" if self.total > len(shown) else ""
        if self.kind == "wrong":
            of = f" of {self.scope}" if self.scope is not None else ""
            head = f"  {self.total}{of} wrong{first}:"
        elif self.kind == "worse":
            head = f"  {self.total} got worse since the baseline{first}:"
        else:
            head = (
                f"  {self.total} {self.kind} variant(s) (families: {', '.join(self.families)})"
                f"{first or ''}; the worst:"
            )
        return [head, *(line for case in shown for line in describe(case))]


def evidence(
    spec: EvalSpec, run: SystemRun, baseline: SystemBaseline | None, gate: Gate
) -> Evidence | None:
    """The evidence of ``gate`` failing on ``run`` (None when there is none to show)."""
    if gate.metric == "error_rate":
        return None  # its evidence is the errors, listed by the gate loop
    if gate.metric in _ROW_METRICS:
        table = _scope(run, gate)
        if gate.relative and baseline is not None:
            total, cases = _worse(spec, run, table, baseline)
            if total:
                return Evidence("worse", total, cases)
        total, cases = _wrong(spec, run, table)
        if total:
            scored = sum(not _errored(row.error) for row in table)
            what = "originals" if gate.metric == "accuracy" else "variants"
            return Evidence("wrong", total, cases, scope=f"{scored} {what}")
        return None
    return _flipped(spec, run, baseline, gate)


class _Outcome(NamedTuple):
    """One row of the outcome table."""

    row_id: Any
    case_id: Any
    family: Any
    passed: Any
    answer: Any
    error: Any
    text_hash: Any


def _scope(run: SystemRun, gate: Gate) -> list[_Outcome]:
    """The rows a row metric counts: the originals (accuracy) or the variants (of the gate's
    family), in table order."""
    rows = Rows(run.measured())
    if gate.metric == "accuracy":
        mask = rows.original
    else:
        mask = ~rows.original
        if gate.family is not None:
            mask = mask & rows.family_mask(gate.family)
    names = _Outcome._fields
    values = [column(rows.table, n) if n in rows else [None] * rows.n for n in names]
    return [_Outcome(*(v[i] for v in values)) for i in np.flatnonzero(mask).tolist()]


def _pass(value: Any) -> float | None:
    """A row's pass as a number (1, 0, or the share of repeats that pass); None: unscored."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)


def _errored(error: Any) -> bool:
    return error is not None and error == error  # NaN: a missing error in a frame


def _expected(spec: EvalSpec, wanted: set[str]) -> dict[str, Any]:
    """The expected answers of the cases ``wanted`` (the ones shown): a merge's golden set is
    held compactly, and a case object for each of its 200,000 cases would cost tens of MB."""
    ids, answers = getattr(spec.cases, "ids", None), getattr(spec.cases, "expected", None)
    if isinstance(ids, list) and isinstance(answers, list):
        return {i: answers[n] for n, i in enumerate(ids) if i in wanted}
    return {case.id: case.expected for case in spec.cases if case.id in wanted}


def _wrong(
    spec: EvalSpec, run: SystemRun, table: list[_Outcome]
) -> tuple[int, list[dict[str, Any]]]:
    """How many scored rows do not pass, and the first :data:`MAX_KEPT` of them, the lowest
    pass share first, then in table order."""
    found = []
    for row in table:
        now = _pass(row.passed)
        if _errored(row.error) or now is None or now >= 1.0:
            continue
        found.append((now, row))
    found.sort(key=lambda item: item[0])
    kept = [row for _, row in found[:MAX_KEPT]]
    texts, expected = _texts_of(spec, run, kept)
    return len(found), [_row(texts, row, expected) for row in kept]


def _worse(
    spec: EvalSpec, run: SystemRun, table: list[_Outcome], baseline: SystemBaseline
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows paired with the baseline (same id and text) pass less than they did, and
    the first :data:`MAX_KEPT` of them with the baseline's answer."""
    found = []
    for row in table:
        entry = baseline.outcomes.get(str(row.row_id))
        digest = getattr(row, HASH_COLUMN, None)
        if not entry or not same_text(digest if isinstance(digest, str) else None, entry):
            continue
        now, before = _pass(row.passed), _pass(entry[0])
        if now is not None and before is not None and now < before:
            found.append((row, entry))
    texts, expected = _texts_of(spec, run, [row for row, _ in found[:MAX_KEPT]])
    cases = []
    for row, entry in found[:MAX_KEPT]:
        case = _row(texts, row, expected)
        case["baseline_passed"] = entry[0]
        case["baseline_answer"] = entry[1] if len(entry) > 1 else None
        cases.append(case)
    return len(found), cases


class _Texts:
    """A run's texts of the rows ``wanted`` by row id (the first repeat's), found in one pass
    on first use: only the rows shown, not a dict of every row id (about 70 MB at 1,000,000
    rows of a merge)."""

    def __init__(self, run: SystemRun, wanted: set[str]) -> None:
        self.columns = run.columns
        self.wanted = wanted
        self.at: dict[str, int] | None = None

    def __call__(self, row_id: Any, column: str) -> Any:
        if self.at is None:
            self.at = first_rows(self.columns["row_id"], self.wanted)
        found = self.at.get(str(row_id))
        return None if found is None else self.columns[column][found]


def first_rows(row_ids: Iterable[str], wanted: set[str]) -> dict[str, int]:
    """The position of each ``wanted`` row id's first row (its first repeat) in one pass,
    stopping when all are found: the reports show a few rows of a run, and a dict of every row
    id took 70-100 MB at a merge's 1,000,000 rows (their ids made as read)."""
    found: dict[str, int] = {}
    if wanted:
        for index, row in enumerate(row_ids):
            if row in wanted and row not in found:
                found[row] = index
                if len(found) == len(wanted):
                    break
    return found


def _texts_of(spec: EvalSpec, run: SystemRun, rows: list[Any]) -> tuple[_Texts, dict[str, Any]]:
    """The texts and expected answers of the outcome ``rows`` shown."""
    texts = _Texts(run, {str(row.row_id) for row in rows})
    return texts, _expected(spec, {str(row.case_id) for row in rows})


def _row(texts: _Texts, row: Any, expected: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "row_id": str(row.row_id),
        "case_id": str(row.case_id),
        "family": str(row.family),
        "input": texts(row.row_id, "input"),
        "expected": _plain(expected.get(str(row.case_id))),
        "answer": _plain(row.answer),
        "passed": _plain(row.passed),
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return None if value != value else value
    item = getattr(value, "item", None)  # numpy scalars
    return item() if callable(item) else str(value)


def _flipped(
    spec: EvalSpec, run: SystemRun, baseline: SystemBaseline | None, gate: Gate
) -> Evidence | None:
    def in_scope(found: list[Flip]) -> list[Flip]:
        return [f for f in found if not gate.family or f.family == gate.family]

    # a relative gate is about what changed: the flips that are new since the baseline (all of
    # them when none is); an absolute gate is about every flip
    newly = in_scope(newly_flipped(run, baseline)) if gate.relative else []
    flips = newly or in_scope(list(run.flips))
    if not flips:
        return None
    flips.sort(key=lambda f: (not f.original_passed, f.case_id))
    shown = flips[:MAX_KEPT]
    texts = _Texts(run, {row for f in shown for row in (f.case_id, f.variant_id)})
    expected = _expected(spec, {f.case_id for f in shown})
    cases = []
    for flip in shown:
        case = {
            **flip.to_dict(),
            "expected": _plain(expected.get(flip.case_id)),
            "original_input": texts(flip.case_id, "input"),
            "variant_input": texts(flip.variant_id, "input"),
        }
        diff = template_diff(texts(flip.case_id, "prompt"), texts(flip.variant_id, "prompt"))
        if diff and case["original_input"] == case["variant_input"]:
            case["template_diff"] = diff
        cases.append(case)
    kind = "newly flipped" if newly and baseline is not None else "flipped"
    return Evidence(kind, len(flips), cases, families=tuple(sorted({f.family for f in flips})))


def template_diff(before: Any, after: Any) -> str | None:
    """A short diff of two prompts (removed lines ``-``, added ``+``, no context; at most
    :data:`DIFF_LINES` lines of :data:`DIFF_WIDTH` characters), or None when they are equal
    or either is missing."""
    if not isinstance(before, str) or not isinstance(after, str) or before == after:
        return None
    lines = [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if not line.startswith(("---", "+++", "@@"))
    ]
    if not lines:  # only the line ends differ
        lines = [f"-{before!r}", f"+{after!r}"]
    shown = [_clip(line, DIFF_WIDTH) for line in lines[:DIFF_LINES]]
    if len(lines) > DIFF_LINES:
        shown.append(f"… {len(lines) - DIFF_LINES} more line(s)")
    return "\n".join(shown)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: Any, limit: int = 90) -> str:
    """A text as a quoted literal, shortened: its whitespace stays as it is, line breaks and
    tabs written ``\\n`` and ``\\t``, so a whitespace perturbation shows what it changed."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def describe(case: Mapping[str, Any]) -> list[str]:
    """One case of a verdict's evidence as message lines."""
    if "variant_id" in case:  # a flip
        change = "pass→FAIL" if case["original_passed"] else "fail→pass"
        line = (
            f"    {case['variant_id']} ({change}): input {shown(case.get('variant_input'))}"
            f" -> answer {shown(case.get('variant_answer'), 40)}; original "
        )
        if "template_diff" in case:
            line += f"answer {shown(case.get('original_answer'), 40)}; template changed:"
            return [line, *(f"      {diff}" for diff in case["template_diff"].splitlines())]
        return [
            line + f"input {shown(case.get('original_input'))} -> answer "
            f"{shown(case.get('original_answer'), 40)}"
        ]
    head = f"    {case['row_id']}: input {shown(case.get('input'))}, expected "
    head += shown(case.get("expected"), 40)
    if "baseline_answer" in case:
        return [
            f"{head}: baseline answer {shown(case.get('baseline_answer'), 40)} "
            f"({_outcome(case.get('baseline_passed'))}) -> now {shown(case.get('answer'), 40)} "
            f"({_outcome(case.get('passed'))})"
        ]
    return [f"{head}, answer {shown(case.get('answer'), 40)}"]


def _outcome(passed: Any) -> str:
    if passed is True or passed == 1:
        return "passed"
    if passed is False or passed == 0:
        return "failed"
    return "unscored" if passed is None else f"passed {float(passed):.0%}"


__all__ = [
    "MAX_IN_MESSAGE",
    "MAX_KEPT",
    "Evidence",
    "describe",
    "evidence",
    "first_rows",
    "template_diff",
]
