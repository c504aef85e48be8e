"""The ``local/`` litellm provider against the real embedded SmolLM2-135M-Instruct.

Prompts are short and ``max_tokens`` small: the machine has two shared cores. The module-scoped
fixtures load the model once and build one tiny LoRA adapter for all tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest

from brittle._errors import ModelError
from brittle.local import LocalModelRef, local_fingerprint, parse_local_model, register

# Before litellm is imported anywhere: otherwise it fetches a price list from the internet.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL = "local/smollm2"
PROMPTS = [
    "What is the capital of France?",
    "Is this review positive or negative? 'Terrible service, cold food.' Answer with one word.",
    "Name a fruit that is yellow.",
    "Write a haiku about the sea.",
    "What is 2+2?",
    "Translate 'good morning' into Spanish.",
    "Give me a synonym for happy.",
    "Who wrote Romeo and Juliet?",
]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --- model strings (no model needed) -----------------------------------------------------------


def test_parse_builtin_and_prefix() -> None:
    assert parse_local_model("local/smollm2") == LocalModelRef("smollm2", None)
    assert parse_local_model("smollm2") == LocalModelRef("smollm2", None)


def test_parse_adapter_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ref = parse_local_model("local/smollm2+adapters/sentiment-lora")
    assert ref == LocalModelRef("smollm2", tmp_path / "adapters" / "sentiment-lora")
    assert str(ref) == f"local/smollm2+{tmp_path}/adapters/sentiment-lora"


def test_parse_folder_base_with_plus_in_its_name(tmp_path: Path) -> None:
    base = tmp_path / "ckpt+v2"
    base.mkdir()
    assert parse_local_model(f"local/{base}") == LocalModelRef(str(base), None)
    ref = parse_local_model(f"local/{base}+{tmp_path}/lora")
    assert ref == LocalModelRef(str(base), tmp_path / "lora")


def test_parse_rejects_empty_parts() -> None:
    with pytest.raises(ModelError, match="both sides of '\\+'"):
        parse_local_model("local/smollm2+")
    with pytest.raises(ModelError, match="empty local model name"):
        parse_local_model("local/")


def test_register_is_idempotent_and_imports_no_torch() -> None:
    code = (
        "import sys, litellm, brittle.local as bl\n"
        "h = bl.register(); assert bl.register() is h\n"
        "entries = [e for e in litellm.custom_provider_map if e['provider'] == 'local']\n"
        "assert len(entries) == 1, entries\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


@pytest.mark.parametrize(
    "imports",
    [
        "import brittle; assert 'litellm' not in sys.modules; import litellm",
        "import litellm, brittle",
        # another library looking litellm up first must not use the registration up
        "import brittle, importlib.util; assert importlib.util.find_spec('litellm'); "
        "import litellm",
    ],
)
def test_importing_brittle_registers_the_provider_without_importing_litellm(imports: str) -> None:
    code = (
        f"import sys; {imports}\n"
        "entries = [e for e in litellm.custom_provider_map if e['provider'] == 'local']\n"
        "assert len(entries) == 1, entries\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules\n"
    )
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)


def test_fingerprint_of_a_checkpoint_folder_follows_its_weights(tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "model.safetensors").write_bytes(b"weights v1")
    (folder / "README.md").write_text("notes")
    first = local_fingerprint(f"local/{folder}")
    assert first["base"] == "checkpoint folder" and "adapter_sha256" not in first
    (folder / "README.md").write_text("other notes")
    assert local_fingerprint(f"local/{folder}") == first
    (folder / "model.safetensors").write_bytes(b"weights v2 (retrained)")
    assert local_fingerprint(f"local/{folder}")["base_sha256"] != first["base_sha256"]


def test_fingerprint_of_an_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelError, match=r"unknown local model 'gpt-9'.*\n  fix: write"):
        local_fingerprint("local/gpt-9")


# --- fixtures for model tests ------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Any:
    import litellm

    litellm.suppress_debug_info = True
    register()
    return litellm


@pytest.fixture(scope="module")
def batcher(llm: Any) -> Any:
    from brittle.local.provider import get_batcher

    return get_batcher()


def _write_adapter(folder: Path, seed: int) -> None:
    """A rank-4 LoRA on q_proj/v_proj with seeded non-zero lora_B, so it changes outputs.

    The model it is built on is an uninitialised copy of SmolLM2's architecture: adapter
    weights depend only on layer shapes, and the shared base model must not be touched.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from brittle.local.models import load_base_model

    config = load_base_model("smollm2").model.config
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    skeleton.to_empty(device="cpu")
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    with warnings.catch_warnings():  # peft calls an API that transformers 5 deprecated
        warnings.simplefilter("ignore", FutureWarning)
        peft_model = get_peft_model(skeleton, lora)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_A" in name or "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.2)
    peft_model.save_pretrained(folder)


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory: pytest.TempPathFactory, llm: Any) -> Path:
    folder = tmp_path_factory.mktemp("adapters") / "tiny-lora"
    _write_adapter(folder, seed=0)
    return folder


