"""Replicas: one system served by several endpoints of the same model.

A system may list several endpoints, ``params: {api_base: [url1, url2, ...]}`` (or
``base_url``): replicas of one model behind a serving engine (vLLM, SGLang, a llama.cpp server,
a litellm proxy). Each call goes to one of them, in the gateway, just before the transport, so
the fast OpenAI transport and litellm both see a single ``api_base``:

* **least outstanding requests**: the live replica with the fewest calls in flight answers the
  call (ties: the one that has had fewest calls, so a slow trickle is spread evenly too);
* **a dead replica is taken out**: a refused, reset or dropped connection (or a DNS failure)
  takes it out at once, :data:`MAX_SERVER_ERRORS` server errors (5xx) in a row take it out too;
  the call then goes to another replica at once, without using the eval's ``retries`` (its row
  is not lost). A replica out for :func:`cooldown` seconds (5 s, doubling while it stays dead, at
  most 60 s) is then tried again by one call: a restarted server comes back by itself;
* **all dead**: the call tries every replica once (those out longest first) and raises the last
  failure, which the gateway treats as for a single endpoint: at an endpoint's first call (its
  preflight probe) a refused connection stops the system (:mod:`brittle.gateway.preflight`), so
  a system with replicas stops only when all of them refuse; later on it is retried
  (:mod:`brittle.gateway.retry`).

The response-cache key and the system's fingerprint hold the list as written, never the replica
that answered: all replicas serve one model, so a call has one key whichever answers it.

Counters: each replica counts its calls, failures and times taken out, in all (the terminal's
``replicas:`` line, :meth:`Replicas.notes`) and per calling system, by the fingerprint its calls
carry (:meth:`Replicas.used_by`: run.json's and summary.json's ``systems[].replicas``, summed
over a merged run's shards by :func:`merge_counters`).

Not accepted: a litellm Router configuration (``model_list``); run a litellm proxy with it and
give the proxy's URL as ``api_base`` (docs/scaling.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from brittle.gateway.calls import CallRequest, CallResult
from brittle.gateway.retry import DNS, REFUSED, cause, chain, status_of
from brittle.redact import public_url

#: the parameters that may list replicas, in the order looked at
URL_PARAMS = ("api_base", "base_url")
#: server errors (5xx) in a row that take a replica out
MAX_SERVER_ERRORS = 3
#: seconds a replica stays out the first time; doubled each time it is found dead again
COOLDOWN_S = 5.0
#: the longest a replica stays out before it is tried again
MAX_COOLDOWN_S = 60.0

#: exception type names (anywhere in the cause chain) that say the connection broke
_BROKEN = frozenset(
    {
        "ServerDisconnectedError",
        "ClientConnectorError",
        "ClientOSError",
        "APIConnectionError",
        "ConnectError",
        "RemoteProtocolError",
    }
)


class _Transport(Protocol):
    async def complete(self, request: CallRequest) -> CallResult: ...


def replica_urls(params: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The replicas ``params`` list (``api_base`` or ``base_url`` given as a list), else None."""
    for name in URL_PARAMS:
        value = params.get(name)
        if isinstance(value, list | tuple):
            return tuple(str(url) for url in value)
    return None


def cooldown(times_out: int) -> float:
    """Seconds a replica stays out after being found dead ``times_out`` times in a row."""
    return float(min(MAX_COOLDOWN_S, COOLDOWN_S * 2 ** max(0, times_out - 1)))


def broken_connection(exc: BaseException) -> bool:
    """Whether ``exc`` says the replica cannot be reached: refused, reset or dropped
    connections, DNS failures (anywhere in its cause chain)."""
    if cause(exc) in (REFUSED, DNS):
        return True
    for link in chain(exc):
        if isinstance(link, ConnectionError):
            return True
        if _BROKEN.intersection(cls.__name__ for cls in type(link).__mro__):
            return True
    return False


