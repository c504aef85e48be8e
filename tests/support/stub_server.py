"""A local OpenAI-compatible chat-completions stub server, for benchmarks and tests.

``POST /v1/chat/completions`` answers after a fixed latency (``asyncio.sleep``, so concurrent
requests overlap) with a valid OpenAI chat completion whose content is the first word of the last
user message, with usage numbers (prompt tokens: words in all messages; completion tokens: words
in the reply, so 1 for the first word).
``GET /stats`` returns the request and failure counters as JSON; ``POST /stats/reset`` zeroes them.

Failures can be injected, for fault-handling tests:

- ``--fail-rate 0.1 --fail-status 429``: a seeded random share of requests gets that status
  (429 carries ``Retry-After: 0``);
- the model name ``fail-500`` (or ``fail-429``, any ``fail-NNN``) always gets that status, so a
  test can ask for a failure deterministically: ``model="openai/fail-500"``; a 401 echoes the
  bearer token in its message, as real providers do (``Incorrect API key provided: ...``);
- ``--first-fail-rate 0.2``: a share of distinct requests (same model and messages) fails its
  *first* attempt with 429 or 500 (``first_fail_statuses``); retries then succeed;
- ``--stall-rate 0.05 --stall-s 5``: a share of distinct requests stalls its first attempt for
  that long before answering (past a client's timeout).

These draws depend on the seed and the request alone (not on arrival order), so a rerun fails
the same requests. ``GET /stats/detail`` adds per-request counters: ``unique`` requests,
``successes``, ``duplicates`` (successful answers beyond the first for one request),
``first_attempt_failures`` and ``stalls``.

Hostile replies, for the gateway's edge (:mod:`brittle.gateway.calls`), by model name:

- ``echo-key``: a 200 reply that starts with the prompt's first word and then quotes the request's
  bearer token as sent, upper-cased, lower-cased and with its case swapped (a model that leaks
  its key; every copy must be masked before any artifact);
- ``null-content``: a 200 reply whose message has ``"content": null`` and no tool call (every
  attempt); ``null-once``: only the first attempt of each distinct request, then a normal answer;
- ``surrogate``: a 200 reply, valid JSON, whose content is the first word followed by a lone
  surrogate escape (``"\\ud800"``);
- ``bad-bytes``: a 200 reply whose body holds invalid UTF-8 (``0xff 0xfe``) inside the content
  string, after the first word;
- ``big``: a 200 reply of about 1 MB (:data:`BIG_REPLY_CHARS` characters): the first word, then
  filler words.

A fixed reply makes it a deterministic LLM judge: ``--reply TEXT`` (``reply=``) answers every
request with ``TEXT`` instead of the first word, and ``replies={"judge-fail": TEXT}`` answers the
model name ``judge-fail`` (``model="openai/judge-fail"``) with its own text, e.g. fixed judge JSON
such as ``{"steps": ["..."], "reason": "...", "score": 8}``.

Run it as a script (prints ``port N`` once it listens; ``--port 0`` picks a free port)::

    python -m tests.support.stub_server --port 0 --latency 0.05

or start it from Python: :func:`start_in_thread` (tests: the server runs on its own event loop in a
daemon thread) or :func:`start_subprocess` (benchmarks: its CPU is not counted in the caller's).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

HOST = "127.0.0.1"
#: characters in the ``big`` model's reply (about 1 MB)
BIG_REPLY_CHARS = 1_000_000
#: invalid UTF-8 that the ``bad-bytes`` model puts into its reply's body
BAD_BYTES = b"\xff\xfe"
_BAD_MARK = "@@brittle-bad-bytes@@"


@dataclass
class StubStats:
    """Counters since start (or the last reset)."""

    requests: int = 0
    failures: int = 0
    in_flight: int = 0
    max_in_flight: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "requests": self.requests,
            "failures": self.failures,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
        }


@dataclass
class StubServer:
    """The server's behaviour and state; :meth:`start` binds it to ``127.0.0.1``."""

    latency: float = 0.05
    fail_rate: float = 0.0
    fail_status: int = 500
    seed: int = 0
    reply: str | None = None
    replies: dict[str, str] = field(default_factory=dict)
    stats: StubStats = field(default_factory=StubStats)
    first_fail_rate: float = 0.0
    first_fail_statuses: tuple[int, ...] = (429, 500)
    stall_rate: float = 0.0
    stall_s: float = 5.0
    #: per distinct request (digest of model and messages): attempts and successful answers
    attempts: dict[str, int] = field(default_factory=dict)
    answers: dict[str, int] = field(default_factory=dict)
    first_attempt_failures: int = 0
    stalls: int = 0
    port: int | None = None
    #: set to a list to record every chat request: ``{"headers": {...}, "body": bytes}``
    captured: list[dict[str, Any]] | None = None
    _runner: web.AppRunner | None = None
    _rng: random.Random = field(init=False)
    _created: int = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._created = int(time.time())

    @property
    def base_url(self) -> str:
        """The OpenAI ``api_base`` to give clients, e.g. ``http://127.0.0.1:8123/v1``."""
        return f"http://{HOST}:{self.port}/v1"

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/stats/detail", self._detail)
        app.router.add_post("/stats/reset", self._reset)
        return app

    async def start(self, port: int = 0) -> int:
        """Listen on ``127.0.0.1:port`` (0: a free port); returns the port."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, port, backlog=1024)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _failure_status(self, model: str) -> int | None:
        if model.startswith("fail-") and model[5:].isdigit():
            return int(model[5:])
        if self.fail_rate and self._rng.random() < self.fail_rate:
            return self.fail_status
        return None

    async def _chat(self, request: web.Request) -> web.Response:
        stats = self.stats
        stats.requests += 1
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        try:
            if self.captured is not None:
                raw = await request.read()
                self.captured.append({"headers": dict(request.headers), "body": raw})
            try:
                body = await request.json()
                messages = body["messages"]
                model = str(body.get("model", "stub"))
            except (ValueError, KeyError, TypeError):
                stats.failures += 1
                return _error(400, "invalid_request_error", "body must be JSON with 'messages'")
            digest = _digest(model, messages)
            attempt = self.attempts[digest] = self.attempts.get(digest, 0) + 1
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            status = self._failure_status(model)
            if status is None and attempt == 1:
                status = self._first_attempt_status(digest)
                if status is not None:
                    self.first_attempt_failures += 1
            if status is not None:
                stats.failures += 1
                kind = "rate_limit_error" if status == 429 else "server_error"
                message = f"injected failure ({status})"
                if status == 401:
                    kind = "invalid_request_error"
                    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
                    message = f"Incorrect API key provided: {token}. {message}"
                response = _error(status, kind, message)
                if status == 429:
                    response.headers["Retry-After"] = "0"
                return response
            if attempt == 1 and self._draw(digest, "stall") < self.stall_rate:
                self.stalls += 1
                await asyncio.sleep(self.stall_s)  # the client has given up by now
                return web.Response(
                    body=json.dumps(self._completion(model, messages)).encode(),
                    content_type="application/json",
                )
            completion = self._completion(model, messages)
            if body.get("logprobs") is True:  # each word 0.8, its alternatives share the rest
                completion["choices"][0]["logprobs"] = _logprobs(
                    completion["choices"][0]["message"]["content"], body.get("top_logprobs") or 0
                )
            hostile = self._hostile(model, completion, request, attempt)
            if completion["choices"][0]["message"]["content"] is not None:
                self.answers[digest] = self.answers.get(digest, 0) + 1
            if hostile is not None:
                return hostile
            return web.Response(
                body=json.dumps(completion).encode(), content_type="application/json"
            )
        finally:
            stats.in_flight -= 1

    def _hostile(
        self, model: str, completion: dict[str, Any], request: web.Request, attempt: int
    ) -> web.Response | None:
        """The reply of a hostile model name (see the module's docstring), else None."""
        message = completion["choices"][0]["message"]
        first = message["content"]
        if model == "echo-key":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            message["content"] = (
                f"{first} (my key is {token}; loudly {token.upper()}; quietly {token.lower()}; "
                f"swapped {token.swapcase()})"
            )
        elif model == "null-content" or (model == "null-once" and attempt == 1):
            message["content"] = None
        elif model == "surrogate":
            message["content"] = f"{first} \ud800"  # json.dumps writes the escape "\ud800"
        elif model == "big":
            filler = " lorem" * (BIG_REPLY_CHARS // 6)
            message["content"] = (first + filler)[:BIG_REPLY_CHARS]
        elif model == "bad-bytes":
            message["content"] = f"{first} {_BAD_MARK}"
            body = json.dumps(completion).encode().replace(_BAD_MARK.encode(), BAD_BYTES)
            return web.Response(body=body, content_type="application/json")
        else:
            return None
        return web.Response(body=json.dumps(completion).encode(), content_type="application/json")

    def _draw(self, digest: str, purpose: str) -> float:
        """A number in [0, 1) fixed by the seed, the request and the purpose."""
        return random.Random(f"{self.seed}:{purpose}:{digest}").random()

    def _first_attempt_status(self, digest: str) -> int | None:
        if self.first_fail_rate and self._draw(digest, "fail") < self.first_fail_rate:
            statuses = self.first_fail_statuses
            return statuses[int(self._draw(digest, "status") * len(statuses))]
        return None

    def detail(self) -> dict[str, int]:
        """The counters of ``/stats/detail``."""
        return {
            **self.stats.to_dict(),
            "unique": len(self.attempts),
            "successes": sum(self.answers.values()),
            "duplicates": sum(n - 1 for n in self.answers.values() if n > 1),
            "first_attempt_failures": self.first_attempt_failures,
            "stalls": self.stalls,
        }

    def _completion(self, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        last_user = next(
            (m.get("content") for m in reversed(messages) if m.get("role") == "user"), ""
        )
        words = str(last_user or "").split()
        content = self.replies.get(model, self.reply)
        if content is None:
            content = words[0] if words else ""
        prompt_tokens = sum(len(str(m.get("content") or "").split()) for m in messages)
        return {
            "id": f"chatcmpl-stub-{self.stats.requests}",
            "object": "chat.completion",
            "created": self._created,
            "model": model,
            "system_fingerprint": "stub",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(content.split()) or 1,
                "total_tokens": prompt_tokens + (len(content.split()) or 1),
            },
        }

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "stub"}]}
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.to_dict())

    async def _detail(self, request: web.Request) -> web.Response:
        return web.json_response(self.detail())

    async def _reset(self, request: web.Request) -> web.Response:
        self.stats = StubStats()
        self.attempts.clear()
        self.answers.clear()
        self.first_attempt_failures = 0
        self.stalls = 0
        return web.json_response(self.stats.to_dict())


