"""``prefix``: a polite or filler opening before the text ("Hi there! ", "Um, so, ").

The request is unchanged; only its social wrapping differs, which should not change the answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from brittle.perturb import _params
from brittle.perturb._base import FamilyBase, is_blank
from brittle.perturb.registry import Perturbation, register_family

PREFIXES: dict[str, tuple[str, ...]] = {
    "politeness": (
        "Hi there! ",
        "Hello! ",
        "Could you please help: ",
        "Please help me with this: ",
        "I'd really appreciate your help. ",
        "Thanks in advance! ",
        "Good morning! ",
        "Sorry to bother you, but ",
    ),
    "filler": (
        "Um, so, ",
        "Quick question - ",
        "So, basically, ",
        "Okay, so ",
        "Well, ",
        "Hmm, ",
        "Alright, so ",
        "Just wondering: ",
    ),
}


@dataclass(frozen=True)
class Prefix(FamilyBase):
    """Prepends one of ``prefixes`` (``kind`` names the built-in list they came from)."""

    family: ClassVar[str] = "prefix"
    kind: str
    prefixes: tuple[str, ...]

    def apply(self, text: str, rng: random.Random) -> str:
        if is_blank(text):
            return text
        return rng.choice(self.prefixes) + text


@register_family("prefix")
def prefix(*, kind: str = "politeness", prefixes: Sequence[str] | None = None) -> Perturbation:
    """Prepends a prefix of ``kind``, or one of the user's own ``prefixes`` (used as written).

    The list actually used is recorded in ``params``, so a report stays reproducible even if the
    built-in lists change in a later release.
    """
    kind = _params.choice("prefix", "kind", kind, tuple(PREFIXES))
    chosen = PREFIXES[kind] if prefixes is None else _params.texts("prefix", "prefixes", prefixes)
    return Prefix(kind=kind, prefixes=chosen)
