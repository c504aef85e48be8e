"""Checks that compare text: ``exact``, ``normalized``, ``contains`` and ``regex``.

:func:`normalize_text` is the "same answer" form of text, also used for the answers of other
checks' outputs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from brittle._errors import ConfigError
from brittle.checks._params import boolean, kind, short, string, strings
from brittle.checks.base import Check, CheckResult, expected_text, no_expected
from brittle.spec.cases import Case

__all__ = ["contains", "exact", "normalize_text", "normalized", "regex"]


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
        expected = expected_text(case)
        if expected is None:
            return no_expected(self, case)
        got, want = self._form(output), self._form(expected)
        if got == want:
            return CheckResult(passed=True, answer=got)
        return CheckResult(
            passed=False, answer=got, detail=f"expected {short(want)}, got {short(got)}"
        )


def exact(*, strip: bool = True, case_sensitive: bool = True) -> Check:
    """The output equals the expected answer.

    Both are stripped of surrounding whitespace unless ``strip`` is false. The answer is the
    output as compared (case-folded unless ``case_sensitive``).
    """
    return _ExactCheck(boolean(strip, "strip"), boolean(case_sensitive, "case_sensitive"))


class _NormalizedCheck(Check):
    def __init__(self) -> None:
        super().__init__("normalized", {}, requires_expected=True)

    def check(self, output: str, case: Case) -> CheckResult:
        expected = expected_text(case)
        got = normalize_text(output)
        if expected is None:
            return no_expected(self, case, got)
        want = normalize_text(expected)
        if got == want:
            return CheckResult(passed=True, answer=got)
        return CheckResult(
            passed=False, answer=got, detail=f"expected {short(want)}, got {short(got)}"
        )


def normalized() -> Check:
    """The output equals the expected answer after :func:`normalize_text` on both."""
    return _NormalizedCheck()


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
            value = expected_text(case)
            if value is None:
                return no_expected(self, case)
        if value is not None and self._form(value) not in haystack:
            problems.append(f"output does not contain {short(value)}")
        if self._all is not None:
            lacking = [word for word in self._all if self._form(word) not in haystack]
            if lacking:
                problems.append(f"output lacks {', '.join(short(word) for word in lacking)}")
        if self._any is not None and not any(self._form(word) in haystack for word in self._any):
            problems.append(f"output contains none of {', '.join(map(short, self._any))}")
        return CheckResult(passed=not problems, detail="; ".join(problems))


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
    all_of = None if all is None else strings(all, "all")
    any_of = None if any is None else strings(any, "any")
    checked_value = None if value is None else string(value, "value")
    return _ContainsCheck(checked_value, boolean(case_sensitive, "case_sensitive"), all_of, any_of)


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
                detail=f"pattern {self._compiled.pattern!r} does not {how} {short(output)}",
            )
        if self._group is None:
            return CheckResult(passed=True, answer=match.group(0))
        captured = match.group(self._group)
        if captured is None:
            return CheckResult(
                passed=False, detail=f"group {self._group!r} did not take part in the match"
            )
        answer = captured.strip()
        expected = expected_text(case)
        if expected is None:
            return no_expected(self, case, answer)
        want = expected.strip()
        if self._ignore_case:
            answer, want = answer.casefold(), want.casefold()
        passed = answer == want
        detail = (
            "" if passed else f"group {self._group!r}: expected {short(want)}, got {short(answer)}"
        )
        return CheckResult(passed=passed, answer=answer, detail=detail)


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
    text = string(pattern, "pattern")
    try:
        compiled = re.compile(text, re.IGNORECASE if boolean(ignore_case, "ignore_case") else 0)
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
            raise ConfigError(f"must be a group number or name, got {kind(group)}", key="group")
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
    return _RegexCheck(text, compiled, group, boolean(fullmatch, "fullmatch"), ignore_case)
