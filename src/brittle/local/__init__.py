"""In-process local models for litellm: ``local/smollm2``, checkpoint folders, LoRA adapters.

``register()`` makes ``litellm.completion``/``acompletion`` answer model strings such as
``local/smollm2`` or ``local/smollm2+fixtures/adapters/sentiment-lora`` from a model running in
this process: no server, no socket. Concurrent requests are micro-batched into one ``generate``
call on a worker thread (see :mod:`brittle.local.provider`).

Importing this package is cheap: torch, transformers and litellm are imported only when
``register()`` runs (litellm) or the first request arrives (torch, transformers), because the
pytest plugin and the command line import brittle whether or not a local model is used.
``import brittle`` (and so loading the pytest plugin) calls :func:`register_on_litellm_import`:
the provider is registered the moment litellm is imported, by brittle or by the user's code.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING

from brittle.local.fingerprint import local_fingerprint
from brittle.local.refs import LocalModelRef, parse_local_model

if TYPE_CHECKING:
    from brittle.local.provider import LocalLLM

__all__ = [
    "LocalModelRef",
    "local_fingerprint",
    "parse_local_model",
    "register",
    "register_on_litellm_import",
]


def register() -> LocalLLM:
    """Register the ``local/`` provider with litellm (idempotent); returns its handler."""
    from brittle.local.provider import register as _register

    return _register()


class _RegisterAfterImport(importlib.abc.MetaPathFinder):
    """Finds litellm with the other finders and registers the provider once it has run.

    It stays in ``sys.meta_path`` until litellm is really imported: a mere look-up (another
    library's ``importlib.util.find_spec("litellm")``) leaves it in place.
    """

    _looking = threading.local()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "litellm" or getattr(self._looking, "active", False):
            return None
        self._looking.active = True
        try:
            spec = importlib.util.find_spec(fullname)  # the other finders, not this one
        finally:
            self._looking.active = False
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            os.environ.setdefault(COST_MAP_ENV, "True")  # litellm reads it as it loads
            run_module(module)
            with _hook_lock:
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
            try:
                register()
            except Exception as exc:  # never break the user's import of litellm
                warnings.warn(
                    f"brittle could not register its local/ provider with litellm: {exc}",
                    stacklevel=2,
                )

        loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


_hook_lock = threading.Lock()
#: litellm reads its price list from the package, not the internet, when this is True
COST_MAP_ENV = "LITELLM_LOCAL_MODEL_COST_MAP"


def register_on_litellm_import() -> None:
    """Register the ``local/`` provider now if litellm is imported, else right after its import.

    The hook also defaults ``LITELLM_LOCAL_MODEL_COST_MAP`` to ``True`` the moment litellm is
    imported, so that litellm reads its price list from the package instead of fetching it from
    the internet (set it to ``False`` to let litellm fetch it). Calling this function changes no
    environment variable: the pytest plugin imports brittle in every pytest run.
    """
    module = sys.modules.get("litellm")
    if module is not None and hasattr(module, "custom_provider_map"):
        register()
        return
    with _hook_lock:
        if not any(isinstance(finder, _RegisterAfterImport) for finder in sys.meta_path):
            sys.meta_path.insert(0, _RegisterAfterImport())
