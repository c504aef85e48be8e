"""``casing``: the same text in other letter case (all lower, all upper, title, random flips).

Users type in every case; a system whose answer changes with it is brittle.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle._errors import ConfigError
from brittle.perturb import _params
from brittle.perturb._base import FamilyBase
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.rng import touch_count

CASING_MODES = ("lower", "upper", "title", "random")

# A word for title case: letters, with inner apostrophes ("don't" -> "Don't", not "Don'T"), not
# glued to digits ("2nd" stays "2nd").
_WORD = re.compile(r"(?<![\w'’])[^\W\d_]+(?:['’][^\W\d_]+)*")


@dataclass(frozen=True)
class Casing(FamilyBase):
    """Rewrites letter case; ``rate`` (share of letters flipped) is only set in ``random`` mode."""

    family: ClassVar[str] = "casing"
    mode: str
    rate: float | None = None

    def apply(self, text: str, rng: random.Random) -> str:
        if self.mode == "lower":
            return text.lower()
        if self.mode == "upper":
            return text.upper()
        if self.mode == "title":
            return _WORD.sub(lambda word: word[0][:1].upper() + word[0][1:].lower(), text)
        assert self.rate is not None
        flippable = [i for i, char in enumerate(text) if _flips(char)]
        chosen = rng.sample(flippable, touch_count(self.rate, len(flippable), rng))
        out = list(text)
        for pos in chosen:
            out[pos] = text[pos].swapcase()
        return "".join(out)


def _flips(char: str) -> bool:
    """A letter whose swapped case is one other character (not 'ß' -> 'SS')."""
    swapped = char.swapcase()
    return len(swapped) == 1 and swapped != char


@register_family("casing")
def casing(*, mode: str = "random", rate: float | None = None) -> Perturbation:
    """Letter case changed by ``mode``; ``random`` flips about ``rate`` (default 0.1) of letters.

    ``random`` is the default because it is the only mode that yields several distinct variants of
    one text; the other modes are a single fixed rewrite each.
    """
    mode = _params.choice("casing", "mode", mode, CASING_MODES)
    if mode != "random":
        if rate is not None:
            raise ConfigError(
                f"perturbation family 'casing': rate only applies to mode 'random', "
                f"not to mode '{mode}'",
                key="rate",
                fix="remove rate, or set mode: random",
            )
        return Casing(mode=mode)
    return Casing(mode=mode, rate=_params.rate("casing", "rate", 0.1 if rate is None else rate))
