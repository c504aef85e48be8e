"""Run one batch of chat requests through a local model: one left-padded ``generate`` call.

Requests in a batch share the model, the adapter and the sampling parameters; ``max_tokens`` and
``stop`` may differ per row and are enforced by a per-row stopping criterion, so one short answer
does not end its neighbours and a finished row stops counting tokens.

Only the provider's worker thread calls this module, and only after the first request: it
imports torch and transformers at module level.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Hashable, Sequence
from typing import Any, Literal

import torch
from transformers import DynamicCache, GenerationConfig, StoppingCriteria, StoppingCriteriaList
from transformers.modeling_outputs import CausalLMOutputWithPast

from brittle._errors import ModelError
from brittle.local import adapters
from brittle.local.logprobs import row_logprobs
from brittle.local.models import LoadedModel, load_base_model
from brittle.local.prefix import Prefix, plan_prefixes, shared_store, split_by_length
from brittle.local.refs import LocalModelRef
from brittle.local.requests import Completion, GenerationRequest, SamplingParams


class _RowLimits(StoppingCriteria):
    """Ends each row at its own ``max_tokens`` or at the first of its stop strings."""

    def __init__(
        self,
        prompt_len: int,
        limits: Sequence[int],
        stops: Sequence[tuple[str, ...]],
        tokenizer: Any,
    ) -> None:
        self.prompt_len = prompt_len
        self.limits = list(limits)
        self.stops = list(stops)
        self.tokenizer = tokenizer

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        generated = input_ids.shape[1] - self.prompt_len
        done = [generated >= limit for limit in self.limits]
        for row, stops in enumerate(self.stops):
            if stops and not done[row]:
                text = self.tokenizer.decode(
                    input_ids[row, self.prompt_len :], skip_special_tokens=True
                )
                done[row] = any(stop in text for stop in stops)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


def encode_prompt(loaded: LoadedModel, request: GenerationRequest) -> list[int]:
    """Token ids of the chat-templated prompt, checked against the model's context length."""
    tokenizer = loaded.tokenizer
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            f"local model '{loaded.name}' has no chat template, so chat messages cannot be "
            "turned into a prompt\n  fix: use an instruction-tuned checkpoint, or add its "
            "chat_template.jinja to the folder"
        )
    text = tokenizer.apply_chat_template(
        list(request.messages), add_generation_prompt=True, tokenize=False
    )
    ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    max_tokens = request.params.max_tokens
    limit = loaded.context_length
    if max_tokens >= limit:
        raise ModelError(
            f"max_tokens={max_tokens:,} leaves no room for the prompt ({len(ids):,} tokens) in "
            f"the context of local model '{loaded.name}' ({limit:,} tokens)\n  fix: lower "
            f"max_tokens to at most {max(limit - len(ids), 1):,}"
        )
    if len(ids) + max_tokens > limit:
        raise ModelError(
            f"the prompt for local model '{loaded.name}' is {len(ids):,} tokens and max_tokens "
            f"is {max_tokens:,}: {len(ids) + max_tokens:,} tokens in all, over the model's "
            f"context of {limit:,} tokens\n  fix: shorten the prompt (its template, inputs or "
            f"examples) to at most {max(limit - max_tokens, 0):,} tokens, or lower max_tokens"
        )
    return ids


def _eos_ids(loaded: LoadedModel) -> list[int]:
    eos = loaded.model.generation_config.eos_token_id
    if eos is None:
        eos = loaded.tokenizer.eos_token_id
    if eos is None:
        return []
    return [int(eos)] if isinstance(eos, int) else [int(item) for item in eos]


def _generation_config(
    loaded: LoadedModel, sampling: SamplingParams, max_new_tokens: int
) -> GenerationConfig:
    eos = _eos_ids(loaded)
    options: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "pad_token_id": loaded.tokenizer.pad_token_id,
        "eos_token_id": eos or None,
    }
    if sampling.greedy:
        options.update(do_sample=False)
    else:
        options.update(
            do_sample=True,
            temperature=sampling.temperature,
            top_p=sampling.top_p if sampling.top_p is not None else 1.0,
            top_k=0,  # OpenAI semantics: no top-k cut unless asked
        )
    return GenerationConfig(**options)


def _cache_keyword() -> str:
    """transformers 5.2x names the key-value cache ``cache``; earlier releases (and 5.2x too,
    deprecated) ``past_key_values``."""
    names = {field.name for field in dataclasses.fields(CausalLMOutputWithPast)}
    return "cache" if "cache" in names else "past_key_values"


