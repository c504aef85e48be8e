"""A shared prefix is computed with one forward pass whose logits are asked for the last
position only, and it holds exactly the keys and values of a plain forward pass."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import torch

from brittle.local.generation import CACHE_KEYWORD, _compute_prefix
from brittle.local.models import load_base_model

pytestmark = pytest.mark.model


def test_a_prefix_skips_the_vocabulary_projection_and_keeps_the_same_keys_and_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = load_base_model("smollm2").model
    tokens = list(range(1000, 1100))
    calls: list[dict[str, Any]] = []
    plain = model.forward

    @functools.wraps(plain)
    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return plain(*args, **kwargs)

    monkeypatch.setattr(model, "forward", spy)
    prefix = _compute_prefix(model, tokens)
    assert [call.get("logits_to_keep") for call in calls] == [1]
    monkeypatch.undo()
    with torch.inference_mode():
        whole = model(input_ids=torch.tensor([tokens]), use_cache=True)
    layers = getattr(whole, CACHE_KEYWORD).layers
    assert len(prefix.layers) == len(layers)
    for (keys, values), layer in zip(prefix.layers, layers, strict=True):
        assert torch.equal(keys, layer.keys)
        assert torch.equal(values, layer.values)
