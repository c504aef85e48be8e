"""``reorder``: independent sentences or clauses in another order.

"The pasta was fresh. The staff were friendly." says the same as "The staff were friendly. The
pasta was fresh." Order carries meaning when a sentence leans on the one before ("But it broke",
"It was cheap"), so such a sentence moves together with its predecessor, and a clause is only
swapped with its neighbour across ", and" or ";" (never across "but", "although", "so": contrast
and consequence depend on order). A text with nothing to reorder is a no-op.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb.registry import Perturbation, register_family

from ._base import FamilyBase

REORDER_SCOPES = ("sentences", "clauses", "both")

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")
_CLAUSE_BREAK = re.compile(r"(?:,\s+and\s+|;\s+)")
_FIRST_WORD = re.compile(r"[\"'“‘(]*([A-Za-z']+)")

DEPENDENT_STARTS = frozenset(
    """
    and but or nor so yet still also too then however although though because since as while
    whereas which who whom whose where when otherwise besides moreover furthermore instead
    anyway anyhow meanwhile therefore thus hence consequently nevertheless nonetheless plus
    it it's its they they're them their this that these those he she him her his there here
    such both either neither another other others same even again now later afterwards
    before after unfortunately fortunately luckily sadly overall finally ultimately
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
"""First words that tie a sentence or clause to what comes before it."""

_LOWERABLE = frozenset(
    """
    the a an this that these those my our your his her their its some any every each no all
    most many few several we you they he she it there one
    """.split()  # noqa: SIM905
)
"""First words safe to lower-case when a clause stops being first (not names, not "I")."""


def _first_word(text: str) -> str:
    match = _FIRST_WORD.match(text)
    return match[1].lower() if match else ""


def sentence_units(text: str) -> tuple[str, list[str], str] | None:
    """Leading space, the movable units (a sentence and those leaning on it), trailing space.

    None when there are fewer than two units, so nothing to reorder.
    """
    stripped = text.strip()
    parts = _SENTENCE_END.split(stripped) if stripped else []
    units: list[str] = []
    for part in parts:
        if units and _first_word(part) in DEPENDENT_STARTS:
            units[-1] += " " + part
        else:
            units.append(part)
    if len(units) < 2:
        return None
    return text[: len(text) - len(text.lstrip())], units, text[len(text.rstrip()) :]


def _sentence_orders(text: str, rng: random.Random) -> str | None:
    found = sentence_units(text)
    if found is None:
        return None
    lead, units, tail = found
    order = list(range(len(units)))
    while order == sorted(order):
        rng.shuffle(order)
    return lead + " ".join(units[i] for i in order) + tail


def _recase_first(clause: str, upper: bool) -> str:
    match = _FIRST_WORD.match(clause)
    if match is None:
        return clause
    start = match.start(1)
    word = match[1]
    if upper:
        new = word[:1].upper() + word[1:]
    elif word.lower() in _LOWERABLE and not word.isupper():
        new = word.lower()
    else:
        new = word
    return clause[:start] + new + clause[start + len(word) :]


def clause_swaps(text: str) -> list[tuple[int, int, str]]:
    """``(start, end, replacement)`` for every pair of independent clauses that can swap.

    A pair is two neighbouring clauses of one sentence joined by ", and" or ";", each of at
    least three words, the second not starting with a word that leans on the first.
    """
    out: list[tuple[int, int, str]] = []
    for sentence in re.finditer(r"[^.!?]+[.!?]*", text):
        core = sentence[0].rstrip(".!? \t\n")
        breaks = list(_CLAUSE_BREAK.finditer(core))
        for index, brk in enumerate(breaks):
            left_start = breaks[index - 1].end() if index else 0
            right_end = breaks[index + 1].start() if index + 1 < len(breaks) else len(core)
            left = core[left_start : brk.start()]
            right = core[brk.end() : right_end]
            lead = len(left) - len(left.lstrip())
            left_core = left.strip()
            if (
                len(left_core.split()) < 3
                or len(right.split()) < 3
                or _first_word(right) in DEPENDENT_STARTS
            ):
                continue
            if left_start == 0:  # the second clause becomes the sentence's first
                swapped = (
                    _recase_first(right, upper=True)
                    + brk[0]
                    + _recase_first(left_core, upper=False)
                )
            else:
                swapped = right + brk[0] + left_core
            out.append(
                (
                    sentence.start() + left_start,
                    sentence.start() + right_end,
                    left[:lead] + swapped,
                )
            )
    return out


@dataclass(frozen=True)
class Reorder(FamilyBase):
    """Shuffles independent sentences, or swaps two independent clauses (per ``scope``)."""

    family: ClassVar[str] = "reorder"
    scope: str

    def apply(self, text: str, rng: random.Random) -> str:
        options: list[str] = []
        if self.scope in ("sentences", "both"):
            options.append("sentences")
        if self.scope in ("clauses", "both") and clause_swaps(text):
            options.append("clauses")
        rng.shuffle(options)
        for option in options:
            if option == "sentences":
                result = _sentence_orders(text, rng)
                if result is not None:
                    return result
            else:
                start, end, replacement = rng.choice(clause_swaps(text))
                return text[:start] + replacement + text[end:]
        return text


@register_family("reorder")
def reorder(*, scope: str = "both") -> Perturbation:
    """Independent ``sentences``, ``clauses`` (across ", and" / ";") or ``both`` reordered."""
    return Reorder(scope=_params.choice("reorder", "scope", scope, REORDER_SCOPES))
