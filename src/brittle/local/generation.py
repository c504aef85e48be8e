"""Run one batch of chat requests through a local model: one left-padded ``generate`` call.

Requests in a batch share the model, the adapter and the sampling parameters; ``max_tokens`` and
``stop`` may differ per row and are enforced by a per-row stopping criterion, so one short answer
does not end its neighbours and a finished row stops counting tokens.

Only the provider's worker thread calls this module, and only after the first request: it
imports torch and transformers at module level.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import torch
from transformers import GenerationConfig, StoppingCriteria, StoppingCriteriaList

from brittle._errors import ModelError
from brittle.local import adapters
from brittle.local.models import LoadedModel, load_base_model
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


def _left_pad(rows: Sequence[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad to one length: every prompt then ends where generation begins."""
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, width - len(row) :] = torch.tensor(row, dtype=torch.long)
        attention[index, width - len(row) :] = 1
    return input_ids, attention


def _generate(
    model: Any,
    loaded: LoadedModel,
    prompts: Sequence[list[int]],
    requests: Sequence[GenerationRequest],
    sampling: SamplingParams,
) -> list[Completion]:
    tokenizer = loaded.tokenizer
    pad_id = int(tokenizer.pad_token_id)
    input_ids, attention = _left_pad(prompts, pad_id)
    limits = [request.params.max_tokens for request in requests]
    stops = [request.params.stop for request in requests]
    config = _generation_config(loaded, sampling, max(limits))
    criteria = StoppingCriteriaList([_RowLimits(input_ids.shape[1], limits, stops, tokenizer)])
    with torch.inference_mode():
        if sampling.seed is not None and not sampling.greedy:
            # A private RNG state: reproducible per seed, and the global stream stays untouched.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(sampling.seed)
                output = model.generate(
                    input_ids=input_ids,
                    attention_mask=attention,
                    generation_config=config,
                    stopping_criteria=criteria,
                )
        else:
            output = model.generate(
                input_ids=input_ids,
                attention_mask=attention,
                generation_config=config,
                stopping_criteria=criteria,
            )
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
            )
        )
    return completions


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
    with adapters.adapted(loaded, ref.adapter) as model:
        completions = _generate(model, loaded, prompts, [requests[i] for i in valid], sampling)
    for index, completion in zip(valid, completions, strict=True):
        results[index] = completion
    return results
