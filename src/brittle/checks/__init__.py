"""Checks: how one output of the system under test is judged against its case.

A check is made by a factory from JSON-serialisable parameters, so that an eval file can name it
(``label: {choices: [positive, negative]}``) and a results log can record exactly how each output
was scored (:attr:`Check.params` is fully resolved and :func:`make_check` rebuilds the check from
it). Factories are registered under a name with :func:`register_check`; the built-in ones are

=============  ==============================================================================
``exact``      the output equals the expected answer (stripped; optionally case-insensitive)
``normalized`` equal after :func:`normalize_text` (case, punctuation, quotes, whitespace)
``label``      the first of a fixed set of labels mentioned in the output is the expected one
``contains``   the output contains the expected answer, or given strings (all of / any of)
``regex``      a pattern matches, or a capture group of it equals the expected answer
``json``       the output holds JSON, optionally valid against a schema and equal to the expected
``numeric``    the first (or last) number in the output is close to the expected number
``similarity`` embedding cosine similarity with the expected answer reaches a threshold
``python``     a user function ``(output, case) -> bool | float | CheckResult`` decides
``deepeval``   a deepeval metric judged by an LLM through the gateway (:mod:`brittle.deepeval`)
=============  ==============================================================================

Each returns a :class:`CheckResult` whose ``answer`` is what the check read from the output (a
label, a number, canonical JSON, normalised text). Comparing answers rather than pass/fail is
what lets a brittleness suite see that a perturbed input changed the answer, even between two
wrong answers. Checks that read nothing out of free text (``contains``, ``similarity``, a plain
``python`` function) leave ``answer`` as None.

Nothing here raises on a bad output: a malformed, empty or surprising output is a failed result
with a short ``detail``. Bad parameters raise :class:`~brittle._errors.ConfigError` when the
check is built, so a typo in an eval file fails before any model is called.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import inspect
import json
import math
import numbers
import re
import sys
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import jsonschema.exceptions
import jsonschema.validators
import numpy as np
import yaml

from brittle._errors import ConfigError
from brittle.search import embeddings
from brittle.spec.cases import Case

if TYPE_CHECKING:
    from brittle.gateway import Gateway

__all__ = [
    "Check",
    "CheckResult",
    "check_names",
    "checks_from_config",
    "contains",
    "exact",
    "extract_json",
    "extract_number",
    "format_number",
    "json_schema",
    "label",
    "make_check",
    "normalize_text",
    "normalized",
    "numeric",
    "python",
    "regex",
    "register_check",
    "similarity",
]


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


# --------------------------------------------------------------------------- registry

F = TypeVar("F", bound=Callable[..., Check])

_REGISTRY: dict[str, Callable[..., Check]] = {}

_FORMS = (
    "write each item as a bare name, a name with no parameters, or a one-key mapping from the "
    "name to its parameters:\n"
    "    checks:\n"
    "      - exact\n"
    "      - normalized: null\n"
    "      - label: {choices: [positive, negative]}"
)


def register_check(name: str) -> Callable[[F], F]:
    """Register ``factory(**params) -> Check`` under ``name`` for eval files and :func:`make_check`.

    The factory's keyword parameters are the check's parameters: :func:`make_check` rejects
    others by name before calling it. Registering a second, different factory under a taken name
    is a programming error (re-registering the same function, as on a module reload, is not).
    """

    def decorator(factory: F) -> F:
        previous = _REGISTRY.get(name)
        if previous is not None and _qualified(previous) != _qualified(factory):
            raise ValueError(
                f"a check named {name!r} is already registered ({_qualified(previous)})"
            )
        _REGISTRY[name] = factory
        return factory

    return decorator


def check_names() -> list[str]:
    """The registered check names, sorted."""
    return sorted(_REGISTRY)


def make_check(
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    where: str | None = None,
    key: str | None = None,
    base_dir: str | Path | None = None,
) -> Check:
    """Build the registered check ``name`` from ``params``.

    ``where`` (a file) and ``key`` (the check's position, e.g. ``checks[2]``) go into error
    messages. ``base_dir`` is the folder of the eval file: checks that read files or modules
    (``json`` schemas, ``python`` functions) resolve relative paths against it; it is passed only
    to factories that take a ``base_dir`` parameter and is not recorded in :attr:`Check.params`.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        known = check_names()
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ConfigError(
            f"unknown check {name!r}",
            where=where,
            key=key,
            fix=f"{hint}known checks: {', '.join(known)}",
        )
    prefix = f"{key}.{name}" if key else name
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"the parameters of check '{name}' must be a mapping, got {_kind(params)}",
            where=where,
            key=prefix,
            fix=_FORMS,
        )
    factory = _REGISTRY[name]
    resolved = {str(k): v for k, v in params.items()}
    accepted, required, open_ended = _signature(factory)
    if base_dir is not None and "base_dir" in accepted and "base_dir" not in resolved:
        resolved["base_dir"] = str(base_dir)
    if not open_ended:
        for param in resolved:
            if param not in accepted:
                public = sorted(p for p in accepted if p != "base_dir")
                close = difflib.get_close_matches(param, public, n=1)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ConfigError(
                    f"check '{name}' has no parameter '{param}'",
                    where=where,
                    key=f"{prefix}.{param}",
                    fix=f"{hint}parameters of '{name}': {', '.join(public) or '(none)'}",
                )
    for param in required:
        if param not in resolved:
            raise ConfigError(
                f"check '{name}' needs the parameter '{param}'",
                where=where,
                key=prefix,
                fix=f"give it, e.g. `- {name}: {{{param}: ...}}`",
            )
    try:
        return factory(**resolved)
    except ConfigError as exc:
        raise ConfigError(
            exc.problem,
            where=where or exc.where,
            line=exc.line,
            key=f"{prefix}.{exc.key}" if exc.key else prefix,
            fix=exc.fix,
        ) from None


