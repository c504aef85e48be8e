"""``punctuation``: punctuation marks dropped, doubled or added after words.

Marks are only changed where a word ends (before a space or the end of the text), never inside a
token, so "3.14", "e.g" or "U.S" keep their meaning.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.rng import touch_count

MARKS = ("!", "?", ".", ",")
_TOKEN = re.compile(r"\S+")
_TRAILING = re.compile(r"[.,!?;:]*\Z")


@dataclass(frozen=True)
class Punctuation(FamilyBase):
    """Changes the marks after about ``rate`` of the words.

    A word already followed by marks loses them or gets its last one doubled; a bare word gets one
    of ``! ? . ,`` appended.
    """

    family: ClassVar[str] = "punctuation"
    rate: float

    def apply(self, text: str, rng: random.Random) -> str:
        words = []
        for token in _TOKEN.finditer(text):
            marks = _TRAILING.search(token[0])
            assert marks is not None  # the pattern matches the empty string at the end
            if any(char.isalnum() for char in token[0][: marks.start()]):
                words.append((token.start() + marks.start(), token.end()))
        chosen = sorted(rng.sample(range(len(words)), touch_count(self.rate, len(words), rng)))
        out: list[str] = []
        cursor = 0
        for index in chosen:
            start, end = words[index]
            out.append(text[cursor:start])
            existing = text[start:end]
            if not existing:
                out.append(rng.choice(MARKS))
            elif rng.random() < 0.5:
                out.append(existing + existing[-1])
            # else: the marks are dropped
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


@register_family("punctuation")
def punctuation(*, rate: float = 0.1) -> Perturbation:
    """Punctuation removed, duplicated or inserted after about ``rate`` of the words."""
    return Punctuation(rate=_params.rate("punctuation", "rate", rate))
