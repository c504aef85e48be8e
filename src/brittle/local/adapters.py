"""peft LoRA adapters on a shared base: checked before loading, loaded once, switched per batch.

peft injects LoRA layers into a model in place. The base model that
:func:`~brittle.local.models.load_base_model` caches is shared (plain systems generate with it,
fine-tuning deep-copies it, and either must see a plain model), so adapters go into a *skeleton*
of it instead: a structural copy whose modules are new but whose parameters and buffers are the
base's own tensors. It costs no weight memory, and the base stays untouched, structurally and
numerically. All adapters of one base live in that one skeleton through peft's multi-adapter
support (``add_adapter``/``load_adapter``/``set_adapter``); each batch sets its own adapter active.

Adapter files are checked before anything is loaded, and adapters that would change the shared
weights (a trained LoRA bias, PiSSA-style initialisations) are refused.

All model work happens on the provider's single worker thread; the lock is for other callers.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from brittle._errors import ModelError
from brittle.local.fingerprint import stat_signature
from brittle.local.models import LoadedModel
from brittle.local.refs import missing_adapter_error

CONFIG_FILE = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
_RESAVE = "save the adapter again with model.save_pretrained(folder), or copy the folder again"
# Initialisations that rewrite the base weights when the adapter is created.
_BASE_CHANGING_INITS = ("pissa", "olora", "corda", "loftq", "eva")
_MAX_HEADER = 100 * 1024 * 1024


def _damaged(path: Path, detail: str) -> ModelError:
    return ModelError(f"LoRA adapter file '{path}' is damaged: {detail}\n  fix: {_RESAVE}")


def check_safetensors(path: Path) -> None:
    """Read the safetensors header and check that every tensor's bytes are in the file.

    Catches truncated copies and non-safetensors files (an HTML error page, a Git LFS pointer)
    without importing torch.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise _damaged(path, f"{size} bytes is too short for a safetensors file")
        header_len = int.from_bytes(head, "little")
        if header_len > _MAX_HEADER:
            raise _damaged(path, "it does not start with a safetensors header")
        if header_len > size - 8:
            raise _damaged(
                path,
                f"truncated: its header alone needs {8 + header_len} bytes, the file has {size}",
            )
        try:
            header = json.loads(handle.read(header_len))
            ends = [
                int(entry["data_offsets"][1])
                for name, entry in header.items()
                if name != "__metadata__"
            ]
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise _damaged(path, f"its safetensors header cannot be read ({exc})") from None
    needed = 8 + header_len + max(ends, default=0)
    if needed > size:
        raise _damaged(path, f"truncated: the header promises {needed} bytes, the file has {size}")


def read_adapter_config(folder: Path) -> dict[str, Any]:
    """Check an adapter folder's files and return its adapter_config.json, without loading it."""
    if not folder.is_dir():
        raise missing_adapter_error(folder)
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ModelError(
            f"LoRA adapter folder '{folder}' has no {CONFIG_FILE}, so it is not a peft adapter\n"
            f"  fix: point at the folder written by PeftModel.save_pretrained() (it holds "
            f"{CONFIG_FILE} and {WEIGHT_FILES[0]})"
        )
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelError(f"'{config_path}' is not valid JSON ({exc})\n  fix: {_RESAVE}") from None
    if not isinstance(config, dict):
        raise ModelError(f"'{config_path}' does not hold a JSON object\n  fix: {_RESAVE}")
    peft_type = str(config.get("peft_type", ""))
    if peft_type.upper() != "LORA":
        raise ModelError(
            f"'{config_path}': peft_type is '{peft_type}', but local models take LoRA adapters "
            "only\n  fix: train a LoRA adapter (peft.LoraConfig)"
        )
    bias = config.get("bias", "none")
    init = config.get("init_lora_weights", True)
    if bias not in (None, "none") or (
        isinstance(init, str) and init.lower().startswith(_BASE_CHANGING_INITS)
    ):
        setting = f"bias='{bias}'" if bias not in (None, "none") else f"init_lora_weights='{init}'"
        raise ModelError(
            f"'{config_path}': {setting} changes the base model's own weights, and the base is "
            "shared with other systems\n  fix: train with bias='none' and a plain initialisation, "
            "or merge the adapter into a checkpoint folder (merge_and_unload) and use that folder"
        )
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not weights:
        raise ModelError(
            f"LoRA adapter folder '{folder}' has {CONFIG_FILE} but no weights "
            f"({' or '.join(WEIGHT_FILES)})\n  fix: {_RESAVE}"
        )
    if weights[0].suffix == ".safetensors":
        check_safetensors(weights[0])
    return config


