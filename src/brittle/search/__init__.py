"""Finding and keeping rewordings: flip search, hypothesis strategies, paraphrases, meaning checks.

:func:`find_flip` and its companions (:mod:`brittle.search.flips`) load hypothesis and the
checks only when first used, so that the meaning filter and the embeddings, which the checks and
suites need, can live here without importing the search machinery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brittle._registry import lazy_attributes

if TYPE_CHECKING:
    from brittle.search.flips import (
        DEFAULT_DIR,
        FoundFlip,
        find_flip,
        promote,
        search_key,
        stored_flips,
    )

__all__ = ["DEFAULT_DIR", "FoundFlip", "find_flip", "promote", "search_key", "stored_flips"]

__getattr__ = lazy_attributes(__name__, dict.fromkeys(__all__, "brittle.search.flips"), globals())
