"""The ``local/`` litellm provider: in-process generation behind ``litellm.(a)completion``.

litellm strips the ``local/`` prefix and calls :class:`LocalLLM` with the rest of the model string
and the call's ``optional_params``. Each call becomes one job for the shared
:class:`~brittle.local.batcher.MicroBatcher`, whose worker thread loads models and runs batched
``generate`` calls; ``acompletion`` awaits the job's future, so the event loop never blocks on the
model, and ``completion`` waits on it in the caller's thread.

How errors surface: litellm turns any exception from a provider into one of its own. A plain
exception becomes ``APIConnectionError`` with a traceback and a "this looks like a bug in
LiteLLM" link appended. So a :class:`~brittle._errors.ModelError` leaves this module as
:class:`LocalProviderError`, which carries ``status_code = 400``: litellm then raises
``litellm.BadRequestError`` whose ``str()`` is ``"litellm.BadRequestError: LocalException -
<the ModelError's message>"``; not retried, and the message (problem and fix) is intact.

Settings (read once, when the first request arrives):

* ``BRITTLE_LOCAL_MAX_BATCH``: most requests per ``generate`` call (default 16);
* ``BRITTLE_LOCAL_BATCH_WINDOW_MS``: how long the worker waits for further requests after the
  latest one (default 8 ms; at most six windows after the oldest);
* ``BRITTLE_LOCAL_THREADS``: torch's thread count, set once for the whole process when the first
  batch runs (default: torch's own, one per core). On a machine whose cores are busy with other
  work (parallel test workers, other jobs) ``1`` is far faster: torch's OpenMP threads spin at
  every barrier and a descheduled thread stalls the rest (measured on 2 shared cores at load
  average 8: 0.80 s per short call with 1 thread against 4.1 s with 2). Most of that was
  spinning, which ``OMP_WAIT_POLICY=PASSIVE`` (brittle's default, see
  :mod:`brittle.local.settings`) removes while keeping both threads.
* token log-probabilities: a call with ``logprobs: true`` (and ``top_logprobs: k``) gets them in
  litellm's standard ``choices[0].logprobs`` (:mod:`brittle.local.logprobs`); its answer is the
  one it gets without them.
* ``BRITTLE_LOCAL_PREFIX_CACHE_MB``: memory for the keys and values of shared prompt prefixes
  (default 256; 0 turns reuse off): rows of one template skip their common beginning, see
  :mod:`brittle.local.prefix`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, cast

import httpx
from litellm import CustomLLM
from litellm.types.utils import ChoiceLogprobs, GenericStreamingChunk, ModelResponse, Usage

from brittle._errors import ModelError
from brittle.local.batcher import MicroBatcher
from brittle.local.logprobs import as_openai
from brittle.local.prefix import shared_store
from brittle.local.refs import LocalModelRef, parse_local_model
from brittle.local.requests import (
    Completion,
    GenerationRequest,
    SamplingParams,
    normalise_messages,
    params_from_optional,
)
from brittle.local.settings import (
    DEFAULT_MAX_BATCH,
    DEFAULT_WINDOW_MS,
    MAX_BATCH_ENV,
    THREADS_ENV,
    WINDOW_ENV,
    env_number,
)

PROVIDER = "local"

BatchKey = tuple[LocalModelRef, SamplingParams]


class LocalProviderError(ModelError):
    """A ModelError as litellm should see it: a client error (400) with a readable message."""

    status_code = 400

    def __init__(self, error: ModelError) -> None:
        self.message = str(error)
        super().__init__(self.message)


_threads: int | None = None  # BRITTLE_LOCAL_THREADS, applied by the worker's first batch


def _run_batch(key: Hashable, payloads: Sequence[Any]) -> Sequence[Any]:
    global _threads
    from brittle.local.generation import run_batch

    if _threads is not None:
        import torch

        torch.set_num_threads(_threads)
        _threads = None
    ref, sampling = cast(BatchKey, key)
    try:
        return run_batch(ref, sampling, payloads)
    except ModelError:
        raise
    except Exception as exc:  # a bug or a library mismatch: not worth retrying, say so
        raise _unexpected(exc) from exc


def _unexpected(exc: Exception) -> ModelError:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed"

    versions = ", ".join(installed(name) for name in ("transformers", "torch", "peft"))
    return ModelError(
        f"the local model failed unexpectedly: {type(exc).__name__}: {exc}\n  fix: this is a "
        f"bug in brittle's local provider or a library version it does not support ({versions}"
        "); please report it with this message"
    )


def _batchable(key: Hashable) -> bool:
    _ref, sampling = cast(BatchKey, key)
    return sampling.batchable


_batcher: MicroBatcher | None = None
_batcher_lock = threading.Lock()


def get_batcher() -> MicroBatcher:
    """The process-wide batcher (its ``stats`` show how requests were grouped)."""
    global _batcher, _threads
    with _batcher_lock:
        if _batcher is None:
            max_batch = int(env_number(MAX_BATCH_ENV, DEFAULT_MAX_BATCH, minimum=1, kind=int))
            window_ms = env_number(WINDOW_ENV, DEFAULT_WINDOW_MS, minimum=0, kind=float)
            threads = int(
                env_number(THREADS_ENV, 0, minimum=1, kind=int, default_text="torch's own")
            )
            _threads = threads or None
            shared_store()  # reads BRITTLE_LOCAL_PREFIX_CACHE_MB: a bad value fails here
            _batcher = MicroBatcher(
                _run_batch,
                window_s=window_ms / 1000,
                max_batch=max_batch,
                batchable=_batchable,
                name="brittle-local-generate",
            )
        return _batcher


def _translate(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except LocalProviderError:
        raise
    except ModelError as exc:
        raise LocalProviderError(exc) from exc


def submit(model: str, messages: Sequence[Any], optional_params: dict[str, Any]) -> Future[Any]:
    """Check the call and queue it; the future resolves to a Completion or a ModelError."""
    ref = parse_local_model(model)
    request = GenerationRequest(
        messages=normalise_messages(messages), params=params_from_optional(optional_params)
    )
    return get_batcher().submit((ref, request.params.sampling), request)


def _submit(model: str, messages: Sequence[Any], optional_params: dict[str, Any]) -> Future[Any]:
    return cast("Future[Any]", _translate(lambda: submit(model, messages, optional_params)))


async def _result(future: Future[Any]) -> Completion:
    """The job's completion, awaited off the event loop; errors as litellm should see them."""
    try:
        return cast(Completion, await asyncio.wrap_future(future))
    except LocalProviderError:
        raise
    except ModelError as exc:
        raise LocalProviderError(exc) from exc


