"""``synonyms``: words replaced by synonyms from a lexicon shipped with brittle.

The lexicon (``brittle/data/synonyms.txt``) lists groups of words that replace each other without
changing what a sentence says: same part of speech, inflection, polarity and strength. It is part
of the package, so nothing is downloaded at run time. A text without any listed word is left
unchanged (a no-op).
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from importlib import resources
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.rng import touch_count

# A word: letters (hyphens inside), not part of a contraction ("don't") or a longer token.
WORD = re.compile(r"(?<![\w'’-])[A-Za-z]+(?:-[A-Za-z]+)*(?![\w'’-])")
_ARTICLE = re.compile(r"(?<![\w'’-])([Aa]n?)(\s+)\Z")
_AN_EXCEPTIONS = ("honest", "hour", "honour", "heir")
_A_EXCEPTIONS = ("use", "usu", "uni", "eu", "one", "once")


@functools.cache
def lexicon() -> dict[str, tuple[str, ...]]:
    """Each listed word (lower case) -> the other words of its group, in file order."""
    text = resources.files("brittle").joinpath("data/synonyms.txt").read_text(encoding="utf-8")
    table: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        group = [word.strip() for word in line.split(",") if word.strip()]
        for word in group:
            table[word] = tuple(other for other in group if other != word)
    return table


def cased_like(model: str, word: str) -> str:
    """``word`` in the case of ``model``: all upper, capitalised, or lower."""
    if len(model) > 1 and model.isupper():
        return word.upper()
    if model[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def takes_an(word: str) -> bool:
    """Whether ``word`` takes "an" (by its spelling, with the common exceptions)."""
    lower = word.lower()
    if lower.startswith(_AN_EXCEPTIONS):
        return True
    return lower[:1] in "aeiou" and not lower.startswith(_A_EXCEPTIONS)


def replace_word(text: str, start: int, end: int, word: str) -> str:
    """``text`` with ``text[start:end]`` replaced by ``word``, fixing a preceding "a"/"an"."""
    before = text[:start]
    article = _ARTICLE.search(before)
    if article is not None:
        wanted = "an" if takes_an(word) else "a"
        if article[1].lower() != wanted:
            new = cased_like(article[1], wanted) if article[1] != "A" else wanted.capitalize()
            before = before[: article.start(1)] + new + article[2]
    return before + word + text[end:]


def sites(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """``(start, end, synonyms)`` of every word of ``text`` listed in the lexicon."""
    table = lexicon()
    out = []
    for match in WORD.finditer(text):
        alternatives = table.get(match[0].lower())
        if alternatives:
            out.append((match.start(), match.end(), alternatives))
    return out


@dataclass(frozen=True)
class Synonyms(FamilyBase):
    """Replaces about ``rate`` of the replaceable words (at least one) with a synonym."""

    family: ClassVar[str] = "synonyms"
    rate: float

    def apply(self, text: str, rng: random.Random) -> str:
        found = sites(text)
        chosen = sorted(rng.sample(range(len(found)), touch_count(self.rate, len(found), rng)))
        for index in reversed(chosen):  # right to left, so earlier offsets stay valid
            start, end, alternatives = found[index]
            word = cased_like(text[start:end], rng.choice(alternatives))
            text = replace_word(text, start, end, word)
        return text


@register_family("synonyms")
def synonyms(*, rate: float = 0.3) -> Perturbation:
    """Synonyms from the shipped lexicon for about ``rate`` of the words it lists."""
    return Synonyms(rate=_params.rate("synonyms", "rate", rate))
