"""Gates: the rules that decide the build.

A gate is absolute (``accuracy >= 0.8``, ``flip_rate[typo] <= 0.10``) or relative to the
committed baseline (``accuracy drop <= 0.02``, ``flip_rate rise <= 0.03``). In YAML a gate is that
string, or a mapping ``{metric: flip_rate, family: typo, max: 0.1}`` with one of ``min``, ``max``,
``max_drop``, ``max_rise``. Every gate also enforces the eval's error budget, before anything
else: a gate cannot pass while more calls errored than the budget allows.

A verdict needs measurements: a gate over a metric that no scored row measured (every call of
the system errored, the run had no rows, or no row of what the metric counts was scored) fails
with "nothing measured", whatever the budget allows and whether the gate is absolute or relative.
A relative gate whose *baseline* measured nothing is skipped, saying so and how to refresh it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import first_unknown, unknown_key_error
from brittle.stats.baseline import UPDATE_HINT
from brittle.stats.metrics import (
    ADAPTER_METRICS,
    FORMAT_METRICS,
    GATE_METRICS,
    REPEAT_METRICS,
    metric_value,
)

#: where a run's errors are shown, for the message of a gate failed on the error budget
ERRORS_SHOWN = (
    "brittle's summary at the end of the output shows the first error; the report lists them in "
    "summary.md and run.json, and every one in results.parquet's 'error' column"
)
OPS = {"min": ">=", "max": "<=", "max_drop": "drop <=", "max_rise": "rise <="}
_GATE_RE = re.compile(
    r"^\s*(?P<metric>[a-z_]+)\s*(?:\[\s*(?P<family>[\w.-]+)\s*\])?\s*"
    r"(?P<op>>=|<=|drop\s*<=|rise\s*<=)\s*(?P<value>[0-9.]+%?)\s*$"
)
_OP_FROM_TEXT = {">=": "min", "<=": "max", "drop<=": "max_drop", "rise<=": "max_rise"}
#: the first words of a verdict on a metric that no scored row measured
NOTHING_MEASURED = "nothing measured"
#: what each metric counts, as (the block's value that is None or 0 when none was scored, what)
_MEASURED_BY = {
    "accuracy": (("accuracy",), "no original was scored"),
    "worst_case_accuracy": (("accuracy",), "no original was scored"),
    "variant_accuracy": (("variant_accuracy",), "no variant was scored"),
    "pdr": (("accuracy", "variant_accuracy"), "no original or no variant was scored"),
    "flip_rate": (("pairs",), "no (original, variant) pair was scored"),
    "agreement": (("pairs",), "no (original, variant) pair was scored"),
    "excess_flip_rate": (("pairs",), "no (original, variant) pair was scored"),
    "prob_shift": (
        ("prob_shift",),
        "no (original, variant) pair has both probabilities of the expected label: the system "
        "gave no token log-probabilities (a local/ model always does; for an endpoint, add "
        "logprobs: true, top_logprobs: 5 to its params), or its answers came from a cache or "
        "recordings written before brittle kept them (refresh with --brittle-cache record)",
    ),
}


#: metrics a relative gate cannot take, with why and an absolute gate to write instead
_ABSOLUTE_ONLY: dict[str, tuple[str, str]] = {
    **dict.fromkeys(
        REPEAT_METRICS,
        (
            "the baseline keeps one outcome per row, not each repeat, so there is nothing to "
            "pair a change with",
            "<= 0.05",
        ),
    ),
    **dict.fromkeys(
        ADAPTER_METRICS,
        (
            "it is measured on a sample of the fine-tune's originals against its base model, "
            "not per case against the baseline",
            ">= 0.1",
        ),
    ),
    **dict.fromkeys(
        FORMAT_METRICS,
        (
            "it comes from a search of formats, not from per-case outcomes to pair with the "
            "baseline's",
            "<= 0.10",
        ),
    ),
}


def _parse_number(text: Any, *, where: str | None, key: str) -> float:
    try:
        if isinstance(text, str) and text.strip().endswith("%"):
            return float(text.strip()[:-1]) / 100
        return float(text)
    except (TypeError, ValueError):
        raise ConfigError(
            f"gate threshold {text!r} is not a number", where=where, key=key, fix="write e.g. 0.8"
        ) from None


def _check_metric(metric: str, *, where: str | None, key: str, op: str | None = None) -> None:
    if metric not in GATE_METRICS:
        close = difflib.get_close_matches(metric, GATE_METRICS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"unknown metric '{metric}'{hint}",
            where=where,
            key=key,
            fix=f"use one of: {', '.join(GATE_METRICS)}",
        )
    absolute_only = _ABSOLUTE_ONLY.get(metric)
    if absolute_only is not None and op in ("max_drop", "max_rise"):
        why, example = absolute_only
        raise ConfigError(
            f"'{metric}' can only be gated absolutely: {why}",
            where=where,
            key=key,
            fix=f"write e.g. '{metric} {example}'",
        )


@dataclass(frozen=True)
class ErrorBudget:
    """How many errored calls a system may have: a count, or a share of its calls."""

    count: int | None = 0
    share: float | None = None

    @classmethod
    def parse(cls, value: Any, *, where: str | None = None) -> ErrorBudget:
        if value is None:
            return cls()
        if isinstance(value, bool):
            raise ConfigError("error_budget must be a number", where=where, key="error_budget")
        if isinstance(value, int) and value >= 0:
            return cls(count=value)
        share: float | None = None
        if isinstance(value, str) and value.strip().endswith("%"):
            try:
                share = float(value.strip()[:-1]) / 100
            except ValueError:
                share = None
        elif isinstance(value, float):
            share = value
        if share is not None and 0 <= share < 1:
            return cls(count=None, share=share)
        raise ConfigError(
            f"error_budget {value!r} is neither a count nor a share",
            where=where,
            key="error_budget",
            fix="write a whole number of calls (e.g. 0 or 3), a share below 1 (0.02) or '2%'",
        )

    def allows(self, errors: int, calls: int) -> bool:
        if self.count is not None:
            return errors <= self.count
        return calls == 0 or errors / calls <= (self.share or 0.0)

    def note(self, calls: int) -> str | None:
        """What to say when the budget, a count, is more than the ``calls`` of a system: it
        allows every call to error (None when it does not)."""
        if self.count is None or calls <= 0 or self.count <= calls:
            return None
        return (
            f"error_budget {self.count} is more than the {calls} calls of each system: it allows "
            "every call to error (a gate over a system that measured nothing still fails); "
            f"write at most {calls}, or a share such as '5%'"
        )

    def describe(self) -> str:
        if self.count is not None:
            return f"{self.count} error{'s' if self.count != 1 else ''}"
        return f"{(self.share or 0) * 100:g}% of calls"


@dataclass(frozen=True)
class Verdict:
    """A gate's outcome for one system: passed, failed, inconclusive or skipped.

    ``passed`` decides the build (None: skipped). A relative gate whose estimate is beyond the
    allowance without the evidence to show it is ``inconclusive``: it passes (a warning), unless
    the eval says ``inconclusive: fail``, when it fails and its status is ``FAILED``.
    """

    gate: Gate
    passed: bool | None
    message: str
    now: float | None = None
    baseline: float | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    inconclusive: bool = False

    @property
    def status(self) -> str:
        """``passed``, ``FAILED``, ``inconclusive`` or ``skipped`` (run.json's spelling)."""
        if self.inconclusive and self.passed:
            return "inconclusive"
        return {True: "passed", False: "FAILED", None: "skipped"}[self.passed]


@dataclass(frozen=True)
class Gate:
    """One rule: ``metric[family] op value``."""

    metric: str
    op: str
    value: float
    family: str | None = None

    @property
    def relative(self) -> bool:
        return self.op in ("max_drop", "max_rise")

    @property
    def name(self) -> str:
        scope = f"[{self.family}]" if self.family else ""
        return f"{self.metric}{scope} {OPS[self.op]} {self.value:g}"

    @property
    def item_name(self) -> str:
        """A compact form for pytest node ids (no spaces)."""
        scope = f"[{self.family}]" if self.family else ""
        op = {"min": ">=", "max": "<=", "max_drop": "-drop<=", "max_rise": "-rise<="}[self.op]
        return f"{self.metric}{scope}{op}{self.value:g}"

    @classmethod
    def parse(cls, spec: Any, *, where: str | None = None, key: str = "gates") -> Gate:
        if isinstance(spec, Gate):
            return spec
        if isinstance(spec, str):
            match = _GATE_RE.match(spec)
            if not match:
                raise ConfigError(
                    f"cannot read gate {spec!r}",
                    where=where,
                    key=key,
                    fix="write 'accuracy >= 0.8', 'flip_rate[typo] <= 0.1', "
                    "'accuracy drop <= 0.02' or 'flip_rate rise <= 0.03'",
                )
            metric = match["metric"]
            op = _OP_FROM_TEXT[re.sub(r"\s+", "", match["op"])]
            _check_metric(metric, where=where, key=key, op=op)
            value = _parse_number(match["value"], where=where, key=key)
            return cls(metric=metric, op=op, value=value, family=match["family"])
        if isinstance(spec, Mapping):
            metric = spec.get("metric")
            if not isinstance(metric, str):
                raise ConfigError(
                    "gate has no 'metric'", where=where, key=key, fix="add e.g. 'metric: accuracy'"
                )
            _check_metric(metric, where=where, key=f"{key}.metric")
            ops = [op for op in OPS if op in spec]
            bad = first_unknown(spec, ("metric", "family", *OPS))
            if bad is not None:
                raise unknown_key_error(bad, ("metric", "family", *OPS), where=where, within=key)
            if len(ops) != 1:
                raise ConfigError(
                    f"gate on '{metric}' needs exactly one of {', '.join(OPS)}",
                    where=where,
                    key=key,
                    fix="write e.g. {metric: flip_rate, family: typo, max: 0.1}",
                )
            _check_metric(metric, where=where, key=f"{key}.{ops[0]}", op=ops[0])
            value = _parse_number(spec[ops[0]], where=where, key=f"{key}.{ops[0]}")
            family = spec.get("family")
            return cls(metric=metric, op=ops[0], value=value, family=family and str(family))
        raise ConfigError(
            f"a gate must be a string or a mapping, not {type(spec).__name__}",
            where=where,
            key=key,
        )

    def evaluate(
        self,
        metrics: Mapping[str, Any],
        baseline: Mapping[str, Any] | None,
        budget: ErrorBudget,
    ) -> Verdict:
        """Decide this gate for one system's metrics (and its baseline metrics, if any).

        In order: the error budget; a run that measured nothing; the family; the metric (a
        metric no scored row measured fails); then the threshold or the change since the
        baseline. A failure on the budget or on nothing measured carries ``errors`` and
        ``calls`` in its details (``nothing_measured`` too for the latter)."""
        overall = metrics["overall"]
        errors, calls = int(overall["errors"]), int(overall["cases"] + overall["variants"])
        nothing = calls - errors <= 0
        if not budget.allows(errors, calls):
            over = (
                f"{errors} of {calls} calls errored, over the error budget of {budget.describe()}"
            )
            return Verdict(
                self,
                False,
                f"{NOTHING_MEASURED}: {over}\n  the gate cannot pass on no results ({ERRORS_SHOWN})"
                if nothing
                else f"{over}: the gate cannot pass on incomplete results ({ERRORS_SHOWN})",
                details={"errors": errors, "calls": calls, **_nothing(nothing)},
            )
        if nothing:
            return _nothing_measured(self, errors, calls)
        if self.family is not None and self.family not in metrics["families"]:
            known = ", ".join(metrics["families"]) or "none"
            return Verdict(
                self,
                False,
                f"no variants of family '{self.family}' were run (families run: {known})",
            )
        now = metric_value(dict(metrics), self.metric, self.family)
        why = overall.get(f"{self.metric}_undefined") if now is None else None
        if why:  # format_spread of a system without a template (brittle.search.formats)
            return Verdict(self, None, f"{self.metric} is undefined: {why}: gate skipped")
        if now is None:
            unmeasured = _unmeasured(metrics, self.metric, self.family)
            if unmeasured is not None:
                return _nothing_measured(self, errors, calls, why=unmeasured)
        if not self.relative:
            if now is None:
                return Verdict(self, False, f"{self.metric} is undefined (no scored rows)")
            ok = now >= self.value if self.op == "min" else now <= self.value
            sign = ">=" if self.op == "min" else "<="
            return Verdict(
                self,
                ok,
                f"{self.metric} = {now:.4f}, required {sign} {self.value:g}",
                now=now,
            )
        if baseline is None:
            return Verdict(self, None, "no baseline: relative gate skipped")
        before = metric_value(dict(baseline), self.metric, self.family)
        if before is None and now is not None:
            unmeasured = _unmeasured(baseline, self.metric, self.family)
            if unmeasured is not None:
                return Verdict(
                    self,
                    None,
                    f"the baseline measured nothing for {self.metric}: {unmeasured}, so there is "
                    "nothing to compare with: relative gate skipped; refresh the baseline from a "
                    f"run that measured it: {UPDATE_HINT}",
                    now,
                    details={"baseline_measured_nothing": True},
                )
        if before is None or now is None:
            return Verdict(
                self, None, f"{self.metric} undefined in the run or the baseline: skipped", now
            )
        delta = now - before
        if self.op == "max_drop":
            ok = -delta <= self.value + 1e-12
            allowed = f"a drop of at most {self.value:g}"
        else:
            ok = delta <= self.value + 1e-12
            allowed = f"a rise of at most {self.value:g}"
        return Verdict(
            self,
            ok,
            f"baseline {before:.4f}, now {now:.4f}, delta {delta:+.4f}, allowed {allowed}",
            now=now,
            baseline=before,
            details={"delta": delta},
        )


def _nothing(nothing: bool) -> dict[str, Any]:
    return {"nothing_measured": True} if nothing else {}


def scored_rows(metrics: Mapping[str, Any]) -> int:
    """The rows of a system's metrics that were scored: its calls that did not error."""
    overall = metrics["overall"]
    return int(overall["cases"] + overall["variants"]) - int(overall["errors"])


def baseline_refusal(metrics: Mapping[str, Any], budget: ErrorBudget) -> str | None:
    """Why a system's run may not become its baseline (None: it may): it scored no rows, or
    more of its calls errored than the eval's error budget allows."""
    overall = metrics["overall"]
    errors, calls = int(overall["errors"]), int(overall["cases"] + overall["variants"])
    if scored_rows(metrics) <= 0:
        if calls == 0:
            return f"{NOTHING_MEASURED}: the run has no rows"
        return f"{NOTHING_MEASURED}: {errors} of {calls} calls errored"
    if not budget.allows(errors, calls):
        return f"{errors} of {calls} calls errored, over the error budget of {budget.describe()}"
    return None


def _unmeasured(metrics: Mapping[str, Any], metric: str, family: str | None) -> str | None:
    """Why no scored row measured ``metric`` (in ``family``'s scope), or None when it is
    undefined for another reason (``pdr`` of a run whose accuracy is 0) or defined."""
    block = metrics["overall"] if family is None else metrics["families"].get(family)
    if block is None:
        return None
    counted = "cases" in block and "variants" in block and "errors" in block
    if counted and int(block["cases"]) + int(block["variants"]) - int(block["errors"]) <= 0:
        return "no row was scored"
    needs, what = _MEASURED_BY.get(metric, ((), ""))
    for key in needs:
        if (not block.get(key)) if key == "pairs" else block.get(key) is None:
            return what
    return None


def _nothing_measured(gate: Gate, errors: int, calls: int, *, why: str | None = None) -> Verdict:
    """A gate over a metric that no scored row measured: failed, whatever the gate."""
    if calls == 0:
        cause = "the run has no rows"
    elif errors:
        cause = f"{errors} of {calls} calls errored"
    else:
        cause = "no call errored: the run has no such rows"
    scope = f"[{gate.family}]" if gate.family else ""
    text = (
        f"{NOTHING_MEASURED}: {cause}"
        if why is None
        else f"{NOTHING_MEASURED} for {gate.metric}{scope}: {why} ({cause})"
    )
    return Verdict(
        gate, False, text, details={"errors": errors, "calls": calls, "nothing_measured": True}
    )