@dataclass
class Replica:
    """One endpoint of a :class:`ReplicaSet` and what it has done."""

    url: str
    #: calls in flight now
    outstanding: int = 0
    #: calls sent (failed ones included)
    calls: int = 0
    #: calls that failed here and went to another replica (or raised)
    failures: int = 0
    #: server errors in a row (reset by an answer)
    server_errors: int = 0
    #: times found dead in a row (reset by an answer): sets the cooldown
    dead_streak: int = 0
    #: times taken out, in all
    taken_out: int = 0
    #: the clock's time until which it is out (0: in)
    out_until: float = 0.0
    #: per caller (the calling system's fingerprint, None: unknown): its calls, failures and
    #: times it took this replica out, for that system's report (:meth:`Replicas.used_by`)
    by_caller: dict[str | None, list[int]] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "calls": self.calls,
            "failures": self.failures,
            "taken_out": self.taken_out,
        }

    def usage(self, caller: str | None) -> list[int]:
        """``[calls, failures, taken_out]`` of one caller here (a live list to count into)."""
        found = self.by_caller.get(caller)
        if found is None:
            found = self.by_caller[caller] = [0, 0, 0]
        return found


class ReplicaSet:
    """The replicas of one endpoint list; :meth:`complete` sends a call to one of them."""

    def __init__(
        self, urls: Sequence[str], *, param: str = "api_base", clock: Callable[[], float] | None
    ) -> None:
        if not urls:
            raise ValueError("a replica set needs at least one URL")
        self.replicas = [Replica(url) for url in urls]
        self.param = param
        self._clock = clock or time.monotonic
        #: per system parameters (by identity) and replica: the parameters sent there
        self._params: dict[tuple[int, str], tuple[Mapping[str, Any], dict[str, Any]]] = {}

    def order(self, skip: Sequence[Replica] = ()) -> list[Replica]:
        """The replicas to try, best first: live ones by (outstanding, calls), then the ones
        out, those whose time out ends first before the others."""
        now = self._clock()
        candidates = [r for r in self.replicas if all(r is not s for s in skip)]
        live = [r for r in candidates if r.out_until <= now]
        live.sort(key=lambda r: (r.outstanding, r.calls))
        out = sorted((r for r in candidates if r.out_until > now), key=lambda r: r.out_until)
        return live + out

    def _take_out(self, replica: Replica) -> bool:
        """Take ``replica`` out; False when it already was."""
        if replica.out_until > self._clock():
            return False  # already out: calls that were in flight there when it died
        replica.dead_streak += 1
        replica.taken_out += 1
        replica.server_errors = 0
        replica.out_until = self._clock() + cooldown(replica.dead_streak)
        return True

    def _request_for(self, request: CallRequest, replica: Replica) -> CallRequest:
        memo = (id(request.params), replica.url)
        found = self._params.get(memo)
        if found is None or found[0] is not request.params:
            if len(self._params) >= 1024:
                self._params.clear()
            params = {k: v for k, v in request.params.items() if k not in URL_PARAMS}
            params[self.param] = replica.url
            found = self._params[memo] = (request.params, params)
        return replace(request, params=found[1])

    async def complete(self, transport: _Transport, request: CallRequest) -> CallResult:
        """Make ``request`` on the best replica; on a broken connection or a server error, on
        the next one (each replica at most once); raise the last failure when all failed."""
        tried: list[Replica] = []
        while True:
            replica = self.order(tried)[0]
            tried.append(replica)
            replica.outstanding += 1
            replica.calls += 1
            usage = replica.usage(request.fingerprint)
            usage[0] += 1
            try:
                result = await transport.complete(self._request_for(request, replica))
            except Exception as exc:
                replica.failures += 1
                usage[1] += 1
                if broken_connection(exc):
                    usage[2] += self._take_out(replica)
                else:
                    status = status_of(exc)
                    if status is None or status < 500:
                        raise  # the call's own failure (400, 429, ...): the same anywhere
                    replica.server_errors += 1
                    if replica.server_errors >= MAX_SERVER_ERRORS:
                        usage[2] += self._take_out(replica)
                if len(tried) == len(self.replicas):
                    raise
                continue
            finally:
                replica.outstanding -= 1
            replica.server_errors = 0
            replica.dead_streak = 0
            replica.out_until = 0.0
            return result

    def describe(self) -> list[dict[str, Any]]:
        """Each replica's counters, for messages and reports."""
        return [replica.describe() for replica in self.replicas]


