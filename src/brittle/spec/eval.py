"""Eval definitions: what to run (golden set, systems, checks, suites) and how to judge it (gates).

An eval is written either as a YAML file under ``evals/`` (``*.eval.yaml``)::

    name: sentiment
    golden: ../fixtures/sentiment/golden.jsonl      # paths are relative to this file
    perturb_fields: [text]
    systems:
      zero-shot:
        kind: prompt                                  # prompt | model | python
        model: local/smollm2
        template: ../fixtures/prompts/sentiment_zero_shot.txt
        params: {temperature: 0, max_tokens: 4}
    checks:
      - label: {choices: [positive, negative]}
    suites: [builtin:typos, ../suites/mine.yaml]         # see brittle.spec.suite_refs
    gates:
      - accuracy >= 0.8
      - flip_rate <= 0.10
      - flip_rate rise <= 0.03
    concurrency: 16
    error_budget: 0
    inconclusive: pass                                # or fail: an inconclusive relative gate fails

or in Python, as a test function decorated with :func:`brittle.evaluation` that returns an
:class:`Eval`. Both forms become the same :class:`EvalSpec`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import first_unknown, unknown_key_error
from brittle.checks import Check, checks_from_config
from brittle.checks._params import kind
from brittle.gateway.pricing import parse_price
from brittle.gateway.ratelimit import RateLimit
from brittle.gateway.recordings import recordings_path
from brittle.gateway.retry import RetryPolicy
from brittle.gateway.settings import parse_rate_limits, parse_retries, parse_timeout
from brittle.spec.adapter import check_adapter_gates, check_base, parse_adapter_check
from brittle.spec.cases import Case
from brittle.spec.decision import parse_compare, parse_training_cost
from brittle.spec.format_search import (
    FormatSearchSpec,
    check_gates,
    fixture_suite,
    parse_format_search,
)
from brittle.spec.golden import load_golden
from brittle.spec.suite_refs import resolve_suites
from brittle.spec.suites import Suite
from brittle.spec.systems import (
    CallableSystem,
    LLMSystem,
    System,
    Template,
    caller_location,
    check_call_params,
    check_transport,
    import_callable,
    load_template,
)
from brittle.spec.validation import validate_fields
from brittle.spec.yamlio import LinePath, load_yaml_with_lines
from brittle.stats.gates import ErrorBudget, Gate
from brittle.stats.metrics import REPEAT_METRICS

EVAL_KEYS = {
    "name",
    "description",
    "golden",
    "systems",
    "checks",
    "suites",
    "gates",
    "perturb_fields",
    "concurrency",
    "error_budget",
    "seed",
    "alpha",
    "inconclusive",
    "repeats",
    "reduction",
    "timeout",
    "retries",
    "rate_limits",
    "compare",
}
INCONCLUSIVE = ("pass", "fail")
"""What a relative gate does when its estimate is beyond the allowance but not shown to be."""
SYSTEM_KEYS = {
    "kind",
    "model",
    "template",
    "system_prompt",
    "params",
    "callable",
    "version",
    "transport",
    "price",
    "training_cost",
    "base",
    "adapter_check",
}
SYSTEM_KINDS = ("prompt", "model", "python")


@dataclass
class EvalSpec:
    """A fully loaded and validated eval."""

    name: str
    source: Path
    cases: list[Case]
    systems: list[System]
    checks: list[Check]
    suites: list[Suite] = field(default_factory=list)
    gates: list[Gate] = field(default_factory=list)
    perturb_fields: tuple[str, ...] = ()
    concurrency: int = 16
    error_budget: ErrorBudget = field(default_factory=ErrorBudget)
    seed: int | None = None
    golden_path: Path | None = None
    description: str = ""
    #: significance level of the relative gates (Holm-corrected across the eval's relative gates)
    alpha: float = 0.05
    #: what an inconclusive relative gate does: ``pass`` (a warning) or ``fail``
    inconclusive: str = "pass"
    #: samples per (case, variant), reduced with ``reduction`` (``majority`` or ``mean``)
    repeats: int = 1
    reduction: str = "majority"
    #: per-attempt timeout of model calls in seconds (None: the gateway's default)
    timeout: float | None = None
    #: retries on 429, 5xx and timeouts (:class:`brittle.gateway.retry.RetryPolicy`)
    retries: RetryPolicy = field(default_factory=RetryPolicy)
    #: per-model limits: ``{model: RateLimit(rpm, tpm, concurrency)}``, ``"*"`` for any model
    rate_limits: dict[str, RateLimit] = field(default_factory=dict)
    #: pairs of systems the decision tests against each other (``compare: [[a, b]]``)
    compare: tuple[tuple[str, str], ...] = ()
    #: the ``format_search`` entry of ``suites:`` (:mod:`brittle.spec.format_search`), or None
    format_search: FormatSearchSpec | None = None

    @property
    def baseline_path(self) -> Path:
        return self.source.parent / "__baselines__" / f"{self.name}.json"

    @property
    def recordings_path(self) -> Path:
        """The responses behind the baseline (:mod:`brittle.gateway.recordings`)."""
        return recordings_path(self.source.parent, self.name)

    def system(self, name: str) -> System:
        for system in self.systems:
            if system.name == name:
                return system
        raise KeyError(name)


@dataclass
class Eval:
    """An eval declared in Python; the fields mirror the YAML keys.

    ``golden`` is a path (relative to the test file) or a list of :class:`~brittle.Case`;
    ``systems`` holds :class:`~brittle.spec.systems.System` objects; ``checks`` holds check objects
    (``brittle.checks.label([...])``) or YAML-style specs; ``suites`` holds suite paths,
    ``"builtin:NAME"``, inline suite mappings or :class:`~brittle.spec.suites.Suite` objects;
    ``gates`` holds gate strings or mappings.
    """

    golden: str | Path | Sequence[Case]
    systems: Sequence[System]
    checks: Sequence[Any]
    suites: Sequence[str | Path | Suite | Mapping[str, Any]] = ()
    gates: Sequence[Any] = ()
    name: str | None = None
    perturb_fields: Sequence[str] | None = None
    concurrency: int = 16
    error_budget: Any = 0
    seed: int | None = None
    description: str = ""
    alpha: float = 0.05
    inconclusive: str = "pass"
    repeats: int = 1
    reduction: str = "majority"
    timeout: float | None = None
    retries: Any = None
    rate_limits: Any = None
    compare: Sequence[Sequence[str]] = ()

    def __post_init__(self) -> None:
        """Wrong types fail here, at the line that built the Eval, not deep inside a run."""
        if not isinstance(self.golden, str | Path):
            _each(
                self.golden,
                Case,
                key="golden",
                what="a golden file path or a list of brittle.Case",
                fix="write golden='golden.jsonl' or golden=[brittle.Case(id='c1', "
                "inputs={'text': '...'}, expected='...')]",
            )
        _each(
            self.systems,
            System,
            key="systems",
            what="a list of systems (brittle.PromptSystem, ModelSystem or CallableSystem)",
            fix="write e.g. systems=[brittle.PromptSystem('zero-shot', 'local/smollm2', "
            "'{{ text }}')]",
        )
        _each(
            self.checks,
            (Check, str, Mapping),
            key="checks",
            what="a list of checks (brittle.checks.exact(), or YAML-style 'exact')",
            fix="write e.g. checks=[brittle.checks.exact()] or checks=['exact']",
        )
        _each(
            self.suites,
            (str, Path, Suite, Mapping),
            key="suites",
            what="a list of suites (file paths, 'builtin:NAME', inline mappings or Suite objects)",
        )
        _each(self.gates, (str, Mapping, Gate), key="gates", what="a list of gates")
        if self.name is not None and not isinstance(self.name, str):
            raise ConfigError(
                f"'name' must be text, got {kind(self.name)}", where=caller_location(), key="name"
            )


def _each(values: Any, types: Any, *, key: str, what: str, fix: str | None = None) -> None:
    """``values`` is a list (or tuple) whose items are all of ``types``."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
        raise ConfigError(
            f"must be {what}, got {kind(values)}",
            where=caller_location(),
            key=key,
            fix=fix or f"wrap it in a list: {key}=[...]",
        )
    for index, value in enumerate(values):
        if not isinstance(value, types):
            raise ConfigError(
                f"must be {what}; item {index} is {kind(value)}",
                where=caller_location(),
                key=f"{key}[{index}]",
                fix=fix,
            )


