"""What every check is: a :class:`Check` that judges one output, giving a :class:`CheckResult`.

A check is built by a factory from JSON-serialisable parameters (:mod:`brittle.checks.registry`)
and keeps them, fully resolved, in :attr:`Check.params`, so that a results log records exactly how
each output was scored and the same check can be rebuilt from it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from brittle.gateway import Gateway
from brittle.spec.cases import Case

__all__ = ["Check", "CheckResult", "expected_text", "no_expected"]


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on one output.

    ``answer`` is the normalised answer the check read from the output (a label, a number as
    text, canonical JSON, normalised text), or None when the check reads none or found none; it
    feeds the answer-agreement metric. ``score`` is a graded value where the check has one
    (similarity, a python function's float). ``detail`` says briefly why a result failed.

    Checks that call a model (LLM judges, :mod:`brittle.deepeval`) also fill in: ``error``
    when the judge itself failed (the engine records the row as errored, never as a wrong
    answer); ``excluded`` for a verdict that gates should leave out (an unstable judge with
    ``drop_unstable``); ``cost`` of the judge calls; ``agreement``, the share of repeated judge
    runs that agree with the majority verdict (1.0: stable).
    """

    passed: bool
    answer: str | None = None
    score: float | None = None
    detail: str = ""
    error: str | None = None
    excluded: bool = False
    cost: float | None = None
    agreement: float | None = None


class Check:
    """Base class of checks: a name, resolved parameters, and :meth:`check`.

    Subclasses implement :meth:`check`; those that gain from batching (embeddings) also
    override :meth:`check_batch`. ``defaults`` holds the parameter values :meth:`describe`
    leaves out, so a description shows only what the eval chose.
    """

    def __init__(
        self,
        name: str,
        params: Mapping[str, Any] | None = None,
        *,
        requires_expected: bool = False,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self.params: dict[str, Any] = dict(params or {})
        self.requires_expected = requires_expected
        self._defaults: dict[str, Any] = dict(defaults or {})

    def check(self, output: str, case: Case) -> CheckResult:
        """Judge one output of the system under test on ``case``."""
        raise NotImplementedError

    def unreachable(self, case: Case) -> str | None:
        """Why no output can pass ``case`` (an expected label that is none of the choices),
        or None; the eval refuses such a case when it is loaded."""
        return None

    def check_batch(self, outputs: Sequence[str], cases: Sequence[Case]) -> list[CheckResult]:
        """Judge many outputs; ``outputs[i]`` belongs to ``cases[i]``."""
        if len(outputs) != len(cases):
            raise ValueError(f"check_batch got {len(outputs)} outputs for {len(cases)} cases")
        return [self.check(output, case) for output, case in zip(outputs, cases, strict=True)]

    async def acheck_batch(
        self, outputs: Sequence[str], cases: Sequence[Case], gateway: Gateway
    ) -> list[CheckResult]:
        """:meth:`check_batch` inside the engine's event loop, with the run's gateway.

        Checks that call models (LLM judges) override this and make their calls through
        ``gateway``, so those calls share the run's concurrency limit, caching and retries.
        """
        return self.check_batch(outputs, cases)

    def describe(self) -> str:
        """The check as a call, showing parameters that differ from their defaults."""
        shown = [
            f"{key}={value!r}"
            for key, value in self.params.items()
            if key not in self._defaults or self._defaults[key] != value
        ]
        return f"{self.name}({', '.join(shown)})"

    def __repr__(self) -> str:
        return f"<Check {self.describe()}>"


def expected_text(case: Case) -> str | None:
    """The case's expected answer as text, or None when it has none."""
    return None if case.expected is None else str(case.expected)


def no_expected(check: Check, case: Case, answer: str | None = None) -> CheckResult:
    """The failed result of ``check``, which needs an expected answer, on a case without one."""
    return CheckResult(
        passed=False,
        answer=answer,
        detail=f"case '{case.id}' has no expected answer, which the {check.name} check needs",
    )
