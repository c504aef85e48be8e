"""Prices from litellm's packaged table, read without importing litellm, and a system's own
``price`` (gateway/pricing.py): the cost of token counts equals what litellm's per-call cost path
(``litellm.completion_cost``) gives for the same model and counts."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from brittle._errors import ConfigError
from brittle.gateway.pricing import (
    Price,
    model_price,
    parse_price,
    price_table_path,
    system_price,
    table_price,
)
from brittle.spec.systems import CallableSystem, ModelSystem, PromptSystem

#: model strings as users write them: bare names, provider prefixes, a dated snapshot, an
#: OpenAI fine-tune id, another provider's name for the same model family
KNOWN = (
    "gpt-4o-mini",
    "openai/gpt-4o-mini",
    "gpt-4o",
    "openai/gpt-4o-2024-08-06",
    "azure/gpt-4o",
    "claude-sonnet-4-5",
    "anthropic/claude-sonnet-4-5",
    "ft:gpt-4o-mini-2024-07-18:my-org::abc123",
    "mistral/mistral-small-latest",
)
TOKENS = ((1234, 567), (1, 0), (0, 1), (250_000, 4096))


@pytest.fixture(scope="module")
def litellm():  # type: ignore[no-untyped-def]
    from brittle.gateway import configure_litellm

    return configure_litellm()


@pytest.mark.parametrize("model", KNOWN)
def test_table_cost_equals_litellms_completion_cost(litellm, model: str) -> None:  # type: ignore[no-untyped-def]
    price = table_price(model)
    assert price is not None and price.source.startswith("litellm:"), model
    for prompt_tokens, completion_tokens in TOKENS:
        usage = litellm.Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        response = litellm.ModelResponse(model=model, usage=usage)
        expected = litellm.completion_cost(completion_response=response, model=model)
        got = price.cost(prompt_tokens, completion_tokens)
        assert got == pytest.approx(expected, rel=1e-12, abs=0), (model, usage)


def test_a_model_litellm_cannot_price_has_no_table_price(litellm) -> None:  # type: ignore[no-untyped-def]
    for model in ("openai/stub", "hosted_vllm/my-model", "no-such-model-anywhere"):
        response = litellm.ModelResponse(
            model=model, usage=litellm.Usage(prompt_tokens=5, completion_tokens=5, total_tokens=10)
        )
        with pytest.raises(Exception, match=r"isn't mapped|Provider NOT provided"):
            litellm.completion_cost(completion_response=response, model=model)
        assert table_price(model) is None, model


def test_the_table_is_read_without_importing_litellm() -> None:
    code = (
        "import json, sys\n"
        "from brittle.gateway.pricing import table_price, price_table_path\n"
        "price = table_price('openai/gpt-4o-mini')\n"
        "print(json.dumps({'litellm': 'litellm' in sys.modules, 'path': str(price_table_path()),\n"
        "                  'price': price.describe()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    found = json.loads(done.stdout)
    assert found["litellm"] is False
    assert found["path"].endswith("litellm/model_prices_and_context_window_backup.json")
    assert found["price"] == {
        "input_per_mtok": pytest.approx(0.15),
        "output_per_mtok": pytest.approx(0.6),
        "source": "litellm:gpt-4o-mini",
    }


def test_price_table_path_is_litellms_packaged_file() -> None:
    path = price_table_path()
    assert path is not None and path.is_file()
    assert "gpt-4o-mini" in json.loads(path.read_text(encoding="utf-8"))


def test_model_price_order_override_then_local_then_table() -> None:
    own = Price(1e-6, 2e-6, "price")
    assert model_price("openai/gpt-4o-mini", own) is own
    assert model_price("local/smollm2", None) == Price(0.0, 0.0, "local")
    assert model_price("local/smollm2+adapters/x", None).cost(100, 100) == 0.0  # type: ignore[union-attr]
    assert model_price("gpt-4o", None) == table_price("gpt-4o")
    assert model_price(None, None) is None and model_price("openai/stub", None) is None


def test_cost_of_token_counts() -> None:
    price = parse_price({"input_per_mtok": 3, "output_per_mtok": 15})
    assert price == Price(3e-6, 15e-6, "price")
    assert price.cost(1_000_000, 0) == pytest.approx(3.0)
    assert price.cost(1000, 2000) == pytest.approx(0.003 + 0.03)
    assert price.cost(None, 10) == pytest.approx(15e-5)
    assert price.cost(None, None) is None  # nothing reported: no cost, not zero
    assert price.describe() == {
        "input_per_mtok": pytest.approx(3.0),
        "output_per_mtok": pytest.approx(15.0),
        "source": "price",
    }


@pytest.mark.parametrize(
    ("value", "key", "problem"),
    [
        ([0.1, 0.2], "systems.s.price", "must be a mapping of input_per_mtok and output_per_mtok"),
        ({"input_per_mtok": 1}, "systems.s.price", "missing 'output_per_mtok'"),
        (
            {"input_per_mtok": 1, "output_per_mtok": 1, "input": 2},
            "systems.s.price",
            "unknown key 'input'",
        ),
        ({"input_per_mtok": -1, "output_per_mtok": 1}, "systems.s.price.input_per_mtok", "-1"),
        ({"input_per_mtok": 1, "output_per_mtok": "2"}, "systems.s.price.output_per_mtok", "'2'"),
        ({"input_per_mtok": True, "output_per_mtok": 1}, "systems.s.price.input_per_mtok", "True"),
        (
            {"input_per_mtok": float("nan"), "output_per_mtok": 1},
            "systems.s.price.input_per_mtok",
            "nan",
        ),
    ],
)
def test_bad_prices_are_one_clear_error(value: object, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_price(value, key="systems.s.price", where="e.eval.yaml", line=7)
    message = str(info.value)
    assert message.startswith(f"e.eval.yaml:7: '{key}': "), message
    assert problem in message.split("\n")[0], message
    assert "fix: " in message and "input_per_mtok" in message.split("fix: ")[1]


def test_the_python_api_takes_a_price_and_keeps_it_out_of_the_fingerprint() -> None:
    plain = PromptSystem("p", "openai/gpt-4o-mini", "{{ text }}")
    priced = PromptSystem(
        "p", "openai/gpt-4o-mini", "{{ text }}", price={"input_per_mtok": 1, "output_per_mtok": 2}
    )
    assert priced.price == Price(1e-6, 2e-6, "price")
    assert system_price(priced) is priced.price
    assert system_price(plain) == table_price("gpt-4o-mini")
    assert priced.fingerprint() == plain.fingerprint()  # a price changes no answer
    model = ModelSystem("m", "openai/my-tune", price=Price(0, 0, "price"))
    assert system_price(model) == Price(0, 0, "price")
    assert system_price(CallableSystem("c", str)) is None
    assert system_price(
        CallableSystem("c", str, price={"input_per_mtok": 5, "output_per_mtok": 5})
    ) == Price(5e-6, 5e-6, "price")
    with pytest.raises(ConfigError, match=r"'systems\.p\.price'.*missing 'output_per_mtok'"):
        PromptSystem("p", "openai/x", "{{ text }}", price={"input_per_mtok": 1})


def test_the_packaged_table_is_cut_to_its_prices_and_kept_for_the_next_run(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The derived copy (each entry's provider and token prices) prices every model as the whole
    file does, and a second run reads the copy, not the 3.5 MB file."""
    from brittle.gateway import pricing

    path = price_table_path()
    assert path is not None
    whole = json.loads(path.read_text(encoding="utf-8"))
    monkeypatch.setenv(pricing.CACHE_ENV, str(tmp_path))
    monkeypatch.delitem(sys.modules, "litellm", raising=False)
    pricing._packaged_table.cache_clear()
    derived = pricing._packaged_table()
    assert list(derived) == list(whole)  # every name, in order (the lower-case look-up)
    assert derived == pricing._derive(whole)
    assert [p.name for p in tmp_path.iterdir()] and json.loads(
        next(tmp_path.iterdir()).read_text(encoding="utf-8")
    ) == derived

    def parsed_price(model: str) -> Price | None:  # the table as it was: the whole file
        derived_table = pricing._packaged_table
        pricing._packaged_table = lambda: whole  # type: ignore[assignment]
        pricing._index.cache_clear()
        try:
            return table_price(model)
        finally:
            pricing._packaged_table = derived_table
            pricing._index.cache_clear()

    models = (*KNOWN, "openai/stub", "hosted_vllm/my-model", "GPT-4O-MINI", "vertex_ai/gemini-pro")
    expected = {model: parsed_price(model) for model in models}
    pricing._packaged_table.cache_clear()
    monkeypatch.setattr(pricing, "_derive", None)  # the copy is read: nothing is derived again
    assert "litellm" not in sys.modules
    assert {model: table_price(model) for model in models} == expected
    assert expected["openai/gpt-4o-mini"] is not None
    pricing._packaged_table.cache_clear()
    pricing._index.cache_clear()
