"""``contractions``: "do not" <-> "don't", "it is" <-> "it's", "I am" <-> "I'm", and so on.

Expanding or contracting keeps the meaning, so the answer must not change. Each variant converts
a random non-empty subset of the places that match, so a text with several of them yields several
distinct variants; a text with none is left unchanged (a no-op).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family

CONTRACTION_DIRECTIONS = ("expand", "contract", "both")

# (contracted, expanded). Each form appears once, so both directions are unambiguous; ambiguous
# readings ("it's" = "it has", "he'd" = "he had") take their most common meaning. "let's" is left
# out: "let us know" does not mean "let's know".
CONTRACTIONS: tuple[tuple[str, str], ...] = (
    ("don't", "do not"),
    ("doesn't", "does not"),
    ("didn't", "did not"),
    ("isn't", "is not"),
    ("aren't", "are not"),
    ("wasn't", "was not"),
    ("weren't", "were not"),
    ("hasn't", "has not"),
    ("haven't", "have not"),
    ("hadn't", "had not"),
    ("won't", "will not"),
    ("wouldn't", "would not"),
    ("can't", "cannot"),
    ("couldn't", "could not"),
    ("shouldn't", "should not"),
    ("mustn't", "must not"),
    ("I'm", "I am"),
    ("I've", "I have"),
    ("I'll", "I will"),
    ("I'd", "I would"),
    ("you're", "you are"),
    ("you've", "you have"),
    ("you'll", "you will"),
    ("you'd", "you would"),
    ("he's", "he is"),
    ("he'll", "he will"),
    ("he'd", "he would"),
    ("she's", "she is"),
    ("she'll", "she will"),
    ("she'd", "she would"),
    ("it's", "it is"),
    ("it'll", "it will"),
    ("we're", "we are"),
    ("we've", "we have"),
    ("we'll", "we will"),
    ("we'd", "we would"),
    ("they're", "they are"),
    ("they've", "they have"),
    ("they'll", "they will"),
    ("they'd", "they would"),
    ("that's", "that is"),
    ("there's", "there is"),
    ("here's", "here is"),
    ("what's", "what is"),
    ("where's", "where is"),
    ("who's", "who is"),
    ("how's", "how is"),
)

_EXPANDED = {contracted.lower(): expanded for contracted, expanded in CONTRACTIONS}
_CONTRACTED = {expanded.lower(): contracted for contracted, expanded in CONTRACTIONS}


# Guards for grammar, not meaning: "what it is." cannot become "what it's.", so a pronoun with "is",
# "am", "will", ... is only contracted before another word; and "it's been" / "he'd gone" mean
# "has" / "had", so an 's or 'd form before a participle-like word is not expanded.
_BEFORE_WORD = r"(?=[ \t]+\w)"
_NOT_BEFORE_PARTICIPLE = r"(?![ \t]+(?:been|got|gone|done|had|better|\w+ed|\w+en)\b)"


def _alternative(form: str, contracting: bool) -> str:
    if contracting:
        words = form.split(" ")
        body = r"[ \t]+".join(re.escape(word) for word in words)
        negation = words[-1] == "not" or form == "cannot"
        return body if negation else body + _BEFORE_WORD
    body = re.escape(form).replace("'", "['’]")
    return body + _NOT_BEFORE_PARTICIPLE if form.endswith(("'s", "'d")) else body


def _pattern(forms: list[str], contracting: bool) -> re.Pattern[str]:
    """Whole-word, case-insensitive alternatives, longest first so longer forms win."""
    alternatives = [
        _alternative(form, contracting) for form in sorted(forms, key=len, reverse=True)
    ]
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b", re.IGNORECASE)


_EXPANDABLE = _pattern(list(_EXPANDED), contracting=False)
_CONTRACTIBLE = _pattern(list(_CONTRACTED), contracting=True)


def _key(found: str) -> str:
    return " ".join(found.lower().replace("’", "'").split())


def _cased_like(found: str, replacement: str) -> str:
    """``replacement`` with the case of ``found``: all upper, or the first letter's case."""
    letters = [char for char in found if char.isalpha()]
    if len(letters) > 1 and all(char.isupper() for char in letters):
        return replacement.upper()
    first = replacement[0].upper() if found[0].isupper() else replacement[0].lower()
    return first + replacement[1:]


@dataclass(frozen=True)
class Contractions(FamilyBase):
    """Expands and/or contracts (per ``direction``) a random non-empty subset of the matches."""

    family: ClassVar[str] = "contractions"
    direction: str

    def apply(self, text: str, rng: random.Random) -> str:
        sites: list[tuple[int, int, str]] = []
        if self.direction in ("expand", "both"):
            sites += [
                (m.start(), m.end(), _EXPANDED[_key(m[0])]) for m in _EXPANDABLE.finditer(text)
            ]
        if self.direction in ("contract", "both"):
            sites += [
                (m.start(), m.end(), _CONTRACTED[_key(m[0])]) for m in _CONTRACTIBLE.finditer(text)
            ]
        sites = _without_overlaps(sorted(sites))
        if not sites:
            return text
        chosen = [site for site in sites if rng.random() < 0.5] or [rng.choice(sites)]
        out: list[str] = []
        cursor = 0
        for start, end, replacement in chosen:
            out.append(text[cursor:start])
            out.append(_cased_like(text[start:end], replacement))
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


def _without_overlaps(sites: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for site in sites:
        if not kept or site[0] >= kept[-1][1]:
            kept.append(site)
    return kept


@register_family("contractions")
def contractions(*, direction: str = "both") -> Perturbation:
    """Contractions expanded ("don't" -> "do not"), contracted, or ``both`` in one variant."""
    return Contractions(
        direction=_params.choice("contractions", "direction", direction, CONTRACTION_DIRECTIONS)
    )