def _digest(model: str, messages: Any) -> str:
    text = json.dumps({"model": model, "messages": messages}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _error(status: int, kind: str, message: str) -> web.Response:
    payload = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
    return web.json_response(payload, status=status)


def _logprobs(content: Any, top: int) -> dict[str, Any]:
    """OpenAI's ``choices[0].logprobs`` for ``content``: each word a token of probability 0.8,
    then up to ``top`` alternatives (the word, then ``alt1``, ``alt2``, ... sharing 0.2)."""
    items = []
    for index, word in enumerate(str(content or "").split()):
        token = word if index == 0 else f" {word}"
        alternatives = [(token, 0.8)] + [(f"alt{k}", 0.2 / max(top - 1, 1)) for k in range(1, top)]
        items.append(
            {
                "token": token,
                "logprob": math.log(0.8),
                "bytes": list(token.encode()),
                "top_logprobs": [
                    {"token": t, "logprob": math.log(p), "bytes": list(t.encode())}
                    for t, p in alternatives[:top]
                ],
            }
        )
    return {"content": items, "refusal": None}


class StubThread:
    """A :class:`StubServer` running on its own event loop in a daemon thread."""

    def __init__(self, server: StubServer) -> None:
        self.server = server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stub-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.server.stop())
        self._loop.close()

    def start(self) -> StubThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the stub server did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"the stub server failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def stats(self) -> StubStats:
        return self.server.stats

    def detail(self) -> dict[str, int]:
        return self.server.detail()


