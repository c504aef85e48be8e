"""Model strings of the ``local/`` provider, parsed into a :class:`LocalModelRef`.

Grammar, after the optional ``local/`` prefix (litellm strips it before calling the provider)::

    smollm2                       the embedded SmolLM2-135M-Instruct
    <path>                        a local Hugging Face checkpoint folder
    <base>+<adapter folder>       a peft LoRA adapter on that base

Paths are resolved against the current working directory when parsed, so a reference names the
same files wherever it is used later (the generation worker, a fingerprint, a batch key).
Parsing touches the file system only to choose where a base ends when a path itself holds ``+``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from brittle._errors import ModelError

PREFIX = "local/"
SMOLLM2 = "smollm2"
BUILT_IN = (SMOLLM2,)

GRAMMAR_HELP = (
    "'local/smollm2', 'local/<path to a Hugging Face checkpoint folder>' or "
    "'local/<base>+<path to a peft LoRA adapter folder>'"
)


@dataclass(frozen=True)
class LocalModelRef:
    """What a ``local/`` model string names: a base model and, optionally, a LoRA adapter.

    ``base`` is ``"smollm2"`` or the absolute path of a checkpoint folder (as a string, so that the
    built-in name and paths share one field; a name that matches neither is kept as written);
    ``adapter`` is the absolute adapter folder or None.
    Frozen and hashable: generation requests are grouped into batches by it.
    """

    base: str
    adapter: Path | None = None

    @property
    def is_builtin(self) -> bool:
        return self.base in BUILT_IN

    def __str__(self) -> str:
        text = PREFIX + self.base
        return f"{text}+{self.adapter}" if self.adapter is not None else text


def _resolve(path_text: str) -> Path:
    return Path(os.path.abspath(Path(path_text).expanduser()))


def _is_base(text: str) -> bool:
    return text in BUILT_IN or _resolve(text).is_dir()


def _resolve_base(text: str) -> str:
    """Absolute path of a base folder; a name that is no folder stays as written, so that the
    unknown-model error quotes what the user wrote."""
    if text in BUILT_IN or not _resolve(text).exists():
        return text
    return str(_resolve(text))


def parse_local_model(model: str) -> LocalModelRef:
    """Parse ``local/<base>[+<adapter>]`` (the ``local/`` prefix is optional).

    A ``+`` may occur inside a folder name, so the split is taken at the first ``+`` whose left
    side is a known base (``smollm2`` or an existing folder); failing that, at the first ``+``,
    which leaves the loader to report the unknown base.
    """
    text = model.strip()
    if text.startswith(PREFIX):
        text = text[len(PREFIX) :]
    if not text:
        raise ModelError(f"empty local model name in '{model}'\n  fix: write {GRAMMAR_HELP}")
    if "+" not in text or _is_base(text):
        return LocalModelRef(base=_resolve_base(text))
    cuts = [i for i, char in enumerate(text) if char == "+"]
    cut = next((i for i in cuts if _is_base(text[:i])), cuts[0])
    base, adapter = text[:cut], text[cut + 1 :]
    if not base or not adapter:
        raise ModelError(
            f"local model '{model}': both sides of '+' must be given (base model + adapter "
            f"folder)\n  fix: write {GRAMMAR_HELP}"
        )
    return LocalModelRef(base=_resolve_base(base), adapter=_resolve(adapter))


def cwd_note() -> str:
    """Say where relative paths were looked for: users write them relative to their shell."""
    return f"relative paths are taken from the current directory, {Path.cwd()}"


def missing_adapter_error(path: Path) -> ModelError:
    """The adapter folder after '+' is not there: shared by the fingerprint and the loader."""
    what = "is a file, not a folder" if path.exists() else "does not exist"
    return ModelError(
        f"LoRA adapter folder '{path}' {what} ({cwd_note()})\n  fix: check the path after '+' in "
        "the model string, or save the adapter there with PeftModel.save_pretrained(folder)"
    )