def evaluation(function: Callable[[], Eval]) -> Callable[[], Eval]:
    """Mark a test function that returns an :class:`Eval`: brittle collects it like a YAML eval."""
    function.__brittle_eval__ = True  # type: ignore[attr-defined]
    return function


def _resolve(base_dir: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir / path)


def _resolve_local_model(model: str, base_dir: Path) -> str:
    """Resolve relative folders in a ``local/...`` model string against the eval's folder.

    A path that does not exist there is tried against the working directory (the project root
    when running ``pytest evals/``); otherwise it is left for the provider to report.
    """
    if not model.startswith("local/"):
        return model
    parts = model[len("local/") :].split("+")
    resolved = []
    for part in parts:
        if part and part != "smollm2" and not Path(part).is_absolute():
            for candidate in (base_dir / part, Path.cwd() / part):
                if candidate.exists():
                    part = os.path.normpath(candidate)
                    break
        resolved.append(part)
    return "local/" + "+".join(resolved)


def _default_fields(cases: Sequence[Case]) -> tuple[str, ...]:
    first = cases[0]
    return tuple(k for k, v in first.inputs.items() if isinstance(v, str))


def _system_from_mapping(
    name: str, raw: Any, *, base_dir: Path, where: str, lines: Mapping[LinePath, int]
) -> System:
    key = f"systems.{name}"
    line = lines.get(("systems", name))
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "a system must be a mapping with at least 'model' (or 'callable')",
            where=where,
            line=line,
            key=key,
        )
    bad = first_unknown(raw, SYSTEM_KEYS)
    if bad is not None:
        raise unknown_key_error(
            bad,
            SYSTEM_KEYS,
            where=where,
            line=lines.get(("systems", name, bad), line),
            within=key,
        )
    kind = raw.get("kind") or ("python" if "callable" in raw else "prompt")
    if kind not in SYSTEM_KINDS:
        raise ConfigError(
            f"unknown system kind '{kind}'",
            where=where,
            line=lines.get(("systems", name, "kind"), line),
            key=f"{key}.kind",
            fix=f"use one of: {', '.join(SYSTEM_KINDS)}",
        )
    price = None  # the system's own price, else litellm's price table (gateway/pricing.py)
    if raw.get("price") is not None:
        price_line = lines.get(("systems", name, "price"), line)
        price = parse_price(raw["price"], where=where, line=price_line, key=f"{key}.price")
    training_cost = parse_training_cost(
        raw.get("training_cost"),
        where=where,
        line=lines.get(("systems", name, "training_cost"), line),
        key=f"{key}.training_cost",
    )
    if kind == "python":
        reference = raw.get("callable")
        if not isinstance(reference, str):
            raise ConfigError(
                "a python system needs 'callable: module:function'", where=where, line=line, key=key
            )
        function = import_callable(reference, where=where, key=f"{key}.callable")
        return CallableSystem(
            name, function, version=raw.get("version"), price=price, training_cost=training_cost
        )
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ConfigError(
            f"a {kind} system needs 'model' (a litellm model string)",
            where=where,
            line=line,
            key=f"{key}.model",
            fix="write e.g. 'model: local/smollm2' or 'model: openai/gpt-4o-mini'",
        )
    template_raw = raw.get("template")
    template: Template | None = None
    if template_raw is not None:
        if not isinstance(template_raw, str):
            raise ConfigError("'template' must be text or a file path", where=where, key=key)
        template = load_template(
            template_raw, base_dir=base_dir, where=where, key=f"{key}.template"
        )
    elif kind == "prompt":
        raise ConfigError(
            "a prompt system needs a 'template'",
            where=where,
            line=line,
            key=f"{key}.template",
            fix="add 'template: path/to/prompt.txt' or an inline Jinja2 template",
        )
    key_path = ("systems", name)
    params = check_call_params(
        raw.get("params") or {},
        where=where,
        line=lines.get(("systems", name, "params"), line),
        key=f"{key}.params",
        param_lines={
            str(k[3]): v for k, v in lines.items() if len(k) == 4 and k[:3] == (*key_path, "params")
        },
    )
    system = LLMSystem(
        name=name,
        model=model,
        template=template,
        system_prompt=raw.get("system_prompt"),
        params=dict(params),
        kind=kind,
        call_model=_resolve_local_model(model, base_dir),
        transport=check_transport(
            raw.get("transport"),
            where=where,
            line=lines.get(("systems", name, "transport"), line),
            key=key,
        ),
        price=price,
        training_cost=training_cost,
        # a fine-tune's base and the check that it changes answers (spec/adapter.py)
        base=check_base(
            raw.get("base"),
            where=where,
            line=lines.get((*key_path, "base"), line),
            key=f"{key}.base",
        ),
        adapter_check=parse_adapter_check(
            raw.get("adapter_check"),
            where=where,
            line=lines.get((*key_path, "adapter_check"), line),
            key=f"{key}.adapter_check",
        ),
    )
    if raw.get("adapter_check") not in (None, False) and system.base_model() is None:
        # asked for in so many words, it would otherwise be skipped without a word
        raise ConfigError(
            f"system '{name}' asks for an adapter check, but brittle does not know its base "
            "model, so there is nothing to compare its answers with",
            where=where,
            line=lines.get((*key_path, "adapter_check"), line),
            key=f"{key}.adapter_check",
            fix="add 'base: <model>' (the model it was trained from), use a "
            "'local/<base>+<adapter folder>' model, or remove 'adapter_check'",
        )
    return system


