"""The gate loop: each gate of each selected system of an eval, decided against the baseline.

One implementation for the pytest plugin (one item per gate, each calling :func:`check`) and
``brittle run`` (:func:`check_systems`). A system runs once, when its first gate is checked.

Relative gates are paired margin tests against the baseline's per-case outcomes
(:mod:`brittle.stats.paired`). Their Holm family is every relative gate of every system the eval
file defines that has per-case outcomes in the baseline, whatever ``-k`` or ``--system`` select:
the systems not selected still run (their verdicts are not reported), so selection never changes
a verdict. With ``--brittle-correct-across-evals`` the family is every relative gate of every eval
collected in the session, at the smallest ``alpha`` among them. The family is decided at once,
when its first relative gate is checked. A system without a baseline entry (or whose baseline
stores no per-case outcomes) is outside the family: its relative gates are skipped (or compared
on the plain values).

A verdict needs measurements (:meth:`brittle.stats.gates.Gate.evaluate`): the error budget is
checked first, and a gate over what no scored row measured fails with "nothing measured"; the
messages here add the first error, and the most frequent distinct errors with their counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from brittle._errors import BrittleError, ReplayMissError
from brittle.run.adapter_check import adapter_verdict
from brittle.run.engine import SystemRun
from brittle.run.evidence import evidence
from brittle.run.session import (
    BrittleSession,
    EvalState,
    changes_since_baseline,
    one_line,
)
from brittle.spec.eval import EvalSpec
from brittle.stats.baseline import UPDATE_HINT, SystemBaseline
from brittle.stats.gates import Gate, Verdict
from brittle.stats.paired import Comparison, compare, decide
from brittle.stats.significance import holm_steps

#: distinct error messages listed in a verdict failed on errors
MAX_ERRORS_IN_MESSAGE = 3
#: why a relative gate is not checked while the baseline is being updated
NOT_CHECKED = "updating the baseline: relative gate not checked"
#: the gate of a system without gates: its error budget alone
ERROR_BUDGET = Gate(metric="error_rate", op="max", value=1.0)


def gates_of(spec: EvalSpec) -> list[Gate | None]:
    """The gates each system of ``spec`` is checked on; ``[None]`` (the error budget alone)
    for an eval without gates."""
    return [*spec.gates] or [None]


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
    """Every gate of ``systems``, in order. A system whose calls a replay missed yields one
    :class:`Checked` with ``missing`` instead of its gates; the others still run."""
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
        raise _replay_miss(
            spec, system_name, run.replay_missing, recordings=session.options.recordings
        )
    baseline = session.baseline(spec)
    base_system = baseline.systems.get(system_name) if baseline else None
    effective = gate or ERROR_BUDGET
    adapter = adapter_verdict(
        effective,
        spec.system(system_name),
        run,
        base_system.metrics if base_system else None,
        spec.error_budget,
    )
    if adapter is not None:  # adapter_changed: its evidence is the check's record
        verdict = adapter
    elif gate is not None and gate.relative:
        verdict = _relative_verdict(session, spec, system_name, gate)
    else:
        verdict = effective.evaluate(
            run.metrics, base_system.metrics if base_system else None, spec.error_budget
        )
    if verdict.passed is False:
        if adapter is None:
            verdict = _with_cases(verdict, spec, run, base_system, effective)
        verdict = _with_errors(verdict, run)
    state.verdicts[(system_name, effective.name if gate else "run")] = verdict
    return verdict


def _relative_verdict(
    session: BrittleSession, spec: EvalSpec, system_name: str, gate: Gate
) -> Verdict:
    """A relative gate's verdict, decided with every relative gate of its family at once."""
    state = session.state(spec)
    key = (system_name, gate.name)
    if key in state.relative:
        return state.relative[key]
    if not _paired(session, spec, system_name):
        return _unpaired(session, spec, system_name, gate)
    if not state.family_decided:
        across = session.options.correct_across_evals
        specs = [s.spec for s in session.evals.values()] if across else [spec]
        _decide_family(session, specs, asking=(state, system_name))
    if key not in state.relative:  # it could not run when its family was decided
        session.run_system(spec, system_name)  # raises again, or runs now: a family of its own
        _decide_family(session, [spec], asking=(state, system_name), only=system_name)
    return state.relative[key]


