"""The engine: run an eval's systems on its cases and their variants, score, and measure.

It is the same for the pytest plugin, the ``brittle run`` command and the Python API. Results are
kept column-wise (one list per column), so a run of 100,000 rows holds one copy of its texts;
metrics are computed on a narrow frame of the outcome columns only.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from brittle._startup import startup_spent
from brittle.checks import CheckResult
from brittle.gateway import CallResult, Gateway
from brittle.gateway.calls import describe_error
from brittle.gateway.pricing import Price, system_price
from brittle.run.expected_prob import label_check, row_expected_prob, stored_tail
from brittle.run.fingerprints import row_hash, template_edit
from brittle.run.outcome import OUTCOME_SLOT, OutcomeAttribute, as_list, outcome_frame
from brittle.search.meaning import Candidate, MeaningRule, judge
from brittle.spec.cases import Case, Variant
from brittle.spec.eval import EvalSpec
from brittle.spec.systems import LLMSystem, System, Template
from brittle.stats.metrics import ORIGINAL
from brittle.stats.repeats import consistency, reduce_repeats
from brittle.stats.results import (
    Flip,
    Rows,
    Table,
    add_intervals,
    compute_metrics,
    factorize,
    find_flips,
    take_rows,
)

if TYPE_CHECKING:
    import pandas as pd

RESULT_COLUMNS = (
    "system",
    "case_id",
    "row_id",
    "repeat",
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
    "text_hash",
    "notes",
    "expected_prob",
)
#: ``text_hash``: the row's variant fingerprint (:mod:`brittle.run.fingerprints`); ``notes``:
#: what the gateway changed in the output ("1 lone surrogate(s) replaced with U+FFFD", "secrets
#: masked in the output"; joined by "; "), else None (:func:`brittle.gateway.calls.at_edge`);
#: ``expected_prob``: the probability the answer gave the expected label, None when unknown
#: (:mod:`brittle.stats.probshift`)
OUTCOME_COLUMNS = (
    "case_id",
    "row_id",
    "family",
    "passed",
    "answer",
    "error",
    "repeat",
    "text_hash",
    "expected_prob",
)
_INPUT_JSON = json.JSONEncoder(ensure_ascii=False)  # json.dumps's, made once (not once a row)


@dataclass(frozen=True)
class Row:
    """One unit of work: a case's original inputs or one variant of them."""

    case: Case
    row_id: str
    suite: str
    family: str
    perturbation: str
    inputs: Mapping[str, Any]
    #: which of the eval's ``repeats`` samples this is (0-based); part of any cache key
    repeat: int = 0
    #: the system's template rewritten by an instruction- or format-level family (else None)
    template: str | None = None


