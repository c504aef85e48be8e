"""The gate loop: each gate of each selected system of an eval, decided against the baseline.

One implementation for the pytest plugin (one item per gate, each calling :func:`check`) and
``brittle run`` (:func:`check_systems`). A system runs once, when its first gate is checked.

Relative gates are paired tests against the baseline's per-case outcomes. All the relative gates
of the systems a run checks form one family: their p-values are Holm-corrected together, decided
at once when the first of them is checked (:func:`select` declares the family beforehand).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from brittle._errors import BrittleError, ReplayMissError
from brittle.run.engine import SystemRun
from brittle.run.session import BrittleSession, newly_flipped
from brittle.spec.eval import EvalSpec
from brittle.stats.baseline import UPDATE_HINT, SystemBaseline
from brittle.stats.gates import Gate, Verdict
from brittle.stats.paired import CaseChanges, Comparison, case_changes, compare, decide
from brittle.stats.results import Flip
from brittle.stats.significance import holm

MAX_CASES_IN_MESSAGE = 5
#: why a relative gate is not checked while the baseline is being updated
NOT_CHECKED = "updating the baseline: relative gate not checked"
#: the gate of a system without gates: its error budget alone
ERROR_BUDGET = Gate(metric="error_rate", op="max", value=1.0)


def gates_of(spec: EvalSpec) -> list[Gate | None]:
    """The gates each system of ``spec`` is checked on; ``[None]`` (the error budget alone)
    for an eval without gates."""
    return [*spec.gates] or [None]


def select(session: BrittleSession, spec: EvalSpec, systems: Sequence[str]) -> None:
    """Declare the systems whose gates this run checks: the Holm family of the eval's
    relative gates (before checking any)."""
    for name in systems:
        session.select(spec, name)


def check(
    session: BrittleSession, spec: EvalSpec, system_name: str, gate: Gate | None
) -> Verdict | None:
    """One gate of one system, or None for a relative gate while the baseline is updated (the
    system still runs, so its results reach the new baseline)."""
    if updating_baseline(session, gate):
        session.run_system(spec, system_name)
        return None
    return check_gate(session, spec, system_name, gate)


def updating_baseline(session: BrittleSession, gate: Gate | None) -> bool:
    """Whether ``gate`` is a relative gate of a run that updates the baseline: not checked."""
    return gate is not None and gate.relative and session.options.update_baseline


@dataclass(frozen=True)
class Checked:
    """A gate as :func:`check_systems` left it."""

    system: str
    gate: Gate | None
    #: None: not checked (a relative gate while updating the baseline, or a replay miss)
    verdict: Verdict | None = None
    #: replay mode: the system's calls missing from the response cache (its gates fail)
    missing: ReplayMissError | None = None


def check_systems(
    session: BrittleSession, spec: EvalSpec, systems: Sequence[str]
) -> Iterator[Checked]:
    """Every gate of ``systems`` (the family), in order. A system whose calls a replay missed
    yields one :class:`Checked` with ``missing`` instead of its gates; the others still run."""
    select(session, spec, systems)
    for name in systems:
        for gate in gates_of(spec):
            try:
                verdict = check(session, spec, name, gate)
            except ReplayMissError as exc:
                yield Checked(name, gate, missing=exc)
                break
            yield Checked(name, gate, verdict)


def check_gate(
    session: BrittleSession, spec: EvalSpec, system_name: str, gate: Gate | None
) -> Verdict:
    """Run the system if needed and decide one gate (``None``: the error budget alone)."""
    state = session.state(spec)
    run = session.run_system(spec, system_name)
    if run.replay_missing:
        raise _replay_miss(spec, system_name, run.replay_missing)
    baseline = session.baseline(spec)
    base_system = baseline.systems.get(system_name) if baseline else None
    effective = gate or ERROR_BUDGET
    if gate is not None and gate.relative:
        verdict = _relative_verdict(session, spec, system_name, gate)
    else:
        verdict = effective.evaluate(
            run.metrics, base_system.metrics if base_system else None, spec.error_budget
        )
    if verdict.passed is False:
        verdict = _with_first_error(_with_cases(verdict, run, base_system, effective), run)
    state.verdicts[(system_name, effective.name if gate else "run")] = verdict
    return verdict


def _relative_verdict(
    session: BrittleSession, spec: EvalSpec, system_name: str, gate: Gate
) -> Verdict:
    """A relative gate's verdict, decided with every relative gate of its family at once."""
    state = session.state(spec)
    key = (system_name, gate.name)
    if key not in state.relative:
        family = [s.name for s in spec.systems if not state.selected or s.name in state.selected]
        if system_name not in family:
            family = [system_name]  # checked without being selected: a family of its own
        decided = {name for name, _ in state.relative}
        state.relative.update(
            _decide_relative(session, spec, [n for n in family if n not in decided], system_name)
        )
    return state.relative[key]