def checks_from_config(
    spec: Any,
    *,
    where: str | None = None,
    key: str = "checks",
    base_dir: str | Path | None = None,
    lines: Mapping[int, int] | None = None,
) -> list[Check]:
    """Build the checks an eval file lists under ``key``.

    Each item is a bare name (``exact``), a one-key mapping from a name to its parameters
    (``{label: {choices: [positive, negative]}}``) or to null (``{normalized: null}``).
    ``lines`` maps item indexes to their line in ``where``, for error messages.
    """
    if not isinstance(spec, list):
        raise ConfigError(
            f"must be a list of checks, got {_kind(spec)}", where=where, key=key, fix=_FORMS
        )
    if not spec:
        raise ConfigError("lists no checks", where=where, key=key, fix=_FORMS)
    checks = []
    file = where
    for index, item in enumerate(spec):
        item_key = f"{key}[{index}]"
        if lines and index in lines and file is not None:
            where = f"{file}:{lines[index]}"
        if isinstance(item, str):
            name, params = item, None
        elif isinstance(item, Mapping) and len(item) == 1:
            ((name, params),) = item.items()
        elif isinstance(item, Mapping) and len(item) > 1:
            names = [str(k) for k in item]
            registered = [n for n in names if n in _REGISTRY]
            fix = _FORMS
            if len(registered) == 1:
                others = ", ".join(n for n in names if n != registered[0])
                fix = f"indent {others} under '{registered[0]}:' (its parameters)\n  or: {_FORMS}"
            raise ConfigError(
                f"has {len(item)} keys ({', '.join(names)}); each item names one check",
                where=where,
                key=item_key,
                fix=fix,
            )
        else:
            raise ConfigError(
                f"is {_kind(item)}, not a check", where=where, key=item_key, fix=_FORMS
            )
        if params is not None and not isinstance(params, Mapping):
            raise ConfigError(
                f"the parameters of check '{name}' must be a mapping, got {_kind(params)}",
                where=where,
                key=f"{item_key}.{name}",
                fix=_FORMS,
            )
        checks.append(make_check(name, params, where=where, key=item_key, base_dir=base_dir))
    return checks


def _signature(factory: Callable[..., Check]) -> tuple[set[str], list[str], bool]:
    """Accepted keyword names, required names, and whether it takes ``**kwargs``."""
    accepted: set[str] = set()
    required: list[str] = []
    open_ended = False
    for param in inspect.signature(factory).parameters.values():
        if param.kind is param.VAR_KEYWORD:
            open_ended = True
        elif param.kind in (param.POSITIONAL_OR_KEYWORD, param.KEYWORD_ONLY):
            accepted.add(param.name)
            if param.default is param.empty:
                required.append(param.name)
    return accepted, required, open_ended


def _qualified(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}:{getattr(obj, '__qualname__', repr(obj))}"


# --------------------------------------------------------------------------- helpers


def _kind(value: Any) -> str:
    """A value's YAML-level kind, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, numbers.Number):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({_short(value)})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _short(text: str, limit: int = 60) -> str:
    """``repr`` of ``text``, cut to about ``limit`` characters."""
    if len(text) > limit:
        return repr(text[:limit]) + "…"
    return repr(text)


def _clip(text: str, limit: int = 60) -> str:
    """``text`` cut to about ``limit`` characters."""
    return text[:limit] + "…" if len(text) > limit else text


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"must be true or false, got {_kind(value)}", key=key)
    return value


def _real(value: Any, key: str, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        raise ConfigError(f"must be a number, got {_kind(value)}", key=key)
    number = float(value)
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"must be {bounds}, got {value!r}", key=key)
    return number


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"must be a non-empty string, got {_kind(value)}", key=key)
    return value


def _text_list(value: Any, key: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ConfigError(
            f"must be a list of strings, got {_kind(value)}",
            key=key,
            fix=f"write it as a list, e.g. {key}: [{value if isinstance(value, str) else 'a'}]",
        )
    if not value:
        raise ConfigError("must list at least one string", key=key)
    for index, item in enumerate(value):
        _text(item, f"{key}[{index}]")
    return list(value)


def _fold(text: str) -> str:
    """Case- and whitespace-insensitive form of a label or term."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _expected_text(case: Case) -> str | None:
    return None if case.expected is None else str(case.expected)


def _no_expected(check: Check, case: Case, answer: str | None = None) -> CheckResult:
    return CheckResult(
        passed=False,
        answer=answer,
        detail=f"case '{case.id}' has no expected answer, which the {check.name} check needs",
    )


