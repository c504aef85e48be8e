"""The one gateway every model call goes through.

A :class:`Gateway` owns the concurrency limit and turns every failure into a recorded error, so
an error is never scored as a wrong answer. The actual call is made by a :class:`Transport`, the
single seam of this package: :class:`AutoTransport` (the default) sends OpenAI chat completions
(``openai/...`` models) straight to the endpoint over one pooled HTTP client and everything else
through :class:`LiteLLMTransport`, which reaches every litellm provider, hosted APIs, provider
fine-tuned ids and brittle's in-process ``local/`` provider; tests and benchmarks plug in their
own. Caching, retries and rate
limits belong here too, wrapped around the transport.

The modules, each one noun:

==============  ===============================================================================
``calls``       :class:`CallRequest` (with the fingerprint and repeat index its cache key needs)
                and :class:`CallResult`
``core``        :class:`Gateway`: cache, claims, concurrency, rate limits, timeout and retries
                around the transport, in that order; ``Gateway.for_spec`` builds one
``transport``   :class:`Transport`, :class:`AutoTransport` and :class:`LiteLLMTransport`
                (litellm is imported when a call needs it, never by importing this package)
``openai_http`` the fast transport: OpenAI chat completions built as litellm sends them
``keys``        response-cache keys: a function of the request alone
``cache``       the response cache (SQLite): modes, claims across processes, export and import
``retry``       which failures to retry, backoff, the per-attempt timeout
``preflight``   each endpoint's first call is its probe: refused credentials, a missing key, an
                unknown model, a refused connection or a DNS failure stop that endpoint's calls
``ratelimit``   per-model requests and tokens per minute, calls in flight
``settings``    the eval keys ``timeout``, ``retries`` and ``rate_limits``
==============  ===============================================================================
"""

from __future__ import annotations

from brittle.gateway.calls import CallRequest, CallResult
from brittle.gateway.core import Gateway
from brittle.gateway.transport import (
    AutoTransport,
    LiteLLMTransport,
    Transport,
    configure_litellm,
)

__all__ = [
    "AutoTransport",
    "CallRequest",
    "CallResult",
    "Gateway",
    "LiteLLMTransport",
    "Transport",
    "configure_litellm",
]
