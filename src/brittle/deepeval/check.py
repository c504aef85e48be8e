"""The ``deepeval`` check: any deepeval metric, judged by any litellm model, as a brittle check.

In an eval file::

    checks:
      - deepeval:
          metric: geval                      # or answer_relevancy, faithfulness, ..., module:Class
          criteria: "Does the answer state the same sentiment as the expected output?"
          evaluation_params: [input, actual_output, expected_output]
          judge: openai/judge                # any litellm model string, or local/smollm2
          judge_params: {api_base: "http://127.0.0.1:8000/v1", api_key: none, temperature: 0}
          threshold: 0.5
          judge_repeats: 3                   # run the judge 3 times per output
          drop_unstable: false               # true: leave split verdicts out of the gates

Each output becomes a deepeval ``LLMTestCase`` (input: the case's input field, actual output: the
output, expected output: the case's expected answer, optional context fields) measured by a fresh
metric instance whose judge is a :class:`~brittle.deepeval.judge.GatewayJudge`: every judge call
goes through the run's gateway. The metric's own verdict (``is_successful``) is the check's, its
score the check's score, its reason the detail of a failure.

With ``judge_repeats: k`` every output is judged k times. Judge run r is made as repeat r
(:meth:`brittle.gateway.Gateway.scoped`), so a response cache keeps the k runs apart while a
rerun of the eval asks the same k questions; give the judge a sampling temperature
(``judge_params: {temperature: 0.7}``) and no fixed ``seed``, or the k runs are one run. The
majority verdict counts; ``agreement`` is the share of the k verdicts that agree with it. An
output whose verdicts split is flagged ("unstable judge" in its detail, ``judge_unstable`` in the
metrics); with ``drop_unstable: true`` it is left out of the metrics and so out of the gates.
A judge that fails (call error, a reply that is not the JSON the metric asked for) makes the row
an error, never a wrong answer.

deepeval is imported when such a check is built, not when brittle is imported. It is an optional
extra (``pip install 'brittle[deepeval]'``); without it, building the check raises a ConfigError
that says so.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brittle._errors import ConfigError
from brittle._registry import suggest
from brittle.checks._params import kind as _kind
from brittle.checks.base import Check, CheckResult
from brittle.deepeval._require import check_error
from brittle.deepeval._sync import run_sync
from brittle.gateway import Gateway
from brittle.gateway.calls import describe_error
from brittle.spec.cases import Case

if TYPE_CHECKING:
    from deepeval.metrics import BaseMetric
    from deepeval.test_case import LLMTestCase

__all__ = ["METRICS", "DeepEvalCheck", "deepeval_check"]

METRICS: dict[str, str] = {
    "geval": "GEval",
    "answer_relevancy": "AnswerRelevancyMetric",
    "faithfulness": "FaithfulnessMetric",
    "contextual_precision": "ContextualPrecisionMetric",
    "contextual_recall": "ContextualRecallMetric",
    "contextual_relevancy": "ContextualRelevancyMetric",
    "hallucination": "HallucinationMetric",
    "bias": "BiasMetric",
    "toxicity": "ToxicityMetric",
    "summarization": "SummarizationMetric",
    "prompt_alignment": "PromptAlignmentMetric",
}
"""Short names of deepeval metrics (classes of ``deepeval.metrics``); ``module:Class`` names any."""

_EVALUATION_PARAMS = (
    "input",
    "actual_output",
    "expected_output",
    "context",
    "retrieval_context",
)
_SECRET_HINTS = ("key", "token", "secret", "password")


def _metric_class(metric: Any) -> tuple[type[BaseMetric], str]:
    """The deepeval metric class named by ``metric``, and the name to record."""
    from deepeval.metrics import BaseMetric

    if isinstance(metric, type) and issubclass(metric, BaseMetric):
        return metric, f"{metric.__module__}:{metric.__qualname__}"
    if not isinstance(metric, str) or not metric:
        raise ConfigError(
            f"must name a deepeval metric, got {_kind(metric)}",
            key="metric",
            fix=f"use one of {', '.join(METRICS)} or 'package.module:MetricClass'",
        )
    if ":" in metric:
        module_name, _, attr = metric.partition(":")
        try:
            target: Any = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"cannot import the metric {metric!r}: {exc}",
                key="metric",
                fix="name an importable deepeval metric class as 'package.module:Class'",
            ) from None
        if not (isinstance(target, type) and issubclass(target, BaseMetric)):
            raise ConfigError(
                f"{metric!r} is not a deepeval BaseMetric subclass",
                key="metric",
                fix="name a class derived from deepeval.metrics.BaseMetric",
            )
        return target, metric
    if metric not in METRICS:
        hint = suggest(metric, METRICS)
        raise ConfigError(
            f"unknown deepeval metric {metric!r}",
            key="metric",
            fix=f"{hint}short names: {', '.join(METRICS)}; or 'package.module:MetricClass'",
        )
    import deepeval.metrics

    return getattr(deepeval.metrics, METRICS[metric]), metric


def _text_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(f"must be a list of strings, got {_kind(value)}", key=key)
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise ConfigError(
                f"must be a non-empty string, got {_kind(item)}", key=f"{key}[{index}]"
            )
    return list(value)


def _optional_text(value: Any, key: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigError(f"must be a non-empty string, got {_kind(value)}", key=key)
    return value


def _shown_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Judge parameters as recorded in results: secrets (API keys, tokens) masked."""
    return {
        key: "***" if any(hint in key.lower() for hint in _SECRET_HINTS) else value
        for key, value in params.items()
    }