@dataclass(repr=False)
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
    #: one row per (case, variant) after reducing repeats: the outcome columns metrics use, a
    #: pandas DataFrame when read (made on first read: :mod:`brittle.run.outcome`)
    outcome: OutcomeAttribute = OutcomeAttribute()  # noqa: RUF009 (a descriptor, not a value)
    #: replay mode: the rows whose calls were not in the response cache (nothing was called)
    replay_missing: list[str] = field(default_factory=list)
    #: instruction- and format-level variants of this system's template, per family: made,
    #: no-ops (the system has no template, or nothing to rewrite) and dropped by the meaning filter
    template_variants: dict[str, int] = field(default_factory=dict)
    template_noops: dict[str, int] = field(default_factory=dict)
    template_dropped: dict[str, int] = field(default_factory=dict)
    #: the line saying why the system was stopped at its first call (an unknown model, a
    #: missing key, a refused connection: :mod:`brittle.gateway.preflight`), else None
    stopped: str | None = None
    #: the price that gave the system's cost (:meth:`brittle.gateway.pricing.Price.describe`:
    #: dollars per million tokens and its source), None when it has none
    price: dict[str, Any] | None = None
    #: seconds of the process's one-time start-up paid during this run (a local model's load,
    #: litellm's import: :mod:`brittle._startup`), part of ``wall_s``; shown apart from it
    startup_s: float = 0.0
    #: a system listing several endpoints: each replica's calls, failures and times taken out
    #: (:meth:`brittle.gateway.replicas.Replicas.used_by`); None for one endpoint
    replicas: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.columns["row_id"])

    def __repr__(self) -> str:
        # short: asyncio.run formats its finished task, result included, when it restores the
        # SIGINT handler (Python 3.11); the dataclass repr of 10,000 rows took 50 ms, twice
        return (
            f"SystemRun(system={self.system!r}, kind={self.kind!r}, "
            f"fingerprint={self.fingerprint!r}, rows={len(self)}, wall_s={self.wall_s:.3f})"
        )

    def frame(self, columns: Sequence[str] = RESULT_COLUMNS) -> pd.DataFrame:
        import pandas as pd  # heavy: only a caller that asks for a frame

        return pd.DataFrame({name: self.columns[name] for name in columns})

    @property
    def has_outcome(self) -> bool:
        """Whether the run holds its outcome table (a shard's run under xdist gives it up)."""
        return self.__dict__.get(OUTCOME_SLOT) is not None

    def measured(self) -> Table:
        """The outcome table as held (:mod:`brittle.run.outcome`): what reports read without
        pandas. Without one, the outcome columns of the rows."""
        table = self.__dict__.get(OUTCOME_SLOT)
        if table is not None:
            return cast(Table, table)
        return {name: self.columns[name] for name in OUTCOME_COLUMNS if name in self.columns}

    def outcomes(self) -> dict[str, list[Any]]:
        """``{row_id: [passed, answer, text_hash, expected_prob]}`` per row, as stored in
        baselines (the hash left out when the run has none, the probability when unknown)."""
        if self.has_outcome and "repeat" in self.columns and any(self.columns["repeat"]):
            frame = self.measured()
            source: Mapping[str, Sequence[Any]] = {
                name: as_list(frame[name])
                for name in ("row_id", "passed", "answer", "expected_prob")
                if name in frame
            }
            source = {**source, "text_hash": _hashes_of(frame)}
        else:
            source = {**self.columns, "text_hash": _hashes_of(self.columns)}
        probs = source.get("expected_prob") or [None] * len(source["row_id"])
        return {
            row: [_plain(passed), _plain(answer), *stored_tail(digest, _plain(prob))]
            for row, passed, answer, digest, prob in zip(
                source["row_id"],
                source["passed"],
                source["answer"],
                source["text_hash"],
                probs,
                strict=True,
            )
        }

    def failing_originals(self) -> list[dict[str, Any]]:
        cols = self.columns
        out = []
        for i, family in enumerate(cols["family"]):
            if cols["repeat"][i]:
                continue  # one entry per case (the first repeat) when an eval repeats calls
            if family == ORIGINAL and cols["passed"][i] is False:
                out.append(
                    {
                        "case_id": cols["case_id"][i],
                        "input": cols["input"][i],
                        "output": cols["output"][i],
                        "answer": _plain(cols["answer"][i]),
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
    #: input variants dropped by the meaning filter, per family
    dropped: dict[str, int] = field(default_factory=dict)


def build_rows(
    spec: EvalSpec, *, dropped: dict[str, int] | None = None
) -> tuple[list[Row], dict[str, int], dict[str, int]]:
    """The original rows and all input variants, in a stable order; no-ops and counts per family.

    Variants of suite entries with a meaning rule are judged in one batch (see
    :mod:`brittle.search.meaning`); those dropped are counted per family into ``dropped``.
    Instruction- and format-level variants depend on the system: see :func:`template_rows`.
    """
    noops: dict[str, int] = {}
    pending: list[tuple[Case, Variant, MeaningRule]] = []
    for case in spec.cases:
        for suite in spec.suites:
            variants, skipped = suite.variants(case, fields=spec.perturb_fields, seed=spec.seed)
            for family, count in skipped.items():
                noops[family] = noops.get(family, 0) + count
            pending += [(case, v, suite.entry(v.perturbation).meaning) for v in variants]
    kept = _keep(
        [
            Candidate(
                v.family,
                rule,
                tuple((str(case.inputs[f]), str(v.inputs[f])) for f in v.edits.get("fields", ())),
            )
            for case, v, rule in pending
        ],
        dropped,
    )
    by_case: dict[str, list[Variant]] = {}
    for (case, variant, _), keep in zip(pending, kept, strict=True):
        if keep:
            by_case.setdefault(case.id, []).append(variant)
    rows: list[Row] = []
    per_family: dict[str, int] = {}
    for case in spec.cases:
        rows.append(Row(case, case.id, "", ORIGINAL, "", case.inputs))
        for variant in by_case.get(case.id, ()):
            rows.append(_variant_row(case, variant))
            per_family[variant.family] = per_family.get(variant.family, 0) + 1
    return rows, noops, per_family


def template_rows(
    spec: EvalSpec, system: System
) -> tuple[list[Row], dict[str, int], dict[str, int], dict[str, int]]:
    """Rows for the instruction- and format-level variants of ``system``'s template.

    Returns the rows and, per family, the variants made, the no-ops and those dropped by the
    meaning filter (which compares each rewritten template with the original). A system
    without a template gets no rows: every slot is a no-op.
    """
    template = getattr(system, "template", None)
    text = template.text if isinstance(template, Template) else None
    noops: dict[str, int] = {}
    pending: list[tuple[Case, Variant, MeaningRule]] = []
    for case in spec.cases:
        for suite in spec.suites:
            variants, skipped = suite.template_variants(case, text, seed=spec.seed)
            for family, count in skipped.items():
                noops[family] = noops.get(family, 0) + count
            pending += [(case, v, suite.entry(v.perturbation).meaning) for v in variants]
    dropped: dict[str, int] = {}
    kept = _keep(
        [Candidate(v.family, rule, ((text or "", v.template or ""),)) for _, v, rule in pending],
        dropped,
    )
    rows: list[Row] = []
    made: dict[str, int] = {}
    for (case, variant, _), keep in zip(pending, kept, strict=True):
        if keep:
            rows.append(replace(_variant_row(case, variant), template=variant.template))
            made[variant.family] = made.get(variant.family, 0) + 1
    return rows, made, noops, dropped


def _keep(candidates: list[Candidate], dropped: dict[str, int] | None) -> list[bool]:
    """Which candidates pass their meaning rules; drops counted into ``dropped``."""
    if not any(c.rule.active for c in candidates):
        return [True] * len(candidates)
    judgement = judge(candidates)
    if dropped is not None:
        for family, count in judgement.dropped.items():
            dropped[family] = dropped.get(family, 0) + count
    return judgement.kept


def _variant_row(case: Case, variant: Variant) -> Row:
    return Row(
        case, variant.id, variant.suite, variant.family, variant.perturbation, variant.inputs
    )


def system_for_row(system: System, row: Row, cache: dict[str, System] | None = None) -> System:
    """``system``, or its copy with the row's rewritten template (one copy per template in
    ``cache``). What actually answers a row: use it to predict a row's call without running."""
    if row.template is None or not isinstance(system, LLMSystem):
        return system
    if cache is None:
        return system.with_template(row.template)
    if row.template not in cache:
        cache[row.template] = system.with_template(row.template)
    return cache[row.template]


def _input_text(inputs: Mapping[str, Any], fields: Sequence[str]) -> str:
    if len(fields) == 1 and fields[0] in inputs:
        return str(inputs[fields[0]])
    return _INPUT_JSON.encode({k: inputs[k] for k in fields if k in inputs})


def _combine(results: Sequence[CheckResult], output: str) -> tuple[bool, str | None, Any, str]:
    passed = all(r.passed for r in results)
    answer = next((r.answer for r in results if r.answer is not None), None)
    if answer is None:
        answer = " ".join(output.split()).lower()
    score = next((r.score for r in results if r.score is not None), None)
    detail = "; ".join(r.detail for r in results if _shows_detail(r) and r.detail)
    return passed, answer, score, detail


def _shows_detail(result: CheckResult) -> bool:
    """Failed results explain themselves; so do excluded and unstable judge verdicts."""
    unstable = result.agreement is not None and result.agreement < 1.0
    return not result.passed or result.excluded or unstable


def _judge_outcome(results: Sequence[CheckResult], names: Sequence[str]) -> tuple[str | None, bool]:
    """A row's judge error (``"check NAME: ..."``) and whether a check excluded it from gates."""
    for result, name in zip(results, names, strict=True):
        if result.error is not None:
            return f"check {name}: {result.error}", False
    return None, any(r.excluded for r in results)


def _add_judge_metrics(metrics: dict[str, Any], per_check: Sequence[Sequence[CheckResult]]) -> None:
    """Judge stability and spend, when a check called a judge: informative, not gated.

    ``judge_agreement`` is the share of judged outputs whose repeated verdicts all agree,
    ``judge_unstable`` the number that did not, ``judged`` the judged outputs (the share's
    denominator, which a merge sums: :mod:`brittle.run.judge_figures`), ``excluded`` the rows
    left out of the metrics.
    """
    judged = [r for results in per_check for r in results if r.agreement is not None]
    costs = [r.cost for results in per_check for r in results if r.cost is not None]
    excluded = sum(1 for results in per_check for r in results if r.excluded)
    if not judged and not costs and not excluded:
        return
    overall = metrics["overall"]
    stable = sum(1 for r in judged if r.agreement == 1.0)
    overall["judge_agreement"] = stable / len(judged) if judged else None
    overall["judge_unstable"] = len(judged) - stable
    overall["judged"] = len(judged)
    overall["excluded"] = excluded
    overall["judge_cost"] = sum(costs) if costs else None


def call_rows(
    spec: EvalSpec, system: System, rows: Sequence[Row]
) -> tuple[list[Row], dict[str, int], dict[str, int], dict[str, int]]:
    """Every call ``system`` makes on ``rows``: those rows, its template-level rows (see
    :func:`template_rows`, whose per-family counts come back too) and each repeat of them."""
    extra, made, noops, dropped = template_rows(spec, system)
    calls = [*rows, *extra]
    if spec.repeats > 1:
        calls = [replace(row, repeat=k) for row in calls for k in range(spec.repeats)]
    return calls, made, noops, dropped


async def _in_order(
    call: Callable[[Row], Awaitable[CallResult]], rows: Sequence[Row], *, workers: int
) -> list[CallResult]:
    """``call`` on every row, in row order, with at most ``workers`` rows in flight.

    The gateway limits the model calls themselves; bounding the rows too keeps a 100,000-row
    run from holding 100,000 coroutines at once (``benchmarks/bench_overhead.py``,
    ``results-100k``).
    """
    results: list[CallResult | None] = [None] * len(rows)
    queue = iter(enumerate(rows))

    async def worker() -> None:
        for index, row in queue:
            results[index] = await call(row)

    await asyncio.gather(*(worker() for _ in range(min(workers, len(rows)))))
    return cast(list[CallResult], results)  # every slot is filled once gather returns


async def run_system(
    spec: EvalSpec,
    system: System,
    rows: Sequence[Row],
    gateway: Gateway,
    *,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SystemRun:
    """Call ``system`` on every row, score the outputs and compute its metrics.

    ``on_start`` learns how many calls the run makes (``rows``, the template-level rows of
    ``system`` and the repeats) before the first; ``on_result`` sees each call's result.
    """
    start, startup = time.perf_counter(), startup_spent()
    rows, made, template_noops, template_dropped = call_rows(spec, system, rows)
    rewritten: dict[str, System] = {}
    if on_start is not None:
        on_start(len(rows))
    fingerprint = system.fingerprint()
    where = f"{spec.name} / {system.name} / "

    # a prompt system's rendered prompt per row (by id: rows live as long as the run), made
    # once for its call and its line in the results table
    prompts: dict[int, str | None] = {}

    async def one(row: Row) -> CallResult:
        # the cache keys the calls by the system's fingerprint and the repeat; messages name
        # the row
        label = where + row.row_id
        scoped = gateway.scoped(fingerprint=fingerprint, repeat=row.repeat, label=label)
        try:
            target = system_for_row(system, row, rewritten)
            if isinstance(target, LLMSystem):
                prompts[id(row)] = None  # a rendering error: no prompt, as before
                prompt = prompts[id(row)] = target.prompt_for(row.inputs)
                result = await target.run(row.inputs, scoped, prompt=prompt)
            else:
                result = await target.run(row.inputs, scoped)
        except Exception as exc:  # rendering errors and the like: recorded, never raised
            result = CallResult(text=None, error=describe_error(exc))
        if on_result is not None:
            on_result(result)
        return result

    # Every row of a run of ordinary size is in flight at once, as with a plain gather (fewer
    # workers put each row's rendering and cache claim beside the model's compute: cold demo
    # runs took 283-287 s against 236-263 s); a 100,000-row run holds 4,096 coroutines.
    with fewer_collections():
        results = await _in_order(one, rows, workers=max(2 * gateway.concurrency, 4096))
    if gateway.fatal is not None:  # bad credentials: every further call would fail too
        raise gateway.fatal
    replay_missing = list(dict.fromkeys(rows[i].row_id for i, r in enumerate(results) if r.missing))
    stopped = _stopped(system.name, results, gateway)

    ok_index = [i for i, r in enumerate(results) if r.error is None]
    outputs = [results[i].text or "" for i in ok_index]
    ok_cases = [rows[i].case for i in ok_index]
    per_check = [await check.acheck_batch(outputs, ok_cases, gateway) for check in spec.checks]
    scored: dict[int, tuple[bool, str | None, Any, str]] = {}
    check_names = [c.describe() for c in spec.checks]
    labels = label_check(spec.checks)  # for each row's expected_prob
    judged: dict[int, tuple[str | None, bool]] = {}
    for position, index in enumerate(ok_index):
        row_results = [checked[position] for checked in per_check]
        scored[index] = _combine(row_results, outputs[position])
        judged[index] = _judge_outcome(row_results, check_names)

    records: list[tuple[Any, ...]] = []  # values in RESULT_COLUMNS' order (quicker than dicts)
    price = system_price(system)  # its own price, else litellm's table (gateway/pricing.py)
    fields = spec.perturb_fields
    hashes: dict[str, str] = {}
    for index, (row, result) in enumerate(zip(rows, results, strict=True)):
        passed, answer, score, detail = scored.get(index, (None, None, None, ""))
        check_error, excluded = judged.get(index, (None, False))
        if check_error is not None or excluded:
            passed = None  # a failed judge is an error and an excluded verdict no verdict
        if id(row) in prompts:
            prompt = prompts[id(row)]
        else:
            try:
                prompt = system_for_row(system, row, rewritten).prompt_for(row.inputs)
            except Exception:
                prompt = None
        records.append(
            (
                system.name,
                row.case.id,
                row.row_id,
                row.repeat,
                row.suite,
                row.family,
                row.perturbation,
                _input_text(row.inputs, fields),
                prompt,
                result.text,
                passed,
                answer,
                score,
                detail if detail or result.error or check_error else "",  # checks
                result.latency_s,
                result.prompt_tokens,
                result.completion_tokens,
                _row_cost(price, result),
                result.error or check_error,
                _text_hash(row, system, hashes),
                "; ".join(result.notes) or None,  # notes
                row_expected_prob(labels, row.case, result),
            )
        )
    transposed = zip(*records, strict=True) if records else [()] * len(RESULT_COLUMNS)
    columns = {name: list(values) for name, values in zip(RESULT_COLUMNS, transposed, strict=True)}
    del records

    left_out = [judged.get(index, (None, False))[1] for index in range(len(rows))]
    outcome, metrics, flips = measure(spec, columns, price, left_out=left_out, per_check=per_check)
    return SystemRun(
        system=system.name,
        kind=system.kind,
        fingerprint=fingerprint,
        spec=system.spec(),
        columns=columns,
        metrics=metrics,
        flips=flips,
        wall_s=time.perf_counter() - start,
        outcome=outcome,
        replay_missing=replay_missing,
        template_variants=made,
        template_noops=template_noops,
        template_dropped=template_dropped,
        stopped=stopped,
        price=price.describe() if price is not None else None,
        startup_s=startup_spent() - startup,
    )


def measure(
    spec: EvalSpec,
    columns: Mapping[str, list[Any]],
    price: Price | None,
    *,
    left_out: Sequence[bool] = (),
    per_check: Sequence[Sequence[CheckResult]] = (),
) -> tuple[Table, dict[str, Any], list[Flip]]:
    """A system's outcome table, metrics (with intervals) and flips from its result columns
    (``left_out``: rows a judge excluded). The one path from rows to numbers: a run's, and a
    merge's rebuilt from shards' rows (:mod:`brittle.report.merge`).

    The table is the outcome columns as they are (:mod:`brittle.run.outcome`), measured on
    numpy: no pandas unless repeats are reduced (:func:`~brittle.stats.repeats.reduce_repeats`)."""
    table: dict[str, Any] = {name: columns[name] for name in OUTCOME_COLUMNS}
    if any(left_out):  # excluded verdicts (unstable judge): neither passes, fails nor errors
        table = take_rows(table, np.flatnonzero(~np.asarray(left_out, dtype=bool)))
    per_call: Table = table
    outcome: Table = {name: values for name, values in table.items() if name != "repeat"}
    if len(factorize(table["repeat"])[1]) > 1:
        per_call = outcome_frame(table)
        outcome = reduce_repeats(per_call, spec.reduction)
    rows = Rows(outcome)
    metrics = compute_metrics(rows)
    _add_usage(metrics, columns, price)
    _add_judge_metrics(metrics, per_check)
    _add_statistics(metrics, rows, per_call, spec)
    return outcome, metrics, find_flips(rows)


#: the garbage collector's first threshold while calls are made (Python's default: 700)
CALLS_GC_THRESHOLD = 20_000
_gc_saved: list[tuple[int, int, int]] = []


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage less often while calls are in flight: thousands of live coroutines,
    futures and results make each young-generation collection long, and at the default
    threshold one runs every 700 allocations (a third of the gateway's CPU per call at
    concurrency 256, ``benchmarks/bench_lean.py``). Nothing is kept that a collection would
    free, only later; the threshold is restored when the last overlapping run leaves."""
    if not _gc_saved:
        threshold = gc.get_threshold()
        _gc_saved.append(threshold)
        if threshold[0]:  # 0: collection off, left as it is
            gc.set_threshold(max(threshold[0], CALLS_GC_THRESHOLD), *threshold[1:])
    else:
        _gc_saved.append(_gc_saved[0])
    try:
        yield
    finally:
        saved = _gc_saved.pop()
        if not _gc_saved:
            gc.set_threshold(*saved)


def _stopped(name: str, results: Sequence[CallResult], gateway: Gateway) -> str | None:
    """The preflight's line for a system whose endpoint was stopped at its first call."""
    preflight = getattr(gateway, "preflight", None)
    stop = preflight.stop_among(r.error for r in results) if preflight is not None else None
    if stop is None:
        return None
    return stop.line(name, sum(r.error == stop.error() for r in results))


def _add_statistics(
    metrics: dict[str, Any], outcome: Rows, per_call: Table, spec: EvalSpec
) -> None:
    """Confidence intervals of every metric and, with repeats, randomness beside brittleness
    (self-disagreement and excess flip rate, measured on the calls before reduction)."""
    if outcome.n:
        add_intervals(metrics, outcome)
    if spec.repeats > 1:
        metrics["repeats"] = {
            "k": spec.repeats,
            "reduction": spec.reduction,
            **consistency(outcome_frame(per_call), metrics),
        }


def _text_hash(row: Row, system: System, memo: dict[str, str]) -> str:
    """The row's variant fingerprint (:mod:`brittle.run.fingerprints`), once per row id."""
    if row.row_id not in memo:
        edit = None
        if row.template is not None:
            template = getattr(system, "template", None)
            original = template.text if isinstance(template, Template) else ""
            edit = template_edit(original, row.template)
        memo[row.row_id] = row_hash(row.inputs, edit)
    return memo[row.row_id]


def _hashes_of(columns: Any) -> list[str | None]:
    """The ``text_hash`` column of a frame or column dict, None per row where there is none."""
    if "text_hash" not in columns:
        return [None] * len(columns["row_id"])
    return [value if isinstance(value, str) else None for value in columns["text_hash"]]


def _plain(value: Any) -> Any:
    """A JSON-friendly scalar: None for missing values, Python numbers for numpy ones."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def _row_cost(price: Price | None, result: CallResult) -> float | None:
    """One call's cost: its tokens at the system's price, else what the call reported."""
    cost = price.cost(result.prompt_tokens, result.completion_tokens) if price else None
    return result.cost if cost is None else cost


def _add_usage(
    metrics: dict[str, Any], columns: Mapping[str, list[Any]], price: Price | None = None
) -> None:
    """Latency, tokens and cost totals: informative, not gated.

    The cost is the system's price applied once to its token totals
    (:mod:`brittle.gateway.pricing`); without a price, the sum of what the calls reported.
    """
    latencies = sorted(x for x in columns["latency_s"] if x is not None)
    overall = metrics["overall"]
    overall["latency_p50_s"] = latencies[len(latencies) // 2] if latencies else None
    overall["latency_p95_s"] = latencies[int(len(latencies) * 0.95)] if latencies else None
    for name in ("prompt_tokens", "completion_tokens", "cost"):
        values = [x for x in columns[name] if x is not None]
        overall[name] = sum(values) if values else None
    priced = price.cost(overall["prompt_tokens"], overall["completion_tokens"]) if price else None
    if priced is not None:  # once, on the totals: no per-call rounding summed up
        overall["cost"] = priced
