"""``brittle merge``: shards of one run (:mod:`brittle.run.shards`) put back into one run.

The merge never averages the shards' summaries: it checks that the shards belong together
(:func:`read_shards`), reads each system's rows back from the shards' results.parquet files
(streamed batch by batch, only the columns the numbers need, with the texts of the rows a report
shows), puts them in the order a whole run has them, and rebuilds each system's
:class:`~brittle.run.engine.SystemRun` through the engine's own :func:`~brittle.run.engine.measure`.
The session's gate loop (:func:`brittle.run.verdicts.check_systems`), baseline update and
:func:`brittle.report.artifacts.write_reports` then run as after any run: the same metrics,
intervals (same bootstrap seed), paired tests and verdicts as the eval run whole.

The merged results.parquet is the shards' rows copied as they are, system by system, shard by
shard (:func:`brittle.report.parquet.copy_parquet`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from brittle._errors import ConfigError
from brittle.gateway.pricing import system_price
from brittle.gateway.replicas import merge_counters
from brittle.options import Options
from brittle.report.arrow import bool_array, text_array, text_scalar
from brittle.report.merge_rows import Coded, CodedBuilder, Packed, returning_memory
from brittle.report.parquet import ORIGINAL_SUITE, PARQUET_CHUNK
from brittle.run.adapter_check import attach, merge_checks
from brittle.run.engine import OUTCOME_COLUMNS, RESULT_COLUMNS, SystemRun, measure
from brittle.run.judge_figures import merge_judge_metrics
from brittle.run.session import BrittleSession
from brittle.run.shards import MANIFEST, MANIFEST_VERSION, eval_hash
from brittle.search.formats import add_metric, merge_searches
from brittle.spec.eval import EvalSpec, load_eval_file
from brittle.spec.golden import CompactCases, compact_golden
from brittle.stats.metrics import ORIGINAL

#: the columns read for every row: what the metrics, usage totals and reports' counts need
NUMBER_COLUMNS = (
    *OUTCOME_COLUMNS,
    "system",
    "suite",
    "perturbation",
    "score",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "cost",
)
#: columns of few distinct values, held as codes into them (the others as Arrow arrays)
_CODED = (
    "system",
    "case_id",
    "family",
    "suite",
    "perturbation",
    "answer",
    "error",
    "passed",
    "repeat",
)
RESULTS = "results.parquet"


@dataclass
class ShardInput:
    """One shard's report folder and its manifest."""

    folder: Path
    manifest: dict[str, Any]

    @property
    def k(self) -> int:
        return int(self.manifest["shard"]["k"])

    @property
    def n(self) -> int:
        return int(self.manifest["shard"]["n"])

    def named(self) -> str:
        return f"shard {self.k}/{self.n} ({self.folder})"


class MergedSession(BrittleSession):
    """A session whose systems were rebuilt from shards: its results.parquet is copied from
    theirs (:attr:`merged_from`) rather than written from texts it does not hold."""

    merged_from: list[Path] | None = None
    #: the shards merged, for the terminal (``"1/3 reports/a"``)
    shards: list[str]


def _find_manifest(folder: Path) -> Path:
    for candidate in (folder / MANIFEST, folder / "latest" / MANIFEST):
        if candidate.is_file():
            return candidate
    raise ConfigError(
        f"no {MANIFEST} in this folder: it is not the report folder of a shard run",
        where=folder,
        fix="pass the report folders that `pytest --brittle-shard K/N` or `brittle run "
        "--shard K/N` wrote (reports/<run-id>, or a --report-dir holding 'latest')",
    )


def read_shards(folders: Sequence[Path]) -> list[ShardInput]:
    """Each folder's manifest, checked: the same N, each of 1..N once, the same eval specs,
    suites and systems, no case twice. Errors name the shard at fault."""
    if not folders:
        raise ConfigError("no shard folders given", fix="write `brittle merge DIR1 DIR2 ...`")
    shards = []
    for folder in folders:
        path = _find_manifest(Path(folder))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"unreadable shard manifest: {exc}", where=path) from None
        if data.get("brittle_shard_version") != MANIFEST_VERSION:
            raise ConfigError(
                f"shard manifest format {data.get('brittle_shard_version')!r}, this brittle "
                f"reads {MANIFEST_VERSION}",
                where=path,
                fix="run the shards and the merge with the same brittle version",
            )
        if not (path.parent / RESULTS).is_file():
            raise ConfigError(f"the shard has no {RESULTS}", where=path.parent)
        shards.append(ShardInput(path.parent, data))
    _check_together(shards)
    return sorted(shards, key=lambda shard: shard.k)


