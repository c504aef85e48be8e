"""Keep credentials out of everything brittle writes: cache, reports, logs and error messages.

Two sources of secrets are known: the values of environment variables whose names say they hold
one and values brittle was handed explicitly (an ``api_key`` or ``headers`` in a system's
``params``, a password in an ``api_base`` URL; see :func:`register`). Both are replaced wherever
they occur **in any letter case** (a model that echoes a key upper-cased, or a check that
lower-cases an answer, must not reveal it), as are strings shaped like well-known key formats
(``sk-...``, ``Bearer ...``, ``AKIA...``, ``ghp_...``) and, in :func:`scrub`, ``api_key=...``
pairs.

**Which environment variables hold secrets** (:func:`is_secret_env_name`,
:func:`secret_env_value`): a variable whose name contains ``KEY``, ``TOKEN``, ``SECRET``, ``PASS``,
``AUTH`` or ``CREDENTIAL`` in any case (``OPENAI_API_KEY``, ``GITHUB_TOKEN``, ``MY_SERVICE_PASS``,
``DB_PASSWORD``, ``BASIC_AUTH``, ``GOOGLE_CREDENTIALS``), unless its value could not be a secret
or would mask ordinary text: shorter than :data:`MIN_SECRET_LENGTH` characters
(``PASSWORD_MIN_LENGTH=8``), a number,
or the path of an existing file or folder (``SSH_AUTH_SOCK=/tmp/...``,
``GOOGLE_APPLICATION_CREDENTIALS=/home/...``: the file holds the secret, not its name). A URL
value counts only by its password and its credential-named query values. Words that merely
contain those letters are not counted (``GIT_AUTHOR_NAME``, ``TOKENIZERS_PARALLELISM``,
``KEYBOARD_LAYOUT``): model outputs are masked before they are scored, so a person's name in
``GIT_AUTHOR_NAME`` must not become ``[REDACTED]``. Otherwise the rule is deliberately broad: a
harmless variable with a long value is masked too, which costs a ``[REDACTED]`` where that text
occurs, never a leak.

:func:`public_params` is the other half: the call parameters that may be hashed into fingerprints
and cache keys or shown in reports, without credentials (``api_key``, headers, tokens) and with
passwords stripped from URLs.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "[REDACTED]"
#: a secret shorter than this is not masked (it would mask ordinary words and numbers)
MIN_SECRET_LENGTH = 8

#: parameter names that hold credentials (narrow: ``max_tokens`` and ``top_k`` are not secrets)
_SECRET_NAME = re.compile(
    r"(?i)(api_?key|secret|passw(or)?d|credential|private_?key|access_?key|auth_?token|"
    r"authorization|(^|_)(token|key)$)"
)
#: environment variable names that hold credentials (broad; see the module docstring)
_SECRET_ENV_NAME = re.compile(r"(?i)(key|token|secret|pass|auth|credential)")
#: words in variable names that contain one of those but name no secret: CI runners set
#: ``GIT_AUTHOR_NAME`` (a person's name must not turn into ``[REDACTED]`` in model outputs before
#: they are scored), tokenizers read ``TOKENIZERS_PARALLELISM``, desktops set ``KEYBOARD_*``
_HARMLESS_ENV_WORDS = re.compile(r"(?i)(author|tokenizers?|keyboard|keymap|passthrough)")
_NUMBER = re.compile(r"[+-]?[0-9][0-9_.,]*")
_PATH = re.compile(r"(/|~|\.{1,2}[/\\]|[A-Za-z]:[/\\])")
_KEY_PATTERNS = (
    r"\bsk-[A-Za-z0-9_\-]{12,}",  # OpenAI, Anthropic (sk-ant-...), many compatible services
    r"\b(?i:bearer)\s+[A-Za-z0-9._~+/\-]{12,}=*",
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key id
    r"\bgh[pousr]_[A-Za-z0-9]{20,}",  # GitHub
    r"\bhf_[A-Za-z0-9]{20,}",  # Hugging Face
    r"\bxox[abprs]-[A-Za-z0-9\-]{10,}",  # Slack
    r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google
)
#: ``api_key='...'``, ``"token": "..."``, ``password=...`` in messages and reprs
_PAIR = re.compile(
    r"(?i)(\b(?:api[_-]?key|access[_-]?token|auth[_-]?token|token|secret|password|passwd)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',;}&]{4,})"
)
#: parameter names never hashed, stored or shown (values may carry credentials)
SECRET_PARAMS = frozenset(
    {
        "api_key",
        "api_token",
        "token",
        "access_token",
        "auth_token",
        "azure_ad_token",
        "azure_ad_token_provider",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "vertex_credentials",
        "client_secret",
        "password",
        "headers",
        "extra_headers",
    }
)

_registered: set[str] = set()


def register(*values: Any) -> None:
    """Treat these values as secrets from now on (an ``api_key`` given in ``params``, say).

    A mapping (``headers``) registers its values; a URL registers its password and its
    credential-named query values; a string also registers each of its words (the token of
    ``"Bearer TOKEN"``). Values shorter than :data:`MIN_SECRET_LENGTH` are ignored.
    """
    for value in values:
        if isinstance(value, Mapping):
            register(*value.values())
            continue
        if not isinstance(value, str):
            continue
        if "://" in value:
            _registered.update(url_secrets(value))
            continue
        for part in (value, *value.split()):
            if len(part) >= MIN_SECRET_LENGTH:
                _registered.add(part)


def url_secrets(url: str) -> list[str]:
    """The credentials a URL carries: its password and credential-named query values."""
    try:
        parts = urlsplit(url)
        found = [parts.password or ""]
    except ValueError:
        return []
    found += [v for k, v in parse_qsl(parts.query, keep_blank_values=True) if is_secret_name(k)]
    return [v for v in found if len(v) >= MIN_SECRET_LENGTH]


def is_secret_name(name: str) -> bool:
    """Whether a call parameter of this name holds a credential (``api_key``, ``headers``)."""
    return name.lower() in SECRET_PARAMS or bool(_SECRET_NAME.search(name))


@functools.lru_cache(maxsize=1024)
def is_secret_env_name(name: str | bytes) -> bool:
    """Whether an environment variable of this name may hold a secret: its name contains
    ``KEY``, ``TOKEN``, ``SECRET``, ``PASS``, ``AUTH`` or ``CREDENTIAL`` in any case, other than
    inside a word that names no secret (``GIT_AUTHOR_NAME``, ``TOKENIZERS_PARALLELISM``,
    ``KEYBOARD_LAYOUT``)."""
    text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
    return bool(_SECRET_ENV_NAME.search(_HARMLESS_ENV_WORDS.sub("_", text)))


def secret_env_value(value: str) -> list[str]:
    """The secrets in the value of a secret-named environment variable: the value itself, or
    none when it is short, a number or an existing path, or a URL's credentials (see the
    module's docstring)."""
    value = value.strip()
    if len(value) < MIN_SECRET_LENGTH or _NUMBER.fullmatch(value):
        return []
    if _PATH.match(value) and os.path.exists(os.path.expanduser(value)):
        return []  # an existing file or folder (a base64 secret may start with "/" too)
    if "://" in value and " " not in value:
        return url_secrets(value)
    return [value]


