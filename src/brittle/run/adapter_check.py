"""Is the fine-tune applied? Its base model answers a sample of originals, and the two compare.

An adapter that is silently not applied (a path that loads nothing, an untrained LoRA, a
provider id that falls back to its base) makes every number of a "fine-tuned" system the base
model's. So, after a fine-tuned system with a known base (:mod:`brittle.spec.adapter`) has run,
the base answers a sample of its originals with the same template, system prompt and parameters,
through the same gateway (the response cache and the committed recordings apply to these calls
as to any other), and the outputs are compared:

- the sample: ``adapter_check``'s size (30 by default) of the originals the fine-tune answered
  without error, chosen by a hash of each case id (the same cases in every run, whatever the
  golden set's order; a smoke run samples among the cases it kept);
- *changed*: the fine-tune's output differs from the base's (surrounding whitespace aside); any
  difference proves the adapter reached the model, so a base answering with another casing
  counts as changed even where the checks read the same label;
- zero changed is a warning in every report ("the adapter changed 0 of 30 answers: is it
  applied?"); ``adapter_changed`` (the share changed, 0..1) is a gate metric
  (``adapter_changed >= 0.1``); where the check did not run (turned off, no base answer), that
  gate fails with "nothing measured", and for a system with no known base it is skipped.

The record goes into the system's metrics (``metrics["adapter_check"]``, and the share into
``metrics["overall"]["adapter_changed"]``), so baselines, run.json and summary.json carry it.
The base's calls are not counted in the system's progress bar, latency or cost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from brittle.gateway import CallResult, Gateway
from brittle.gateway.calls import describe_error
from brittle.run.engine import Row, SystemRun, run_system
from brittle.spec.adapter import METRIC
from brittle.spec.eval import EvalSpec
from brittle.spec.systems import LLMSystem, System
from brittle.stats.gates import NOTHING_MEASURED, ErrorBudget, Gate, Verdict
from brittle.stats.metrics import ORIGINAL

#: the words every zero-changed warning starts with (then "N of M answers: is it applied?")
WARNING_START = "the adapter changed 0 of"


@dataclass(frozen=True)
class AdapterCheck:
    """What the base model's sample showed, as run.json's ``systems[].adapter_check``."""

    #: the base model as written (``local/smollm2``, ``openai/gpt-4o-mini``)
    base: str
    #: originals compared (the fine-tune's answer and the base's, both without error)
    sample: int
    #: of them, where the fine-tune's output differs from the base's; None when not run
    changed: int | None
    #: ``changed / sample``: the ``adapter_changed`` gate metric; None when not run
    share_changed: float | None
    #: the zero-changed warning, else None
    warning: str | None = None
    #: why nothing was compared (turned off, the base answered none), else None
    not_run: str | None = None
    #: the sample size asked for (``adapter_check``), and the sampled case ids
    requested: int = 0
    cases: tuple[str, ...] = ()
    #: the sampled cases the fine-tune left unchanged (at most :data:`KEPT_UNCHANGED`)
    unchanged: tuple[str, ...] = ()
    #: base calls that errored (left out of ``sample``), with the first error
    errors: int = 0
    first_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["cases"], out["unchanged"] = list(self.cases), list(self.unchanged)
        return out


#: sampled case ids kept in the record's ``unchanged``
KEPT_UNCHANGED = 30


def sample_ids(case_ids: Sequence[str], size: int) -> list[str]:
    """``size`` of ``case_ids``, chosen by the SHA-256 of each id: deterministic, and the same
    for a case whatever the order or number of the others (a new case enters the sample only
    by displacing one that ranks after it)."""
    ranked = sorted(
        dict.fromkeys(case_ids),
        key=lambda case_id: hashlib.sha256(f"adapter-check:{case_id}".encode()).hexdigest(),
    )
    return ranked[:size]


def base_system(system: LLMSystem) -> LLMSystem | None:
    """The fine-tune's base as a system: the same template, system prompt, parameters and
    transport on the base model (None when no base is known)."""
    base = system.base_model()
    if base is None:
        return None
    written, called = base
    return dataclasses.replace(system, model=written, call_model=called, base=None, adapter_check=0)


def _original_outputs(run: SystemRun) -> dict[str, str]:
    """The fine-tune's output per case: first draw of each original it answered."""
    cols = run.columns
    out: dict[str, str] = {}
    for i, family in enumerate(cols["family"]):
        if family != ORIGINAL or cols["repeat"][i] or cols["error"][i] is not None:
            continue
        if cols["output"][i] is not None:
            out.setdefault(str(cols["case_id"][i]), str(cols["output"][i]))
    return out