def _check_together(shards: list[ShardInput]) -> None:
    first = shards[0]
    for shard in shards[1:]:
        if shard.n != first.n:
            raise ConfigError(
                f"{shard.named()} is one of {shard.n} shards, but {first.named()} one of {first.n}",
                where=shard.folder,
                fix="merge the shards of one run: all cut with the same N",
            )
    seen: dict[int, ShardInput] = {}
    for shard in shards:
        if shard.k in seen:
            raise ConfigError(
                f"shard {shard.k}/{shard.n} is given twice: {seen[shard.k].folder} and "
                f"{shard.folder}",
                where=shard.folder,
                fix="give each shard's folder once",
            )
        seen[shard.k] = shard
    missing = [k for k in range(1, first.n + 1) if k not in seen]
    if missing:
        given = ", ".join(s.named() for s in shards)
        raise ConfigError(
            f"shard(s) {', '.join(f'{k}/{first.n}' for k in missing)} missing (given: {given})",
            where=first.folder,
            fix="pass the report folder of every shard of the run",
        )
    evals = {ev["name"]: ev for ev in first.manifest["evals"]}
    owner: dict[tuple[str, str], ShardInput] = {}
    for shard in shards:
        names = [ev["name"] for ev in shard.manifest["evals"]]
        if sorted(names) != sorted(evals):
            raise ConfigError(
                f"{shard.named()} ran the evals {names}, {first.named()} ran {sorted(evals)}",
                where=shard.folder,
                fix="run every shard on the same eval files",
            )
        for ev in shard.manifest["evals"]:
            ref = evals[ev["name"]]
            for key, what in (
                ("spec_hash", "eval spec (eval file, golden set)"),
                ("suites", "suites"),
                ("systems", "systems or their fingerprints"),
            ):
                if ev.get(key) != ref.get(key):
                    raise ConfigError(
                        f"{shard.named()} ran another {what} of eval '{ev['name']}' than "
                        f"{first.named()}",
                        where=shard.folder,
                        key=key,
                        fix="merge shards of one run: all from the same commit and options",
                    )
            for case_id in ev["case_ids"]:
                other = owner.setdefault((ev["name"], case_id), shard)
                if other is not shard:
                    raise ConfigError(
                        f"case '{case_id}' of eval '{ev['name']}' is in {shard.named()} and "
                        f"in {other.named()}",
                        where=shard.folder,
                        fix="merge shards of one run",
                    )


def _spec_of(ev: Mapping[str, Any], shard: ShardInput, specs: Mapping[str, EvalSpec]) -> EvalSpec:
    """The eval the shards ran: given, else loaded from the file the manifest names (as the
    shard saw it, relative to the working folder first)."""
    if ev["name"] in specs:
        return specs[ev["name"]]
    candidates = [Path(p) for p in (ev.get("source_relative"), ev["source"]) if p]
    found = next((path for path in candidates if path.is_file()), None)
    if found is None:
        raise ConfigError(
            f"the eval file of '{ev['name']}' is not here: {ev['source']}",
            where=shard.folder,
            fix="run brittle merge from the project root the shards ran in (same checkout)",
        )
    with compact_golden():  # the golden set held compactly (spec/golden.py): 200,000 cases
        return load_eval_file(found)  # take about 50 MB instead of 155


