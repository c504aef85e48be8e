"""Choosing and keeping shared prompt prefixes (``brittle.local.prefix``), without a model.

The outputs of generation with prefixes reused are compared with whole-prompt outputs on the real
model in ``tests/test_local_provider.py``.
"""

from __future__ import annotations

import pytest
import torch

from brittle._errors import ModelError
from brittle.local.prefix import (
    Prefix,
    PrefixStore,
    plan_prefixes,
    replace_shared_store,
    shared_store,
    split_by_length,
)
from brittle.local.settings import prefix_cache_bytes

SYSTEM = list(range(1000, 1030))  # a chat template's system prompt: 30 tokens
INSTRUCTION = list(range(2000, 2200))  # a few-shot instruction with examples: 200 tokens


def never(_tokens: object) -> bool:
    return False


def review(seed: int, length: int = 20) -> list[int]:
    return [5000 + seed * 100 + i for i in range(length)]


def test_rows_of_one_template_share_the_template() -> None:
    prompts = [SYSTEM + INSTRUCTION + review(i) for i in range(8)]
    assert plan_prefixes(prompts, stored=never) == [230] * 8


def test_a_reworded_template_shares_only_the_system_prompt() -> None:
    reworded = list(range(3000, 3200))
    prompts = [SYSTEM + INSTRUCTION + review(i) for i in range(6)]
    prompts += [SYSTEM + reworded + review(i) for i in range(6, 8)]
    # The majority keeps the long prefix; the two reworded rows share theirs with each other.
    assert plan_prefixes(prompts, stored=never) == [230] * 6 + [230] * 2
    alone = [SYSTEM + INSTRUCTION + review(i) for i in range(6)] + [SYSTEM + reworded + review(7)]
    assert plan_prefixes(alone, stored=never) == [230] * 6 + [30]


def test_a_prefix_is_taken_only_when_reuse_saves_work() -> None:
    # Two rows share 200 tokens: computing them once (200) saves 2 * 200 - 200 > 0.
    pair = [INSTRUCTION + review(1), INSTRUCTION + review(2)]
    assert plan_prefixes(pair, stored=never) == [200, 200]
    # Reviews that start alike do not get a prefix one token longer for two rows:
    # 2 rows * 1 token saved is less than computing a 231-token prefix.
    alike = [SYSTEM + INSTRUCTION + [7] + review(i) for i in range(2)]
    alike += [SYSTEM + INSTRUCTION + review(i) for i in range(2, 8)]
    assert plan_prefixes(alike, stored=never) == [230] * 8


def test_a_stored_prefix_costs_nothing() -> None:
    alike = [SYSTEM + INSTRUCTION + [7] + review(i) for i in range(2)]
    alike += [SYSTEM + INSTRUCTION + review(i) for i in range(2, 4)]
    longer = tuple(SYSTEM + INSTRUCTION + [7])
    plan = plan_prefixes(alike, stored=lambda tokens: tuple(tokens) == longer)
    assert plan == [231, 231, 230, 230]


def test_short_or_unshared_beginnings_get_no_prefix() -> None:
    short = [SYSTEM[:10] + review(1), SYSTEM[:10] + review(2)]
    assert plan_prefixes(short, stored=never) == [0, 0]
    assert plan_prefixes([SYSTEM + review(1)], stored=never) == [0]
    assert plan_prefixes([review(1), review(2)], stored=never) == [0, 0]
    assert plan_prefixes([], stored=never) == []


def test_a_prefix_always_leaves_a_token_to_feed() -> None:
    same = SYSTEM + INSTRUCTION
    assert plan_prefixes([same, same, [*same, 1]], stored=never) == [229, 229, 229]


def test_split_by_length_bounds_padding() -> None:
    groups = split_by_length([40, 300, 35, 290, 50, 12])
    assert sorted(map(sorted, groups)) == [[0, 2, 4, 5], [1, 3]]
    assert split_by_length([30] * 4) == [[0, 1, 2, 3]]
    assert split_by_length([]) == []