CACHE_KEYWORD = _cache_keyword()


def _full_attention_only(model: Any) -> bool:
    """Whether every layer keeps plain keys and values for all positions: a sliding-window or
    recurrent layer (Mistral, Gemma, hybrid models from a ``local/<folder>``) is not handled by
    prefix reuse, so such models read their prompts whole."""
    config = model.config
    if hasattr(config, "get_text_config"):
        config = config.get_text_config()
    layer_types = getattr(config, "layer_types", None) or ()
    if any(kind != "full_attention" for kind in layer_types):
        return False
    return not (
        getattr(config, "sliding_window", None) and getattr(config, "use_sliding_window", True)
    )


def _compute_prefix(model: Any, tokens: Sequence[int]) -> Prefix:
    """The keys and values of ``tokens``. Only the cache is kept, so the logits are asked for
    the last position alone (where the model takes ``logits_to_keep``): the vocabulary
    projection of every position was a quarter of a few-shot prefix's cost, and the keys and
    values are the same bits either way."""
    options: dict[str, Any] = {"use_cache": True}
    if "logits_to_keep" in inspect.signature(model.forward).parameters:
        options["logits_to_keep"] = 1
    with torch.inference_mode():
        output = model(input_ids=torch.tensor([list(tokens)], dtype=torch.long), **options)
    cache = getattr(output, CACHE_KEYWORD)
    layers = tuple((layer.keys, layer.values) for layer in cache.layers)
    return Prefix(tokens=tuple(tokens), layers=layers)


def _choose_prefixes(
    model: Any, key: Hashable, prompts: Sequence[list[int]]
) -> list[Prefix | None]:
    """Per prompt, the stored or newly computed prefix it starts with (None: feed it whole)."""
    store = shared_store()
    if not store.enabled or not _full_attention_only(model):
        return [None] * len(prompts)
    plan = plan_prefixes(prompts, stored=lambda tokens: store.get(key, tokens) is not None)
    chosen: list[Prefix | None] = []
    made: dict[tuple[int, ...], Prefix] = {}
    for prompt, size in zip(prompts, plan, strict=True):
        found = store.longest(key, prompt)
        if size and (found is None or len(found.tokens) < size):
            tokens = tuple(prompt[:size])
            found = made.get(tokens) or store.get(key, tokens)
            if found is None:
                found = made[tokens] = _compute_prefix(model, tokens)
                store.put(key, found)
        if found is not None:
            store.stats.hits += 1
            store.stats.tokens_reused += len(found.tokens)
        chosen.append(found)
    return chosen


def _inputs(
    prompts: Sequence[list[int]], prefixes: Sequence[Prefix | None], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, DynamicCache | None]:
    """Token ids, attention mask and (when any row has a prefix) the cache to generate from.

    Row layout: ``[pad][prefix][pad][rest of prompt]``. The prefix part, right-aligned in the
    first ``width`` positions, is already in the cache; the rest is left-padded so that every
    row ends where generation begins. Positions come from the attention mask, so padding in the
    middle shifts nothing.
    """
    sizes = [len(prefix.tokens) if prefix is not None else 0 for prefix in prefixes]
    width = max(sizes)
    rests = [prompt[size:] for prompt, size in zip(prompts, sizes, strict=True)]
    total = width + max(len(rest) for rest in rests)
    input_ids = torch.full((len(prompts), total), pad_id, dtype=torch.long)
    attention = torch.zeros((len(prompts), total), dtype=torch.long)
    for row, (prompt, size, rest) in enumerate(zip(prompts, sizes, rests, strict=True)):
        input_ids[row, width - size : width] = torch.tensor(prompt[:size], dtype=torch.long)
        attention[row, width - size : width] = 1
        input_ids[row, total - len(rest) :] = torch.tensor(rest, dtype=torch.long)
        attention[row, total - len(rest) :] = 1
    if width == 0:
        return input_ids, attention, None
    template = next(prefix for prefix in prefixes if prefix is not None)
    layers = []
    for index, (keys, values) in enumerate(template.layers):
        shape = (len(prompts), keys.shape[1], width, keys.shape[3])
        batch_keys, batch_values = keys.new_zeros(shape), values.new_zeros(shape)
        for row, (prefix, size) in enumerate(zip(prefixes, sizes, strict=True)):
            if prefix is not None:
                batch_keys[row, :, width - size :] = prefix.layers[index][0][0]
                batch_values[row, :, width - size :] = prefix.layers[index][1][0]
        layers.append((batch_keys, batch_values))
    return input_ids, attention, DynamicCache(ddp_cache_data=layers)