@dataclass
class _AdapterSlot:
    name: str
    signature: tuple[tuple[str, int, int, int], ...]


@dataclass
class _AdaptedBase:
    """The peft wrapper around one base model and the adapters loaded into it."""

    wrapper: Any
    slots: dict[Path, _AdapterSlot] = field(default_factory=dict)
    loaded_count: int = 0


_lock = threading.RLock()
_bases: dict[str, _AdaptedBase] = {}


def _skeleton(model: Any) -> Any:
    """A copy of ``model`` whose modules are its own but whose tensors are the original's."""
    shared: dict[int, Any] = {
        id(tensor): tensor for tensor in itertools.chain(model.parameters(), model.buffers())
    }
    return copy.deepcopy(model, shared)


def _short(exc: BaseException, limit: int = 400) -> str:
    """torch lists every mismatched tensor; the first lines say enough."""
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= limit else text[:limit].rstrip() + " ..."


def _load_into(loaded: LoadedModel, folder: Path, name: str) -> None:
    """Inject adapter ``name`` from ``folder`` into the (peft-wrapped) base and load its weights."""
    from peft import LoraConfig, PeftModel

    # peft calls a transformers API that transformers 5 deprecated: noise the user cannot act on.
    warnings.filterwarnings(
        "ignore", message="`is_gradient_checkpointing` is deprecated", category=FutureWarning
    )
    config = LoraConfig.from_pretrained(str(folder))
    config.inference_mode = True
    config.init_lora_weights = True  # B = 0: a no-op until the saved weights land
    state = _bases.get(loaded.name)
    if state is None:
        state = _AdaptedBase(wrapper=PeftModel(_skeleton(loaded.model), config, adapter_name=name))
        _bases[loaded.name] = state
    elif name not in state.wrapper.peft_config:
        state.wrapper.add_adapter(name, config)
    result = state.wrapper.load_adapter(str(folder), adapter_name=name, is_trainable=False)
    problems = [*result.missing_keys, *result.unexpected_keys]
    if problems:
        shown = ", ".join(sorted(problems)[:3])
        raise ValueError(f"{len(problems)} weights do not match the base's layers (e.g. {shown})")


def ensure_adapter(loaded: LoadedModel, folder: Path) -> str:
    """Load the adapter in ``folder`` onto ``loaded`` once; return its peft adapter name.

    An adapter rewritten on disk (other sizes or modification times) is loaded again under a new
    name, so a retrained adapter takes effect without restarting the process.
    """
    with _lock:
        state = _bases.get(loaded.name)
        signature = stat_signature(folder) if folder.is_dir() else ()
        if state is not None:
            slot = state.slots.get(folder)
            if slot is not None and slot.signature == signature:
                return slot.name
        config = read_adapter_config(folder)
        count = state.loaded_count if state is not None else 0
        name = f"adapter{count}"
        try:
            _load_into(loaded, folder, name)
        except Exception as exc:
            raise ModelError(
                f"LoRA adapter '{folder}' cannot be loaded onto base model '{loaded.name}': "
                f"{_short(exc)}\n  fix: use the base model the adapter was trained "
                f"on (its {CONFIG_FILE} names base_model_name_or_path="
                f"'{config.get('base_model_name_or_path')}'), or {_RESAVE}"
            ) from exc
        finally:
            # Also after a failure: a half-loaded name is never used again.
            loaded_state = _bases.get(loaded.name)
            if loaded_state is not None:
                loaded_state.loaded_count = count + 1
                loaded_state.wrapper.eval()
        _bases[loaded.name].slots[folder] = _AdapterSlot(name=name, signature=signature)
        return name


@contextmanager
def adapted(loaded: LoadedModel, adapter: Path | None) -> Iterator[tuple[Any, str | None]]:
    """Yield the model to generate with and the active adapter's name: the plain base and None,
    or the skeleton with ``adapter`` active (a retrained adapter gets a new name)."""
    if adapter is None:
        yield loaded.model, None
        return
    with _lock:
        name = ensure_adapter(loaded, adapter)
        wrapper = _bases[loaded.name].wrapper
        wrapper.base_model.set_adapter(name, inference_mode=True)
        yield wrapper.base_model.model, name