def _paired(session: BrittleSession, spec: EvalSpec, system_name: str) -> bool:
    """Whether the system's baseline stores per-case outcomes to pair with."""
    baseline = session.baseline(spec)
    base = baseline.systems.get(system_name) if baseline else None
    return base is not None and bool(base.outcomes)


def _unpaired(session: BrittleSession, spec: EvalSpec, system_name: str, gate: Gate) -> Verdict:
    """A relative gate outside the Holm family: skipped without a baseline entry, compared on
    the plain values when the baseline stores no per-case outcomes."""
    run = session.run_system(spec, system_name)
    baseline = session.baseline(spec)
    base = baseline.systems.get(system_name) if baseline else None
    point = gate.evaluate(run.metrics, base.metrics if base else None, spec.error_budget)
    if "delta" not in point.details or base is None:
        return point  # skipped, or failed on errors
    return _point_estimate(point, fail_inconclusive=spec.inconclusive == "fail")


@dataclass(frozen=True)
class _Member:
    """A relative gate of the Holm family, with what its verdict says besides the test."""

    state: EvalState
    system: str
    comparison: Comparison


def _decide_family(
    session: BrittleSession,
    specs: Sequence[EvalSpec],
    *,
    asking: tuple[EvalState, str],
    only: str | None = None,
) -> None:
    """Paired tests for every relative gate of ``specs`` (``only``: of that system alone),
    Holm-corrected together; the verdicts go to each eval's ``state.relative``.

    A system that cannot run, or whose eval's baseline cannot be read, is left out of the
    family (it fails when its own gates are checked) unless it is the one ``asking``.
    """
    members: list[_Member] = []
    for spec in specs:
        state = session.state(spec)
        gates = [g for g in spec.gates if g.relative]
        if not gates:
            continue
        try:
            baseline = session.baseline(spec)
        except BrittleError:
            if state is asking[0]:
                raise
            continue  # its gates fail on the unreadable baseline
        state.family_decided = True
        for system in spec.systems:
            name = system.name
            base = baseline.systems.get(name) if baseline else None
            if (only is not None and name != only) or base is None or not base.outcomes:
                continue  # outside the family: decided alone (_unpaired)
            try:
                run = session.run_system(spec, name)
            except BrittleError:
                if (state, name) == asking:
                    raise
                continue  # it fails on its own gates; the others are decided without it
            if run.replay_missing:
                continue  # its gates fail on the missing calls
            members += _members(state, name, run, base, gates)
    alpha = min((m.state.spec.alpha for m in members), default=0.05)
    evals = {id(m.state) for m in members}
    family = (
        "this eval"
        if len(evals) <= 1 or not session.options.correct_across_evals
        else f"the {len(evals)} evals of this run (--brittle-correct-across-evals)"
    )
    steps = holm_steps([m.comparison.p_value for m in members], alpha)
    for member, step in zip(members, steps, strict=True):
        assert step is not None  # compare() leaves out undefined p-values
        state, name = member.state, member.system
        state.relative[(name, member.comparison.gate.name)] = decide(
            member.comparison,
            step,
            alpha=alpha,
            fail_inconclusive=state.spec.inconclusive == "fail",
            changes=changes_since_baseline(state, name),
            family=family,
            power=member.comparison.power(alpha / step.size),  # Holm's first, strictest level
        )


def _members(
    state: EvalState, name: str, run: SystemRun, base: SystemBaseline, gates: list[Gate]
) -> list[_Member]:
    """The system's relative gates that are tested; the others' verdicts go to
    ``state.relative`` (failed on errors, or skipped on an undefined metric)."""
    members = []
    for gate in gates:
        point = gate.evaluate(run.metrics, base.metrics, state.spec.error_budget)
        comparison = (
            compare(gate, run.outcome, base.outcomes, alpha=state.spec.alpha)
            if "delta" in point.details and run.outcome is not None
            else None
        )
        if comparison is not None:
            members.append(_Member(state, name, comparison))
        elif "delta" not in point.details:
            state.relative[(name, gate.name)] = point  # skipped, or failed on errors
        else:
            changes = changes_since_baseline(state, name)  # why no rows are left, if they changed
            notes = changes.lines(gate.family) if changes else []
            state.relative[(name, gate.name)] = Verdict(
                gate,
                None,
                f"{gate.metric} is undefined on the rows scored in both this run and the "
                "baseline: skipped" + "".join(f"\n  {line}" for line in notes),
                details={"variants": changes.scope(gate.family)} if changes else {},
            )
    return members