def _generate(
    model: Any,
    loaded: LoadedModel,
    prompts: Sequence[list[int]],
    prefixes: Sequence[Prefix | None],
    requests: Sequence[GenerationRequest],
    sampling: SamplingParams,
) -> list[Completion]:
    tokenizer = loaded.tokenizer
    pad_id = int(tokenizer.pad_token_id)
    input_ids, attention, cache = _inputs(prompts, prefixes, pad_id)
    limits = [request.params.max_tokens for request in requests]
    stops = [request.params.stop for request in requests]
    config = _generation_config(loaded, sampling, max(limits))
    criteria = StoppingCriteriaList([_RowLimits(input_ids.shape[1], limits, stops, tokenizer)])
    options: dict[str, Any] = {
        "input_ids": input_ids,
        "attention_mask": attention,
        "generation_config": config,
        "stopping_criteria": criteria,
    }
    if cache is not None:
        options[CACHE_KEYWORD] = cache
    asked = any(request.params.logprobs for request in requests)
    if asked:  # the raw logits of each step, read after generate (no answer changes)
        config.output_logits = config.return_dict_in_generate = True
    with torch.inference_mode():
        if sampling.seed is not None and not sampling.greedy:
            # A private RNG state: reproducible per seed, and the global stream stays untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(sampling.seed)
                output = model.generate(**options)
        else:
            output = model.generate(**options)
    logits = output.logits if asked else None
    if asked:
        output = output.sequences
    ends = set(_eos_ids(loaded)) | {pad_id}
    completions = []
    for row, request in enumerate(requests):
        tokens = output[row, input_ids.shape[1] :].tolist()[: limits[row]]
        count = next((i for i, token in enumerate(tokens) if token in ends), len(tokens))
        text = tokenizer.decode(tokens[:count], skip_special_tokens=True)
        cuts = [text.find(stop) for stop in request.params.stop if stop in text]
        reason: Literal["stop", "length"] = "stop"
        if cuts:
            text = text[: min(cuts)]
        elif count >= limits[row]:
            reason = "length"
        completions.append(
            Completion(
                text=text,
                finish_reason=reason,
                prompt_tokens=len(prompts[row]),
                completion_tokens=count,
                logprobs=row_logprobs(
                    logits, row, tokens[:count], tokenizer, request.params.top_logprobs
                )
                if logits is not None and request.params.logprobs
                else None,
            )
        )
    return completions


def _generate_all(
    model: Any,
    key: Hashable,
    loaded: LoadedModel,
    prompts: Sequence[list[int]],
    requests: Sequence[GenerationRequest],
    sampling: SamplingParams,
) -> list[Completion]:
    """Generate for every prompt: shared prefixes reused, and rows whose remaining lengths
    differ widely in separate ``generate`` calls (padding costs as much as real tokens)."""
    prefixes = _choose_prefixes(model, key, prompts)
    rests = [
        len(prompt) - (len(p.tokens) if p else 0)
        for prompt, p in zip(prompts, prefixes, strict=True)
    ]
    results: list[Completion | None] = [None] * len(prompts)
    for group in split_by_length(rests):
        done = _generate(
            model,
            loaded,
            [prompts[row] for row in group],
            [prefixes[row] for row in group],
            [requests[row] for row in group],
            sampling,
        )
        for row, completion in zip(group, done, strict=True):
            results[row] = completion
    return [completion for completion in results if completion is not None]


def run_batch(
    ref: LocalModelRef, sampling: SamplingParams, requests: Sequence[GenerationRequest]
) -> list[Completion | ModelError]:
    """Generate for every request; a request's own problem (a prompt too long) comes back in
    its slot, while a problem of the whole batch (unknown model, bad adapter) is raised."""
    loaded = load_base_model(ref.base)
    results: list[Completion | ModelError] = []
    valid: list[int] = []
    prompts: list[list[int]] = []
    for index, request in enumerate(requests):
        try:
            prompts.append(encode_prompt(loaded, request))
        except ModelError as exc:
            results.append(exc)
            continue
        results.append(Completion("", "stop", 0, 0))  # replaced below
        valid.append(index)
    if not valid:
        return results
    with adapters.adapted(loaded, ref.adapter) as (model, adapter_name):
        completions = _generate_all(
            model,
            (loaded.name, adapter_name),
            loaded,
            prompts,
            [requests[i] for i in valid],
            sampling,
        )
    for index, completion in zip(valid, completions, strict=True):
        results[index] = completion
    return results