#: the last environment seen, as its names and its values (compared by identity first: an
#: unchanged ``os.environ`` holds the same objects), and the secrets found in it
_last_environment: tuple[tuple[Any, ...], tuple[Any, ...], list[str]] = ((), (), [])
#: the last answer of :func:`known_secrets`: the environment's secrets it was built from (the
#: list object above), the registered set (by identity and size: :func:`register` only adds)
_last_known: tuple[list[str], set[str], int, frozenset[str]] = ([], set(), 0, frozenset())


def _environment_secrets() -> list[str]:
    # os.environ decodes every entry on iteration (about 1 us each); its raw mapping does not.
    # The gateway asks on every call: an unchanged environment (the same names and values,
    # compared by identity first) gives the last answer (the same list) without looking at
    # each name again.
    global _last_environment
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict):
        names, values = tuple(raw), tuple(raw.values())
        last_names, last_values, last_found = _last_environment
        if names == last_names and values == last_values:
            return last_found
        found = _scan_environment(raw)
        _last_environment = (names, values, found)
        return found
    return _scan_environment(raw)


def _scan_environment(raw: Any) -> list[str]:
    if isinstance(raw, dict) and isinstance(next(iter(raw), b""), bytes):
        pairs: Iterable[tuple[Any, Any]] = (
            (name, os.fsdecode(value))
            for name, value in raw.items()
            if len(value) >= MIN_SECRET_LENGTH and is_secret_env_name(name)
        )
    else:
        pairs = (
            (name, value)
            for name, value in os.environ.items()
            if len(value) >= MIN_SECRET_LENGTH and is_secret_env_name(name)
        )
    return [found for _, value in pairs for found in _env_value(value)]


