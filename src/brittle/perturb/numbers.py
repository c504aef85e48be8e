"""``numbers``: numbers written the other way, "12" <-> "twelve", where the meaning is kept.

Only whole numbers from 0 to 100 standing alone are converted: never decimals ("3.5"), times
("10:30"), money ("$12"), percentages ("12%"), ordinals ("2nd"), versions or ranges ("3-4"), and
never the word "one" (it is as often a pronoun, "the best one", as a number). Each variant
converts a random non-empty subset of the places that qualify; a text with none is a no-op.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family

NUMBER_DIRECTIONS = ("to_words", "to_digits", "both")

_ONES_TEXT = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
ONES = _ONES_TEXT.split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905


def number_word(value: int) -> str:
    """0..100 in words: "seven", "twenty-one", "one hundred"."""
    if value < 20:
        return ONES[value]
    if value == 100:
        return "one hundred"
    tens, ones = divmod(value, 10)
    return TENS[tens - 2] + ("" if ones == 0 else "-" + ONES[ones])


_WORD_VALUES = {word: value for value, word in enumerate(ONES) if word != "one"}
_TENS_VALUES = {word: (index + 2) * 10 for index, word in enumerate(TENS)}
_UNITS = "|".join(ONES[1:10])

DIGITS = re.compile(r"(?<![\w$£€#.,:/+\-])(\d{1,3})(?![\w%°]|[.,:/]\d|-\d)")
WORDS = re.compile(
    r"(?<![\w'’\-])(?:(?P<tens>" + "|".join(TENS) + r")(?:[- ](?P<unit>" + _UNITS + r"))?"
    r"|(?P<small>" + "|".join(_WORD_VALUES) + r"))(?![\w'’\-])",
    re.IGNORECASE,
)


def _sentence_start(text: str, at: int) -> bool:
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?"


def sites(text: str, direction: str = "both") -> list[tuple[int, int, str]]:
    """``(start, end, replacement)`` of every number that can be written the other way."""
    found: list[tuple[int, int, str]] = []
    if direction in ("to_words", "both"):
        for match in DIGITS.finditer(text):
            value = int(match[1])
            if value <= 100 and not (len(match[1]) > 1 and match[1].startswith("0")):
                word = number_word(value)
                if _sentence_start(text, match.start()):
                    word = word[0].upper() + word[1:]
                found.append((match.start(), match.end(), word))
    if direction in ("to_digits", "both"):
        for match in WORDS.finditer(text):
            if match["small"]:
                value = _WORD_VALUES[match["small"].lower()]
            else:
                value = _TENS_VALUES[match["tens"].lower()]
                if match["unit"]:
                    value += ONES.index(match["unit"].lower())
            if not _sentence_start(text, match.start()):  # "Twelve people" stays a word
                found.append((match.start(), match.end(), str(value)))
    return sorted(found)


@dataclass(frozen=True)
class Numbers(FamilyBase):
    """Converts a random non-empty subset of the numbers, in the given ``direction``."""

    family: ClassVar[str] = "numbers"
    direction: str

    def apply(self, text: str, rng: random.Random) -> str:
        found = sites(text, self.direction)
        if not found:
            return text
        chosen = [site for site in found if rng.random() < 0.5] or [rng.choice(found)]
        for start, end, replacement in reversed(chosen):
            text = text[:start] + replacement + text[end:]
        return text


@register_family("numbers")
def numbers(*, direction: str = "both") -> Perturbation:
    """Numbers 0-100 as digits or words: ``to_words`` ("12" -> "twelve"), ``to_digits``, both."""
    return Numbers(direction=_params.choice("numbers", "direction", direction, NUMBER_DIRECTIONS))
