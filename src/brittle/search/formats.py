"""Format search: the best and worst formats of a prompt system's template, under a budget.

An eval with a ``format_search`` entry (:mod:`brittle.spec.format_search`) gets, per prompt
system, a FormatSpread-style search: ``formats`` points of the grammar
(:mod:`brittle.perturb.format_grammar`, the template as written among them) are the arms of a
Thompson-sampling bandit (:mod:`brittle.stats.format_spread`); each pull answers one golden case
in that format through the gateway (cached, retried, errors recorded as every call is) and the
eval's checks score it. The budget is the number of model calls per system (cache hits count:
a rerun repeats the same search for free).

The result, ``systems[].format_search`` in run.json and summary.json, is::

    {budget, calls, errors, seed, formats_tried,
     best: {format, label, accuracy, interval, n, template},
     worst: {...}, spread, interval, fixture, frozen, arms: [{label, n, passed, errors, format}]}

or ``{"undefined": "<why>"}`` for a system without a template. A merged run (``brittle merge``,
``pytest -n``) pools its shards' searches format by format (:func:`merge_searches`) and adds
``shards`` (the searches pooled) and, when some formats were drawn in only some shards,
``arms_left_out``. ``spread`` is also the system's
metric ``format_spread`` (``metrics.overall``, its interval under ``ci``), which a gate reads
(``format_spread <= 0.10``).

:func:`freeze` (``brittle freeze-formats``) writes the worst formats a run found into the eval's
fixture, which later runs read back as the ``format-fixture`` suite.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from brittle.checks import Check
from brittle.gateway import CallResult, Gateway
from brittle.gateway.calls import describe_error
from brittle.perturb.format_grammar import ORIGINAL, FormatPoint, draw_formats, render
from brittle.perturb.template import compiles
from brittle.spec.cases import Case
from brittle.spec.format_search import METRIC, FormatSearchSpec
from brittle.spec.systems import LLMSystem, System, Template
from brittle.spec.yamlio import read_jsonl
from brittle.stats.format_spread import (
    BEST,
    WORST,
    Arm,
    ThompsonBandit,
    arm_interval,
    extreme,
    pool_arms,
    spread_interval,
)

NO_TEMPLATE = (
    "the system has no prompt template (a Python system, or a model sent the bare input): "
    "there is no format to vary"
)
NO_FIELDS = (
    "the template has nothing the format grammar rewrites (no 'Name: value' field line, "
    "no input placeholder on its own line, no answer choices): one format only"
)


def choices_of(settings: FormatSearchSpec, checks: Sequence[Check]) -> tuple[str, ...] | None:
    """The answer labels for the enumeration dimension: the entry's, else a label check's."""
    if settings.choices:
        return settings.choices
    for check in checks:
        found = check.params.get("choices") if check.name == "label" else None
        if isinstance(found, list | tuple) and all(isinstance(c, str) for c in found):
            return tuple(found)
    return None


def undefined(why: str) -> dict[str, Any]:
    return {"undefined": why}


async def search_formats(
    system: System,
    cases: Sequence[Case],
    checks: Sequence[Check],
    gateway: Gateway,
    settings: FormatSearchSpec,
    *,
    label: str = "",
) -> dict[str, Any]:
    """Search ``system``'s formats on ``cases`` within ``settings.budget`` calls (see the
    module docstring for the result)."""
    template = getattr(system, "template", None)
    if not isinstance(system, LLMSystem) or not isinstance(template, Template):
        return undefined(NO_TEMPLATE)
    if not cases:
        return undefined("the golden set has no cases")
    import random

    choices = choices_of(settings, checks)
    drawn = draw_formats(
        template.text, settings.formats, random.Random(settings.seed), choices=choices
    )
    arms = [(point, text) for point, text in drawn if compiles(text)]
    if len(arms) < 2:
        return undefined(NO_FIELDS)
    systems = [system if i == 0 else system.with_template(text) for i, (_, text) in enumerate(arms)]
    bandit = ThompsonBandit(len(arms), len(cases), settings.seed)
    fingerprint = system.fingerprint()
    calls = 0
    first_error: str | None = None
    objective = WORST
    while calls < settings.budget:
        pulls = bandit.round(min(settings.batch, settings.budget - calls), objective)
        if not pulls:
            break
        objective = BEST if objective == WORST else WORST
        results = await asyncio.gather(
            *(
                _answer(systems[arm], cases[case], gateway, fingerprint, f"{label}format {arm}")
                for arm, case in pulls
            )
        )
        calls += len(pulls)
        passed = await _score(results, [cases[case] for _, case in pulls], checks, gateway)
        for (arm, _), result, verdict in zip(pulls, results, passed, strict=True):
            if result.error is not None and first_error is None:
                first_error = result.error
            bandit.record(arm, verdict)
    return _result(bandit, arms, settings, calls, first_error)


async def _answer(
    system: System, case: Case, gateway: Gateway, fingerprint: str, label: str
) -> CallResult:
    scoped = gateway.scoped(fingerprint=fingerprint, repeat=0, label=f"{label} / {case.id}")
    try:
        if isinstance(system, LLMSystem):
            return await system.run(case.inputs, scoped, prompt=system.prompt_for(case.inputs))
        return await system.run(case.inputs, scoped)
    except Exception as exc:  # rendering errors and the like: recorded, never raised
        return CallResult(text=None, error=describe_error(exc))


async def _score(
    results: Sequence[CallResult], cases: Sequence[Case], checks: Sequence[Check], gateway: Gateway
) -> list[bool | None]:
    """Each answer's verdict: every check passed (None: the call or a judge errored)."""
    ok = [i for i, r in enumerate(results) if r.error is None and not r.missing]
    outputs = [results[i].text or "" for i in ok]
    verdicts: list[bool | None] = [None] * len(results)
    per_check = [
        await check.acheck_batch(outputs, [cases[i] for i in ok], gateway) for check in checks
    ]
    for position, index in enumerate(ok):
        found = [checked[position] for checked in per_check]
        if any(r.error is not None or r.excluded for r in found):
            continue
        verdicts[index] = all(r.passed for r in found)
    return verdicts