def _replay_miss(
    spec: EvalSpec, system_name: str, missing: list[str], *, recordings: bool = True
) -> ReplayMissError:
    shown = ", ".join(missing[:20])
    if len(missing) > 20:
        shown += f" and {len(missing) - 20} more"
    where = _shown_path(spec.source)
    update = f"pytest {where} --brittle-update-baseline"
    if spec.source.suffix in (".yaml", ".yml"):
        update += f" (or brittle run {where} --update-baseline)"
    looked = (
        f"the recordings ({_shown_path(spec.recordings_path)}) or the response cache"
        if recordings
        else "the response cache (recordings are off)"
    )
    return ReplayMissError(
        f"replay mode: {len(missing)} call(s) of {spec.name} / {system_name} are not in "
        f"{looked}, so they were not made: {shown}\n  fix: record them where model calls are "
        f"allowed, with the model's key set: {update} writes the baseline and its recordings "
        "(commit both); or fill the response cache with --brittle-cache record (brittle run "
        "--cache record, or BRITTLE_CACHE) and share it (commit or download it, or 'brittle "
        "cache export/import')",
        missing,
    )


def _shown_path(path: Path) -> str:
    """A path as a command line in this folder would write it (relative where it can be)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _point_estimate(verdict: Verdict, *, fail_inconclusive: bool) -> Verdict:
    """A relative verdict on the plain delta: the baseline has no per-case outcomes to pair,
    so nothing can be shown: a delta beyond the allowance is inconclusive, not failed."""
    beyond = verdict.passed is False
    note = (
        "\n  the baseline stores no per-case outcomes, so this compares the plain values "
        f"without a test{': inconclusive' if beyond else ''}; refresh it: {UPDATE_HINT}"
    )
    return Verdict(
        verdict.gate,
        not (beyond and fail_inconclusive),
        verdict.message + note,
        now=verdict.now,
        baseline=verdict.baseline,
        details={**verdict.details, "status": "inconclusive" if beyond else "passed"},
        inconclusive=beyond,
    )


def _with_errors(verdict: Verdict, run: SystemRun) -> Verdict:
    """Add the run's errors to a verdict failed on them (over the budget, or nothing measured):
    the first error (on the first line when nothing was measured), then the most frequent
    distinct messages with their counts, secrets masked."""
    errors = run.errors()
    if "calls" not in verdict.details or not errors:
        return verdict
    first = one_line(errors[0]["error"])
    head, _, rest = verdict.message.partition("\n")
    if verdict.details.get("nothing_measured"):
        lines = [f"{head}; first error: {first}", *([rest] if rest else [])]
    else:
        lines = [verdict.message, f"  first error ({errors[0]['row_id']}): {first}"]
    counts = Counter(one_line(e["error"], 160) for e in errors)
    if len(counts) > 1 or len(errors) > 1:
        shown = counts.most_common(MAX_ERRORS_IN_MESSAGE)
        more = len(counts) - len(shown)
        lines.append(
            f"  errors by message ({len(counts)} distinct"
            + (f", the {len(shown)} most frequent" if more else "")
            + "):"
        )
        lines += [f"    {count} x {message}" for message, count in shown]
    return replace(verdict, message="\n".join(lines))


def budget_note(state: EvalState) -> str | None:
    """A note when the eval's ``error_budget`` is a count larger than a system's calls (it
    allows every call to error: said once per eval, in the terminal and the reports)."""
    calls = [
        int(run.metrics["overall"]["cases"] + run.metrics["overall"]["variants"])
        for run in state.run.systems.values()
    ]
    return state.spec.error_budget.note(max(calls)) if calls else None


def _with_cases(
    verdict: Verdict, spec: EvalSpec, run: SystemRun, baseline: SystemBaseline | None, gate: Gate
) -> Verdict:
    """Add the cases behind a failing verdict (:mod:`brittle.run.evidence`): the wrong rows,
    those that got worse since the baseline, or the (newly) flipped variants."""
    found = evidence(spec, run, baseline, gate)
    if found is None:
        return verdict
    details = {**verdict.details, "evidence": found.to_dict()}
    return replace(
        verdict, message=verdict.message + "\n" + "\n".join(found.lines()), details=details
    )


__all__ = [
    "ERROR_BUDGET",
    "NOT_CHECKED",
    "Checked",
    "budget_note",
    "check",
    "check_gate",
    "check_systems",
    "gates_of",
    "updating_baseline",
]