def _decide_relative(
    session: BrittleSession, spec: EvalSpec, systems: list[str], asking: str
) -> dict[tuple[str, str], Verdict]:
    """Paired tests for the relative gates of ``systems``, Holm-corrected together.

    A system other than ``asking`` that cannot run is left out of the family: it fails
    when its own gates are checked.
    """
    baseline = session.baseline(spec)
    gates = [g for g in spec.gates if g.relative]
    verdicts: dict[tuple[str, str], Verdict] = {}
    testable: list[tuple[str, Gate, SystemRun, SystemBaseline]] = []
    for name in systems:
        try:
            run = session.run_system(spec, name)
        except BrittleError:
            if name == asking:
                raise
            continue  # it fails on its own gates; the others are decided without it
        base = baseline.systems.get(name) if baseline else None
        for gate in gates:
            point = gate.evaluate(run.metrics, base.metrics if base else None, spec.error_budget)
            if "delta" not in point.details or base is None:
                verdicts[(name, gate.name)] = point  # skipped, or failed on errors
            elif not base.outcomes or run.outcome is None:
                verdicts[(name, gate.name)] = _point_estimate(point)
            else:
                testable.append((name, gate, run, base))
    compared: list[tuple[str, Comparison, CaseChanges]] = []
    for name, gate, run, base in testable:
        assert run.outcome is not None
        comparison = compare(
            gate, run.outcome, base.outcomes, alpha=spec.alpha, family_size=len(testable)
        )
        if comparison is None:
            verdicts[(name, gate.name)] = Verdict(
                gate,
                None,
                f"{gate.metric} is undefined on the rows scored in both this run and the "
                "baseline: skipped",
            )
            continue
        compared.append((name, comparison, case_changes(run.outcome, base.outcomes)))
    adjusted = holm([c.p_value for _, c, _ in compared])
    for (name, comparison, changes), p_adjusted in zip(compared, adjusted, strict=True):
        verdicts[(name, comparison.gate.name)] = decide(
            comparison,
            p_adjusted,
            alpha=spec.alpha,
            family_size=len(compared),
            changes=changes,
        )
    return verdicts


def _replay_miss(spec: EvalSpec, system_name: str, missing: list[str]) -> ReplayMissError:
    shown = ", ".join(missing[:20])
    if len(missing) > 20:
        shown += f" and {len(missing) - 20} more"
    return ReplayMissError(
        f"replay mode: {len(missing)} call(s) of {spec.name} / {system_name} are not in the "
        f"response cache, so they were not made: {shown}\n  fix: record them where model "
        "calls are allowed (cache mode rw or record: --brittle-cache, brittle run --cache, or "
        "BRITTLE_CACHE) and share the cache (commit or download it, or 'brittle cache "
        "export/import')",
        missing,
    )


def _point_estimate(verdict: Verdict) -> Verdict:
    """A relative verdict on the plain delta: the baseline has no per-case outcomes to pair."""
    return Verdict(
        verdict.gate,
        verdict.passed,
        verdict.message + "\n  the baseline stores no per-case outcomes, so this compares the "
        f"plain values without a significance test; refresh it: {UPDATE_HINT}",
        now=verdict.now,
        baseline=verdict.baseline,
        details=verdict.details,
    )


def _shown(value: Any, limit: int = 90) -> str:
    """A text as a quoted literal, shortened: its whitespace stays as it is, line breaks and
    tabs written ``\\n`` and ``\\t``, so a whitespace perturbation shows what it changed."""
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _describe_flip(run: SystemRun, flip: Flip) -> str:
    verdict = "pass→FAIL" if flip.original_passed else "fail→pass"
    return (
        f"    {flip.variant_id} ({verdict}): input {_shown(run.text_of(flip.variant_id, 'input'))}"
        f" -> answer {_shown(flip.variant_answer, 40)} (original answer "
        f"{_shown(flip.original_answer, 40)})"
    )


def _with_first_error(verdict: Verdict, run: SystemRun) -> Verdict:
    """Add the first error to a verdict failed on the error budget."""
    errors = run.errors()
    if "calls" not in verdict.details or not errors:
        return verdict
    first = str(errors[0]["error"]).strip().replace("\n", "\\n")
    where = errors[0]["row_id"]
    return replace(verdict, message=f"{verdict.message}\n  first error ({where}): {first}")


def _with_cases(
    verdict: Verdict, run: SystemRun, baseline: SystemBaseline | None, gate: Gate
) -> Verdict:
    """Add the worst (newly) flipped cases of the gate's scope to a failing verdict."""
    flips = newly_flipped(run, baseline)
    if gate.family:
        flips = [f for f in flips if f.family == gate.family]
    if not flips or gate.metric == "error_rate":
        return verdict
    flips.sort(key=lambda f: (not f.original_passed, f.case_id))
    label = "newly flipped" if baseline is not None else "flipped"
    families = sorted({f.family for f in flips})
    lines = [
        f"  {len(flips)} {label} variant(s) (families: {', '.join(families)}); the worst:",
        *(_describe_flip(run, f) for f in flips[:MAX_CASES_IN_MESSAGE]),
    ]
    return Verdict(
        verdict.gate,
        verdict.passed,
        verdict.message + "\n" + "\n".join(lines),
        now=verdict.now,
        baseline=verdict.baseline,
        details={**verdict.details, "flips": [f.to_dict() for f in flips[:20]]},
    )


__all__ = [
    "ERROR_BUDGET",
    "NOT_CHECKED",
    "Checked",
    "check",
    "check_gate",
    "check_systems",
    "gates_of",
    "select",
    "updating_baseline",
]
