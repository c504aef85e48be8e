"""LoRA fine-tuning (brittle.local.finetune) and the sentiment fixtures it trains on.

Fast tests check input validation and the data (no model). ``model`` tests train two steps on
the real SmolLM2; the ``slow`` test retrains the committed adapter and compares its answers.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import shlex
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brittle._errors import ConfigError
from brittle.local import finetune
from brittle.local.finetune import TrainingExample, encode_example, epoch_order, train_lora
from tests.support import ROOT

SENTIMENT = ROOT / "fixtures" / "sentiment"
PROMPTS = ROOT / "fixtures" / "prompts"
ADAPTER = ROOT / "fixtures" / "adapters" / "sentiment-lora"
TEMPLATE = PROMPTS / "sentiment_finetuned.txt"
LABELS = {"positive", "negative"}


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# Input validation: every error names the file and line, and comes before any model is loaded.


def test_missing_training_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ConfigError) as info:
        train_lora(missing, tmp_path / "out", template_file=TEMPLATE)
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_missing_template_file_is_named(tmp_path: Path) -> None:
    data = _write(tmp_path / "t.jsonl", ['{"id": "a", "text": "good", "expected": "positive"}'])
    with pytest.raises(ConfigError) as info:
        train_lora(data, tmp_path / "out", template_file=tmp_path / "missing.txt")
    assert "missing.txt" in str(info.value)


def test_row_without_expected_names_file_and_line(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "t.jsonl",
        [
            '{"id": "a", "text": "Lovely.", "expected": "positive"}',
            '{"id": "b", "text": "Awful.", "expected": "negative"}',
            '{"id": "c", "text": "No label here."}',
        ],
    )
    with pytest.raises(ConfigError) as info:
        train_lora(data, tmp_path / "out", template_file=TEMPLATE)
    message = str(info.value)
    assert f"{data}:3" in message
    assert "'expected'" in message
    assert "fix:" in message


def test_empty_expected_is_an_error(tmp_path: Path) -> None:
    data = _write(tmp_path / "t.jsonl", ['{"id": "a", "text": "Fine.", "expected": "  "}'])
    with pytest.raises(ConfigError, match=r"t\.jsonl:1.*empty"):
        train_lora(data, tmp_path / "out", template_file=TEMPLATE)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    data = _write(
        tmp_path / "t.jsonl",
        ['{"id": "a", "text": "Good.", "expected": "positive"}', '{"id": "b", "text": '],
    )
    with pytest.raises(ConfigError, match=r"t\.jsonl:2.*invalid JSON"):
        train_lora(data, tmp_path / "out", template_file=TEMPLATE)


def test_field_the_template_needs_is_missing(tmp_path: Path) -> None:
    data = _write(tmp_path / "t.jsonl", ['{"id": "a", "review": "Good.", "expected": "positive"}'])
    with pytest.raises(ConfigError) as info:
        train_lora(data, tmp_path / "out", template_file=TEMPLATE)
    assert f"{data}:1" in str(info.value)
    assert "'text'" in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"), [("rank", 0), ("epochs", 0), ("lr", 0.0), ("batch_size", 0)]
)
def test_bad_hyperparameters_are_refused(tmp_path: Path, option: str, value: float) -> None:
    data = _write(tmp_path / "t.jsonl", ['{"id": "a", "text": "Good.", "expected": "positive"}'])
    options: dict[str, Any] = {option: value}
    with pytest.raises(ConfigError, match=f"'{option}'"):
        train_lora(data, tmp_path / "out", template_file=TEMPLATE, **options)


def test_main_prints_the_error_and_returns_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = finetune.main(
        ["--train", str(tmp_path / "x.jsonl"), "--template", str(TEMPLATE), "--out", "o"]
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "x.jsonl" in err and "does not exist" in err
    assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------
# Pure pieces: data order and the prompt/answer masking.


def test_epoch_order_is_a_seeded_permutation() -> None:
    first = epoch_order(50, seed=0, epoch=0)
    assert sorted(first) == list(range(50))
    assert first == epoch_order(50, seed=0, epoch=0)
    assert first != epoch_order(50, seed=0, epoch=1)
    assert first != epoch_order(50, seed=1, epoch=0)


class _CharTokenizer:
    """One token per character; the chat template wraps the user message like ChatML."""

    eos_token = "$"

    def apply_chat_template(self, messages: list[dict[str, str]], **kwargs: Any) -> str:
        assert kwargs == {"add_generation_prompt": True, "tokenize": False}
        return f"<{messages[0]['content']}>A:"

    def __call__(self, text: str, add_special_tokens: bool) -> dict[str, list[int]]:
        assert add_special_tokens is False
        return {"input_ids": [ord(ch) for ch in text]}


def test_only_the_answer_and_end_of_turn_carry_loss() -> None:
    example = TrainingExample(id="a", prompt="Review: ok", answer="positive", source="f:1")
    ids, labels = encode_example(_CharTokenizer(), example)
    prompt = "<Review: ok>A:"
    assert "".join(map(chr, ids)) == prompt + "positive$"
    assert labels[: len(prompt)] == [-100] * len(prompt)
    assert "".join(map(chr, labels[len(prompt) :])) == "positive$"


def test_reproduce_command_parses_back() -> None:
    stats = {
        "seed": 3,
        "data": {"file": "fixtures/sentiment/train.jsonl"},
        "template": {"file": "fixtures/prompts/sentiment_finetuned.txt"},
        "hyperparameters": {
            "rank": 4,
            "alpha": 8,
            "dropout": finetune.DEFAULT_DROPOUT,
            "epochs": 2,
            "lr": 5e-4,
            "batch_size": finetune.DEFAULT_BATCH_SIZE,
            "target_modules": ["q_proj", "k_proj"],
            "max_steps": None,
        },
    }
    parser = argparse.ArgumentParser()
    finetune.add_arguments(parser)
    argv = shlex.split(finetune.reproduce_command(stats))[3:]
    args = parser.parse_args([a if a != "<folder>" else "out" for a in argv])
    assert (args.seed, args.rank, args.alpha, args.epochs, args.lr) == (3, 4, 8, 2, 5e-4)
    assert args.target_modules == "q_proj,k_proj"


# ---------------------------------------------------------------------------------------------
# The fixtures: labelled, balanced, and training data disjoint from the golden set.


@pytest.mark.parametrize(("name", "minimum"), [("golden.jsonl", 130), ("train.jsonl", 240)])
def test_sentiment_fixture_is_labelled_and_balanced(name: str, minimum: int) -> None:
    rows = _rows(SENTIMENT / name)
    assert len(rows) >= minimum
    assert len({row["id"] for row in rows}) == len(rows)
    assert {row["expected"] for row in rows} == LABELS
    counts = Counter(row["expected"] for row in rows)
    assert abs(counts["positive"] - counts["negative"]) <= len(rows) // 20


def test_training_data_is_disjoint_from_golden() -> None:
    """No golden review, nor a near copy of one (difflib ratio > 0.8), is trained on."""

    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    golden = [norm(row["text"]) for row in _rows(SENTIMENT / "golden.jsonl")]
    train = [norm(row["text"]) for row in _rows(SENTIMENT / "train.jsonl")]
    assert not set(golden) & set(train)
    close = []
    for g in golden:
        matcher = difflib.SequenceMatcher(None, b=g, autojunk=False)
        for t in train:
            matcher.set_seq1(t)
            # the quick ratios are cheap upper bounds of ratio(): most pairs stop there
            bounds = matcher.real_quick_ratio() > 0.8 and matcher.quick_ratio() > 0.8
            if bounds and matcher.ratio() > 0.8:
                close.append((g, t))
    assert close == []


def test_few_shot_examples_come_from_training_data() -> None:
    shots = re.findall(r"^Review: (.+)$", (PROMPTS / "sentiment_few_shot.txt").read_text(), re.M)
    texts = {row["text"] for row in _rows(SENTIMENT / "train.jsonl")}
    golden = {row["text"] for row in _rows(SENTIMENT / "golden.jsonl")}
    examples = [shot for shot in shots if "{{" not in shot]
    assert 4 <= len(examples) <= 6
    assert set(examples) <= texts
    assert not set(examples) & golden


def test_committed_adapter_is_complete_and_small() -> None:
    config = json.loads((ADAPTER / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "smollm2"
    assert config["peft_type"] == "LORA"
    assert (ADAPTER / "adapter_model.safetensors").stat().st_size <= 5_000_000
    stats = json.loads((ADAPTER / "training.json").read_text())
    assert stats["data"]["sha256"] == finetune._sha256(ROOT / stats["data"]["file"])
    assert stats["template"]["sha256"] == finetune._sha256(ROOT / stats["template"]["file"])
    assert "python -m brittle.local.finetune" in (ADAPTER / "README.md").read_text()


# ---------------------------------------------------------------------------------------------
# Real training on SmolLM2.


def _tiny_set(tmp_path: Path) -> Path:
    rows = _rows(SENTIMENT / "train.jsonl")[:8]
    return _write(tmp_path / "tiny.jsonl", [json.dumps(row) for row in rows])


@pytest.mark.model
def test_two_steps_train_save_and_are_deterministic(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    from brittle.local.models import load_base_model

    data = _tiny_set(tmp_path)
    threads = torch.get_num_threads()
    first = train_lora(data, tmp_path / "a", template_file=TEMPLATE, max_steps=2, batch_size=4)
    second = train_lora(data, tmp_path / "b", template_file=TEMPLATE, max_steps=2, batch_size=4)

    assert first["steps"] == 2 and first["final_loss"] == second["final_loss"]
    weights_a = load_file(tmp_path / "a" / "adapter_model.safetensors")
    weights_b = load_file(tmp_path / "b" / "adapter_model.safetensors")
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[key], weights_b[key]) for key in weights_a)
    assert first["reload_max_logit_diff"] <= 1e-3

    config = json.loads((tmp_path / "a" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == "smollm2"
    assert "--max-steps 2" in (tmp_path / "a" / "README.md").read_text()
    # the shared base model stays plain, and global torch settings are restored
    base = load_base_model("smollm2").model
    assert not any("lora" in name for name, _ in base.named_modules())
    assert torch.get_num_threads() == threads
    assert not torch.are_deterministic_algorithms_enabled()


_LABEL = re.compile(r"\b(positive|negative)\b", re.IGNORECASE)


def _golden_labels(adapter: Path) -> list[str | None]:
    """Greedy answers of SmolLM2 + adapter on the golden set (batches of 16, left-padded)."""
    import copy

    import torch
    from peft import PeftModel

    from brittle.local.models import load_base_model
    from brittle.spec.systems import Template

    loaded = load_base_model("smollm2")
    tokenizer = loaded.tokenizer
    model = PeftModel.from_pretrained(copy.deepcopy(loaded.model), str(adapter)).eval()
    template = Template(TEMPLATE.read_text(encoding="utf-8"))
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": template.render({"text": row["text"]})}],
            add_generation_prompt=True,
            tokenize=False,
        )
        for row in _rows(SENTIMENT / "golden.jsonl")
    ]
    labels: list[str | None] = []
    for start in range(0, len(prompts), 16):
        batch = tokenizer(
            prompts[start : start + 16], add_special_tokens=False, padding=True, return_tensors="pt"
        )
        with torch.inference_mode():
            output = model.generate(
                **batch, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id
            )
        for text in tokenizer.batch_decode(
            output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        ):
            found = _LABEL.search(text)
            labels.append(found.group(1).lower() if found else None)
    return labels


@pytest.mark.slow
def test_retraining_with_the_same_seed_reproduces_the_committed_adapter(tmp_path: Path) -> None:
    stats = json.loads((ADAPTER / "training.json").read_text())
    hp = stats["hyperparameters"]
    train_lora(
        ROOT / stats["data"]["file"],
        tmp_path / "retrained",
        template_file=ROOT / stats["template"]["file"],
        seed=stats["seed"],
        rank=hp["rank"],
        alpha=hp["alpha"],
        dropout=hp["dropout"],
        epochs=hp["epochs"],
        lr=hp["lr"],
        batch_size=hp["batch_size"],
        target_modules=hp["target_modules"],
        max_steps=hp["max_steps"],
        threads=hp["threads"],
    )
    committed = _golden_labels(ADAPTER)
    retrained = _golden_labels(tmp_path / "retrained")
    agree = sum(a == b for a, b in zip(committed, retrained, strict=True)) / len(committed)
    assert agree >= 0.98, f"retrained adapter agrees with the committed one on {agree:.1%}"
