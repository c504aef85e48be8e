"""Remarks on a run that are no gate's business but change how its numbers read.

A system that got every case wrong, or gave every case the same answer, passes a flip-rate gate
without being robust: answers that never change cannot flip. Such a run is not an error (a
deliberately bad baseline system is legitimate), so it is said once per system, beside the
error-budget note, in the terminal, run.json and summary.json (``notes``) and summary.md.
"""

from __future__ import annotations

from brittle.run.adapter_check import adapter_note
from brittle.run.engine import SystemRun
from brittle.run.session import EvalState
from brittle.run.verdicts import budget_note
from brittle.stats.metrics import ORIGINAL

#: fewer scored cases than this say too little to remark on
MIN_CASES = 3


def system_remark(name: str, run: SystemRun) -> str | None:
    """A remark when ``run`` answered every scored case wrong, or every case alike."""
    cols = run.columns
    answers: list[str] = []
    passed: list[bool] = []
    for i, family in enumerate(cols["family"]):
        if family != ORIGINAL or cols["repeat"][i] or cols["passed"][i] is None:
            continue
        passed.append(bool(cols["passed"][i]))
        answer = cols["answer"][i]
        answers.append(str(answer if answer is not None else cols["output"][i] or "").strip())
    n = len(passed)
    if n < MIN_CASES:
        return None
    same = len(set(answers)) == 1
    wrong = not any(passed)
    shown = repr(answers[0][:60]) if answers else "''"
    why = "its flip rate says little about robustness: answers that never change cannot flip"
    if same and wrong:
        return (
            f"system '{name}' answered {shown} to all {n} cases, all of them wrong; {why} "
            "(check its template, model and the checks)"
        )
    if wrong:
        return (
            f"system '{name}' got all {n} cases wrong; its flip rate only counts wrong answers "
            "that became right (check its template, model and the checks)"
        )
    if same:
        return f"system '{name}' answered {shown} to all {n} cases; {why}"
    return None


def eval_notes(state: EvalState) -> list[str]:
    """The notes of an eval's run: the error budget's, then one remark per system, then the
    adapter checks' warnings (a fine-tune that changed no answer of its base, or unchecked)."""
    notes = [budget_note(state)]
    notes += [system_remark(name, run) for name, run in state.run.systems.items()]
    notes += [adapter_note(name, run) for name, run in state.run.systems.items()]
    return [note for note in notes if note]


__all__ = ["eval_notes", "system_remark"]
