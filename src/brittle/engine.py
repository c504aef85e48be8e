"""The engine: run an eval's systems on its cases and their variants, score, and measure.

It is the same for the pytest plugin, the ``brittle run`` command and the Python API. Results are
kept column-wise (one list per column), so a run of 100,000 rows holds one copy of its texts;
metrics are computed on a narrow frame of the outcome columns only.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from brittle.cases import Case, Variant
from brittle.checks import CheckResult
from brittle.evalspec import EvalSpec
from brittle.gateway import CallResult, Gateway
from brittle.metrics import ORIGINAL, Flip, compute_metrics, find_flips
from brittle.systems import System

RESULT_COLUMNS = (
    "system",
    "case_id",
    "row_id",
    "suite",
    "family",
    "perturbation",
    "input",
    "prompt",
    "output",
    "passed",
    "answer",
    "score",
    "checks",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "error",
)
OUTCOME_COLUMNS = ("case_id", "row_id", "family", "passed", "answer", "error")


@dataclass(frozen=True)
class Row:
    """One unit of work: a case's original inputs or one variant of them."""

    case: Case
    row_id: str
    suite: str
    family: str
    perturbation: str
    inputs: Mapping[str, Any]


@dataclass
class SystemRun:
    """Everything one system produced in one run."""

    system: str
    kind: str
    fingerprint: str
    spec: dict[str, Any]
    columns: dict[str, list[Any]]
    metrics: dict[str, Any]
    flips: list[Flip]
    wall_s: float

    def __len__(self) -> int:
        return len(self.columns["row_id"])

    def frame(self, columns: Sequence[str] = RESULT_COLUMNS) -> pd.DataFrame:
        return pd.DataFrame({name: self.columns[name] for name in columns})

    def outcomes(self) -> dict[str, list[Any]]:
        """``{row_id: [passed, answer]}`` per row, as stored in baselines."""
        cols = self.columns
        return {
            row: [passed, answer]
            for row, passed, answer in zip(cols["row_id"], cols["passed"], cols["answer"])
        }

    def failing_originals(self) -> list[dict[str, Any]]:
        cols = self.columns
        out = []
        for i, family in enumerate(cols["family"]):
            if family == ORIGINAL and cols["passed"][i] is False:
                out.append(
                    {
                        "case_id": cols["case_id"][i],
                        "output": cols["output"][i],
                        "detail": cols["checks"][i],
                    }
                )
        return out

    def errors(self) -> list[dict[str, Any]]:
        cols = self.columns
        return [
            {"row_id": cols["row_id"][i], "error": err}
            for i, err in enumerate(cols["error"])
            if err is not None
        ]

    def text_of(self, row_id: str, column: str) -> Any:
        try:
            index = self.columns["row_id"].index(row_id)
        except ValueError:
            return None
        return self.columns[column][index]


@dataclass
class EvalRun:
    """One eval's run over the selected systems."""

    spec: EvalSpec
    systems: dict[str, SystemRun] = field(default_factory=dict)
    noops: dict[str, int] = field(default_factory=dict)
    variants_per_family: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


def build_rows(spec: EvalSpec) -> tuple[list[Row], dict[str, int], dict[str, int]]:
    """The original rows and all variants, in a stable order; no-ops and counts per family."""
    rows: list[Row] = []
    noops: dict[str, int] = {}
    per_family: dict[str, int] = {}
    for case in spec.cases:
        rows.append(Row(case, case.id, "", ORIGINAL, "", case.inputs))
        for suite in spec.suites:
            variants, skipped = suite.variants(case, fields=spec.perturb_fields, seed=spec.seed)
            for family, count in skipped.items():
                noops[family] = noops.get(family, 0) + count
            for variant in variants:
                rows.append(_variant_row(case, variant))
                per_family[variant.family] = per_family.get(variant.family, 0) + 1
    return rows, noops, per_family


def _variant_row(case: Case, variant: Variant) -> Row:
    return Row(
        case, variant.id, variant.suite, variant.family, variant.perturbation, variant.inputs
    )


def _input_text(inputs: Mapping[str, Any], fields: Sequence[str]) -> str:
    if len(fields) == 1 and fields[0] in inputs:
        return str(inputs[fields[0]])
    return json.dumps({k: inputs[k] for k in fields if k in inputs}, ensure_ascii=False)


