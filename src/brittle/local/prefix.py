"""Shared prompt prefixes: compute the common beginning of many prompts once.

Every row of an eval that goes through one template starts with the same tokens: the chat
template's system prompt, the instruction, a few-shot prompt's worked examples. For a
classification call (``max_tokens`` of a few tokens) reading the prompt is nearly all the work,
so a few-shot prompt of 300 tokens costs ten times its 30-token review. This module keeps the
attention keys and values of such prefixes and feeds only the rest of each prompt to the model,
as vLLM's and SGLang's prefix caches do on a GPU.

* :func:`plan_prefixes` chooses, for the prompts of one batch, how many leading tokens of each
  come from a shared prefix. It walks the batch's prompts as a trie: a group of prompts that
  share a beginning gets that beginning as its prefix when reusing it saves more tokens than
  computing it costs (nothing, if it is already stored), and subgroups that share more get the
  longer one. A prefix always leaves at least one token of the prompt to feed.
* :class:`PrefixStore` keeps computed prefixes per model (and adapter) in least-recently-used
  order up to a byte budget (``BRITTLE_LOCAL_PREFIX_CACHE_MB``, default 256; 0 turns reuse off),
  and finds the longest stored prefix of a new prompt.

Reuse changes how the arithmetic is grouped, not what is computed: a prompt's keys and values
depend only on the tokens before them, so the outputs are those of the whole prompt up to
floating-point rounding (greedy outputs compared in ``tests/test_local_provider.py`` and by
``benchmarks/bench_local.py``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from brittle.local.settings import prefix_cache_bytes

MIN_PREFIX_TOKENS = 16
"""Shorter shared beginnings are computed with each prompt: reuse would save too little."""


@dataclass(frozen=True)
class Prefix:
    """The keys and values of ``tokens``: one ``(keys, values)`` pair per layer, each shaped
    ``[1, kv_heads, len(tokens), head_dim]``."""

    tokens: tuple[int, ...]
    layers: tuple[tuple[Any, Any], ...]

    @property
    def nbytes(self) -> int:
        return sum(k.element_size() * k.nelement() * 2 for k, _v in self.layers)


@dataclass
class PrefixStats:
    """What reuse did in this process (tokens not fed to the model are ``tokens_reused``)."""

    computed: int = 0
    hits: int = 0
    tokens_reused: int = 0
    evicted: int = 0


class PrefixStore:
    """Computed prefixes per model key, least recently used first out past ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.stats = PrefixStats()
        self._entries: OrderedDict[tuple[Hashable, tuple[int, ...]], Prefix] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, model: Hashable, tokens: Sequence[int]) -> Prefix | None:
        with self._lock:
            key = (model, tuple(tokens))
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def longest(self, model: Hashable, prompt: Sequence[int]) -> Prefix | None:
        """The longest stored prefix of ``prompt`` that leaves at least one token to feed."""
        best: Prefix | None = None
        with self._lock:
            for (owner, tokens), entry in self._entries.items():
                size = len(tokens)
                if (
                    owner == model
                    and size < len(prompt)
                    and (best is None or size > len(best.tokens))
                    and tuple(prompt[:size]) == tokens
                ):
                    best = entry
            if best is not None:
                self._entries.move_to_end((model, best.tokens))
        return best

    def put(self, model: Hashable, prefix: Prefix) -> None:
        size = prefix.nbytes
        if size > self.max_bytes:
            return
        with self._lock:
            key = (model, prefix.tokens)
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = prefix
            self._bytes += size
            self.stats.computed += 1
            while self._bytes > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes
                self.stats.evicted += 1

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def plan_prefixes(
    prompts: Sequence[Sequence[int]],
    *,
    stored: Callable[[Sequence[int]], bool],
    min_tokens: int = MIN_PREFIX_TOKENS,
) -> list[int]:
    """How many leading tokens of each prompt to take from a shared prefix (0: none).

    A group of prompts sharing their first ``n`` tokens takes those ``n`` as its prefix when
    ``members * (n - already_shared) > cost``, where the cost is ``n`` (one pass over the prefix)
    or nothing when ``stored(prefix)`` says it is kept already. Subgroups that share more are
    considered in turn, so a batch that mixes one template's rows with a reworded template's
    rows gets the chat template's system prompt for all and the long prefix for the majority.
    """
    chosen = [0] * len(prompts)

    def visit(rows: list[int], start: int, base: int) -> None:
        first = prompts[rows[0]]
        limit = min(len(prompts[row]) for row in rows) - 1  # leave one token to feed
        end = start
        while end < limit and all(prompts[row][end] == first[end] for row in rows):
            end += 1
        if len(rows) >= 2 and end >= min_tokens and end > base:
            cost = 0 if stored(first[:end]) else end
            if len(rows) * (end - base) > cost:
                base = end
        for row in rows:
            chosen[row] = base
        branches: dict[int, list[int]] = {}
        for row in rows:
            if len(prompts[row]) - 1 > end:
                branches.setdefault(prompts[row][end], []).append(row)
        for members in branches.values():
            if len(members) >= 2:
                visit(members, end + 1, base)

    if prompts:
        visit(list(range(len(prompts))), 0, 0)
    return chosen


def split_by_length(
    lengths: Sequence[int], *, ratio: float = 2.0, floor: int = 32
) -> list[list[int]]:
    """Group row indices so that no group pads its rows to more than ``ratio`` times the
    shortest (lengths below ``floor`` count as ``floor``): padding is computed like real tokens,
    so one long row in a batch of short ones would otherwise multiply the batch's work."""
    order = sorted(range(len(lengths)), key=lambda row: lengths[row])
    groups: list[list[int]] = []
    shortest = 0
    for row in order:
        size = max(lengths[row], floor)
        if groups and size <= ratio * shortest:
            groups[-1].append(row)
        else:
            groups.append([row])
            shortest = size
    return groups


_store: PrefixStore | None = None
_store_lock = threading.Lock()


def shared_store() -> PrefixStore:
    """The process-wide store, sized by ``BRITTLE_LOCAL_PREFIX_CACHE_MB`` when first asked for."""
    global _store
    with _store_lock:
        if _store is None:
            _store = PrefixStore(prefix_cache_bytes())
        return _store


def replace_shared_store(store: PrefixStore | None) -> PrefixStore | None:
    """Put ``store`` in place of the process-wide one (None: read the setting again on next
    use) and return the old one; for benchmarks and tests that compare reuse on and off."""
    global _store
    with _store_lock:
        old, _store = _store, store
        return old