def _result(
    bandit: ThompsonBandit,
    arms: Sequence[tuple[FormatPoint, str]],
    settings: FormatSearchSpec,
    calls: int,
    first_error: str | None,
) -> dict[str, Any]:
    errors = sum(arm.errors for arm in bandit.state)
    worst, best = bandit.extreme(WORST), bandit.extreme(BEST)
    if worst is None or best is None:
        why = f"every one of its {calls} call(s) errored" + (
            f" (first error: {first_error})" if first_error else ""
        )
        return undefined(why)
    spread = spread_interval(
        (bandit.state[best].passed, bandit.state[best].pulls),
        (bandit.state[worst].passed, bandit.state[worst].pulls),
    )
    assert spread is not None  # both arms were pulled
    return {
        "budget": settings.budget,
        "calls": calls,
        "errors": errors,
        "seed": settings.seed,
        "formats_tried": sum(1 for arm in bandit.state if arm.pulls or arm.errors),
        "formats": len(arms),
        "best": _arm(bandit, arms, best),
        "worst": _arm(bandit, arms, worst),
        "spread": spread.value,
        "interval": [spread.low, spread.high],
        "fixture": _shown_path(settings.fixture),
        "frozen": _is_frozen(settings.fixture, arms[worst][0]),
        "arms": [
            {
                "label": point.label(),
                "n": state.pulls,
                "passed": state.passed,
                "errors": state.errors,
                "format": point.as_dict(),
            }
            for (point, _), state in zip(arms, bandit.state, strict=True)
        ],
    }


def _arm(
    bandit: ThompsonBandit, arms: Sequence[tuple[FormatPoint, str]], index: int
) -> dict[str, Any]:
    point, text = arms[index]
    return _arm_record(point.as_dict(), point.label(), bandit.state[index], text)


def _arm_record(
    point: Mapping[str, Any], label: str, state: Arm, template: str | None
) -> dict[str, Any]:
    interval = arm_interval(state.passed, state.pulls)
    return {
        "format": dict(point),
        "label": label,
        "accuracy": state.passed / state.pulls,
        "interval": list(interval) if interval else None,
        "n": state.pulls,
        "template": template,
    }


