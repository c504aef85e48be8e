"""Hypothesis strategies built from brittle's perturbation families, for property-based tests.

The families of :mod:`brittle.perturb` draw whole variants at a rate; a search for the *smallest*
rewording that flips an answer needs single edits instead. Here every input-level family is cut
into *operators*, each of which finds the places in a text where it can make one edit (a letter
that can be mistyped, a word with a synonym, a contraction, a number, a clause that can swap) and
the alternatives at each place. :func:`perturbed` draws a short list of ``(operator, place,
alternative)`` steps and applies them in order; hypothesis shrinks such a list towards fewer
steps, earlier operators, earlier places and first alternatives, so a failing example shrinks to
the fewest edits and operators that still fail.

Use them in your own tests::

    from hypothesis import given
    from brittle import strategies

    @given(strategies.perturbed("The battery lasts all week.", families=["typo", "synonyms"]))
    def test_my_classifier_is_robust(variant):
        assert classify(variant.text) == "positive"

:func:`family_variants` draws whole variants of any registered family (``typo`` at a rate,
``casing``, ...) from random seeds, for properties that should hold over a family as a whole.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from brittle._errors import ConfigError
from brittle.perturb import make_perturbation
from brittle.perturb.contractions import (
    _CONTRACTED,
    _CONTRACTIBLE,
    _EXPANDABLE,
    _EXPANDED,
    _cased_like,
    _key,
)
from brittle.perturb.distractor import DISTRACTORS
from brittle.perturb.numbers import sites as number_sites
from brittle.perturb.prefix import PREFIXES
from brittle.perturb.punctuation import MARKS
from brittle.perturb.reorder import clause_swaps, sentence_units
from brittle.perturb.synonyms import WORD, cased_like, replace_word
from brittle.perturb.synonyms import sites as synonym_sites
from brittle.perturb.typo import QWERTY_NEIGHBOURS

Site = tuple[int, int, tuple[str, ...]]
"""A place an operator can edit: ``text[start:end]`` and the texts that may replace it."""


@dataclass(frozen=True)
class Operator:
    """One kind of single edit: ``sites(text)`` lists where it applies and how."""

    name: str
    family: str
    sites: Callable[[str], list[Site]]


@dataclass(frozen=True)
class Edit:
    """One applied edit: ``before`` at ``start`` became ``after``."""

    operator: str
    start: int
    before: str
    after: str

    def describe(self) -> str:
        return f"{self.operator}: {self.before!r} -> {self.after!r} at {self.start}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "start": self.start,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Perturbed:
    """A text after a sequence of edits (steps that found nothing to edit are left out)."""

    original: str
    text: str
    edits: tuple[Edit, ...]

    @property
    def operators(self) -> tuple[str, ...]:
        """The distinct operators used, in order of first use."""
        return tuple(dict.fromkeys(edit.operator for edit in self.edits))

    def describe(self) -> str:
        return "; ".join(edit.describe() for edit in self.edits) or "no edit"

    def __str__(self) -> str:
        return self.text


def _like(model: str, letter: str) -> str:
    return letter.upper() if model.isupper() else letter.lower()


def _typo_substitute(text: str) -> list[Site]:
    return [
        (i, i + 1, tuple(_like(char, n) for n in QWERTY_NEIGHBOURS[char.lower()]))
        for i, char in enumerate(text)
        if char.isalpha() and char.lower() in QWERTY_NEIGHBOURS
    ]


def _typo_delete(text: str) -> list[Site]:
    return [
        (match.start() + i, match.start() + i + 1, ("",))
        for match in WORD.finditer(text)
        if len(match[0]) > 1
        for i in range(len(match[0]))
    ]


def _typo_insert(text: str) -> list[Site]:
    return [
        (i, i + 1, tuple(char + _like(char, n) for n in QWERTY_NEIGHBOURS[char.lower()]))
        for i, char in enumerate(text)
        if char.isalpha() and char.lower() in QWERTY_NEIGHBOURS
    ]


def _typo_transpose(text: str) -> list[Site]:
    return [
        (i, i + 2, (_like(text[i], text[i + 1]) + _like(text[i + 1], text[i]),))
        for i in range(len(text) - 1)
        if text[i].isalpha() and text[i + 1].isalpha() and text[i].lower() != text[i + 1].lower()
    ]


def _synonyms(text: str) -> list[Site]:
    out: list[Site] = []
    for start, end, alternatives in synonym_sites(text):
        # replace_word fixes a preceding "a"/"an"; express the result as one span from start
        replaced = [
            replace_word(text, start, end, cased_like(text[start:end], a)) for a in alternatives
        ]
        begin = min(
            next((i for i, (x, y) in enumerate(zip(text, r, strict=False)) if x != y), start)
            for r in replaced
        )
        begin = min(begin, start)
        out.append((begin, end, tuple(r[begin : len(r) - (len(text) - end)] for r in replaced)))
    return out


def _casing(text: str) -> list[Site]:
    out: list[Site] = []
    for match in WORD.finditer(text):
        word = match[0]
        options = (word.lower(), word.upper(), word[:1].upper() + word[1:].lower())
        alternatives = tuple(o for o in dict.fromkeys(options) if o != word)
        if alternatives:
            out.append((match.start(), match.end(), alternatives))
    return out


def _punctuation(text: str) -> list[Site]:
    out: list[Site] = []
    for match in WORD.finditer(text):
        end = match.end()
        marks = len(text[end:]) - len(text[end:].lstrip(".,!?;:"))
        existing = text[end : end + marks]
        if existing:
            out.append((end, end + marks, ("", existing + existing[-1])))
        else:
            out.append((end, end, MARKS))
    return out


def _whitespace(text: str) -> list[Site]:
    out: list[Site] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            end = index
            while end < len(text) and text[end].isspace():
                end += 1
            gap = text[index:end]
            alternatives = tuple(o for o in (gap + " ", gap + "\t", gap + "\n") if o != gap)
            out.append((index, end, alternatives))
            index = end
        else:
            index += 1
    return out


def _contractions(text: str) -> list[Site]:
    found = [(m.start(), m.end(), _EXPANDED[_key(m[0])]) for m in _EXPANDABLE.finditer(text)]
    found += [(m.start(), m.end(), _CONTRACTED[_key(m[0])]) for m in _CONTRACTIBLE.finditer(text)]
    return [
        (start, end, (_cased_like(text[start:end], replacement),))
        for start, end, replacement in sorted(found)
    ]


def _numbers(text: str) -> list[Site]:
    return [(start, end, (replacement,)) for start, end, replacement in number_sites(text)]


def _reorder_clauses(text: str) -> list[Site]:
    return [(start, end, (replacement,)) for start, end, replacement in clause_swaps(text)]


def _reorder_sentences(text: str) -> list[Site]:
    found = sentence_units(text)
    if found is None:
        return []
    lead, units, tail = found
    rotations = tuple(lead + " ".join(units[k:] + units[:k]) + tail for k in range(1, len(units)))
    return [(0, len(text), rotations)]


_PREFIXES = PREFIXES["politeness"] + PREFIXES["filler"]


def _prefix(text: str) -> list[Site]:
    return [(0, 0, _PREFIXES)] if text.strip() else []


def _distractor(text: str) -> list[Site]:
    if not text.strip():
        return []
    glue = "" if text[-1].isspace() else " "
    return [(len(text), len(text), tuple(glue + sentence for sentence in DISTRACTORS))]


OPERATORS: tuple[Operator, ...] = (
    Operator("typo.substitute", "typo", _typo_substitute),
    Operator("typo.delete", "typo", _typo_delete),
    Operator("typo.insert", "typo", _typo_insert),
    Operator("typo.transpose", "typo", _typo_transpose),
    Operator("casing", "casing", _casing),
    Operator("punctuation", "punctuation", _punctuation),
    Operator("whitespace", "whitespace", _whitespace),
    Operator("contractions", "contractions", _contractions),
    Operator("numbers", "numbers", _numbers),
    Operator("synonyms", "synonyms", _synonyms),
    Operator("reorder.clauses", "reorder", _reorder_clauses),
    Operator("reorder.sentences", "reorder", _reorder_sentences),
    Operator("prefix", "prefix", _prefix),
    Operator("distractor", "distractor", _distractor),
)
"""Every operator, simplest first: shrinking moves towards the front of this tuple."""


def operator_families() -> list[str]:
    """The families search can compose (each contributes one or more operators)."""
    return list(dict.fromkeys(op.family for op in OPERATORS))


def operators_for(families: Sequence[str] | None = None) -> tuple[Operator, ...]:
    """The operators of ``families`` (default: all), in :data:`OPERATORS` order."""
    if families is None:
        return OPERATORS
    if isinstance(families, str):
        families = [families]
    known = operator_families()
    unknown = [family for family in families if family not in known]
    if unknown:
        raise ConfigError(
            f"search cannot compose the family {unknown[0]!r}",
            key="families",
            fix=f"choose from: {', '.join(known)}",
        )
    return tuple(op for op in OPERATORS if op.family in families)


Step = tuple[int, int, int]
"""``(operator index, place, alternative)``; place and alternative are taken modulo their counts."""


GLOBAL_OPERATORS = frozenset({"reorder.clauses", "reorder.sentences"})
"""Operators that move whole clauses or sentences: applied after the local edits."""


def apply_steps(text: str, operators: Sequence[Operator], steps: Sequence[Step]) -> Perturbed:
    """Apply ``steps`` to ``text``; a step with nowhere to edit is skipped.

    Local edits (a letter, a word, a mark, a gap, an opening or closing sentence) are placed on
    the *original* text and are independent of each other: removing one step never moves
    another, which is what lets hypothesis shrink a composition edit by edit. A step that
    overlaps an earlier step's place is skipped. Clause and sentence reorders then apply, in
    order, to the edited text.
    """
    local: list[Edit] = []
    later: list[Step] = []
    sites_of: dict[str, list[Site]] = {}
    for step in steps:
        op_index, place, choice = step
        operator = operators[op_index % len(operators)]
        if operator.name in GLOBAL_OPERATORS:
            later.append(step)
            continue
        if operator.name not in sites_of:
            sites_of[operator.name] = operator.sites(text)
        sites = sites_of[operator.name]
        if not sites:
            continue
        start, end, alternatives = sites[place % len(sites)]
        after = alternatives[choice % len(alternatives)]
        if after == text[start:end] or any(
            _overlaps(start, end, e.start, e.start + len(e.before)) for e in local
        ):
            continue
        local.append(Edit(operator.name, start, text[start:end], after))
    current = text
    # right to left; at one position, a replacement before an insertion in front of it
    for edit in sorted(local, key=lambda e: (e.start, bool(e.before)), reverse=True):
        current = current[: edit.start] + edit.after + current[edit.start + len(edit.before) :]
    edits = list(local)
    for op_index, place, choice in later:
        operator = operators[op_index % len(operators)]
        sites = operator.sites(current)
        if not sites:
            continue
        start, end, alternatives = sites[place % len(sites)]
        after = alternatives[choice % len(alternatives)]
        if after == current[start:end]:
            continue
        edits.append(Edit(operator.name, start, current[start:end], after))
        current = current[:start] + after + current[end:]
    return Perturbed(text, current, tuple(edits))


def _overlaps(a: int, b: int, c: int, d: int) -> bool:
    """Whether places ``[a, b)`` and ``[c, d)`` collide (two insertions at one point do)."""
    if a == b and c == d:
        return a == c
    return a < d and c < b


def steps(operators: Sequence[Operator], *, max_ops: int = 3, min_ops: int = 1) -> Any:
    """A strategy for lists of :data:`Step` (what hypothesis stores and shrinks)."""
    if not operators:
        raise ConfigError("search needs at least one operator", key="families")
    if isinstance(max_ops, bool) or not isinstance(max_ops, int) or max_ops < max(min_ops, 1):
        raise ConfigError(
            f"max_ops must be a whole number >= {max(min_ops, 1)}, got {max_ops!r}",
            key="max_ops",
            fix="set max_ops to e.g. 3",
        )
    step = st.tuples(
        st.integers(0, len(operators) - 1), st.integers(0, 2**16 - 1), st.integers(0, 63)
    )
    return st.lists(step, min_size=min_ops, max_size=max_ops)


def perturbed(
    text: str,
    families: Sequence[str] | None = None,
    *,
    max_ops: int = 3,
    min_ops: int = 1,
) -> st.SearchStrategy[Perturbed]:
    """Compositions of ``min_ops`` to ``max_ops`` single edits of ``text`` (a :class:`Perturbed`).

    ``families`` limits the operators (default: every input-level family with single edits).
    Shrinking goes towards fewer edits, then towards earlier operators and places.
    """
    operators = operators_for(families)
    return steps(operators, max_ops=max_ops, min_ops=min_ops).map(
        lambda drawn: apply_steps(text, operators, drawn)
    )


def family_variants(
    text: str, family: str, params: dict[str, Any] | None = None
) -> st.SearchStrategy[str]:
    """Whole variants of ``text`` by the registered ``family`` with ``params``, over seeds."""
    perturbation = make_perturbation(family, params)
    return st.integers(0, 2**32 - 1).map(lambda seed: perturbation.apply(text, random.Random(seed)))


__all__ = [
    "OPERATORS",
    "Edit",
    "Operator",
    "Perturbed",
    "apply_steps",
    "family_variants",
    "operator_families",
    "operators_for",
    "perturbed",
    "steps",
]
