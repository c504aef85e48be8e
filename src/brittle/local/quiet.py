"""Loading a model without the libraries' progress bars and notices.

transformers draws progress bars while it loads ("Loading weights", "Writing model shards",
and, through tqdm directly, "Converting and de-quantizing GGUF tensors...") and logs notices
that a user of brittle cannot act on. Outside pytest's capture they land in the middle of
brittle's own output; the run's progress line and its start-up time ("+ 17.0s start-up: model
load") already say what is happening. :func:`quiet_loading` silences them while brittle loads a
model and restores the libraries' settings afterwards, so the user's own use of transformers in
the same process is unchanged.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def quiet_loading(*, gguf: bool = False) -> Iterator[None]:
    """No progress bars and only errors from transformers' logging inside the block; with
    ``gguf``, no GGUF dequantization bar either (imported only then: it loads the gguf
    package)."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    verbosity = hf_logging.get_verbosity()
    patched: Any = None
    original: Any = None
    if gguf:
        from transformers import modeling_gguf_pytorch_utils as patched

        original = getattr(patched, "tqdm", None)
        if original is not None:
            patched.tqdm = functools.partial(original, disable=True)
    if bars:
        hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
        if original is not None:
            patched.tqdm = original


def no_cleanup_notice(tokenizer: Any) -> None:
    """transformers (5.17 and later) ignores ``clean_up_tokenization_spaces`` for BPE
    tokenizers (SmolLM2's) and logs a notice saying so at the first decode; turning the flag off
    where it is ignored anyway changes no output and removes the notice."""
    if (
        getattr(tokenizer, "clean_up_tokenization_spaces", False)
        and hasattr(
            tokenizer, "clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output"
        )
        and not tokenizer.clean_up_tokenization_spaces_for_bpe_even_though_it_will_corrupt_output
        and type(getattr(getattr(tokenizer, "backend_tokenizer", None), "model", None)).__name__
        == "BPE"
    ):
        tokenizer.clean_up_tokenization_spaces = False