def _respond(model: str, model_response: ModelResponse, completion: Completion) -> ModelResponse:
    choice = model_response.choices[0]
    choice.message.content = completion.text
    choice.finish_reason = completion.finish_reason
    if completion.logprobs is not None:  # asked for: litellm's standard field
        choice.logprobs = ChoiceLogprobs(**as_openai(completion.logprobs))
    model_response.model = f"{PROVIDER}/{model}"
    usage = Usage(
        prompt_tokens=completion.prompt_tokens,
        completion_tokens=completion.completion_tokens,
        total_tokens=completion.prompt_tokens + completion.completion_tokens,
    )
    setattr(model_response, "usage", usage)  # noqa: B010 - usage is not a declared field
    return model_response


def _chunk(completion: Completion) -> GenericStreamingChunk:
    return {
        "text": completion.text,
        "tool_use": None,
        "is_finished": True,
        "finish_reason": completion.finish_reason,
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        },
        "index": 0,
    }


class LocalLLM(CustomLLM):
    """litellm handler for ``local/...`` model strings (see the module docstring)."""

    def completion(
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Callable,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: dict | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        future = _submit(model, messages, optional_params)
        completion = _translate(future.result)
        return _respond(model, model_response, completion)

    async def acompletion(
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Callable,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: dict | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> ModelResponse:
        future = _submit(model, messages, optional_params)
        completion = await _result(future)
        return _respond(model, model_response, completion)

    def streaming(
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Callable,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: dict | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> Iterator[GenericStreamingChunk]:
        """The whole answer as one chunk: local generation is batched, not token-streamed."""
        future = _submit(model, messages, optional_params)
        yield _chunk(_translate(future.result))

    async def astreaming(  # type: ignore[override,misc]
        self,
        model: str,
        messages: list,
        api_base: str,
        custom_prompt_dict: dict,
        model_response: ModelResponse,
        print_verbose: Callable,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict,
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: dict | None = None,
        timeout: float | httpx.Timeout | None = None,
        client: Any = None,
    ) -> AsyncIterator[GenericStreamingChunk]:
        """The whole answer as one chunk, awaited without blocking the event loop."""
        future = _submit(model, messages, optional_params)
        completion = await _result(future)
        yield _chunk(completion)


_handler: LocalLLM | None = None
_register_lock = threading.Lock()


def register() -> LocalLLM:
    """Register the handler under ``local`` in ``litellm.custom_provider_map`` (idempotent).

    Another handler already registered under ``local`` is replaced: litellm uses the first match,
    and ``local/`` model strings belong to brittle.
    """
    import litellm

    global _handler
    with _register_lock:
        if _handler is None:
            _handler = LocalLLM()
        entries = litellm.custom_provider_map
        if any(
            entry["provider"] == PROVIDER and entry["custom_handler"] is _handler
            for entry in entries
        ):
            return _handler
        entries[:] = [entry for entry in entries if entry["provider"] != PROVIDER]
        entries.append({"provider": PROVIDER, "custom_handler": _handler})
        return _handler
