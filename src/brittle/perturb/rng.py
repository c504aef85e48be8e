"""Randomness that is the same on every run, process and machine.

Python's ``hash()`` of a string changes per process (PYTHONHASHSEED), so seeds are derived from a
SHA-256 digest instead. ``random.Random`` seeded with an integer produces the same stream on every
platform and supported Python version, which makes variant ids and texts stable baselines.
"""

from __future__ import annotations

import hashlib
import json
import math
import random

_SCHEME = "brittle.perturb.rng/1"


def rng_for(
    seed: int, case_id: str, perturbation: str, index: int, attempt: int = 0
) -> random.Random:
    """A generator for one attempt at one variant slot of one case under one named perturbation.

    The values are encoded as JSON (unambiguous: ``("a b", "c")`` and ``("a", "b c")`` differ)
    and tagged with a scheme name, so a deliberate change of derivation changes the tag.
    """
    payload = json.dumps([_SCHEME, seed, case_id, perturbation, index, attempt])
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return random.Random(int.from_bytes(digest, "big"))


def touch_count(rate: float, population: int, rng: random.Random) -> int:
    """How many of ``population`` items to edit so that, on average, a ``rate`` share is edited.

    The fractional part is rounded up with that probability (so short texts are not always rounded
    to zero or one), and at least one item is edited whenever there is one: a perturbation that
    changes nothing would only count as a no-op.
    """
    if population <= 0:
        return 0
    expected = rate * population
    count = math.floor(expected)
    if rng.random() < expected - count:
        count += 1
    return min(population, max(1, count))