def _combine(results: Sequence[CheckResult], output: str) -> tuple[bool, str | None, Any, str]:
    passed = all(r.passed for r in results)
    answer = next((r.answer for r in results if r.answer is not None), None)
    if answer is None:
        answer = " ".join(output.split()).lower()
    score = next((r.score for r in results if r.score is not None), None)
    detail = "; ".join(r.detail for r in results if not r.passed and r.detail)
    return passed, answer, score, detail


async def run_system(
    spec: EvalSpec,
    system: System,
    rows: Sequence[Row],
    gateway: Gateway,
    *,
    on_result: Callable[[CallResult], None] | None = None,
) -> SystemRun:
    """Call ``system`` on every row, score the outputs and compute its metrics."""
    start = time.perf_counter()

    async def one(row: Row) -> CallResult:
        try:
            result = await system.run(row.inputs, gateway)
        except Exception as exc:  # rendering errors and the like: recorded, never raised
            from brittle.gateway import describe_error

            result = CallResult(text=None, error=describe_error(exc))
        if on_result is not None:
            on_result(result)
        return result

    results = await asyncio.gather(*(one(row) for row in rows))

    ok_index = [i for i, r in enumerate(results) if r.error is None]
    outputs = [results[i].text or "" for i in ok_index]
    ok_cases = [rows[i].case for i in ok_index]
    per_check = [check.check_batch(outputs, ok_cases) for check in spec.checks]
    scored: dict[int, tuple[bool, str | None, Any, str]] = {}
    check_names = [c.describe() for c in spec.checks]
    for position, index in enumerate(ok_index):
        row_results = [checked[position] for checked in per_check]
        scored[index] = _combine(row_results, outputs[position])

    columns: dict[str, list[Any]] = {name: [] for name in RESULT_COLUMNS}
    fields = spec.perturb_fields
    for index, (row, result) in enumerate(zip(rows, results)):
        passed, answer, score, detail = scored.get(index, (None, None, None, ""))
        try:
            prompt = system.prompt_for(row.inputs)
        except Exception:
            prompt = None
        values = {
            "system": system.name,
            "case_id": row.case.id,
            "row_id": row.row_id,
            "suite": row.suite,
            "family": row.family,
            "perturbation": row.perturbation,
            "input": _input_text(row.inputs, fields),
            "prompt": prompt,
            "output": result.text,
            "passed": passed,
            "answer": answer,
            "score": score,
            "checks": detail if detail or result.error else "",
            "latency_s": result.latency_s,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cost": result.cost,
            "error": result.error,
        }
        for name in RESULT_COLUMNS:
            columns[name].append(values[name])
    del check_names

    outcome = pd.DataFrame({name: columns[name] for name in OUTCOME_COLUMNS})
    metrics = compute_metrics(outcome)
    _add_usage(metrics, columns)
    flips = find_flips(outcome)
    return SystemRun(
        system=system.name,
        kind=system.kind,
        fingerprint=system.fingerprint(),
        spec=system.spec(),
        columns=columns,
        metrics=metrics,
        flips=flips,
        wall_s=time.perf_counter() - start,
    )


def _add_usage(metrics: dict[str, Any], columns: Mapping[str, list[Any]]) -> None:
    """Latency, tokens and cost totals: informative, not gated."""
    latencies = sorted(x for x in columns["latency_s"] if x is not None)
    overall = metrics["overall"]
    overall["latency_p50_s"] = latencies[len(latencies) // 2] if latencies else None
    overall["latency_p95_s"] = latencies[int(len(latencies) * 0.95)] if latencies else None
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        values = [x for x in columns[name] if x is not None]
        overall[name] = sum(values) if values else None


async def run_eval_async(
    spec: EvalSpec,
    *,
    systems: Sequence[str] | None = None,
    gateway: Gateway | None = None,
    on_result: Callable[[CallResult], None] | None = None,
) -> EvalRun:
    """Run the named systems (default: all) of an eval."""
    gateway = gateway or Gateway(concurrency=spec.concurrency)
    rows, noops, per_family = build_rows(spec)
    run = EvalRun(spec=spec, noops=noops, variants_per_family=per_family)
    for system in spec.systems:
        if systems is not None and system.name not in systems:
            continue
        run.systems[system.name] = await run_system(
            spec, system, rows, gateway, on_result=on_result
        )
    return run


def run_eval(spec: EvalSpec, **kwargs: Any) -> EvalRun:
    """Synchronous :func:`run_eval_async`."""
    return asyncio.run(run_eval_async(spec, **kwargs))
