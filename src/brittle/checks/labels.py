"""The ``label`` check: the output names the expected one of a fixed set of labels."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from brittle._errors import ConfigError
from brittle.checks._params import kind, short, string, strings
from brittle.checks.base import Check, CheckResult, expected_text, no_expected
from brittle.spec.cases import Case

__all__ = ["label"]


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

    def label_of(self, text: Any) -> str | None:
        """An expected answer (a choice or a synonym, in any case) as its choice is spelled,
        or None when it names none (per-label reports group expected answers by it)."""
        return self._term_label.get(_fold(str(text)))

    def unreachable(self, case: Case) -> str | None:
        expected = expected_text(case)
        if expected is None or _fold(expected) in self._term_label:
            return None
        return f"expected {expected!r} is not one of the label check's choices {self.choices}"

    def check(self, output: str, case: Case) -> CheckResult:
        found = self.extract(output)
        answer = found if found is not None else self.default
        expected = expected_text(case)
        if expected is None:
            return no_expected(self, case, answer)
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
                detail=f"no choice found in output ({', '.join(self.choices)}): {short(output)}",
            )
        if answer == want:
            return CheckResult(passed=True, answer=answer)
        note = " (the default: no choice found in output)" if found is None else ""
        return CheckResult(
            passed=False, answer=answer, detail=f"expected {want!r}, got {answer!r}{note}"
        )


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
            f"must be a list of labels, got {kind(choices)}",
            key="choices",
            fix="list the labels, e.g. choices: [positive, negative]",
        )
    checked = strings(list(choices), "choices")
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
                f"must map labels to lists of words, got {kind(synonyms)}",
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
            word_list = strings(word_list, f"synonyms.{raw_label}")
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
        resolved_default = by_fold.get(_fold(string(default, "default")))
        if resolved_default is None:
            raise ConfigError(
                f"{default!r} is not one of the choices {checked}",
                key="default",
                fix="set default to one of the choices, or leave it out",
            )
    return _LabelCheck(checked, resolved_synonyms, resolved_default)


def _fold(text: str) -> str:
    """Case- and whitespace-insensitive form of a label or term."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())