def complete(llm: Any, prompt: str, model: str = MODEL, **params: Any) -> Any:
    params.setdefault("temperature", 0)
    return llm.completion(model=model, messages=user(prompt), **params)


def text_of(response: Any) -> str:
    return str(response.choices[0].message.content)


# --- answers -----------------------------------------------------------------------------------


@pytest.mark.model
def test_completion_answers_with_usage(llm: Any) -> None:
    response = complete(llm, "What is the capital of France?", max_tokens=12)
    assert "Paris" in text_of(response)
    assert response.choices[0].finish_reason == "stop"
    assert response.model == MODEL
    usage = response.usage
    assert usage.prompt_tokens > 10 and 0 < usage.completion_tokens <= 12
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


@pytest.mark.model
def test_acompletion_answers_and_honours_system_message(llm: Any) -> None:
    messages = [
        {"role": "system", "content": "You answer with exactly one word."},
        {"role": "user", "content": "Is this review positive or negative? 'I loved it!'"},
    ]
    response = asyncio.run(
        llm.acompletion(model=MODEL, messages=messages, temperature=0, max_tokens=4)
    )
    assert "positive" in text_of(response).lower()


@pytest.mark.model
def test_batched_outputs_equal_sequential_outputs(llm: Any, batcher: Any) -> None:
    sequential = [text_of(complete(llm, prompt, max_tokens=8)) for prompt in PROMPTS]

    async def together() -> list[Any]:
        calls = [
            llm.acompletion(model=MODEL, messages=user(p), temperature=0, max_tokens=8)
            for p in PROMPTS
        ]
        return list(await asyncio.gather(*calls))

    batcher.reset_stats()
    batched = [text_of(response) for response in asyncio.run(together())]
    stats = batcher.stats
    assert stats.requests == len(PROMPTS)
    assert stats.largest >= 4 and stats.batches <= 3, stats  # really batched, not one by one
    assert batched == sequential


FEW_SHOT = (
    "Classify the sentiment of a product review as positive or negative. A review is positive "
    "if the writer is satisfied and would recommend the product, and negative otherwise.\n\n"
    "Review: The kettle boils fast and looks lovely.\nSentiment: positive\n\n"
    "Review: The zip broke on the first day.\nSentiment: negative\n\n"
    "Review: {review}\nSentiment:"
)
REWORDED = "Is this review positive or negative? Answer with one word.\n\nReview: {review}"
REVIEWS = [
    "Great battery life and a sharp screen.",
    "It stopped working after a week.",
    "Comfortable, warm and well made.",
    "The customer service never replied to my emails.",
    "Cheap plastic that cracked in the post.",
    "Exactly what I needed for my kitchen.",
]


@pytest.mark.model
def test_shared_prefixes_give_the_outputs_of_whole_prompts(llm: Any, adapter_dir: Path) -> None:
    from brittle.local.prefix import PrefixStore, replace_shared_store

    prompts = [FEW_SHOT.format(review=r) for r in REVIEWS]
    prompts += [REWORDED.format(review=r) for r in REVIEWS[:2]]  # a second template in the batch

    def run(model: str, store: PrefixStore) -> list[str]:
        async def together() -> list[Any]:
            calls = [
                llm.acompletion(model=model, messages=user(p), temperature=0, max_tokens=6)
                for p in prompts
            ]
            return list(await asyncio.gather(*calls))

        previous = replace_shared_store(store)
        try:
            return [text_of(response) for response in asyncio.run(together())]
        finally:
            replace_shared_store(previous)

    adapted = f"{MODEL}+{adapter_dir}"
    whole = {model: run(model, PrefixStore(0)) for model in (MODEL, adapted)}
    assert whole[MODEL] != whole[adapted]

    store = PrefixStore(64 * 2**20)  # one store: the base's prefixes must not serve the adapter
    for model in (MODEL, adapted):
        assert run(model, store) == whole[model]
    assert store.stats.computed >= 2 and store.stats.hits >= 2 * len(prompts)
    reused = store.stats.tokens_reused
    assert reused > 4 * len(prompts) * 30  # the few-shot rows skip their long shared beginning
    # A lone call later reuses the stored prefix and still answers as its whole prompt does.
    previous = replace_shared_store(store)
    try:
        alone = text_of(complete(llm, prompts[3], max_tokens=6))
    finally:
        replace_shared_store(previous)
    assert store.stats.tokens_reused > reused
    assert alone == whole[MODEL][3]