def _not_run(base: str, requested: int, why: str, **extra: Any) -> AdapterCheck:
    return AdapterCheck(
        base=base,
        sample=0,
        changed=None,
        share_changed=None,
        not_run=why,
        requested=requested,
        **extra,
    )


async def check_adapter(
    spec: EvalSpec, system: System, rows: Sequence[Row], run: SystemRun, gateway: Gateway
) -> AdapterCheck | None:
    """The adapter check of ``system`` after its ``run`` on ``rows`` (None: no known base)."""
    if not isinstance(system, LLMSystem):
        return None
    base = base_system(system)
    if base is None:
        return None
    requested = int(system.adapter_check)
    if requested <= 0:
        return _not_run(base.model, 0, "turned off by 'adapter_check: false'")
    answered = _original_outputs(run)
    chosen = sample_ids(list(answered), requested)
    if not chosen:
        return _not_run(
            base.model, requested, f"the fine-tune '{system.name}' answered no original"
        )
    inputs: dict[str, Mapping[str, Any]] = {}
    for row in rows:
        if row.family == ORIGINAL and not row.repeat:
            inputs.setdefault(row.case.id, row.inputs)
    fingerprint = base.fingerprint()
    where = f"{spec.name} / {system.name} (base {base.model}) / "

    async def one(case_id: str) -> CallResult:
        scoped = gateway.scoped(fingerprint=fingerprint, repeat=0, label=where + case_id)
        try:
            return await base.run(inputs[case_id], scoped)
        except Exception as exc:  # a rendering error and the like: an errored base answer
            return CallResult(text=None, error=describe_error(exc))

    results = await asyncio.gather(*(one(case_id) for case_id in chosen))
    return compare(system.name, base.model, requested, chosen, answered, results)


def compare(
    name: str,
    base: str,
    requested: int,
    chosen: Sequence[str],
    answered: Mapping[str, str],
    results: Sequence[CallResult],
) -> AdapterCheck:
    """The check's record from the base's ``results`` on the ``chosen`` cases."""
    missing = sum(bool(r.missing) for r in results)
    failed = [r for r in results if r.error is not None and not r.missing]
    first = failed[0].error if failed else None
    same: list[str] = []
    changed = 0
    for case_id, result in zip(chosen, results, strict=True):
        if result.error is not None or result.missing or result.text is None:
            continue
        if result.text.strip() == answered[case_id].strip():
            same.append(case_id)
        else:
            changed += 1
    compared = changed + len(same)
    extra: dict[str, Any] = {
        "cases": tuple(chosen),
        "errors": len(failed),
        "first_error": first,
    }
    if compared == 0:
        if missing:
            why = (
                f"the base's answers to the {len(chosen)} sampled cases are not in the response "
                "cache or the recordings (a replay makes no calls); record them with "
                "--brittle-update-baseline"
            )
        else:
            why = f"the base model {base} answered none of the {len(chosen)} sampled cases"
            why += f" (first error: {first})" if first else ""
        return _not_run(base, requested, why, **extra)
    warning = _warning(name, base, compared) if changed == 0 else None
    return AdapterCheck(
        base=base,
        sample=compared,
        changed=changed,
        share_changed=changed / compared,
        warning=warning,
        requested=requested,
        unchanged=tuple(same[:KEPT_UNCHANGED]),
        **extra,
    )


def _warning(name: str, base: str, compared: int) -> str:
    """The warning of a fine-tune that changed none of ``compared`` answers."""
    return (
        f"{WARNING_START} {compared} answers: is it applied? The base model {base} gave "
        f"the same output as '{name}' on all {compared} sampled cases (same template and "
        "parameters); check that the model string names the fine-tune (the adapter folder "
        "after '+', or the provider's fine-tune id) and that the adapter was trained (a "
        "freshly initialised LoRA changes nothing)"
    )


def attach(metrics: dict[str, Any], check: AdapterCheck) -> None:
    """Put the check into a run's metrics: the record, and the gate metric's value."""
    metrics["adapter_check"] = check.to_dict()
    metrics["overall"][METRIC] = check.share_changed