@contextmanager
def start_in_thread(
    *,
    latency: float = 0.05,
    fail_rate: float = 0.0,
    fail_status: int = 500,
    seed: int = 0,
    reply: str | None = None,
    replies: dict[str, str] | None = None,
    first_fail_rate: float = 0.0,
    stall_rate: float = 0.0,
    stall_s: float = 5.0,
) -> Iterator[StubThread]:
    """Run a stub server in a daemon thread for the duration of the ``with`` block."""
    stub = StubThread(
        StubServer(
            latency=latency,
            fail_rate=fail_rate,
            fail_status=fail_status,
            seed=seed,
            reply=reply,
            replies=dict(replies or {}),
            first_fail_rate=first_fail_rate,
            stall_rate=stall_rate,
            stall_s=stall_s,
        )
    ).start()
    try:
        yield stub
    finally:
        stub.stop()


@dataclass
class StubProcess:
    """A stub server running as a separate Python process (see :func:`start_subprocess`)."""

    process: subprocess.Popen[str]
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    def stats(self) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(f"http://{HOST}:{self.port}/stats", timeout=10) as reply:
            data: dict[str, int] = json.loads(reply.read())
        return data

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_subprocess(
    *, latency: float = 0.05, fail_rate: float = 0.0, fail_status: int = 500, seed: int = 0
) -> StubProcess:
    """Start ``python stub_server.py --port 0`` and wait for the port it prints."""
    process = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--port",
            "0",
            "--latency",
            str(latency),
            "--fail-rate",
            str(fail_rate),
            "--fail-status",
            str(fail_status),
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("port "):
        process.kill()
        raise RuntimeError(f"the stub server did not start (printed {line!r})")
    return StubProcess(process, int(line.split()[1]))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds (default 0.05)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="share of failed requests")
    parser.add_argument("--fail-status", type=int, default=500, help="status of injected failures")
    parser.add_argument("--seed", type=int, default=0, help="seed of the failure draws")
    parser.add_argument(
        "--reply", default=None, help="answer every request with this text (a fixed judge reply)"
    )
    parser.add_argument(
        "--first-fail-rate", type=float, default=0.0, help="share of first attempts failing"
    )
    parser.add_argument(
        "--stall-rate", type=float, default=0.0, help="share of first attempts stalling"
    )
    parser.add_argument("--stall-s", type=float, default=5.0, help="how long a stall lasts")
    args = parser.parse_args(argv)
    server = StubServer(
        latency=args.latency,
        fail_rate=args.fail_rate,
        fail_status=args.fail_status,
        seed=args.seed,
        reply=args.reply,
        first_fail_rate=args.first_fail_rate,
        stall_rate=args.stall_rate,
        stall_s=args.stall_s,
    )

    async def serve() -> None:
        port = await server.start(args.port)
        print(f"port {port}", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await server.stop()

    with suppress(KeyboardInterrupt):
        asyncio.run(serve())


if __name__ == "__main__":
    main()