class Replicas:
    """A gateway's replica sets, one per distinct endpoint list."""

    def __init__(self, clock: Callable[[], float] | None = None) -> None:
        self._sets: dict[tuple[str, tuple[str, ...]], ReplicaSet] = {}
        self._clock = clock

    def of(self, request: CallRequest) -> ReplicaSet | None:
        """The replica set ``request`` names, or None when it names one endpoint (or none)."""
        params = request.params
        for name in URL_PARAMS:
            value = params.get(name)
            if isinstance(value, list | tuple):
                key = (name, tuple(str(url) for url in value))
                found = self._sets.get(key)
                if found is None:
                    found = self._sets[key] = ReplicaSet(key[1], param=name, clock=self._clock)
                return found
        return None

    def describe(self) -> dict[str, list[dict[str, Any]]]:
        """Each replica set's counters, by its URLs joined with ", "."""
        return {", ".join(urls): found.describe() for (_, urls), found in self._sets.items()}

    def used_by(self, fingerprint: str | None) -> list[dict[str, Any]] | None:
        """The replica counters of one system (by its fingerprint, as its calls carry it), for
        run.json and summary.json: ``[{url, calls, failures, taken_out}]`` for every replica of
        each set it called (URLs without credentials); None when it called none."""
        out: list[dict[str, Any]] = []
        for found in self._sets.values():
            if not any(fingerprint in r.by_caller for r in found.replicas):
                continue
            for replica in found.replicas:
                calls, failures, taken_out = replica.by_caller.get(fingerprint, (0, 0, 0))
                out.append(
                    {
                        "url": public_url(replica.url),
                        "calls": calls,
                        "failures": failures,
                        "taken_out": taken_out,
                    }
                )
        return out or None

    def notes(self) -> list[str]:
        """One line per replica set that made calls, for the terminal: the calls each replica
        was sent and how often it was taken out (URLs without credentials)."""
        lines = []
        for found in self._sets.values():
            if not any(r.calls for r in found.replicas):
                continue
            parts = []
            for replica in found.replicas:
                part = f"{public_url(replica.url)} {replica.calls} call(s)"
                if replica.taken_out:
                    part += f", taken out {replica.taken_out} time(s)"
                parts.append(part)
            lines.append("replicas: " + "; ".join(parts))
        return lines


def merge_counters(
    parts: Sequence[Sequence[Mapping[str, Any]] | None],
) -> list[dict[str, Any]] | None:
    """One system's replica counters over the shards of a run (``brittle merge``, ``pytest
    -n``): each shard's calls, failures and times taken out, summed per URL in the order the
    URLs first appear; None when no shard called a replica."""
    totals: dict[str, dict[str, Any]] = {}
    for part in parts:
        for entry in part or ():
            url = str(entry.get("url"))
            total = totals.setdefault(url, {"url": url, "calls": 0, "failures": 0, "taken_out": 0})
            for name in ("calls", "failures", "taken_out"):
                total[name] += int(entry.get(name) or 0)
    return list(totals.values()) or None


__all__ = [
    "COOLDOWN_S",
    "MAX_SERVER_ERRORS",
    "Replica",
    "ReplicaSet",
    "Replicas",
    "broken_connection",
    "cooldown",
    "merge_counters",
    "replica_urls",
]
