"""A deepeval judge model whose calls go through brittle's gateway.

deepeval metrics call their judge as ``generate(prompt, schema=SomePydanticModel)`` (or the async
``a_generate``). :class:`GatewayJudge` turns each such call into one
:class:`~brittle.gateway.CallRequest` for a litellm model string (a hosted model, a local
OpenAI-compatible server, or brittle's in-process ``local/...``) and sends it through a
:class:`~brittle.gateway.Gateway`, so judge calls share the run's concurrency limit and whatever
caching, retries and rate limits the gateway applies, and are counted like any other call.

A judge built outside deepeval's native model list is a "custom model" to deepeval: it returns
the parsed schema instance (or plain text when no schema is asked for), never the
``(result, cost)`` pairs of native models. Its spend is kept on the judge instead
(:attr:`GatewayJudge.cost`, :attr:`GatewayJudge.calls`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from brittle.deepeval._require import missing_deepeval

try:  # the optional extra brittle[deepeval]: absent, say how to install it
    from deepeval.models import DeepEvalBaseLLM
except ImportError as _exc:
    raise missing_deepeval(_exc, "brittle.deepeval.GatewayJudge") from None
from pydantic import BaseModel, ValidationError

from brittle._errors import ModelError
from brittle.deepeval._sync import run_sync
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.gateway.pricing import Price, model_price

__all__ = ["GatewayJudge", "judge_fingerprint", "parse_json_reply"]

_JSON_HINT = (
    "\n\nAnswer with one JSON object only (no prose, no code fences), with the keys: {keys}."
)


def parse_json_reply(text: str) -> Any:
    """The JSON object in a judge's reply: from its first ``{`` to its last ``}``.

    Judges wrap JSON in code fences or a sentence; deepeval reads replies the same way.
    Raises ``ValueError`` when there is no parseable object.
    """
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise ValueError("the reply holds no JSON object")
    return json.loads(text[start : end + 1])


@functools.lru_cache(maxsize=64)
def judge_fingerprint(model: str) -> str:
    """What determines a judge's replies besides the prompt: its model string and, for a
    ``local/`` model, the content of its files. The response cache keys judge calls by it."""
    spec: dict[str, Any] = {"judge": model}
    if model.startswith("local/"):
        from brittle.local import local_fingerprint

        spec["model_files"] = local_fingerprint(model)
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class GatewayJudge(DeepEvalBaseLLM):
    """A deepeval judge: ``model`` is a litellm model string, ``params`` its call parameters.

    ``gateway`` is the gateway to call through (the eval run's, for a check run by the engine);
    without one, each synchronous ``generate`` makes a gateway of its own. Every call adds to
    :attr:`calls` and, where the judge model has a price (litellm's table, read without litellm)
    or the call reports one, :attr:`cost`.
    """

    def __init__(
        self,
        model: str,
        params: Mapping[str, Any] | None = None,
        gateway: Gateway | None = None,
    ) -> None:
        self.judge_model = model
        self.params: dict[str, Any] = dict(params or {})
        self.gateway = gateway
        self.calls = 0
        self.cost: float | None = None
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self._price: Price | None = None
        self._priced = False  # the price is looked up at the first call
        super().__init__(model)

    def _price_of(self, result: CallResult) -> float | None:
        """A call's cost: its tokens at the judge model's price (litellm's table, read once;
        :mod:`brittle.gateway.pricing`), else what the call reported."""
        if not self._priced:
            self._price, self._priced = model_price(self.judge_model), True
        price = self._price
        cost = price.cost(result.prompt_tokens, result.completion_tokens) if price else None
        return result.cost if cost is None else cost

    def load_model(self, *args: Any, **kwargs: Any) -> GatewayJudge:
        return self  # nothing to load: the gateway makes the calls

    def get_model_name(self, *args: Any, **kwargs: Any) -> str:
        return self.judge_model

    def generate(self, prompt: Any, schema: type[BaseModel] | None = None, **kwargs: Any) -> Any:
        """Synchronous :meth:`a_generate` (on a worker thread when a loop is running)."""
        return run_sync(lambda: self.a_generate(prompt, schema=schema, **kwargs))

    async def a_generate(
        self, prompt: Any, schema: type[BaseModel] | None = None, **kwargs: Any
    ) -> Any:
        """Send ``prompt`` to the judge; with ``schema``, parse the reply into it.

        Raises :class:`~brittle._errors.ModelError` when the call fails or the reply does not
        fit the schema; the deepeval check records that as an error of the row, not a verdict.
        """
        text = str(prompt)
        if schema is not None:
            text += _JSON_HINT.format(keys=", ".join(schema.model_fields))
        try:
            fingerprint: str | None = judge_fingerprint(self.judge_model)
        except Exception:  # a bad local model: the call itself reports it
            fingerprint = None
        request = CallRequest(
            model=self.judge_model,
            messages=({"role": "user", "content": text},),
            params=self.params,
            fingerprint=fingerprint,
        )
        gateway = self.gateway or Gateway.for_spec(concurrency=1)
        result = await gateway.complete(request)
        self.calls += 1
        cost = self._price_of(result)
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost
        self.prompt_tokens += result.prompt_tokens or 0
        self.completion_tokens += result.completion_tokens or 0
        if result.error is not None:
            raise ModelError(f"judge {self.judge_model} failed: {result.error}")
        reply = result.text or ""
        if schema is None:
            return reply
        try:
            return schema.model_validate(parse_json_reply(reply))
        except (ValueError, ValidationError) as exc:
            shown = reply if len(reply) <= 120 else reply[:120] + "…"
            first = str(exc).splitlines()[0]
            raise ModelError(
                f"judge {self.judge_model} replied with no valid {schema.__name__} JSON "
                f"({first}): {shown!r}"
            ) from None
