"""brittle's consistency as a deepeval metric.

:class:`ConsistencyMetric` runs a system under test on a test case's input and on perturbations of
it (typos, casing, punctuation, ...: brittle's seeded perturbation families) and scores the share
of perturbed inputs whose answer equals the original's. It is a deepeval ``BaseMetric``, so it
works in ``deepeval.assert_test`` and ``deepeval.evaluate`` like any other::

    from deepeval import assert_test
    from deepeval.test_case import LLMTestCase
    from brittle.deepeval import ConsistencyMetric

    def test_sentiment_is_stable():
        metric = ConsistencyMetric(classify, perturbations=["typo", "casing"], n=3, threshold=0.9)
        assert_test(LLMTestCase(input="The film was wonderful."), [metric])

The metric ignores the test case's ``actual_output``: it calls the system itself, through a
brittle :class:`~brittle.gateway.Gateway`. Answers are compared after the optional ``check``
reads them out of the output (a ``label`` check compares labels, not wording); without a check
they are compared as whitespace- and case-normalised text, as brittle's ``agreement`` does.
A perturbed input whose call errored is left out, never counted as a disagreement.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from brittle.deepeval._require import missing_deepeval

try:  # the optional extra brittle[deepeval]: absent, say how to install it
    from deepeval.metrics import BaseMetric
    from deepeval.test_case import LLMTestCase
except ImportError as _exc:
    raise missing_deepeval(_exc, "brittle.deepeval.ConsistencyMetric") from None

from brittle._errors import ConfigError
from brittle.checks import Check, checks_from_config
from brittle.deepeval._sync import run_sync
from brittle.gateway import CallResult, Gateway
from brittle.gateway.calls import describe_error
from brittle.spec.cases import Case
from brittle.spec.suites import Suite, load_suite, suite_from_mapping
from brittle.spec.systems import CallableSystem, LLMSystem, System

__all__ = ["DEFAULT_PERTURBATIONS", "ConsistencyMetric"]

DEFAULT_PERTURBATIONS = ("typo", "casing", "whitespace", "punctuation")
"""The families used when none are named: surface noise that should never change an answer."""

_SHOWN_DISAGREEMENTS = 3


def _as_system(system: Any, field: str) -> System:
    if isinstance(system, System):
        return system
    if not callable(system):
        raise ConfigError(
            f"the system must be a brittle System or a callable, got {type(system).__name__}",
            key="system",
            fix="pass e.g. brittle.PromptSystem(...) or a function text -> answer",
        )
    function = system
    if inspect.iscoroutinefunction(function):

        async def call_async(inputs: Mapping[str, Any]) -> Any:
            return await function(inputs[field])

        wrapped: Callable[..., Any] = call_async
    else:

        def call(inputs: Mapping[str, Any]) -> Any:
            return function(inputs[field])

        wrapped = call
    name = getattr(function, "__name__", None) or type(function).__name__
    return CallableSystem(name, wrapped)


def _default_field(system: System) -> str:
    if isinstance(system, LLMSystem) and system.template is not None:
        fields = sorted(system.template.fields)
        if len(fields) == 1:
            return fields[0]
    return "input"


def _as_suite(perturbations: Any, n: int, seed: int) -> Suite:
    if isinstance(perturbations, Suite):
        return perturbations
    if isinstance(perturbations, str | Path) and str(perturbations).endswith((".yaml", ".yml")):
        return load_suite(Path(perturbations))
    if isinstance(perturbations, str | Mapping):
        perturbations = [perturbations]
    if not isinstance(perturbations, Sequence) or not perturbations:
        raise ConfigError(
            "perturbations must be family names, suite entries, a Suite or a suite file path",
            key="perturbations",
            fix="e.g. perturbations=['typo', 'casing'] or perturbations='suites/typos.yaml'",
        )
    entries: list[Any] = []
    for item in perturbations:
        if isinstance(item, str):
            entries.append({"family": item, "n": n})
        elif isinstance(item, Mapping):
            entries.append({"n": n, **item})
        else:
            raise ConfigError(
                f"a perturbation must be a family name or a mapping, got {type(item).__name__}",
                key="perturbations",
                fix="write e.g. 'typo' or {'family': 'typo', 'n': 3, 'params': {'rate': 0.05}}",
            )
    return suite_from_mapping(
        {"name": "consistency", "seed": seed, "perturbations": entries},
        source="<ConsistencyMetric>",
    )


def _as_check(check: Any) -> Check | None:
    if check is None or isinstance(check, Check):
        return check
    return checks_from_config([check], where="<ConsistencyMetric>", key="check")[0]


def _normalised(output: str) -> str:
    return " ".join(output.split()).lower()


class ConsistencyMetric(BaseMetric):
    """Share of perturbed inputs on which ``system`` gives the original input's answer.

    ``system`` is a brittle :class:`~brittle.spec.systems.System` (run with ``{field: input}``) or a
    plain function (sync or async) called with the input text. ``perturbations`` are family
    names or suite entries (``{"family": "typo", "n": 2, "params": {"rate": 0.1}}``), a
    :class:`~brittle.spec.suites.Suite`, or a suite file path; ``n`` is the number of variants per
    family where an entry does not say. ``check`` reads the answer out of an output (a
    :class:`~brittle.checks.Check` or an eval-file spec such as
    ``{"label": {"choices": ["positive", "negative"]}}``). ``field`` names the input field
    (default: the system template's only field, else ``input``). The metric passes when the
    score reaches ``threshold``. ``gateway`` lets calls share a gateway (cache, limits);
    without one each measure makes its own with ``concurrency``.
    """

    def __init__(
        self,
        system: Any,
        perturbations: Any = DEFAULT_PERTURBATIONS,
        n: int = 3,
        threshold: float = 0.9,
        check: Any = None,
        field: str | None = None,
        seed: int = 0,
        gateway: Gateway | None = None,
        concurrency: int = 8,
        name: str = "Consistency",
    ) -> None:
        # deepeval copies a metric by calling its class with the attributes named like the
        # parameters (deepeval.metrics.utils.copy_metrics), so each is kept under its own name.
        self.system = system
        self.perturbations = perturbations
        self.n = n
        self.threshold = threshold
        self.check = check
        self.field = field
        self.seed = seed
        self.gateway = gateway
        self.concurrency = concurrency
        self.name = name
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ConfigError(f"threshold must be a number, got {threshold!r}", key="threshold")
        self._threshold = float(threshold)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"n must be a whole number of at least 1, got {n!r}", key="n")
        probe = system if isinstance(system, System) else None
        self._field = field or (_default_field(probe) if probe is not None else "input")
        self._system = _as_system(system, self._field)
        self._suite = _as_suite(perturbations, n, seed)
        self._check = _as_check(check)
        self.evaluation_model = "brittle"
        self.async_mode = True
        self.strict_mode = False
        self.verbose_mode = False
        self.include_reason = True
        self.error: str | None = None
        self.variants: list[dict[str, Any]] = []

    @property
    def __name__(self) -> str:
        return self.name

    def measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float:
        return run_sync(lambda: self.a_measure(test_case))

    async def a_measure(self, test_case: LLMTestCase, *args: Any, **kwargs: Any) -> float:
        self.error = None
        self.score_breakdown = {}
        self.variants = []
        case = Case(
            id=test_case.name or "case",
            inputs={self._field: test_case.input},
            expected=test_case.expected_output,
        )
        variants, _ = self._suite.variants(case, fields=[self._field], seed=self.seed)
        gateway = self.gateway or Gateway.for_spec(concurrency=self.concurrency)
        inputs = [case.inputs] + [variant.inputs for variant in variants]
        results = await asyncio.gather(*(self._call(item, gateway) for item in inputs))
        costs = [r.cost for r in results if r.cost is not None]
        self.evaluation_cost = sum(costs) if costs else None
        original = results[0]
        if original.error is not None:
            return self._fail(f"the system failed on the original input: {original.error}")
        if not variants:
            return self._fail(
                "no perturbation changed this input, so there is nothing to compare; "
                "use other perturbation families or a longer input"
            )
        ok = [i for i, result in enumerate(results) if result.error is None]
        answers = await self._answers([results[i].text or "" for i in ok], case, gateway)
        answer_of = dict(zip(ok, answers, strict=True))
        reference = answer_of[0]
        per_family: dict[str, list[bool]] = {}
        disagreements: list[str] = []
        errors = 0
        for index, variant in enumerate(variants, start=1):
            answer = answer_of.get(index)
            record = {
                "id": variant.id,
                "family": variant.family,
                "input": variant.inputs[self._field],
                "output": results[index].text,
                "answer": answer,
                "error": results[index].error,
            }
            self.variants.append(record)
            if answer is None:
                errors += 1
                continue
            agrees = answer == reference
            per_family.setdefault(variant.family, []).append(agrees)
            if not agrees:
                disagreements.append(f"{variant.id} -> {answer!r}")
        compared = sum(len(flags) for flags in per_family.values())
        if compared == 0:
            return self._fail(f"the system failed on all {len(variants)} perturbed inputs")
        agreed = sum(sum(flags) for flags in per_family.values())
        self.score = agreed / compared
        self.score_breakdown = {
            family: sum(flags) / len(flags) for family, flags in per_family.items()
        }
        reason = (
            f"{agreed}/{compared} perturbed inputs ({', '.join(sorted(per_family))}) got the "
            f"original's answer {reference!r}"
        )
        if disagreements:
            shown = disagreements[:_SHOWN_DISAGREEMENTS]
            more = len(disagreements) - len(shown)
            reason += "; differed: " + ", ".join(shown) + (f" and {more} more" if more else "")
        if errors:
            reason += f"; {errors} perturbed input(s) errored and were left out"
        self.reason = reason
        self.success = self.score >= self._threshold
        return self.score

    async def _call(self, inputs: Mapping[str, Any], gateway: Gateway) -> CallResult:
        try:
            return await self._system.run(inputs, gateway)
        except Exception as exc:  # rendering errors and the like: recorded, never raised
            return CallResult(text=None, error=describe_error(exc))

    async def _answers(self, outputs: list[str], case: Case, gateway: Gateway) -> list[str]:
        if self._check is None:
            return [_normalised(output) for output in outputs]
        checked = await self._check.acheck_batch(outputs, [case] * len(outputs), gateway)
        return [
            result.answer if result.answer is not None else _normalised(output)
            for result, output in zip(checked, outputs, strict=True)
        ]

    def _fail(self, message: str) -> float:
        self.error = message
        self.reason = message
        self.score = 0.0
        self.success = False
        return 0.0

    def is_successful(self) -> bool:
        if self.error is not None or self.score is None:
            self.success = False
        else:
            self.success = self.score >= self._threshold
        return bool(self.success)