def prefix_of(tokens: list[int], layers: int = 2) -> Prefix:
    pair = (torch.zeros(1, 3, len(tokens), 4), torch.zeros(1, 3, len(tokens), 4))
    return Prefix(tokens=tuple(tokens), layers=tuple(pair for _ in range(layers)))


def test_store_finds_the_longest_stored_prefix_of_the_same_model() -> None:
    store = PrefixStore(10 * 2**20)
    short, long = prefix_of(SYSTEM), prefix_of(SYSTEM + INSTRUCTION)
    store.put("base", short)
    store.put("base", long)
    store.put("adapter", prefix_of(SYSTEM + INSTRUCTION + review(1)))
    prompt = SYSTEM + INSTRUCTION + review(1)
    assert store.longest("base", prompt) is long
    assert store.longest("base", SYSTEM + review(2)) is short
    assert store.longest("other", prompt) is None
    # A stored prefix as long as the prompt is never used: one token must be left to feed.
    assert store.longest("adapter", prompt) is None
    assert store.longest("adapter", [*prompt, 9]) is not None
    assert store.get("base", SYSTEM) is short and store.get("base", SYSTEM[:5]) is None


def test_store_evicts_least_recently_used_past_its_budget() -> None:
    one = prefix_of(review(1, 100))
    store = PrefixStore(int(one.nbytes * 2.5))
    store.put("m", one)
    store.put("m", prefix_of(review(2, 100)))
    assert store.longest("m", [*review(1, 100), 1]) is one  # now the most recently used
    store.put("m", prefix_of(review(3, 100)))
    assert len(store) == 2 and store.stats.evicted == 1
    assert store.get("m", review(2, 100)) is None  # the least recently used went
    assert store.get("m", review(1, 100)) is one
    assert store.nbytes == 2 * one.nbytes


def test_a_disabled_store_keeps_nothing() -> None:
    store = PrefixStore(0)
    assert not store.enabled
    store.put("m", prefix_of(SYSTEM))
    assert len(store) == 0 and store.nbytes == 0


def test_prefix_cache_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", raising=False)
    assert prefix_cache_bytes() == 256 * 2**20
    monkeypatch.setenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", "0")
    assert prefix_cache_bytes() == 0
    monkeypatch.setenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", "1.5")
    assert prefix_cache_bytes() == 3 * 2**19
    for bad in ("lots", "-1"):
        monkeypatch.setenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", bad)
        with pytest.raises(ModelError) as caught:
            prefix_cache_bytes()
        message = str(caught.value)
        assert f"BRITTLE_LOCAL_PREFIX_CACHE_MB={bad!r} is not valid" in message
        assert "at least 0" in message and "default: 256" in message


def test_shared_store_reads_the_setting_once(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = replace_shared_store(None)
    try:
        monkeypatch.setenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", "2")
        store = shared_store()
        assert store.max_bytes == 2 * 2**20
        monkeypatch.setenv("BRITTLE_LOCAL_PREFIX_CACHE_MB", "4")
        assert shared_store() is store
    finally:
        replace_shared_store(previous)


def test_prefix_reuse_only_for_models_whose_layers_all_attend_fully() -> None:
    from types import SimpleNamespace

    from transformers import Gemma2Config, LlamaConfig, MistralConfig, Qwen2Config

    from brittle.local.generation import _full_attention_only

    def model(config: object) -> object:
        return SimpleNamespace(config=config)

    assert _full_attention_only(model(LlamaConfig()))  # SmolLM2's architecture
    assert _full_attention_only(model(Qwen2Config()))  # sliding window declared but unused
    assert not _full_attention_only(model(MistralConfig()))  # sliding window in every layer
    assert not _full_attention_only(model(Gemma2Config()))  # alternating sliding/full layers