def load_eval_file(path: Path) -> EvalSpec:
    """Read, resolve and validate an ``*.eval.yaml`` file."""
    data, lines = load_yaml_with_lines(path)
    where = str(path)
    if not isinstance(data, Mapping):
        raise ConfigError(
            "an eval file must be a mapping of keys (name, golden, systems, checks, ...)",
            where=where,
        )
    bad = first_unknown(data, EVAL_KEYS)
    if bad is not None:
        raise unknown_key_error(bad, EVAL_KEYS, where=where, line=lines.get((bad,)))
    for required in ("golden", "systems", "checks"):
        if required not in data:
            raise ConfigError(f"missing required key '{required}'", where=where, key=required)
    base_dir = path.parent
    systems_raw = data["systems"]
    if not isinstance(systems_raw, Mapping) or not systems_raw:
        raise ConfigError(
            "'systems' must be a mapping of system names to definitions",
            where=where,
            line=lines.get(("systems",)),
            key="systems",
        )
    systems = [
        _system_from_mapping(str(n), s, base_dir=base_dir, where=where, lines=lines)
        for n, s in systems_raw.items()
    ]
    golden = data["golden"]
    if not isinstance(golden, str):
        raise ConfigError("'golden' must be a file path", where=where, key="golden")
    suites_raw = data.get("suites") or []
    if not isinstance(suites_raw, list):
        raise ConfigError("'suites' must be a list of suite files", where=where, key="suites")
    suite_objects: list[str | Path | Suite | Mapping[str, Any]] = []
    for index, item in enumerate(suites_raw):
        if not isinstance(item, str | Mapping):
            raise ConfigError(
                "each suite must be a file path, builtin:NAME or an inline suite mapping",
                where=where,
                line=lines.get(("suites", index)),
                key=f"suites[{index}]",
                fix="write e.g. '- builtin:typos' (`brittle suites` lists them)",
            )
        suite_objects.append(item)
    checks = checks_from_config(
        data["checks"],
        where=where,
        key="checks",
        base_dir=base_dir,
        lines={k[1]: v for k, v in lines.items() if len(k) == 2 and k[0] == "checks"},
    )
    gates = [
        Gate.parse(g, where=f"{where}:{lines.get(('gates', i), '?')}", key=f"gates[{i}]")
        for i, g in enumerate(data.get("gates") or [])
    ]
    spec = Eval(
        golden=golden,
        systems=systems,
        checks=checks,
        suites=suite_objects,
        gates=gates,
        name=data.get("name") or path.name.split(".")[0],
        perturb_fields=data.get("perturb_fields"),
        concurrency=data.get("concurrency", 16),
        error_budget=data.get("error_budget", 0),
        seed=data.get("seed"),
        description=str(data.get("description", "")),
        alpha=data.get("alpha", 0.05),
        inconclusive=data.get("inconclusive", "pass"),
        repeats=data.get("repeats", 1),
        reduction=data.get("reduction", "majority"),
        timeout=data.get("timeout"),
        retries=data.get("retries"),
        rate_limits=data.get("rate_limits"),
        compare=data.get("compare") or (),
    )
    return build_spec(spec, source=path, lines=lines)