def merge_shards(
    folders: Sequence[Path],
    options: Options | None = None,
    *,
    specs: Mapping[str, EvalSpec] | None = None,
) -> MergedSession:
    """A session holding the run the shards in ``folders`` make together, every system's rows
    rebuilt and measured, no gate decided yet (:func:`brittle.run.verdicts.check_systems`
    decides them; :func:`brittle.report.artifacts.write_reports` writes the report).

    ``specs``: the evals by name when the caller has them (Python evals), else each is loaded
    from the file its manifest names. Raises :class:`ConfigError` naming the shard when the
    shards do not belong together or the eval changed since they ran."""
    shards = read_shards(folders)
    session = MergedSession(options or Options())
    session.merged_from = [shard.folder / RESULTS for shard in shards]
    session.shards = [f"{shard.k}/{shard.n} {shard.folder}" for shard in shards]
    records = [_run_json(shard) for shard in shards]
    for ev in shards[0].manifest["evals"]:
        spec = _spec_of(ev, shards[0], specs or {})
        all_ids = _case_ids(spec)
        if eval_hash(spec, all_ids) != ev["spec_hash"]:
            raise ConfigError(
                f"eval '{ev['name']}' changed since the shards ran (eval file or golden set)",
                where=spec.source,
                fix="merge from the checkout the shards ran on, or rerun the shards",
            )
        del all_ids
        state = session.state(spec)
        state.rows = []  # nothing to run: every system's rows come from the shards
        evals = [_eval_of(record, spec.name) for record in records]
        for key in ("variants_per_family", "noops_per_family", "dropped_per_family"):
            target = {
                "variants_per_family": state.run.variants_per_family,
                "noops_per_family": state.run.noops,
                "dropped_per_family": state.run.dropped,
            }[key]
            target.update(_summed(ev.get(key) for ev in evals))
        for name in ev["systems"]:
            runs = [record["systems"][name] for record in evals if name in record["systems"]]
            with returning_memory():  # Arrow's decoding memory given back as it is freed
                state.run.systems[name] = rebuild_system(spec, name, shards, runs)
    return session


def gate_and_write(session: MergedSession) -> bool:
    """Decide every gate of every merged eval and system (the gate loop of a run), write the
    queued baselines and the report (with its history entry) as a run does; True when the
    merged run fails (a gate failed, a baseline update was refused). Verdicts are in each
    eval state's ``verdicts``; the files written in ``session.written``."""
    from brittle.report.artifacts import write_reports  # artifacts imports this module's peers
    from brittle.run.verdicts import check_systems

    failed = False
    for state in list(session.evals.values()):
        for checked in check_systems(session, state.spec, list(state.run.systems)):
            if checked.missing is not None or (
                checked.verdict is not None and checked.verdict.passed is False
            ):
                failed = True
    session.finish()
    report_dir = session.options.report_dir
    if report_dir is not None and session.ran():
        with returning_memory():  # the shards' rows copied batch by batch: pages given back
            session.written = write_reports(session, report_dir)
    return failed or bool(session.baselines_refused)