@pytest.mark.model
def test_max_tokens_and_stop(llm: Any) -> None:
    prompt = "What is the capital of France?"
    cut = complete(llm, prompt, max_tokens=3)
    assert cut.choices[0].finish_reason == "length"
    assert cut.usage.completion_tokens == 3

    full = complete(llm, prompt, max_tokens=12)
    assert "Paris" in text_of(full)
    expected = text_of(full)[: text_of(full).index("Paris")]
    stopped = complete(llm, prompt, max_tokens=12, stop=["zzz", "Paris"])
    assert text_of(stopped) == expected
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.usage.completion_tokens < full.usage.completion_tokens  # ended early
    assert text_of(complete(llm, prompt, max_tokens=12, stop="Paris")) == expected


@pytest.mark.model
def test_seeded_sampling_is_reproducible(llm: Any) -> None:
    prompt = "Write a short name for a cat."
    first = complete(llm, prompt, temperature=1.0, top_p=0.95, seed=7, max_tokens=8)
    again = complete(llm, prompt, temperature=1.0, top_p=0.95, seed=7, max_tokens=8)
    assert text_of(first) == text_of(again)


# --- adapters ----------------------------------------------------------------------------------


@pytest.mark.model
def test_adapter_changes_outputs_but_not_the_shared_base(llm: Any, adapter_dir: Path) -> None:
    prompt = "What is the capital of France?"
    plain_before = text_of(complete(llm, prompt, max_tokens=6))
    adapted = text_of(complete(llm, prompt, model=f"{MODEL}+{adapter_dir}", max_tokens=6))
    plain_after = text_of(complete(llm, prompt, max_tokens=6))
    assert adapted != plain_before
    assert plain_after == plain_before
    from brittle.local.models import load_base_model

    shared = load_base_model("smollm2").model  # fine-tuning deep-copies it: it must stay plain
    assert not any("lora" in name for name, _ in shared.named_modules())


@pytest.mark.model
def test_adapter_changes_fingerprint(tmp_path: Path, adapter_dir: Path) -> None:
    plain = local_fingerprint(MODEL)
    assert plain["base"] == "smollm2" and len(plain["base_sha256"]) == 64
    assert "adapter_sha256" not in plain
    folder = tmp_path / "lora"
    shutil.copytree(adapter_dir, folder)
    adapted = local_fingerprint(f"{MODEL}+{folder}")
    assert adapted["base_sha256"] == plain["base_sha256"]
    assert "lora" not in str(adapted)  # no folder names or paths: baselines move across machines
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.copytree(folder, moved)
    assert local_fingerprint(f"{MODEL}+{moved}") == adapted
    (folder / "README.md").write_text("edited notes\n")
    assert local_fingerprint(f"{MODEL}+{folder}") == adapted  # docs do not count
    _write_adapter(folder, seed=1)  # retrained: new weights
    assert local_fingerprint(f"{MODEL}+{folder}")["adapter_sha256"] != adapted["adapter_sha256"]