def build_spec(
    definition: Eval,
    *,
    source: Path,
    lines: Mapping[LinePath, int] | None = None,
) -> EvalSpec:
    """Resolve an :class:`Eval` (from YAML or Python) into a validated :class:`EvalSpec`."""
    lines = lines or {}
    where = str(source)
    base_dir = source.parent
    if isinstance(definition.golden, str | Path):
        golden_path: Path | None = _resolve(base_dir, str(definition.golden))
        assert golden_path is not None
        if not golden_path.is_file():
            raise ConfigError(
                f"golden file '{definition.golden}' does not exist (looked for {golden_path})",
                where=where,
                line=lines.get(("golden",)),
                key="golden",
                fix="golden paths are relative to the eval file",
            )
        cases = load_golden(golden_path)
    else:
        golden_path = None
        cases = list(definition.golden)
        if not cases:
            raise ConfigError("the eval has no cases", where=where, key="golden")
    names = [s.name for s in definition.systems]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ConfigError(
            f"two systems are named '{sorted(duplicates)[0]}'", where=where, key="systems"
        )
    if not definition.systems:
        raise ConfigError("the eval has no systems", where=where, key="systems")
    checks = [
        c if isinstance(c, Check) else checks_from_config([c], where=where, base_dir=base_dir)[0]
        for c in definition.checks
    ]
    if not checks:
        raise ConfigError(
            "the eval has no checks", where=where, key="checks", fix="add e.g. '- exact'"
        )
    suites = resolve_suites(definition.suites, base_dir=base_dir, where=where, lines=lines)
    format_search = parse_format_search(
        definition.suites,
        base_dir=base_dir,
        eval_name=str(definition.name or source.stem),
        eval_seed=definition.seed if isinstance(definition.seed, int) else None,
        where=where,
        lines=lines,
    )
    frozen_formats = fixture_suite(format_search)  # worst formats frozen by freeze-formats
    if frozen_formats is not None and all(s.name != frozen_formats.name for s in suites):
        suites.append(frozen_formats)
    gates = [Gate.parse(g, where=where, key=f"gates[{i}]") for i, g in enumerate(definition.gates)]
    raw_fields = definition.perturb_fields
    if raw_fields is not None and (
        isinstance(raw_fields, str) or not all(isinstance(f, str) for f in raw_fields)
    ):
        raise ConfigError(
            f"'perturb_fields' must be a list of field names, not {raw_fields!r}",
            where=where,
            line=lines.get(("perturb_fields",)),
            key="perturb_fields",
            fix="write e.g. 'perturb_fields: [text]'",
        )
    fields = tuple(raw_fields or _default_fields(cases))
    seed = definition.seed
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise ConfigError(
            f"'seed' must be a whole number, not {seed!r}",
            where=where,
            line=lines.get(("seed",)),
            key="seed",
            fix="write e.g. 'seed: 7' (unquoted), or leave it out to use each suite's seed",
        )
    validate_fields(cases, definition.systems, checks, fields, where=where, lines=lines)
    for suite in suites:  # frozen variant files must match this golden set
        suite.check_cases(cases, fields)
    concurrency = definition.concurrency
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(
            f"'concurrency' must be a positive whole number, not {concurrency!r}",
            where=where,
            line=lines.get(("concurrency",)),
            key="concurrency",
            fix="write e.g. 'concurrency: 16' (the number of model calls in flight at once)",
        )
    _validate_statistics(definition, where=where, lines=lines)
    check_gates(gates, format_search, where=where, lines=lines)
    check_adapter_gates(gates, definition.systems, where=where, lines=lines)
    families = {e.family for s in suites for e in s.entries}
    for index, gate in enumerate(gates):
        if gate.family is not None and gate.family not in families:
            raise ConfigError(
                f"gate '{gate.name}' names family '{gate.family}', which no suite of this "
                "eval uses",
                where=where,
                line=lines.get(("gates", index)),
                key=f"gates[{index}]",
                fix=f"use one of: {', '.join(sorted(families))}"
                if families
                else "add a suite with that family under 'suites', or drop the family",
            )
        if gate.metric in REPEAT_METRICS and definition.repeats < 2:
            raise ConfigError(
                f"gate '{gate.name}' measures the repeats, but this eval calls each row once",
                where=where,
                line=lines.get(("gates", index)),
                key=f"gates[{index}]",
                fix="add e.g. 'repeats: 5' (samples per case and variant), or drop the gate",
            )
    return EvalSpec(
        name=str(definition.name or source.stem),
        source=source,
        cases=cases,
        systems=list(definition.systems),
        checks=checks,
        suites=suites,
        gates=gates,
        perturb_fields=fields,
        concurrency=concurrency,
        error_budget=ErrorBudget.parse(
            definition.error_budget,
            where=f"{where}:{lines[('error_budget',)]}" if ("error_budget",) in lines else where,
        ),
        seed=definition.seed,
        golden_path=golden_path,
        description=definition.description,
        alpha=float(definition.alpha),
        inconclusive=definition.inconclusive,
        repeats=definition.repeats,
        reduction=definition.reduction,
        timeout=parse_timeout(definition.timeout, where=_at(where, lines, "timeout")),
        retries=parse_retries(definition.retries, where=_at(where, lines, "retries")),
        rate_limits=parse_rate_limits(
            definition.rate_limits, where=_at(where, lines, "rate_limits")
        ),
        compare=parse_compare(definition.compare, names, where=where, lines=lines),
        format_search=format_search,
    )