def _run_json(shard: ShardInput) -> dict[str, Any]:
    try:
        return dict(json.loads((shard.folder / "run.json").read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable run.json of {shard.named()}: {exc}") from None


def _eval_of(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    return next((dict(ev) for ev in record.get("evals", []) if ev["name"] == name), {})


def _summed(parts: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in parts:
        for key, value in (part or {}).items():
            out[key] = out.get(key, 0) + int(value)
    return out


def rebuild_system(
    spec: EvalSpec, name: str, shards: Sequence[ShardInput], records: Sequence[Mapping[str, Any]]
) -> SystemRun:
    """One system's run from its rows in the shards' parquet files, in a whole run's order,
    measured by the engine's :func:`~brittle.run.engine.measure`."""
    columns = _read_rows(spec.name, name, [shard.folder / RESULTS for shard in shards])
    _whole_run_order(spec, columns)
    system = spec.system(name)
    price = system_price(system)
    excluded = _left_out(columns["passed"], columns["error"])  # a judge's excluded verdicts
    left_out = excluded.tolist() if excluded.any() else []
    outcome, metrics, flips = measure(spec, columns, price, left_out=left_out)
    merge_judge_metrics(metrics, [(r.get("metrics") or {}).get("overall") for r in records])
    check = merge_checks(name, [r.get("adapter_check") for r in records])  # a fine-tune's
    if check is not None:  # base answers, per shard: summed (run/adapter_check.py)
        attach(metrics, check)
    searches = [r["format_search"] for r in records if isinstance(r.get("format_search"), Mapping)]
    if searches:  # each shard searched the formats on its own cases: pooled format by format
        search = metrics["format_search"] = merge_searches(searches, spec, system)
        add_metric(metrics, search)  # (search/formats.py)
    first = records[0] if records else {}
    return SystemRun(
        system=name,
        kind=str(first.get("kind", system.kind)),
        fingerprint=str(first.get("fingerprint", system.fingerprint())),
        spec=dict(first.get("spec") or system.spec()),
        columns=columns,
        metrics=metrics,
        flips=flips,
        wall_s=max((float(r.get("wall_s") or 0) for r in records), default=0.0),
        outcome=outcome,
        template_variants=_summed(r.get("template_variants_per_family") for r in records),
        template_noops=_summed(r.get("template_noops_per_family") for r in records),
        template_dropped=_summed(r.get("template_dropped_per_family") for r in records),
        stopped=next((r["stopped"] for r in records if r.get("stopped")), None),
        price=price.describe() if price is not None else None,
        startup_s=max((float(r.get("startup_s") or 0) for r in records), default=0.0),
        replicas=merge_counters([r.get("replicas") for r in records]),
    )


def _left_out(passed: Coded, error: Coded) -> np.ndarray:
    """Which rows a judge excluded (neither scored nor an error), from the codes: no Python
    object per row (a list of 1,000,000 bools and its zip took 60 MB at its peak)."""
    unscored = np.array([v is None for v in passed.values], dtype=bool)
    no_error = np.array([v is None for v in error.values], dtype=bool)
    return np.asarray(unscored[passed.codes] & no_error[error.codes])


def _read_rows(eval_name: str, system: str, sources: Sequence[Path]) -> dict[str, Any]:
    """The system's result columns from ``sources``, streamed: every row's numbers, and the
    texts only of rows a report may show (not passed, or an original), held compactly
    (:mod:`brittle.report.merge_rows`: about 60 bytes a row)."""
    coded = {name: CodedBuilder() for name in RESULT_COLUMNS if name in _CODED}
    packed: dict[str, list[pa.Array]] = {name: [] for name in RESULT_COLUMNS if name not in _CODED}
    failed_cases: set[str] = set()  # cases whose original did not pass: their flips' texts
    for source in sources:
        parquet = pq.ParquetFile(source)
        present = set(parquet.schema_arrow.names)
        wanted = [c for c in RESULT_COLUMNS if c in present]
        # one thread: arrow's per-thread decoding buffers left 35-60 MB more resident at 1M rows
        batches = parquet.iter_batches(
            batch_size=PARQUET_CHUNK, columns=["eval", *wanted], use_threads=False
        )
        for batch in batches:
            mask = pc.and_(
                pc.equal(batch.column("eval"), text_scalar(eval_name)),
                pc.equal(batch.column("system"), text_scalar(system)),
            )
            batch = batch.filter(mask)
            if not batch.num_rows:
                continue
            shown = _shown_rows(batch, failed_cases)
            for name in RESULT_COLUMNS:
                if name not in present:
                    array: pa.Array = pa.nulls(batch.num_rows)
                else:
                    array = batch.column(name)
                    if name not in NUMBER_COLUMNS:  # a text: kept where a report may show it
                        array = pc.if_else(shown, array, pa.nulls(batch.num_rows, array.type))
                if name in coded:
                    coded[name].add(array)
                else:
                    packed[name].append(array)
    columns: dict[str, Any] = {name: builder.build() for name, builder in coded.items()}
    for name, arrays in packed.items():
        columns[name] = Packed.of(arrays)
    columns["suite"] = columns["suite"].mapped({ORIGINAL_SUITE: ""})
    _drop_unshown_originals(columns)
    pa.default_memory_pool().release_unused()  # the batches read: given back
    return {name: columns[name] for name in RESULT_COLUMNS}


#: the texts of a row (input, prompt, model output, check details) no number needs
_TEXTS = ("input", "prompt", "output", "checks")


def _drop_unshown_originals(columns: dict[str, Any]) -> None:
    """The texts of the originals of cases where every row passed, dropped now that every row
    is read (a case's variants may come after its original: its flips were not known while
    reading). No report shows them: a flip has a row that did not pass, failing and erring
    rows did not pass; the output is kept where the answer is None (a run's remark on
    answers that never change compares those outputs). 1M rows: 38 MB of 81."""
    passed: Coded = columns["passed"]
    family: Coded = columns["family"]
    cases: Coded = columns["case_id"]
    not_passed = np.array([v is not True for v in passed.values], dtype=bool)[passed.codes]
    case_shown = np.zeros(len(cases.values), dtype=bool)
    case_shown[cases.codes[not_passed]] = True
    original = np.array([v == ORIGINAL for v in family.values], dtype=bool)[family.codes]
    drop = original & ~case_shown[cases.codes]
    del not_passed, case_shown, original
    if not drop.any():
        return
    answers: Coded = columns["answer"]
    answered = np.array([v is not None for v in answers.values], dtype=bool)[answers.codes]
    for name in _TEXTS:
        column = columns[name]
        if not isinstance(column, Packed) or column.array.type == pa.null():
            continue
        del column  # replace_without releases each batch: no other reference may hold them
        mask = drop & answered if name == "output" else drop
        Packed.replace_without(columns, name, mask)


def _shown_rows(batch: pa.RecordBatch, failed_cases: set[str]) -> pa.Array:
    """Which rows of ``batch`` keep their texts: those not passed, the originals, and every
    row of a case whose original did not pass (a flip from fail to pass shows both sides).
    A case's original comes before its variants in a shard, so ``failed_cases`` (updated
    here) already knows it."""
    passed, family = batch.column("passed"), batch.column("family")
    not_passed = pc.invert(pc.fill_null(passed, bool_array(np.zeros(1, dtype=bool))[0]))
    original = pc.equal(family, text_scalar(ORIGINAL))
    failed = batch.column("case_id").filter(pc.and_(original, not_passed))
    failed_cases.update(failed.to_pylist())
    in_failed = pc.is_in(batch.column("case_id"), value_set=text_array(sorted(failed_cases)))
    return pc.or_(pc.or_(not_passed, original), in_failed)


def _case_ids(spec: EvalSpec) -> list[str]:
    """The golden set's case ids (without making its cases when held compactly)."""
    cases = spec.cases
    return cases.ids if isinstance(cases, CompactCases) else [case.id for case in cases]


def _whole_run_order(spec: EvalSpec, columns: dict[str, Any]) -> None:
    """Reorder ``columns`` in place as the whole run orders its rows: input rows (originals
    and input variants) case by case in golden-set order, then template-level rows case by case;
    a shard keeps that order within itself, so a stable sort restores it."""
    cases_column: Coded = columns["case_id"]
    if not len(cases_column):
        return
    ids = _case_ids(spec)
    index = {case_id: i for i, case_id in enumerate(ids)}
    case_rank = np.array([index.get(c, -1) for c in cases_column.values], dtype=np.int64)
    del index
    # the case ids as the golden set's own strings: no second 200,000 strings
    shared = [
        ids[rank] if rank >= 0 else c
        for rank, c in zip(case_rank.tolist(), cases_column.values, strict=True)
    ]
    columns["case_id"] = cases_column = Coded(cases_column.codes, shared)
    template = {
        (suite.name, entry.name)
        for suite in spec.suites
        for entry in suite.entries
        if entry.target != "input"
    }
    suites: Coded = columns["suite"]
    perturbations: Coded = columns["perturbation"]
    is_template = np.array(  # by the codes of (suite, perturbation): a small table
        [[(suite, name) in template for name in perturbations.values] for suite in suites.values],
        dtype=np.int64,
    ).reshape(len(suites.values), len(perturbations.values))
    key = is_template[suites.codes, perturbations.codes] * (len(ids) + 1)
    key += case_rank[cases_column.codes] + 1  # template level first, then the case (-1: none)
    order = np.argsort(key, kind="stable")  # stable: the shard's own order within a key
    del key
    if np.array_equal(order, np.arange(len(order))):
        return
    for name, values in columns.items():
        columns[name] = values.take(order)


__all__ = [
    "MergedSession",
    "ShardInput",
    "gate_and_write",
    "merge_shards",
    "read_shards",
    "rebuild_system",
]
