"""``distractor``: an irrelevant sentence added to the text ("By the way, the weather was nice").

A system should ignore what does not bear on the question. The built-in sentences contain no
numbers, names of quantities or instructions, so they cannot legitimately change the answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase, is_blank
from brittle.perturb.registry import Perturbation, register_family

DISTRACTOR_POSITIONS = ("start", "end", "random")

DISTRACTORS: tuple[str, ...] = (
    "By the way, the weather was nice today.",
    "I had coffee with a friend this morning.",
    "My cat is asleep on the couch right now.",
    "The library down the street was busy.",
    "I recently started learning to play the guitar.",
    "Traffic was unusually light this morning.",
    "Someone at the office brought cake today.",
    "I still need to water the plants later.",
    "The train was a little late yesterday.",
    "My neighbour painted their fence blue.",
)

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Distractor(FamilyBase):
    """Adds one of ``sentences`` at the start, the end, or a random sentence boundary."""

    family: ClassVar[str] = "distractor"
    position: str
    sentences: tuple[str, ...]

    def apply(self, text: str, rng: random.Random) -> str:
        if is_blank(text):
            return text
        sentence = rng.choice(self.sentences)
        if self.position == "start":
            at = 0
        elif self.position == "end":
            at = len(text)
        else:
            breaks = [0, *(gap.end() for gap in _SENTENCE_BREAK.finditer(text.rstrip())), len(text)]
            at = rng.choice(breaks)
        if at == len(text):
            return text + ("" if text[-1].isspace() else " ") + sentence
        return text[:at] + sentence + " " + text[at:]


@register_family("distractor")
def distractor(*, position: str = "end", sentences: Sequence[str] | None = None) -> Perturbation:
    """An irrelevant sentence at ``position``, from the built-in list or from ``sentences``."""
    return Distractor(
        position=_params.choice("distractor", "position", position, DISTRACTOR_POSITIONS),
        sentences=DISTRACTORS
        if sentences is None
        else _params.texts("distractor", "sentences", sentences),
    )