def merge_searches(
    records: Sequence[Mapping[str, Any]], spec: Any = None, system: System | None = None
) -> dict[str, Any]:
    """One search from the searches of a run's shards (``brittle merge``, ``pytest -n``):
    each shard searched the same formats on its own cases, so each format's passes and pulls
    are pooled over the shards (:func:`brittle.stats.format_spread.pool_arms`) and the best
    and worst formats, ``spread`` and its interval are those of the pooled counts, as
    :func:`search_formats` measures one search. ``budget``, ``calls`` and ``errors`` are the
    shards' sums (each shard spends its own budget); ``shards`` says how many searches were
    pooled. Formats drawn in only some shards are left out (``arms_left_out``: their labels).

    A shard whose search is undefined (no cases, every call errored) adds nothing; when all
    are, the first shard's record is kept. ``spec`` and ``system`` (the eval and the system
    searched) give the template of a pooled extreme that no shard reported as its own."""
    found = [r for r in records if isinstance(r, Mapping)]
    defined = [r for r in found if "undefined" not in r and isinstance(r.get("arms"), list)]
    if not defined:
        return dict(found[0]) if found else undefined("no shard searched the formats")
    parts = [
        [
            (
                str(arm["label"]),
                int(arm.get("passed") or 0),
                int(arm.get("n") or 0),
                int(arm.get("errors") or 0),
            )
            for arm in record["arms"]
        ]
        for record in defined
    ]
    pooled, left_out = pool_arms(parts)
    states = [state for _, state in pooled]
    worst, best = extreme(states, WORST), extreme(states, BEST)
    first = defined[0]
    if worst is None or best is None:
        return undefined(
            f"no format searched in every one of the {len(defined)} shards was answered"
        )
    formats = _formats_of(defined)
    spread = spread_interval(
        (states[best].passed, states[best].pulls), (states[worst].passed, states[worst].pulls)
    )
    assert spread is not None  # both arms were pulled
    labels = [label for label, _ in pooled]
    worst_record = _pooled_arm(labels[worst], states[worst], formats, defined, spec, system)
    fixture = first.get("fixture")
    out: dict[str, Any] = {
        "budget": sum(int(r.get("budget") or 0) for r in defined),
        "calls": sum(int(r.get("calls") or 0) for r in defined),
        "errors": sum(int(r.get("errors") or 0) for r in defined),
        "seed": first.get("seed"),
        "formats_tried": sum(1 for state in states if state.pulls or state.errors),
        "formats": len(states) + len(left_out),
        "best": _pooled_arm(labels[best], states[best], formats, defined, spec, system),
        "worst": worst_record,
        "spread": spread.value,
        "interval": [spread.low, spread.high],
        "fixture": fixture,
        "frozen": bool(worst_record["format"])
        and _is_frozen(Path(fixture) if fixture else None, worst_record["format"]),
        "shards": len(defined),
        "arms": [
            {
                "label": label,
                "n": state.pulls,
                "passed": state.passed,
                "errors": state.errors,
                "format": formats.get(label),
            }
            for label, state in pooled
        ],
    }
    if left_out:
        out["arms_left_out"] = left_out
    return out


