"""What a run's model calls cost: prices per token, applied once per system to its token totals.

litellm prices every call as it is made (``completion_cost``), which costs about a millisecond of
CPU per call and needs litellm imported. brittle instead reads the same price table, the JSON file
litellm ships inside its package (``model_prices_and_context_window_backup.json``), without
importing litellm, resolves a model string to its input and output price per token as litellm
does, and multiplies once per system: ``prompt_tokens * input + completion_tokens * output``.

A system's own ``price: {input_per_mtok: 0.15, output_per_mtok: 0.6}`` (US dollars per million
tokens) overrides the table: for a model the table does not know (a local server, a private
deployment) or a negotiated rate. ``local/`` models cost nothing. A model found neither way has
no cost (``None``, shown as not reported), as when litellm could not price it.

What the table holds beyond a base price per token (cached-input discounts, reasoning-token
prices, tiers above 200k prompt tokens) is not applied: a run keeps token totals, not each
call's cached or reasoning tokens. If litellm is already imported, its live ``litellm.model_cost``
is read instead of the file, so prices registered with ``litellm.register_model`` count.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import json
import math
import numbers
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brittle._atomic import write_text
from brittle._errors import ConfigError

__all__ = [
    "PRICE_KEYS",
    "Price",
    "model_price",
    "parse_price",
    "price_table_path",
    "system_price",
    "table_price",
]

TABLE_FILE = "model_prices_and_context_window_backup.json"
PRICE_KEYS = ("input_per_mtok", "output_per_mtok")
_PER_MTOK = 1_000_000

#: litellm provider prefixes that never appear as a ``litellm_provider`` in the table (servers
#: and gateways that speak a provider's wire format), so that ``hosted_vllm/NAME`` is read as
#: provider ``hosted_vllm`` and model ``NAME``, as litellm reads it
_EXTRA_PROVIDERS = frozenset(
    {
        "openai",
        "custom_openai",
        "hosted_vllm",
        "vllm",
        "ollama",
        "ollama_chat",
        "lm_studio",
        "llamafile",
        "litellm_proxy",
        "openai_like",
        "huggingface",
    }
)
_DATED_SUFFIX = re.compile(r"-\d{4}-\d{2}-\d{2}$")
_FINE_TUNE_SUFFIX = re.compile(r"(:[^:]*){3}$")


@dataclass(frozen=True)
class Price:
    """US dollars per input (prompt) token and per output (completion) token.

    ``source`` says where it came from: ``"price"`` (the system's own key), ``"litellm:KEY"``
    (the table entry KEY) or ``"local"`` (an in-process model: free).
    """

    input_per_token: float
    output_per_token: float
    source: str

    @property
    def input_per_mtok(self) -> float:
        return self.input_per_token * _PER_MTOK

    @property
    def output_per_mtok(self) -> float:
        return self.output_per_token * _PER_MTOK

    def cost(self, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        """The cost of these token counts; None when neither count is known."""
        if prompt_tokens is None and completion_tokens is None:
            return None
        return (prompt_tokens or 0) * self.input_per_token + (
            completion_tokens or 0
        ) * self.output_per_token

    def describe(self) -> dict[str, Any]:
        """The price as reports show it: dollars per million tokens and where it came from."""
        return {
            "input_per_mtok": self.input_per_mtok,
            "output_per_mtok": self.output_per_mtok,
            "source": self.source,
        }


def parse_price(
    value: Any, *, key: str = "price", where: str | None = None, line: int | None = None
) -> Price:
    """A system's ``price`` key (``{input_per_mtok: X, output_per_mtok: Y}``) as a :class:`Price`.

    A :class:`Price` passes through. Both keys are required: non-negative numbers, US dollars
    per million tokens.
    """
    if isinstance(value, Price):
        return value
    fix = "write e.g. price: {input_per_mtok: 0.15, output_per_mtok: 0.6} (USD per 1M tokens)"
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"must be a mapping of {' and '.join(PRICE_KEYS)}, got {type(value).__name__}",
            where=where,
            line=line,
            key=key,
            fix=fix,
        )
    unknown = sorted(str(k) for k in value if k not in PRICE_KEYS)
    if unknown:
        raise ConfigError(
            f"unknown key '{unknown[0]}'",
            where=where,
            line=line,
            key=key,
            fix=f"allowed keys: {', '.join(PRICE_KEYS)} (USD per 1M tokens)",
        )
    rates = []
    for name in PRICE_KEYS:
        if name not in value:
            raise ConfigError(f"missing '{name}'", where=where, line=line, key=key, fix=fix)
        rate = value[name]
        if (
            isinstance(rate, bool)
            or not isinstance(rate, numbers.Real)
            or not math.isfinite(rate)
            or rate < 0
        ):
            raise ConfigError(
                f"must be a non-negative number of US dollars per million tokens, got {rate!r}",
                where=where,
                line=line,
                key=f"{key}.{name}",
                fix=fix,
            )
        rates.append(float(rate) / _PER_MTOK)
    return Price(rates[0], rates[1], "price")


def price_table_path() -> Path | None:
    """litellm's packaged price table, found without importing litellm (None if absent)."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = Path(folder) / TABLE_FILE
        if path.is_file():
            return path
    return None


#: the fields of a table entry that pricing reads (the rest is never kept)
_FIELDS = ("litellm_provider", "input_cost_per_token", "output_cost_per_token")
#: bump when what :func:`_derive` keeps changes (the derived copies then are made again)
_DERIVED_FORMAT = 1
#: where the derived copy of the packaged table is kept (default: the user's cache folder)
CACHE_ENV = "BRITTLE_PRICE_CACHE_DIR"


@functools.lru_cache(maxsize=1)
def _packaged_table() -> dict[str, Any]:
    """litellm's packaged table, each entry cut to the fields pricing reads (:data:`_FIELDS`).

    The file is 3.5 MB of JSON: parsing it costs 30 ms and 8 MB per run. Its cut-down copy
    (300 kB, 3 ms) is kept in the user's cache folder (``$BRITTLE_PRICE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/brittle`` or ``~/.cache/brittle``), named by the file's path, size and
    modification time, so a new litellm makes a new copy; a folder that cannot be written
    costs only the parse.
    """
    path = price_table_path()
    if path is None:
        return {}
    try:
        stat = path.stat()
    except OSError:
        return {}
    copy = _derived_path(path, stat.st_size, stat.st_mtime_ns)
    if copy is not None:
        try:
            derived = json.loads(copy.read_text(encoding="utf-8"))
            if isinstance(derived, dict):
                return derived
        except (OSError, ValueError):
            pass
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(table, dict):
        return {}
    derived = _derive(table)
    if copy is not None:  # a read-only home, a full disk: the next run parses the file again
        with contextlib.suppress(OSError, ValueError):
            write_text(copy, json.dumps(derived, separators=(",", ":"), ensure_ascii=False))
    return derived


def _derive(table: Mapping[str, Any]) -> dict[str, Any]:
    """Each entry with only :data:`_FIELDS` (a non-mapping entry as an empty one: both price
    nothing); every name is kept, in the table's order, for the lower-case look-up."""
    return {
        name: {k: entry[k] for k in _FIELDS if k in entry} if isinstance(entry, Mapping) else {}
        for name, entry in table.items()
    }


def _derived_path(path: Path, size: int, mtime_ns: int) -> Path | None:
    folder = os.environ.get(CACHE_ENV)
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        if base.startswith("~"):  # no home to expand
            return None
        folder = os.path.join(base, "brittle")
    name = f"{_DERIVED_FORMAT}|{path.resolve()}|{size}|{mtime_ns}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return Path(folder) / f"litellm-prices-{digest}.json"


def _table() -> Mapping[str, Any]:
    litellm = sys.modules.get("litellm")
    live = getattr(litellm, "model_cost", None)
    if isinstance(live, Mapping) and live:
        return live
    return _packaged_table()


@functools.lru_cache(maxsize=4)
def _index(table_id: int, size: int) -> tuple[dict[str, str], frozenset[str]]:
    """Lower-case name -> table key, and the provider names of the table (memoised per table)."""
    del table_id, size  # the cache key only
    table = _table()
    lower: dict[str, str] = {}
    providers = set(_EXTRA_PROVIDERS)
    for name, entry in table.items():
        lower.setdefault(name.lower(), name)
        # dict first: the ABC check of Mapping costs 5 ms over the table's 5,000 entries
        if isinstance(entry, (dict, Mapping)) and isinstance(entry.get("litellm_provider"), str):
            providers.add(entry["litellm_provider"])
    return lower, frozenset(providers)


def _provider_matches(entry: Mapping[str, Any], provider: str | None) -> bool:
    """litellm's rule: an entry of another provider prices a model only in a few families."""
    listed = entry.get("litellm_provider")
    if provider is None or listed is None or listed == provider:
        return True
    for family in ("vertex_ai", "fireworks_ai", "bedrock"):
        if provider.startswith(family) and str(listed).startswith(family):
            return True
    if provider == "azure_ai":
        return listed in ("azure", "openai")
    return provider in ("litellm_proxy", "github")


def _candidates(model: str, providers: frozenset[str]) -> tuple[str | None, list[str]]:
    """The provider and the table names to try for ``model``, in litellm's order."""
    prefix, slash, rest = model.partition("/")
    provider = prefix if slash and prefix in providers else None
    bare = rest if provider is not None else model
    suffix = _FINE_TUNE_SUFFIX if "ft:" in bare else _DATED_SUFFIX
    stripped = suffix.sub("", bare)
    names = [model, bare, stripped]
    if provider is not None:
        names = [f"{provider}/{bare}", *names, f"{provider}/{stripped}"]
    return provider, list(dict.fromkeys(names))


def table_price(model: str) -> Price | None:
    """The price litellm's table gives ``model`` (``openai/gpt-4o-mini``, ``gpt-4o``, ...)."""
    table = _table()
    if not table:
        return None
    lower, providers = _index(id(table), len(table))
    provider, names = _candidates(model, providers)
    for name in names:
        key = name if name in table else lower.get(name.lower())
        entry = table.get(key) if key is not None else None
        if not isinstance(entry, Mapping) or not _provider_matches(entry, provider):
            continue
        rates = (entry.get("input_cost_per_token"), entry.get("output_cost_per_token"))
        if all(rate is None for rate in rates):
            continue  # an entry without token prices (an image or audio model)
        return Price(float(rates[0] or 0.0), float(rates[1] or 0.0), f"litellm:{key}")
    return None


def model_price(model: str | None, override: Price | None = None) -> Price | None:
    """The price of a system's calls: its own ``price``, free for ``local/``, else the table."""
    if override is not None:
        return override
    if not model:
        return None
    if model.startswith("local/"):
        return Price(0.0, 0.0, "local")
    return table_price(model)


def system_price(system: Any) -> Price | None:
    """:func:`model_price` of a system under test (its ``model`` and ``price`` attributes)."""
    return model_price(getattr(system, "model", None), getattr(system, "price", None))