def normalize_text(text: str) -> str:
    """Text reduced to what a human would call "the same answer".

    Unicode NFKC and case folding; punctuation between two digits is kept (``3.5``,
    ``1,000``); dashes and slashes elsewhere become spaces (``well-known`` -> ``well known``);
    all other punctuation, including quotes and a trailing period, is dropped; whitespace is
    collapsed and trimmed. Articles are kept: "a cat" and "cat" differ.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    kept: list[str] = []
    for index, char in enumerate(text):
        category = unicodedata.category(char)
        if not category.startswith("P"):
            kept.append(char)
            continue
        before = text[index - 1] if index > 0 else ""
        after = text[index + 1] if index + 1 < len(text) else ""
        if before.isdigit() and after.isdigit():
            kept.append(char)
        elif category == "Pd" or char == "/":
            kept.append(" ")
    return " ".join("".join(kept).split())


# --------------------------------------------------------------------------- exact, normalized


class _ExactCheck(Check):
    def __init__(self, strip: bool, case_sensitive: bool) -> None:
        super().__init__(
            "exact",
            {"strip": strip, "case_sensitive": case_sensitive},
            requires_expected=True,
            defaults={"strip": True, "case_sensitive": True},
        )
        self._strip = strip
        self._case_sensitive = case_sensitive

    def _form(self, text: str) -> str:
        if self._strip:
            text = text.strip()
        return text if self._case_sensitive else text.casefold()

    def check(self, output: str, case: Case) -> CheckResult:
        expected = _expected_text(case)
        if expected is None:
            return _no_expected(self, case)
        got, want = self._form(output), self._form(expected)
        if got == want:
            return CheckResult(passed=True, answer=got)
        return CheckResult(
            passed=False, answer=got, detail=f"expected {_short(want)}, got {_short(got)}"
        )


@register_check("exact")
def exact(*, strip: bool = True, case_sensitive: bool = True) -> Check:
    """The output equals the expected answer.

    Both are stripped of surrounding whitespace unless ``strip`` is false. The answer is the
    output as compared (case-folded unless ``case_sensitive``).
    """
    return _ExactCheck(_bool(strip, "strip"), _bool(case_sensitive, "case_sensitive"))


class _NormalizedCheck(Check):
    def __init__(self) -> None:
        super().__init__("normalized", {}, requires_expected=True)

    def check(self, output: str, case: Case) -> CheckResult:
        expected = _expected_text(case)
        got = normalize_text(output)
        if expected is None:
            return _no_expected(self, case, got)
        want = normalize_text(expected)
        if got == want:
            return CheckResult(passed=True, answer=got)
        return CheckResult(
            passed=False, answer=got, detail=f"expected {_short(want)}, got {_short(got)}"
        )


@register_check("normalized")
def normalized() -> Check:
    """The output equals the expected answer after :func:`normalize_text` on both."""
    return _NormalizedCheck()


# --------------------------------------------------------------------------- label


class _LabelCheck(Check):
    """See :func:`label` for the extraction rule."""

    def __init__(
        self, choices: list[str], synonyms: dict[str, list[str]], default: str | None
    ) -> None:
        super().__init__(
            "label",
            {"choices": choices, "synonyms": synonyms, "default": default},
            requires_expected=True,
            defaults={"synonyms": {}, "default": None},
        )
        self.choices = choices
        self.default = default
        # Every term (a choice or a synonym), folded, to its label; and to its spelling, which
        # the pattern uses (re.IGNORECASE matches case, but not folds such as "ß" -> "ss").
        self._term_label: dict[str, str] = {_fold(choice): choice for choice in choices}
        spelling: dict[str, str] = {_fold(choice): choice for choice in choices}
        for choice, words in synonyms.items():
            for word in words:
                self._term_label[_fold(word)] = choice
                spelling[_fold(word)] = word
        # One alternation, longest term first, so that of two terms starting at the same place
        # the longer wins ("very good" over "good"); re.search then finds the earliest mention.
        terms = sorted(spelling.values(), key=lambda term: (-len(term), term))
        self._group_label = {
            f"t{index}": self._term_label[_fold(term)] for index, term in enumerate(terms)
        }
        alternatives = [
            f"(?P<t{index}>" + r"\s+".join(re.escape(word) for word in term.split()) + ")"
            for index, term in enumerate(terms)
        ]
        self._pattern = re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.I)

    def extract(self, output: str) -> str | None:
        """The label first mentioned in ``output`` (as spelled in ``choices``), or None."""
        match = self._pattern.search(unicodedata.normalize("NFKC", output))
        if match is None or match.lastgroup is None:
            return None
        return self._group_label[match.lastgroup]

    def check(self, output: str, case: Case) -> CheckResult:
        found = self.extract(output)
        answer = found if found is not None else self.default
        expected = _expected_text(case)
        if expected is None:
            return _no_expected(self, case, answer)
        want = self._term_label.get(_fold(expected))
        if want is None:
            return CheckResult(
                passed=False,
                answer=answer,
                detail=f"expected {expected!r} is not one of the choices {self.choices}",
            )
        if answer is None:
            return CheckResult(
                passed=False,
                detail=f"no choice found in output ({', '.join(self.choices)}): {_short(output)}",
            )
        if answer == want:
            return CheckResult(passed=True, answer=answer)
        note = " (the default: no choice found in output)" if found is None else ""
        return CheckResult(
            passed=False, answer=answer, detail=f"expected {want!r}, got {answer!r}{note}"
        )


@register_check("label")
def label(
    choices: Sequence[str],
    *,
    synonyms: Mapping[str, Any] | None = None,
    default: str | None = None,
) -> Check:
    """The output names the expected label out of a fixed set of ``choices``.

    Extraction rule: every choice and every synonym is a *term*. A term matches
    case-insensitively, as whole words only (no letter, digit or underscore directly before or
    after it; inner whitespace may differ), so "negatively" does not mention "negative" (add it
    as a synonym if it should) while "positive." and "**positive**" do. The term that starts
    EARLIEST in the output wins, whatever comes after it: "This review is positive." ->
    positive, but "Not negative, positive" -> negative, because negations are not understood.
    Of two terms starting at the same place the longer wins. A synonym counts as its label.
    When no term occurs, the answer is ``default`` (itself one of the choices) or None, and the
    result fails with a detail when there is no default.

    The expected answer may be written in any case, or as a synonym. ``choices`` must be at
    least two distinct labels; a synonym may not belong to two labels.
    """
    if isinstance(choices, str) or not isinstance(choices, Sequence):
        raise ConfigError(
            f"must be a list of labels, got {_kind(choices)}",
            key="choices",
            fix="list the labels, e.g. choices: [positive, negative]",
        )
    checked = _text_list(list(choices), "choices")
    if len(checked) < 2:
        raise ConfigError(
            "must list at least two labels",
            key="choices",
            fix="a label check needs alternatives; use 'exact' or 'contains' for one answer",
        )
    by_fold: dict[str, str] = {}
    for choice in checked:
        if _fold(choice) in by_fold:
            raise ConfigError(
                f"lists {choice!r} twice (labels are compared ignoring case and spacing)",
                key="choices",
                fix="list each label once",
            )
        by_fold[_fold(choice)] = choice
    resolved_synonyms: dict[str, list[str]] = {}
    if synonyms is not None:
        if not isinstance(synonyms, Mapping):
            raise ConfigError(
                f"must map labels to lists of words, got {_kind(synonyms)}",
                key="synonyms",
                fix="e.g. synonyms: {positive: [good, great], negative: [bad]}",
            )
        owner: dict[str, str] = dict(by_fold)
        for raw_label, words in synonyms.items():
            target = by_fold.get(_fold(str(raw_label)))
            if target is None:
                raise ConfigError(
                    f"{raw_label!r} is not one of the choices {checked}",
                    key=f"synonyms.{raw_label}",
                    fix="key synonyms by a label listed in choices",
                )
            word_list = [words] if isinstance(words, str) else words
            word_list = _text_list(word_list, f"synonyms.{raw_label}")
            for word in word_list:
                taken = owner.get(_fold(word))
                if taken is not None and taken != target:
                    raise ConfigError(
                        f"{word!r} would mean both {taken!r} and {target!r}",
                        key=f"synonyms.{raw_label}",
                        fix="give each word to one label only",
                    )
                owner[_fold(word)] = target
                if _fold(word) != _fold(target):
                    resolved_synonyms.setdefault(target, [])
                    if word not in resolved_synonyms[target]:
                        resolved_synonyms[target].append(word)
    resolved_default = None
    if default is not None:
        resolved_default = by_fold.get(_fold(_text(default, "default")))
        if resolved_default is None:
            raise ConfigError(
                f"{default!r} is not one of the choices {checked}",
                key="default",
                fix="set default to one of the choices, or leave it out",
            )
    return _LabelCheck(checked, resolved_synonyms, resolved_default)


# --------------------------------------------------------------------------- contains


class _ContainsCheck(Check):
    def __init__(
        self,
        value: str | None,
        case_sensitive: bool,
        all_of: list[str] | None,
        any_of: list[str] | None,
    ) -> None:
        super().__init__(
            "contains",
            {"value": value, "case_sensitive": case_sensitive, "all": all_of, "any": any_of},
            requires_expected=value is None and all_of is None and any_of is None,
            defaults={"value": None, "case_sensitive": False, "all": None, "any": None},
        )
        self._value = value
        self._case_sensitive = case_sensitive
        self._all = all_of
        self._any = any_of

    def _form(self, text: str) -> str:
        return text if self._case_sensitive else text.casefold()

    def check(self, output: str, case: Case) -> CheckResult:
        haystack = self._form(output)
        problems = []
        value = self._value
        if self.requires_expected:
            value = _expected_text(case)
            if value is None:
                return _no_expected(self, case)
        if value is not None and self._form(value) not in haystack:
            problems.append(f"output does not contain {_short(value)}")
        if self._all is not None:
            lacking = [word for word in self._all if self._form(word) not in haystack]
            if lacking:
                problems.append(f"output lacks {', '.join(_short(word) for word in lacking)}")
        if self._any is not None and not any(self._form(word) in haystack for word in self._any):
            problems.append(f"output contains none of {', '.join(map(_short, self._any))}")
        return CheckResult(passed=not problems, detail="; ".join(problems))


@register_check("contains")
def contains(
    value: str | None = None,
    *,
    case_sensitive: bool = False,
    all: Sequence[str] | None = None,
    any: Sequence[str] | None = None,
) -> Check:
    """The output contains ``value``, every string of ``all`` and one string of ``any``.

    With none of the three given, ``value`` is the case's expected answer. Matching is plain
    substring search, case-insensitive unless ``case_sensitive``.
    """
    all_of = None if all is None else _text_list(all, "all")
    any_of = None if any is None else _text_list(any, "any")
    checked_value = None if value is None else _text(value, "value")
    return _ContainsCheck(checked_value, _bool(case_sensitive, "case_sensitive"), all_of, any_of)


# --------------------------------------------------------------------------- regex


class _RegexCheck(Check):
    def __init__(
        self,
        pattern: str,
        compiled: re.Pattern[str],
        group: int | str | None,
        fullmatch: bool,
        ignore_case: bool,
    ) -> None:
        super().__init__(
            "regex",
            {
                "pattern": pattern,
                "group": group,
                "fullmatch": fullmatch,
                "ignore_case": ignore_case,
            },
            requires_expected=group is not None,
            defaults={"group": None, "fullmatch": False, "ignore_case": False},
        )
        self._compiled = compiled
        self._group = group
        self._fullmatch = fullmatch
        self._ignore_case = ignore_case

    def check(self, output: str, case: Case) -> CheckResult:
        if self._fullmatch:
            match = self._compiled.fullmatch(output.strip())
        else:
            match = self._compiled.search(output)
        if match is None:
            how = "fully match" if self._fullmatch else "match"
            return CheckResult(
                passed=False,
                detail=f"pattern {self._compiled.pattern!r} does not {how} {_short(output)}",
            )
        if self._group is None:
            return CheckResult(passed=True, answer=match.group(0))
        captured = match.group(self._group)
        if captured is None:
            return CheckResult(
                passed=False, detail=f"group {self._group!r} did not take part in the match"
            )
        answer = captured.strip()
        expected = _expected_text(case)
        if expected is None:
            return _no_expected(self, case, answer)
        want = expected.strip()
        if self._ignore_case:
            answer, want = answer.casefold(), want.casefold()
        passed = answer == want
        detail = (
            ""
            if passed
            else f"group {self._group!r}: expected {_short(want)}, got {_short(answer)}"
        )
        return CheckResult(passed=passed, answer=answer, detail=detail)


@register_check("regex")
def regex(
    pattern: str,
    *,
    group: int | str | None = None,
    fullmatch: bool = False,
    ignore_case: bool = False,
) -> Check:
    """A regular expression (Python ``re`` syntax) matches the output.

    Without ``group`` the result passes when the pattern matches anywhere (the whole stripped
    output with ``fullmatch``), and the answer is the matched text. With ``group`` (a number or
    a name) the answer is that group, stripped, and the result passes when it equals the
    expected answer.
    """
    text = _text(pattern, "pattern")
    try:
        compiled = re.compile(text, re.IGNORECASE if _bool(ignore_case, "ignore_case") else 0)
    except re.error as exc:
        position = f" at position {exc.pos}" if exc.pos is not None else ""
        raise ConfigError(
            f"invalid regular expression {text!r}: {exc.msg}{position}",
            key="pattern",
            fix="fix the pattern; in YAML single-quote it so backslashes stay as written "
            r"('\d+')",
        ) from None
    if group is not None:
        if isinstance(group, bool) or not isinstance(group, int | str):
            raise ConfigError(f"must be a group number or name, got {_kind(group)}", key="group")
        names = sorted(compiled.groupindex)
        available = f"groups 0-{compiled.groups}" + (f", names {names}" if names else "")
        if isinstance(group, int) and not 0 <= group <= compiled.groups:
            raise ConfigError(
                f"the pattern has no group {group}",
                key="group",
                fix=f"use one of {available}; add (...) around what to capture",
            )
        if isinstance(group, str) and group not in compiled.groupindex:
            raise ConfigError(
                f"the pattern has no group named {group!r}",
                key="group",
                fix=f"use one of {available}; name a group with (?P<{group}>...)",
            )
    return _RegexCheck(text, compiled, group, _bool(fullmatch, "fullmatch"), ignore_case)


# --------------------------------------------------------------------------- json


class _Missing:
    """Marks "no JSON found", since ``null`` is a valid JSON document."""

    def __repr__(self) -> str:
        return "<no JSON>"


NO_JSON = _Missing()

_FENCE = re.compile(r"```[ \t]*(?:json[5c]?)?[ \t]*\r?\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MAX_SPAN_TRIES = 64


def extract_json(text: str) -> Any:
    """The JSON value held in ``text``, or :data:`NO_JSON`.

    Tried in order: the whole text; each fenced code block (```json or bare ```); the first
    ``{...}`` or ``[...]`` span that parses, scanning from each opening bracket in turn.
    """
    try:
        return json.loads(text.strip())
    except ValueError:
        pass
    for match in _FENCE.finditer(text):
        try:
            return json.loads(match.group(1))
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for tries, match in enumerate(re.finditer(r"[\[{]", text)):
        if tries >= _MAX_SPAN_TRIES:
            break
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        return value
    return NO_JSON


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _json_difference(want: Any, got: Any, path: str = "") -> str | None:
    """Where two JSON values first differ, or None when equal.

    Numbers compare by value (1 equals 1.0) but booleans are not numbers.
    """
    here = path or "top level"
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        for key in want:
            if key not in got:
                return f"{here}: missing key {key!r}"
        for key in got:
            if key not in want:
                return f"{here}: unexpected key {key!r}"
        for key in want:
            found = _json_difference(want[key], got[key], f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(want, list | tuple) and isinstance(got, list | tuple):
        if len(want) != len(got):
            return f"{here}: expected {len(want)} items, got {len(got)}"
        for index, (left, right) in enumerate(zip(want, got, strict=True)):
            found = _json_difference(left, right, f"{path}[{index}]")
            if found:
                return found
        return None
    numeric = (int, float)
    same = (
        isinstance(want, numeric)
        and isinstance(got, numeric)
        and not isinstance(want, bool)
        and not isinstance(got, bool)
        and want == got
    ) or (type(want) is type(got) and want == got)
    if same:
        return None
    return f"{here}: expected {_clip(_canonical_json(want))}, got {_clip(_canonical_json(got))}"


def _expected_json(expected: Any, strict: bool) -> Any:
    """The expected JSON value of a case, or :data:`NO_JSON` if it has none.

    A dict or list is used as is, a string is parsed. When not ``strict`` (compare left to
    auto) only objects and arrays count, so a case whose expected answer is a label for another
    check is not compared; when ``strict`` any value counts, an unparseable string as a string.
    """
    if expected is None:
        return NO_JSON
    value = expected
    if isinstance(expected, str):
        try:
            value = json.loads(expected)
        except ValueError:
            value = expected
    if isinstance(value, Mapping | list | tuple) or strict:
        return value
    return NO_JSON


class _JsonCheck(Check):
    def __init__(
        self,
        schema: dict[str, Any] | None,
        schema_source: str | None,
        validator: Any,
        expected_keys: list[str] | None,
        compare: bool | None,
    ) -> None:
        super().__init__(
            "json",
            {"schema": schema, "expected_keys": expected_keys, "compare": compare},
            requires_expected=compare is True,
            defaults={"schema": None, "expected_keys": None, "compare": None},
        )
        self._schema_source = schema_source
        self._validator = validator
        self._expected_keys = expected_keys
        self._compare = compare

    def describe(self) -> str:
        text = super().describe()
        if self._schema_source is not None:
            text = text.replace(
                f"schema={self.params['schema']!r}", f"schema={self._schema_source!r}"
            )
        return text

    def check(self, output: str, case: Case) -> CheckResult:
        value = extract_json(output)
        if value is NO_JSON:
            return CheckResult(
                passed=False,
                detail=f"no JSON found in output (not JSON, no ```json block, no {{...}} or "
                f"[...] span): {_short(output)}",
            )
        answer = _canonical_json(value)
        if self._validator is not None:
            errors = list(self._validator.iter_errors(value))
            if errors:
                first = jsonschema.exceptions.best_match(errors)
                at = "/".join(str(part) for part in first.path) or "top level"
                more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
                return CheckResult(
                    passed=False, answer=answer, detail=f"schema: {first.message} at {at}{more}"
                )
        if self._expected_keys is not None:
            if not isinstance(value, Mapping):
                return CheckResult(
                    passed=False, answer=answer, detail="expected a JSON object with keys"
                )
            lacking = [key for key in self._expected_keys if key not in value]
            if lacking:
                return CheckResult(
                    passed=False, answer=answer, detail=f"missing keys: {', '.join(lacking)}"
                )
        if self._compare is not False:
            want = _expected_json(case.expected, strict=self._compare is True)
            if want is NO_JSON and self._compare is True:
                return _no_expected(self, case, answer)
            if want is not NO_JSON:
                difference = _json_difference(want, value)
                if difference:
                    return CheckResult(passed=False, answer=answer, detail=difference)
        return CheckResult(passed=True, answer=answer)


def _load_schema(schema: Any, base_dir: str | Path | None) -> tuple[dict[str, Any], str | None]:
    """The schema as a mapping, and the file it came from (None when given inline)."""
    if isinstance(schema, Mapping):
        return dict(schema), None
    if not isinstance(schema, str | Path):
        raise ConfigError(
            f"must be a mapping or a file path, got {_kind(schema)}",
            key="schema",
            fix="give the JSON schema inline, or a path to a .json/.yaml file",
        )
    source = str(schema)
    path = Path(schema).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read the schema file '{path}': {exc.strerror or exc}",
            key="schema",
            fix="give a path relative to the eval file, or the schema inline",
        ) from None
    try:
        # YAML reads JSON too; json.loads gives the better message for a .json file.
        loaded = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"the schema file '{path}' does not parse: {exc}",
            key="schema",
            fix="fix the file's JSON/YAML syntax",
        ) from None
    if not isinstance(loaded, Mapping):
        raise ConfigError(
            f"the schema file '{path}' holds {_kind(loaded)}, not a JSON schema object",
            key="schema",
        )
    return dict(loaded), source


@register_check("json")
def json_schema(
    schema: Mapping[str, Any] | str | Path | None = None,
    *,
    expected_keys: Sequence[str] | None = None,
    compare: bool | None = None,
    base_dir: str | Path | None = None,
) -> Check:
    """The output holds JSON (whole, in a ```json block, or as the first ``{...}``/``[...]``).

    ``schema`` (inline, or a .json/.yaml file relative to ``base_dir``, the eval's folder) is
    checked with jsonschema; ``expected_keys`` must be keys of the top-level object. ``compare``
    decides whether the parsed output must equal the case's expected answer: None (the default)
    compares only when the expected answer is a JSON object or array (or a string holding one),
    True always compares, False never. The answer is the canonical JSON (sorted keys, compact).
    """
    loaded: dict[str, Any] | None = None
    source: str | None = None
    validator = None
    if schema is not None:
        loaded, source = _load_schema(schema, base_dir)
        validator_class = jsonschema.validators.validator_for(loaded)
        try:
            validator_class.check_schema(loaded)
        except jsonschema.exceptions.SchemaError as exc:
            at = "/".join(str(part) for part in exc.path) or "top level"
            raise ConfigError(
                f"invalid JSON schema: {exc.message} (at {at})",
                key="schema",
                fix="see https://json-schema.org/understanding-json-schema/",
            ) from None
        validator = validator_class(loaded)
    keys = None if expected_keys is None else _text_list(expected_keys, "expected_keys")
    if compare is not None:
        _bool(compare, "compare")
    return _JsonCheck(loaded, source, validator, keys, compare)


# --------------------------------------------------------------------------- numeric

_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-+\u2212]?)"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE](?P<exponent>[-+]?\d+))?"
)


def _parse_number(match: re.Match[str]) -> float:
    text = match.group("digits").replace(",", "")
    if match.group("exponent"):
        text += "e" + match.group("exponent")
    value = float(text)
    return -value if match.group("sign") in ("-", "\u2212") else value


def extract_number(text: str, *, position: str = "first") -> float | None:
    """The first (or ``"last"``) number written in ``text``, or None.

    Understands signs, thousands separators ("1,234.5"), decimals and exponents ("4.0e2").
    A number glued to a word is not one ("abc123", "v2"); a hyphen after a word is not a minus
    sign ("COVID-19" -> 19). Numbers written as words ("twelve") are not recognised.
    """
    if position == "last":
        match = None
        for match in _NUMBER.finditer(text):  # noqa: B007 - keep the last one
            pass
    else:
        match = _NUMBER.search(text)
    return _parse_number(match) if match else None


def format_number(value: float) -> str:
    """Canonical text of a number: integral values without a decimal point, others as repr."""
    if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _expected_number(expected: Any) -> float | None:
    if isinstance(expected, bool) or expected is None:
        return None
    if isinstance(expected, numbers.Real):
        return float(expected)
    text = str(expected).strip().replace(",", "").replace("\u2212", "-")
    try:
        return float(text)
    except ValueError:
        return None


class _NumericCheck(Check):
    def __init__(self, abs_tol: float, rel_tol: float, position: str) -> None:
        super().__init__(
            "numeric",
            {"abs_tol": abs_tol, "rel_tol": rel_tol, "position": position},
            requires_expected=True,
            defaults={"abs_tol": 1e-6, "rel_tol": 0.0, "position": "first"},
        )
        self._abs_tol = abs_tol
        self._rel_tol = rel_tol
        self._position = position

    def check(self, output: str, case: Case) -> CheckResult:
        got = extract_number(output, position=self._position)
        answer = None if got is None else format_number(got)
        if case.expected is None:
            return _no_expected(self, case, answer)
        want = _expected_number(case.expected)
        if want is None:
            return CheckResult(
                passed=False,
                answer=answer,
                detail=f"expected answer {case.expected!r} is not a number",
            )
        if got is None:
            return CheckResult(passed=False, detail=f"no number found in output: {_short(output)}")
        if math.isclose(got, want, rel_tol=self._rel_tol, abs_tol=self._abs_tol):
            return CheckResult(passed=True, answer=answer)
        return CheckResult(
            passed=False,
            answer=answer,
            detail=f"expected {format_number(want)}, got {answer} "
            f"(abs_tol={self._abs_tol:g}, rel_tol={self._rel_tol:g})",
        )


@register_check("numeric")
def numeric(*, abs_tol: float = 1e-6, rel_tol: float = 0.0, position: str = "first") -> Check:
    """The first (or last, ``position: last``) number in the output is close to the expected.

    Close means ``math.isclose(got, expected, rel_tol=rel_tol, abs_tol=abs_tol)``. See
    :func:`extract_number` for what counts as a number; the answer is :func:`format_number`.
    """
    if position not in ("first", "last"):
        raise ConfigError(f"must be 'first' or 'last', got {_kind(position)}", key="position")
    return _NumericCheck(
        _real(abs_tol, "abs_tol", low=0), _real(rel_tol, "rel_tol", low=0), position
    )


# --------------------------------------------------------------------------- similarity


class _SimilarityCheck(Check):
    def __init__(self, threshold: float, embedder: embeddings.Embedder | None) -> None:
        super().__init__(
            "similarity",
            {"threshold": threshold, "model": embeddings.MODEL_NAME},
            requires_expected=True,
            defaults={"threshold": 0.8, "model": embeddings.MODEL_NAME},
        )
        self._threshold = threshold
        self._embedder = embedder

    def check(self, output: str, case: Case) -> CheckResult:
        return self.check_batch([output], [case])[0]

    def check_batch(self, outputs: Sequence[str], cases: Sequence[Case]) -> list[CheckResult]:
        """Embed every output and expected answer in one batch (the embedder caches repeats)."""
        if len(outputs) != len(cases):
            raise ValueError(f"check_batch got {len(outputs)} outputs for {len(cases)} cases")
        results: list[CheckResult | None] = [None] * len(outputs)
        pending: list[int] = []
        for index, case in enumerate(cases):
            if case.expected is None:
                results[index] = _no_expected(self, case)
            else:
                pending.append(index)
        if pending:
            embedder = self._embedder or embeddings.get_embedder()
            scores = embedder.cosine(
                [outputs[index] for index in pending],
                [str(cases[index].expected) for index in pending],
            )
            for index, raw in zip(pending, scores, strict=True):
                score = float(raw)
                passed = score >= self._threshold
                detail = "" if passed else f"similarity {score:.3f} < threshold {self._threshold:g}"
                results[index] = CheckResult(passed=passed, score=score, detail=detail)
        return [result for result in results if result is not None]


def similarity(
    threshold: float = 0.8,
    *,
    model: str = embeddings.MODEL_NAME,
    embedder: embeddings.Embedder | None = None,
) -> Check:
    """Cosine similarity of the output and the expected answer reaches ``threshold``.

    Embeddings come from the embedded all-MiniLM-L6-v2 (the only ``model`` supported), through
    ``embedder`` or the process-wide one. Paraphrases score about 0.7-0.8 with it, unrelated
    texts about 0, so thresholds near 0.6-0.7 separate "same meaning" from "different".
    """
    if model != embeddings.MODEL_NAME:
        raise ConfigError(
            f"unsupported embedding model {model!r}",
            key="model",
            fix=f"leave 'model' out; only {embeddings.MODEL_NAME} is embedded",
        )
    missing = embeddings.missing_package()
    if missing is not None and embedder is None:
        raise ConfigError(
            f"the similarity check needs the package '{missing}', which is not installed",
            fix=embeddings.install_fix(),
        )
    return _SimilarityCheck(_real(threshold, "threshold", low=-1.0, high=1.0), embedder)


@register_check("similarity")
def _similarity_from_config(threshold: float = 0.8, *, model: str = embeddings.MODEL_NAME) -> Check:
    """:func:`similarity` without the Python-only ``embedder`` argument."""
    return similarity(threshold, model=model)


# --------------------------------------------------------------------------- python

CheckFunction = Callable[[str, Case], Any]


def _import_function(spec: str, base_dir: str | Path | None) -> CheckFunction:
    """Import ``module:attr`` or ``file.py:attr`` (a file relative to ``base_dir``)."""
    form_fix = (
        "write it as 'package.module:function', or 'file.py:function' for a file next to the eval"
    )
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(
            f"{spec!r} is not of the form 'module:function'", key="function", fix=form_fix
        )
    if module_name.endswith(".py"):
        path = Path(module_name).expanduser()
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        if not path.is_file():
            raise ConfigError(
                f"the file '{path}' for {spec!r} does not exist", key="function", fix=form_fix
            )
        digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
        unique = f"brittle_user_{path.stem}_{digest}"
        module = sys.modules.get(unique)
        if module is None:
            file_spec = importlib.util.spec_from_file_location(unique, path)
            if file_spec is None or file_spec.loader is None:
                raise ConfigError(f"cannot load '{path}' as Python", key="function")
            module = importlib.util.module_from_spec(file_spec)
            try:
                file_spec.loader.exec_module(module)
            except Exception as exc:
                raise ConfigError(
                    f"importing '{path}' failed: {type(exc).__name__}: {exc}",
                    key="function",
                    fix="fix the error in that file",
                ) from None
            sys.modules[unique] = module
    else:
        try:
            module = _import_module(module_name, base_dir)
        except ModuleNotFoundError as exc:
            raise ConfigError(
                f"cannot import {spec!r}: no module named {exc.name!r}",
                key="function",
                fix="install the module, or put it next to the eval file; " + form_fix,
            ) from None
        except Exception as exc:
            raise ConfigError(
                f"importing '{module_name}' for {spec!r} failed: {type(exc).__name__}: {exc}",
                key="function",
                fix="fix the error in that module",
            ) from None
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            names = [name for name in dir(target) if not name.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(
                f"{spec!r}: '{module_name}' has no attribute {part!r}",
                key="function",
                fix=f"{hint}name a function defined in '{module_name}'",
            )
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"{spec!r} is not callable", key="function", fix=form_fix)
    function: CheckFunction = target
    return function


def _import_module(name: str, base_dir: str | Path | None) -> Any:
    """Import ``name``; if missing and ``base_dir`` is given, retry with it on ``sys.path``.

    The eval's folder stays on ``sys.path`` afterwards, as pytest's rootdir insertion does, so
    the module's own sibling imports keep working.
    """
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        if base_dir is None or exc.name != top:
            raise
        folder = str(Path(base_dir).resolve())
        if folder in sys.path:
            raise
        sys.path.insert(0, folder)
        importlib.invalidate_caches()
        return importlib.import_module(name)


class _PythonCheck(Check):
    def __init__(
        self, function: CheckFunction, described: str, threshold: float, requires_expected: bool
    ) -> None:
        super().__init__(
            "python",
            {"function": described, "threshold": threshold, "requires_expected": requires_expected},
            requires_expected=requires_expected,
            defaults={"threshold": 0.5, "requires_expected": False},
        )
        self._function = function
        self._threshold = threshold

    def check(self, output: str, case: Case) -> CheckResult:
        try:
            value = self._function(output, case)
        except Exception as exc:
            return CheckResult(passed=False, detail=f"error: {type(exc).__name__}: {exc}")
        if isinstance(value, CheckResult):
            return value
        if isinstance(value, bool | np.bool_):
            return CheckResult(
                passed=bool(value), detail="" if value else "function returned False"
            )
        if isinstance(value, numbers.Real):
            score = float(value)
            if math.isnan(score) or not 0.0 <= score <= 1.0:
                return CheckResult(
                    passed=False, detail=f"function returned {score!r}, outside [0, 1]"
                )
            passed = score >= self._threshold
            detail = "" if passed else f"score {score:.3f} < threshold {self._threshold:g}"
            return CheckResult(passed=passed, score=score, detail=detail)
        return CheckResult(
            passed=False,
            detail=f"function returned {type(value).__name__} {_short(repr(value))}; a check "
            "function must return a bool, a float in [0, 1] or a CheckResult",
        )


@register_check("python")
def python(
    function: str | CheckFunction,
    *,
    threshold: float = 0.5,
    requires_expected: bool = False,
    base_dir: str | Path | None = None,
) -> Check:
    """A user function ``(output, case)`` decides.

    ``function`` is a callable (Python API) or ``"module:attr"`` / ``"file.py:attr"`` (eval
    files; both looked for relative to ``base_dir``, the eval's folder). It returns a bool, a
    float in [0, 1] (passes at ``threshold`` or above; kept as the score) or a
    :class:`CheckResult`. An exception in it fails that one output with ``detail="error: ..."``
    rather than stopping the run. ``requires_expected`` declares that it reads
    ``case.expected``, so cases without one are reported when the eval is loaded.
    """
    if isinstance(function, str):
        resolved = _import_function(function, base_dir)
        described = function
    elif callable(function):
        resolved = function
        described = _qualified(function)
    else:
        raise ConfigError(
            f"must be 'module:function' or a callable, got {_kind(function)}", key="function"
        )
    try:
        inspect.signature(resolved).bind(None, None)
    except TypeError:
        raise ConfigError(
            f"{described!r} cannot be called as function(output, case)",
            key="function",
            fix="define it as def check(output: str, case: Case) -> bool | float | CheckResult",
        ) from None
    except ValueError:
        pass  # no signature available (some builtins); trust it
    return _PythonCheck(
        resolved,
        described,
        _real(threshold, "threshold", low=0.0, high=1.0),
        _bool(requires_expected, "requires_expected"),
    )


# The 'deepeval' check (LLM-judge metrics) registers itself; its module imports deepeval only
# when such a check is built, so this costs nothing for evals that do not use it.
import brittle.deepeval.check  # noqa: E402, F401
