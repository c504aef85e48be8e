"""``whitespace``: extra spaces, tabs and newlines between words, and stray leading/trailing space.

Copy-pasted and hand-typed input is rarely tidy; the words stay exactly the same.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase, is_blank
from brittle.perturb.registry import Perturbation, register_family
from brittle.perturb.rng import touch_count

_GAP = re.compile(r"\s+")
_INSERTS = (" ", "\t", "\n")  # a doubled space, a tab, a line break
_EDGES = (" ", "  ", "\n")


@dataclass(frozen=True)
class Whitespace(FamilyBase):
    """Changes about ``rate`` of the gaps between words, counting the two ends as gaps too."""

    family: ClassVar[str] = "whitespace"
    rate: float

    def apply(self, text: str, rng: random.Random) -> str:
        if is_blank(text):
            return text
        gap_ends = [
            gap.end() for gap in _GAP.finditer(text) if gap.start() > 0 and gap.end() < len(text)
        ]
        slots = len(gap_ends) + 2  # the inner gaps, then the start and the end
        chosen = sorted(rng.sample(range(slots), touch_count(self.rate, slots, rng)))
        out: list[str] = []
        cursor = 0
        for slot in chosen:
            if slot < len(gap_ends):
                end = gap_ends[slot]
                out.append(text[cursor:end] + rng.choice(_INSERTS))
                cursor = end
        out.append(text[cursor:])
        result = "".join(out)
        if len(gap_ends) in chosen:
            result = rng.choice(_EDGES[:2]) + result
        if len(gap_ends) + 1 in chosen:
            result = result + rng.choice(_EDGES)
        return result


@register_family("whitespace")
def whitespace(*, rate: float = 0.1) -> Perturbation:
    """Extra whitespace in about ``rate`` of the gaps between words (and at the ends)."""
    return Whitespace(rate=_params.rate("whitespace", "rate", rate))