@dataclass(frozen=True)
class _Run:
    """One judge run on one output."""

    success: bool
    score: float | None
    reason: str
    cost: float | None
    error: str | None = None


def _sum_costs(costs: Sequence[float | None]) -> float | None:
    known = [c for c in costs if c is not None]
    return sum(known) if known else None


class DeepEvalCheck(Check):
    """A deepeval metric judging each output; see the module docstring."""

    def __init__(
        self,
        *,
        metric_class: type[BaseMetric],
        metric_name: str,
        judge: str,
        judge_params: Mapping[str, Any],
        threshold: float,
        metric_kwargs: Mapping[str, Any],
        params: Mapping[str, Any],
        requires_expected: bool,
        judge_repeats: int,
        drop_unstable: bool,
        input_field: str | None,
        context_field: str | None,
        retrieval_context_field: str | None,
        gateway: Gateway | None,
        concurrency: int,
    ) -> None:
        super().__init__(
            "deepeval",
            params,
            requires_expected=requires_expected,
            defaults={
                "threshold": 0.5,
                "judge_params": {},
                "judge_repeats": 1,
                "drop_unstable": False,
                "metric_params": {},
            },
        )
        self.metric_class = metric_class
        self.metric_name = metric_name
        self.judge = judge
        self.judge_params = dict(judge_params)
        self.threshold = threshold
        self.judge_repeats = judge_repeats
        self.drop_unstable = drop_unstable
        self._metric_kwargs = dict(metric_kwargs)
        self._input_field = input_field
        self._context_field = context_field
        self._retrieval_context_field = retrieval_context_field
        self._gateway = gateway
        self._concurrency = concurrency
        accepted = inspect.signature(metric_class.a_measure).parameters
        self._quiet = {"_show_indicator": False} if "_show_indicator" in accepted else {}

    # ------------------------------------------------------------------ building blocks

    def make_metric(self, gateway: Gateway | None = None) -> BaseMetric:
        """A fresh metric instance (metrics keep state per measure) judged through ``gateway``."""
        from brittle.deepeval.judge import GatewayJudge

        judge = GatewayJudge(self.judge, self.judge_params, gateway)
        factory: Any = self.metric_class
        metric: BaseMetric = factory(model=judge, **self._metric_kwargs)
        return metric

    def test_case(self, output: str, case: Case) -> LLMTestCase:
        """The deepeval test case for one output of the system under test on ``case``."""
        from deepeval.test_case import LLMTestCase

        expected = case.expected
        if expected is not None and not isinstance(expected, str):
            expected = json.dumps(expected, ensure_ascii=False, default=str)
        return LLMTestCase(
            input=self._input_text(case),
            actual_output=output,
            expected_output=expected,
            context=self._context(case, self._context_field),
            retrieval_context=self._context(case, self._retrieval_context_field),
            name=case.id,
        )

    def _input_text(self, case: Case) -> str:
        inputs = case.inputs
        if self._input_field is not None:
            return str(inputs.get(self._input_field, ""))
        if len(inputs) == 1:
            return str(next(iter(inputs.values())))
        return json.dumps(dict(inputs), ensure_ascii=False, default=str)

    @staticmethod
    def _context(case: Case, field: str | None) -> list[Any] | None:
        if field is None or case.inputs.get(field) is None:
            return None
        value = case.inputs[field]
        if isinstance(value, list | tuple):
            return [str(item) for item in value]
        return [str(value)]

    # ------------------------------------------------------------------ judging

    async def _run_once(self, test_case: LLMTestCase, gateway: Gateway) -> _Run:
        """One judge run, through ``gateway`` (scoped to the run's repeat index)."""
        metric = self.make_metric(gateway)
        judge = metric.model
        try:
            await metric.a_measure(test_case, **self._quiet)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return _Run(False, None, "", getattr(judge, "cost", None), describe_error(exc))
        cost = getattr(judge, "cost", None)
        if metric.error is not None:
            return _Run(False, None, "", cost, str(metric.error))
        score = None if metric.score is None else float(metric.score)
        success = bool(metric.is_successful())
        return _Run(success, score, str(metric.reason or ""), cost)

    async def _judge(self, output: str, case: Case, gateway: Gateway) -> CheckResult:
        # judge run r is repeat r; the label names the judge call in gateway messages (replay
        # misses)
        label = f"judge {self.judge} on case {case.id}"
        test_case = self.test_case(output, case)
        runs = await asyncio.gather(
            *(
                self._run_once(test_case, gateway.scoped(repeat=repeat, label=label))
                for repeat in range(self.judge_repeats)
            )
        )
        return self._verdict(runs)

    def _verdict(self, runs: Sequence[_Run]) -> CheckResult:
        """The majority verdict of the runs, with their agreement and cost."""
        cost = _sum_costs([run.cost for run in runs])
        failed = [run for run in runs if run.error is not None]
        if failed:
            count = f" ({len(failed)} of {len(runs)} runs)" if len(runs) > 1 else ""
            return CheckResult(
                passed=False,
                detail=f"judge error{count}",
                error=f"judge error{count}: {failed[0].error}",
                cost=cost,
            )
        k = len(runs)
        yes = sum(run.success for run in runs)
        passed = yes * 2 > k
        agreeing = max(yes, k - yes)
        scores = [run.score for run in runs if run.score is not None]
        score = sum(scores) / len(scores) if scores else None
        details: list[str] = []
        if not passed:
            shown = "n/a" if score is None else f"{score:.2f}"
            reason = next((run.reason for run in runs if not run.success and run.reason), "")
            reason = " ".join(reason.split())
            if len(reason) > 160:
                reason = reason[:160] + "…"
            details.append(
                f"{self.metric_name} failed (score {shown}, threshold {self.threshold:g})"
                + (f": {reason}" if reason else "")
            )
        unstable = agreeing < k
        excluded = unstable and self.drop_unstable
        if unstable:
            details.append(
                f"unstable judge: {agreeing}/{k} verdicts agree"
                + (", left out of the gates" if excluded else "")
            )
        return CheckResult(
            passed=passed and not excluded,
            score=score,
            detail="; ".join(details),
            excluded=excluded,
            cost=cost,
            agreement=agreeing / k if k > 1 else None,
        )

    # ------------------------------------------------------------------ Check API

    async def acheck_batch(
        self, outputs: Sequence[str], cases: Sequence[Case], gateway: Gateway
    ) -> list[CheckResult]:
        """Judge every output concurrently; calls share ``gateway``'s limit (and cache)."""
        if len(outputs) != len(cases):
            raise ValueError(f"check_batch got {len(outputs)} outputs for {len(cases)} cases")
        pairs = zip(outputs, cases, strict=True)
        results = await asyncio.gather(*(self._judge(out, case, gateway) for out, case in pairs))
        fatal = getattr(gateway, "fatal", None)
        if fatal is not None:  # the judge's credentials were refused: every call would fail
            raise fatal
        return list(results)

    def check_batch(self, outputs: Sequence[str], cases: Sequence[Case]) -> list[CheckResult]:
        """Synchronous :meth:`acheck_batch`, through this check's gateway or a new one."""
        gateway = self._gateway or Gateway.for_spec(concurrency=self._concurrency)
        return run_sync(lambda: self.acheck_batch(outputs, cases, gateway))

    def check(self, output: str, case: Case) -> CheckResult:
        return self.check_batch([output], [case])[0]