async def run_checked(
    spec: EvalSpec,
    system: System,
    rows: Sequence[Row],
    gateway: Gateway,
    *,
    on_result: Callable[[CallResult], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> SystemRun:
    """:func:`~brittle.run.engine.run_system`, then the adapter check of a fine-tune with a
    known base (its calls are not passed to ``on_result``: the progress bar counts the run's)."""
    run = await run_system(spec, system, rows, gateway, on_result=on_result, on_start=on_start)
    if gateway.fatal is None and not run.stopped:
        check = await check_adapter(spec, system, rows, run, gateway)
    else:
        check = _stopped_check(system, run)
    if check is not None:
        attach(run.metrics, check)
    return run


def _stopped_check(system: System, run: SystemRun) -> AdapterCheck | None:
    """The record of a fine-tune that was stopped at its first call: no base call is made."""
    if not isinstance(system, LLMSystem):
        return None
    base = base_system(system)
    if base is None:
        return None
    why = f"the fine-tune '{system.name}' was stopped: {run.stopped or 'its calls failed'}"
    return _not_run(base.model, int(system.adapter_check), why)


def merge_checks(name: str, records: Sequence[Any]) -> AdapterCheck | None:
    """One check from the shards' records of a system (``brittle merge``): each shard sampled
    up to ``requested`` of its own cases, so the merged sample is their sum; None when no
    shard has a record (no known base)."""
    found = [r for r in records if isinstance(r, Mapping)]
    if not found:
        return None
    ran = [r for r in found if r.get("share_changed") is not None]
    extra: dict[str, Any] = {
        "cases": tuple(c for r in found for c in r.get("cases") or ()),
        "errors": sum(int(r.get("errors") or 0) for r in found),
        "first_error": next((r["first_error"] for r in found if r.get("first_error")), None),
    }
    base, requested = str(found[0].get("base")), max(int(r.get("requested") or 0) for r in found)
    if not ran:
        why = next((str(r["not_run"]) for r in found if r.get("not_run")), "no shard ran it")
        return _not_run(base, requested, why, **extra)
    sample = sum(int(r["sample"]) for r in ran)
    changed = sum(int(r["changed"]) for r in ran)
    unchanged = tuple(c for r in ran for c in r.get("unchanged") or ())
    return AdapterCheck(
        base=base,
        sample=sample,
        changed=changed,
        share_changed=changed / sample if sample else None,
        warning=_warning(name, base, sample) if changed == 0 else None,
        requested=requested,
        unchanged=unchanged[:KEPT_UNCHANGED],
        **extra,
    )


def record_of(run: SystemRun) -> dict[str, Any] | None:
    """The check's record in a run (None: no known base, or a run from before the check)."""
    found = run.metrics.get("adapter_check")
    return found if isinstance(found, dict) else None


def warning_text(record: Mapping[str, Any]) -> str | None:
    """What a check's record warns of: its zero-changed warning, or that a requested check did
    not run (not when turned off: the user asked for that); None when there is nothing to warn
    of. The one wording of the notes and of the HTML page."""
    if record.get("warning"):
        return str(record["warning"])
    why = record.get("not_run")
    if why and record.get("requested"):
        return (
            f"the adapter check did not run ({why}); nothing shows that the fine-tune differs "
            f"from its base {record.get('base')}"
        )
    return None


def adapter_note(name: str, run: SystemRun) -> str | None:
    """The note of a system's check (:func:`warning_text`), naming the system."""
    record = record_of(run)
    text = None if record is None else warning_text(record)
    return None if text is None else f"system '{name}': {text}"


def adapter_verdict(
    gate: Gate,
    system: System,
    run: SystemRun,
    baseline: Mapping[str, Any] | None,
    budget: ErrorBudget,
) -> Verdict | None:
    """The verdict of an ``adapter_changed`` gate (None for any other gate): skipped for a
    system with no known base, failed with "nothing measured" where the check did not run,
    else the threshold on the share changed."""
    if gate.metric != METRIC:
        return None
    if not isinstance(system, LLMSystem) or system.base_model() is None:
        return Verdict(
            gate,
            None,
            f"{METRIC} does not apply to '{system.name}': it is not a fine-tune with a known "
            "base (a 'local/<base>+<adapter>' model, or 'base: <model>' beside a provider's "
            "fine-tune id): skipped",
        )
    record = record_of(run) or {}
    if record.get("share_changed") is None:
        why = record.get("not_run") or "no record of it in this run"
        return Verdict(
            gate,
            False,
            f"{NOTHING_MEASURED} for {METRIC}: the adapter check did not run ({why}); the gate "
            "cannot pass without the base model's answers to compare with",
            details={"nothing_measured": True},
        )
    return gate.evaluate(run.metrics, baseline, budget)


__all__ = [
    "METRIC",
    "WARNING_START",
    "AdapterCheck",
    "adapter_note",
    "adapter_verdict",
    "attach",
    "check_adapter",
    "merge_checks",
    "record_of",
    "run_checked",
    "sample_ids",
]