@functools.lru_cache(maxsize=256)
def _env_value(value: str) -> tuple[str, ...]:
    return tuple(secret_env_value(value))


def known_secrets() -> frozenset[str]:
    """The secret values currently known: from the environment and from :func:`register`."""
    global _last_known
    environment = _environment_secrets()
    registered = _registered
    last_environment, last_registered, last_size, last = _last_known
    if (
        environment is last_environment
        and registered is last_registered
        and len(registered) == last_size
    ):
        return last
    found = frozenset(environment)
    if registered:
        found = found.union(registered)
    _last_known = (environment, registered, len(registered), found)
    return found


@functools.lru_cache(maxsize=8)
def _compiled(secrets: frozenset[str]) -> re.Pattern[str]:
    # longest first, so a secret that contains another is masked whole; any letter case
    literals = [re.escape(s) for s in sorted(secrets, key=lambda s: (-len(s), s))]
    known = [f"(?i:{'|'.join(literals)})"] if literals else []
    return re.compile("|".join([*known, *_KEY_PATTERNS]))


def pattern_source(secrets: Iterable[str] | None = None) -> str:
    """The masking pattern as text (RE2-compatible), for vectorised use (pyarrow)."""
    values = known_secrets() if secrets is None else frozenset(secrets)
    return _compiled(values).pattern


def scrub(text: str, *, pairs: bool = True) -> str:
    """``text`` with every known secret (in any letter case) and key-like string replaced by
    ``[REDACTED]``; with ``pairs`` (the default) also the values of ``api_key=...``,
    ``"token": "..."`` and the like.

    The gateway scrubs model outputs with ``pairs=False``: an answer that is JSON with a
    ``"password"`` field the model made up is the answer, and is scored as such.
    """
    if not text:
        return text
    text = _compiled(known_secrets()).sub(MASK, text)
    return _PAIR.sub(lambda m: m.group(1) + MASK, text) if pairs else text


def scrub_obj(value: Any) -> Any:
    """A copy of a JSON-like value with every string scrubbed (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub(str(k)): scrub_obj(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_obj(v) for v in value]
    return value


def public_url(url: str) -> str:
    """A URL without a password and without credential-like query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return scrub(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = netloc.rsplit("@", 1)[1]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs])
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


def public_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Call parameters without credentials: safe to hash, store and show.

    Secret parameters are dropped (their values are :func:`register`-ed, so a copy that shows
    up in an error message is masked too); URLs lose passwords and key-like query values.
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name.lower() in SECRET_PARAMS or (
            is_secret_name(name) and not isinstance(value, bool | int | float)
        ):
            if isinstance(value, str):
                register(value)
            elif isinstance(value, Mapping):
                register(*(v for v in value.values() if isinstance(v, str)))
            continue
        if isinstance(value, str) and "://" in value:
            register(value)  # its password, if any, is masked wherever it shows up
            value = public_url(value)
        elif isinstance(value, Mapping):
            value = public_params(value)
        elif isinstance(value, list | tuple) and any(
            isinstance(v, str) and "://" in v for v in value
        ):  # several endpoints (replicas): each URL as above
            register(*(v for v in value if isinstance(v, str) and "://" in v))
            value = [public_url(v) if isinstance(v, str) and "://" in v else v for v in value]
        out[name] = value
    return out


class ScrubFilter(logging.Filter):
    """A logging filter that masks secrets in a record's message before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging to report
            return True
        cleaned = scrub(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


_FILTER = ScrubFilter()


def scrub_loggers(*names: str) -> None:
    """Install the masking filter on these loggers (idempotent)."""
    for name in names:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


__all__ = [
    "MASK",
    "ScrubFilter",
    "is_secret_env_name",
    "is_secret_name",
    "known_secrets",
    "pattern_source",
    "public_params",
    "public_url",
    "register",
    "scrub",
    "scrub_loggers",
    "scrub_obj",
    "secret_env_value",
    "url_secrets",
]