def _formats_of(records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each format's dimensions by its label, from the searches' arms and extremes."""
    formats: dict[str, dict[str, Any]] = {}
    for record in records:
        for arm in [*record.get("arms", []), record.get("best"), record.get("worst")]:
            if isinstance(arm, Mapping) and isinstance(arm.get("format"), Mapping):
                formats.setdefault(str(arm["label"]), dict(arm["format"]))
    return formats


def _pooled_arm(
    label: str,
    state: Arm,
    formats: Mapping[str, dict[str, Any]],
    records: Sequence[Mapping[str, Any]],
    spec: Any,
    system: System | None,
) -> dict[str, Any]:
    """The record of a pooled extreme: its template as a shard wrote it for that format,
    else rendered from the system's template as the search drew it."""
    template = next(
        (
            arm.get("template")
            for record in records
            for arm in (record.get("best"), record.get("worst"))
            if isinstance(arm, Mapping) and arm.get("label") == label
        ),
        None,
    )
    point = formats.get(label, {})
    if template is None and point:
        template = _render(FormatPoint.from_dict(point), spec, system)
    return _arm_record(point, label, state, template)


def _render(point: FormatPoint, spec: Any, system: System | None) -> str | None:
    text = getattr(getattr(system, "template", None), "text", None)
    settings = getattr(spec, "format_search", None)
    if not isinstance(text, str) or settings is None:
        return None
    if point == ORIGINAL:
        return text  # the template as written, as draw_formats gives it
    return render(text, point, choices_of(settings, spec.checks))


def add_metric(metrics: dict[str, Any], found: Mapping[str, Any]) -> None:
    """``format_spread`` into a system's ``metrics.overall`` (None when undefined), its
    interval under ``ci`` and why it is undefined under ``format_spread_undefined``."""
    overall = metrics["overall"]
    overall[METRIC] = found.get("spread")
    if "undefined" in found:
        overall[f"{METRIC}_undefined"] = found["undefined"]
        return
    overall.setdefault("ci", {})[METRIC] = list(found["interval"])
    overall.setdefault("ci_method", {})[METRIC] = "newcombe"


def _shown_path(path: Path | None) -> str | None:
    """The fixture's path as run.json keeps it: relative to the working directory when inside
    it (a report made in CI from the repository's root names the file of any checkout of it, so
    ``brittle freeze-formats`` run from a local root finds it), else absolute."""
    if path is None:
        return None
    here = Path.cwd()
    whole = path if path.is_absolute() else here / path
    if whole.is_relative_to(here):
        return whole.relative_to(here).as_posix()
    return str(whole)


def _is_frozen(fixture: Path | None, point: FormatPoint | Mapping[str, Any]) -> bool:
    """Whether ``point`` (or its dimensions) is already a line of the fixture."""
    if fixture is None or not fixture.is_file():
        return False
    wanted = point.as_dict() if isinstance(point, FormatPoint) else dict(point)
    return wanted in (record.get("format") for record in _fixture_lines(fixture))


def _fixture_lines(path: Path) -> list[dict[str, Any]]:
    fix = "each line is a JSON object with a 'format' mapping; fix or delete the line"
    return [
        dict(record)
        for _, record in read_jsonl(path, what="format fixture line", fix=fix)
        if isinstance(record, Mapping)
    ]


def freeze(record: Mapping[str, Any], *, only: Sequence[str] = ()) -> list[tuple[Path, int, int]]:
    """Merge the worst formats of a run.json ``record`` into each eval's fixture.

    Per fixture: ``(path, added, total lines)``. Lines are keyed by their format; a format
    already there gains the new system's name. Lines are sorted, so freezing the same run twice
    leaves the file byte for byte the same. ``only`` keeps these eval names.
    """
    written: list[tuple[Path, int, int]] = []
    for evaluation in record.get("evals") or []:
        if only and evaluation.get("name") not in only:
            continue
        found = [
            (name, system["format_search"])
            for name, system in (evaluation.get("systems") or {}).items()
            if isinstance(system.get("format_search"), Mapping)
            and system["format_search"].get("worst")
            and system["format_search"].get("fixture")
        ]
        if not found:
            continue
        path = Path(found[0][1]["fixture"])
        lines: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in _fixture_lines(path):
                lines[json.dumps(line.get("format"), sort_keys=True)] = line
        added = 0
        for name, search in found:
            worst = search["worst"]
            key = json.dumps(worst["format"], sort_keys=True)
            if key not in lines:
                lines[key] = {
                    "format": worst["format"],
                    "label": worst["label"],
                    "systems": [],
                    "accuracy": {},
                }
                added += 1
            line = lines[key]
            line["systems"] = sorted({*line.get("systems", []), name})
            line.setdefault("accuracy", {})[name] = round(float(worst["accuracy"]), 4)
            line["eval"] = evaluation.get("name")
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "".join(
            json.dumps(lines[key], ensure_ascii=False, sort_keys=True) + "\n"
            for key in sorted(lines)
        )
        if not path.is_file() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
        written.append((path, added, len(lines)))
    return written


def add_format_search(spec: Any, system: System, run: Any, gateway: Gateway) -> None:
    """Search the formats of one system of eval ``spec`` (an EvalSpec) after its run, in an
    event loop of its own, and keep the result in the run's metrics: ``format_search`` (the
    record above) and ``overall.format_spread`` (:func:`add_metric`), so run.json, summary.json
    and baselines carry them. Nothing when the eval has no ``format_search`` entry."""
    settings = getattr(spec, "format_search", None)
    if settings is None:
        return
    found = asyncio.run(
        search_formats(
            system,
            spec.cases,
            spec.checks,
            gateway,
            settings,
            label=f"{spec.name} / {system.name} / ",
        )
    )
    run.metrics["format_search"] = found
    add_metric(run.metrics, found)


__all__ = [
    "NO_FIELDS",
    "NO_TEMPLATE",
    "add_format_search",
    "add_metric",
    "choices_of",
    "freeze",
    "merge_searches",
    "search_formats",
]
