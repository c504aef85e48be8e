"""In-process local models for litellm: ``local/smollm2``, checkpoint folders, LoRA adapters.

``register()`` makes ``litellm.completion``/``acompletion`` answer model strings such as
``local/smollm2`` or ``local/smollm2+fixtures/adapters/sentiment-lora`` from a model running in
this process: no server, no socket. Concurrent requests are micro-batched into one ``generate``
call on a worker thread (see :mod:`brittle.local.provider`).

Importing this package is cheap: torch, transformers and litellm are imported only when
``register()`` runs (litellm) or the first request arrives (torch, transformers), because the
pytest plugin and the command line import brittle whether or not a local model is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from brittle.local.fingerprint import local_fingerprint
from brittle.local.refs import LocalModelRef, parse_local_model

if TYPE_CHECKING:
    from brittle.local.provider import LocalLLM

__all__ = ["LocalModelRef", "local_fingerprint", "parse_local_model", "register"]


def register() -> LocalLLM:
    """Register the ``local/`` provider with litellm (idempotent); returns its handler."""
    from brittle.local.provider import register as _register

    return _register()