def deepeval_check(
    metric: Any = "geval",
    *,
    judge: str,
    judge_params: Mapping[str, Any] | None = None,
    threshold: float = 0.5,
    criteria: str | None = None,
    evaluation_steps: Sequence[str] | None = None,
    evaluation_params: Sequence[str] | None = None,
    name: str | None = None,
    metric_params: Mapping[str, Any] | None = None,
    judge_repeats: int = 1,
    drop_unstable: bool = False,
    input_field: str | None = None,
    context_field: str | None = None,
    retrieval_context_field: str | None = None,
    gateway: Gateway | None = None,
    concurrency: int = 8,
) -> DeepEvalCheck:
    """A deepeval metric as a check (the ``deepeval`` check of eval files).

    ``metric`` is a short name from :data:`METRICS` (``geval``, ``answer_relevancy``,
    ``faithfulness``, ...), ``'package.module:Class'``, or (Python) a ``BaseMetric`` subclass.
    ``judge`` is a litellm model string and ``judge_params`` its call parameters (``api_base``,
    ``temperature``, ``max_tokens``, ...). ``threshold`` is the metric's threshold.
    ``criteria``, ``evaluation_steps``, ``evaluation_params`` and ``name`` configure GEval;
    ``metric_params`` passes any other keyword to the metric class. ``judge_repeats`` and
    ``drop_unstable``: see the module docstring. ``input_field`` names the case input given to
    the judge as the test case's input (default: the only field, else all fields as JSON);
    ``context_field`` and ``retrieval_context_field`` name fields holding (lists of) context
    passages. ``gateway`` and ``concurrency`` matter only when the check is called directly
    (the engine passes the run's gateway).

    Without deepeval installed (it is the extra ``brittle[deepeval]``) this raises a
    :class:`~brittle.ConfigError` naming ``pip install 'brittle[deepeval]'``.
    """
    try:
        import deepeval  # noqa: F401  (the optional extra: absent, say how to install it)
    except ImportError as exc:
        raise check_error(exc) from None
    metric_class, metric_name = _metric_class(metric)
    if not isinstance(judge, str) or not judge:
        raise ConfigError(
            f"must be a litellm model string, got {_kind(judge)}",
            key="judge",
            fix="e.g. judge: openai/gpt-4o-mini, or openai/NAME with judge_params.api_base "
            "for a local server, or local/smollm2",
        )
    if judge_params is None:
        judge_params = {}
    if not isinstance(judge_params, Mapping):
        raise ConfigError(f"must be a mapping, got {_kind(judge_params)}", key="judge_params")
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or math.isnan(threshold)
    ):
        raise ConfigError(f"must be a number, got {_kind(threshold)}", key="threshold")
    if isinstance(judge_repeats, bool) or not isinstance(judge_repeats, int) or judge_repeats < 1:
        raise ConfigError(
            f"must be a whole number of at least 1, got {_kind(judge_repeats)}",
            key="judge_repeats",
            fix="use an odd number such as 3, so that a majority always exists",
        )
    if not isinstance(drop_unstable, bool):
        raise ConfigError(f"must be true or false, got {_kind(drop_unstable)}", key="drop_unstable")
    if metric_params is None:
        metric_params = {}
    if not isinstance(metric_params, Mapping):
        raise ConfigError(f"must be a mapping, got {_kind(metric_params)}", key="metric_params")
    for key, value in (
        ("input_field", input_field),
        ("context_field", context_field),
        ("retrieval_context_field", retrieval_context_field),
        ("criteria", criteria),
        ("name", name),
    ):
        _optional_text(value, key)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError(
            f"must be a positive whole number, got {_kind(concurrency)}", key="concurrency"
        )

    accepted = inspect.signature(metric_class.__init__).parameters
    kwargs: dict[str, Any] = {"threshold": float(threshold)}
    for key, value in (("async_mode", True), ("verbose_mode", False), ("eval_mode", "llm")):
        if key in accepted:  # eval_mode 'llm': never route decisions to a hosted System One
            kwargs[key] = value
    steps = None if evaluation_steps is None else _text_list(evaluation_steps, "evaluation_steps")
    eval_params = None
    if evaluation_params is not None:
        eval_params = _text_list(evaluation_params, "evaluation_params")
        for index, param in enumerate(eval_params):
            if param not in _EVALUATION_PARAMS:
                raise ConfigError(
                    f"unknown evaluation parameter {param!r}",
                    key=f"evaluation_params[{index}]",
                    fix=f"use some of: {', '.join(_EVALUATION_PARAMS)}",
                )
    if "criteria" in accepted and "evaluation_steps" in accepted:  # GEval and its kin
        if criteria is None and steps is None:
            raise ConfigError(
                f"the metric {metric_name!r} needs 'criteria' or 'evaluation_steps'",
                fix='e.g. criteria: "Does the actual output answer the input correctly?"',
            )
        if eval_params is None and "evaluation_params" in accepted:
            eval_params = ["input", "actual_output"]  # without them GEval judges traces
    geval_options = {
        "criteria": criteria,
        "evaluation_steps": steps,
        "evaluation_params": eval_params,
        "name": name,
    }
    for key, value in geval_options.items():
        if value is None:
            continue
        if key not in accepted:
            raise ConfigError(
                f"the metric {metric_name!r} takes no parameter {key!r}",
                key=key,
                fix="criteria, evaluation_steps, evaluation_params and name configure geval",
            )
        kwargs[key] = value
    if "name" in accepted and "name" not in kwargs:
        kwargs["name"] = metric_name if metric_name in METRICS else metric_class.__name__
    for key, value in metric_params.items():
        if key in ("model", "threshold"):
            raise ConfigError(
                f"set {key!r} with the check's own parameter, not in metric_params",
                key=f"metric_params.{key}",
                fix="use 'judge' for the model and 'threshold' for the threshold",
            )
        if key not in accepted:
            public = sorted(p for p in accepted if p not in ("self", "model"))
            hint = suggest(key, public)
            raise ConfigError(
                f"the metric {metric_name!r} takes no parameter {key!r}",
                key=f"metric_params.{key}",
                fix=f"{hint}its parameters: {', '.join(public)}",
            )
        kwargs[str(key)] = value

    from deepeval.test_case import SingleTurnParams

    if eval_params is not None:
        kwargs["evaluation_params"] = [SingleTurnParams(p) for p in eval_params]
    required = {p.value for p in kwargs.get("evaluation_params") or []}
    declared = getattr(metric_class, "_required_params", None)
    if isinstance(declared, list):
        required |= {getattr(p, "value", p) for p in declared}

    params: dict[str, Any] = {
        "metric": metric_name,
        "judge": judge,
        "judge_params": _shown_params(judge_params),
        "threshold": float(threshold),
    }
    for key, value in (
        ("criteria", criteria),
        ("evaluation_steps", steps),
        ("evaluation_params", eval_params),
        ("name", name),
        ("input_field", input_field),
        ("context_field", context_field),
        ("retrieval_context_field", retrieval_context_field),
    ):
        if value is not None:
            params[key] = value
    params["metric_params"] = dict(metric_params)
    params["judge_repeats"] = judge_repeats
    params["drop_unstable"] = drop_unstable

    check = DeepEvalCheck(
        metric_class=metric_class,
        metric_name=metric_name,
        judge=judge,
        judge_params=judge_params,
        threshold=float(threshold),
        metric_kwargs=kwargs,
        params=params,
        requires_expected="expected_output" in required,
        judge_repeats=judge_repeats,
        drop_unstable=drop_unstable,
        input_field=input_field,
        context_field=context_field,
        retrieval_context_field=retrieval_context_field,
        gateway=gateway,
        concurrency=concurrency,
    )
    try:  # build one metric now, so that bad parameters fail when the eval loads
        check.make_metric()
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"the deepeval metric {metric_name!r} rejected its parameters: {describe_error(exc)}",
            fix="check the parameters against the metric's documentation",
        ) from None
    return check


# Registered as the check "deepeval" by its address in brittle.checks.registry, so that this
# module loads only for an eval that uses it.
def _deepeval_from_config(
    metric: str = "geval",
    *,
    judge: str,
    judge_params: Mapping[str, Any] | None = None,
    threshold: float = 0.5,
    criteria: str | None = None,
    evaluation_steps: Sequence[str] | None = None,
    evaluation_params: Sequence[str] | None = None,
    name: str | None = None,
    metric_params: Mapping[str, Any] | None = None,
    judge_repeats: int = 1,
    drop_unstable: bool = False,
    input_field: str | None = None,
    context_field: str | None = None,
    retrieval_context_field: str | None = None,
) -> Check:
    """:func:`deepeval_check` without the Python-only ``gateway`` and ``concurrency``."""
    return deepeval_check(
        metric,
        judge=judge,
        judge_params=judge_params,
        threshold=threshold,
        criteria=criteria,
        evaluation_steps=evaluation_steps,
        evaluation_params=evaluation_params,
        name=name,
        metric_params=metric_params,
        judge_repeats=judge_repeats,
        drop_unstable=drop_unstable,
        input_field=input_field,
        context_field=context_field,
        retrieval_context_field=retrieval_context_field,
    )