@pytest.mark.model
def test_missing_adapter_is_a_clear_error(llm: Any, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-adapter"
    with pytest.raises(Exception) as info:
        complete(llm, "Hi", model=f"{MODEL}+{missing}", max_tokens=2)
    assert isinstance(info.value, llm.BadRequestError)
    message = str(info.value)
    assert f"LoRA adapter folder '{missing}' does not exist" in message
    assert "fix:" in message and "Traceback" not in message
    with pytest.raises(ModelError, match="does not exist"):
        local_fingerprint(f"{MODEL}+{missing}")


@pytest.mark.model
def test_corrupt_adapters_are_clear_errors(llm: Any, adapter_dir: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated"
    shutil.copytree(adapter_dir, truncated)
    weights = truncated / "adapter_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])
    garbage = tmp_path / "garbage"
    shutil.copytree(adapter_dir, garbage)
    (garbage / "adapter_model.safetensors").write_text("<html>404 Not Found</html>")
    no_config = tmp_path / "no-config"
    shutil.copytree(adapter_dir, no_config)
    (no_config / "adapter_config.json").unlink()

    mismatched = tmp_path / "mismatched"  # weights of rank 4, config says rank 8
    shutil.copytree(adapter_dir, mismatched)
    config = json.loads((mismatched / "adapter_config.json").read_text())
    (mismatched / "adapter_config.json").write_text(json.dumps({**config, "r": 8}))

    expected = {
        truncated: [f"'{weights}' is damaged", "truncated", "save_pretrained"],
        garbage: ["is damaged", "safetensors header", "fix:"],
        no_config: [f"'{no_config}' has no adapter_config.json", "save_pretrained"],
        mismatched: ["cannot be loaded onto base model 'smollm2'", "size mismatch", "fix:"],
    }
    plain_before = text_of(complete(llm, "Hi", max_tokens=6))
    for folder, phrases in expected.items():
        with pytest.raises(llm.BadRequestError) as info:
            complete(llm, "Hi", model=f"{MODEL}+{folder}", max_tokens=2)
        for phrase in phrases:
            assert phrase in str(info.value), (folder, str(info.value))
    assert text_of(complete(llm, "Hi", max_tokens=6)) == plain_before  # a failed load left no trace


@pytest.mark.model
def test_unknown_local_model_is_a_clear_error(llm: Any) -> None:
    with pytest.raises(llm.BadRequestError) as info:
        complete(llm, "Hi", model="local/gpt-9", max_tokens=2)
    message = str(info.value)
    assert "unknown local model 'gpt-9'" in message
    assert "smollm2" in message and "checkpoint folder" in message and "fix:" in message


@pytest.mark.model
def test_overlong_prompt_fails_alone_with_token_counts(llm: Any) -> None:
    long_prompt = "word " * 9000

    async def both() -> list[Any]:
        calls = [
            llm.acompletion(model=MODEL, messages=user(text), temperature=0, max_tokens=4)
            for text in (long_prompt, "What is 2+2?")
        ]
        return list(await asyncio.gather(*calls, return_exceptions=True))

    too_long, fine = asyncio.run(both())
    assert isinstance(too_long, llm.BadRequestError)
    message = str(too_long)
    assert "over the model's context of 8,192 tokens" in message
    assert "max_tokens is 4" in message and "shorten the prompt" in message
    assert not isinstance(fine, BaseException) and text_of(fine)


@pytest.mark.model
def test_bad_parameters_fail_before_generation(llm: Any) -> None:
    with pytest.raises(llm.BadRequestError, match="n=2"):
        complete(llm, "Hi", n=2)
    with pytest.raises(llm.BadRequestError, match="max_tokens=0"):
        complete(llm, "Hi", max_tokens=0)


def test_an_unexpected_failure_is_a_clear_error_not_retried(
    llm: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import brittle.local.generation as generation

    calls: list[int] = []

    def broken(*args: Any) -> Any:
        calls.append(1)
        raise AttributeError("'CausalLMOutputWithPast' object has no attribute 'cache'")

    monkeypatch.setattr(generation, "run_batch", broken)
    with pytest.raises(llm.BadRequestError) as caught:  # a client error: litellm does not retry
        complete(llm, "Hi", max_tokens=2)
    message = str(caught.value)
    assert "the local model failed unexpectedly: AttributeError:" in message
    assert re.search(r"transformers \d", message) and "please report it" in message
    assert "bug in LiteLLM" not in message
    assert calls == [1]


# --- no network ----------------------------------------------------------------------------------


@pytest.mark.model
def test_no_socket_is_opened(llm: Any, tmp_path: Path, adapter_dir: Path) -> None:
    events: list[tuple[str, Any]] = []
    armed = threading.Event()

    def watch(event: str, args: Any) -> None:
        if armed.is_set() and event in ("socket.connect", "socket.getaddrinfo", "socket.bind"):
            events.append((event, args))

    sys.addaudithook(watch)  # audit hooks cannot be removed: `armed` bounds this one
    fresh = tmp_path / "fresh-lora"
    shutil.copytree(adapter_dir, fresh)  # not loaded yet: peft loading is inside the window
    armed.set()
    try:
        complete(llm, "What is 2+2?", max_tokens=4)
        complete(llm, "What is 2+2?", model=f"{MODEL}+{fresh}", max_tokens=4)
        asyncio.run(llm.acompletion(model=MODEL, messages=user("Hi"), temperature=0, max_tokens=2))
    finally:
        armed.clear()
    assert events == []
