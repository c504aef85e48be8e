"""``typo``: keyboard slips inside words (neighbour-key substitution, deletion, insertion, swap).

Only letters are touched, never digits, punctuation or spacing: a typo that changes a number
changes the question, and that is not brittleness.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.rng import touch_count

TYPO_OPS = ("substitute", "delete", "insert", "transpose")

_ROWS = (("qwertyuiop", 0.0), ("asdfghjkl", 0.25), ("zxcvbnm", 0.75))


def _qwerty_neighbours() -> dict[str, str]:
    """Letters whose keys touch on a staggered QWERTY keyboard (row offsets 0, 1/4, 3/4 key)."""
    keys = [
        (letter, row, offset + column)
        for row, (letters, offset) in enumerate(_ROWS)
        for column, letter in enumerate(letters)
    ]
    neighbours: dict[str, str] = {}
    for letter, row, x in keys:
        near = [
            other
            for other, other_row, other_x in keys
            if other != letter
            and (
                (other_row == row and abs(other_x - x) == 1)
                or (abs(other_row - row) == 1 and abs(other_x - x) < 1)
            )
        ]
        neighbours[letter] = "".join(sorted(near))
    return neighbours


QWERTY_NEIGHBOURS = _qwerty_neighbours()


@dataclass(frozen=True)
class Typo(FamilyBase):
    """Edits about ``rate`` x (number of letters) letters, each with one of ``ops``."""

    family: ClassVar[str] = "typo"
    rate: float
    ops: tuple[str, ...]

    def apply(self, text: str, rng: random.Random) -> str:
        letters = [i for i, char in enumerate(text) if char.isalpha()]
        budget = touch_count(self.rate, len(letters), rng)
        if not budget:
            return text
        word_of, word_size = _words(text)
        remaining = dict(enumerate(word_size))
        out = list(text)
        touched: set[int] = set()
        order = letters[:]
        rng.shuffle(order)
        edits = 0
        for pos in order:
            if edits == budget:
                break
            if pos in touched:
                continue
            ops = [
                op for op in self.ops if _feasible(op, text, pos, touched, remaining[word_of[pos]])
            ]
            if not ops:
                continue
            op = rng.choice(ops)
            char = text[pos]
            touched.add(pos)
            if op == "substitute":
                out[pos] = _like(char, rng.choice(QWERTY_NEIGHBOURS[char.lower()]))
            elif op == "delete":
                out[pos] = ""
                remaining[word_of[pos]] -= 1
            elif op == "insert":
                extra = _like(char, rng.choice(QWERTY_NEIGHBOURS[char.lower()]))
                out[pos] = char + extra if rng.random() < 0.5 else extra + char
            else:  # transpose: each position keeps its case, the letters swap
                following = text[pos + 1]
                out[pos] = _like(char, following)
                out[pos + 1] = _like(following, char)
                touched.add(pos + 1)
            edits += 1
        return "".join(out)


def _words(text: str) -> tuple[dict[int, int], list[int]]:
    """Map each letter position to its word (a run of letters) and give each word's length."""
    word_of: dict[int, int] = {}
    sizes: list[int] = []
    previous_letter = False
    for pos, char in enumerate(text):
        if char.isalpha():
            if not previous_letter:
                sizes.append(0)
            word_of[pos] = len(sizes) - 1
            sizes[-1] += 1
        previous_letter = char.isalpha()
    return word_of, sizes


def _feasible(op: str, text: str, pos: int, touched: set[int], letters_left: int) -> bool:
    char = text[pos]
    if op in ("substitute", "insert"):
        return char.lower() in QWERTY_NEIGHBOURS
    if op == "delete":  # never delete a word away entirely
        return letters_left > 1
    following = pos + 1
    return (
        following < len(text)
        and text[following].isalpha()
        and following not in touched
        and text[following].lower() != char.lower()
    )


def _like(model: str, letter: str) -> str:
    """``letter`` in the case of ``model`` (a typo keeps the shift key state of the slip)."""
    return letter.upper() if model.isupper() else letter.lower()


@register_family("typo")
def typo(*, rate: float = 0.05, ops: Sequence[str] = TYPO_OPS) -> Perturbation:
    """Keyboard typos on about ``rate`` of the letters, using the edit kinds in ``ops``."""
    return Typo(
        rate=_params.rate("typo", "rate", rate),
        ops=_params.subset("typo", "ops", ops, TYPO_OPS),
    )