def _at(where: str, lines: Mapping[LinePath, int], key: str) -> str:
    """``file:line`` of a top-level key when its line is known."""
    return f"{where}:{lines[(key,)]}" if (key,) in lines else where


def _validate_statistics(definition: Eval, *, where: str, lines: Mapping[LinePath, int]) -> None:
    """``alpha`` is a level in (0, 0.5], ``inconclusive`` pass or fail, ``repeats`` a whole
    number >= 1, ``reduction`` known."""
    from brittle.stats.repeats import REDUCTIONS  # lazy: it imports pandas

    alpha = definition.alpha
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 0.5:
        raise ConfigError(
            f"'alpha' must be a significance level between 0 and 0.5, not {alpha!r}",
            where=where,
            line=lines.get(("alpha",)),
            key="alpha",
            fix="write e.g. 'alpha: 0.05' (the false-alarm rate the relative gates allow)",
        )
    if definition.inconclusive not in INCONCLUSIVE:
        raise ConfigError(
            f"'inconclusive' must be one of {', '.join(INCONCLUSIVE)}, not "
            f"{definition.inconclusive!r}",
            where=where,
            line=lines.get(("inconclusive",)),
            key="inconclusive",
            fix="write 'inconclusive: pass' (the default: an estimate beyond the allowance "
            "without the evidence to show it is a warning) or 'inconclusive: fail'",
        )
    repeats = definition.repeats
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(
            f"'repeats' must be a whole number of samples per case and variant, not {repeats!r}",
            where=where,
            line=lines.get(("repeats",)),
            key="repeats",
            fix="write e.g. 'repeats: 5' (or leave it out for one call per row)",
        )
    if definition.reduction not in REDUCTIONS:
        raise ConfigError(
            f"unknown reduction {definition.reduction!r}",
            where=where,
            line=lines.get(("reduction",)),
            key="reduction",
            fix=f"use one of: {', '.join(REDUCTIONS)} (majority answer, or mean pass share)",
        )
