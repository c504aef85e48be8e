"""A fine-tune's base and its adapter check, as system keys (``base``, ``adapter_check``) in
YAML and in the Python API; each mistake is one ConfigError naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

import brittle
from brittle._errors import ConfigError
from brittle.spec.adapter import DEFAULT_SAMPLE, adapter_base, parse_adapter_check
from brittle.spec.eval import load_eval_file
from brittle.spec.systems import LLMSystem
from tests.unit.spec.test_eval import EVAL, edit, helper_module, project

__all__ = ["helper_module"]  # the autouse fixture that makes the python system importable

LORA = """\
  lora:
    kind: model
    model: local/smollm2+../adapters/tiny
    template: ../prompts/zero_shot.txt
"""


def _with_lora(extra: str = "") -> str:
    return edit(EVAL, "  rules:\n", LORA + extra + "  rules:\n")


def test_a_local_adapter_names_its_base_and_is_checked_by_default(tmp_path: Path) -> None:
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    spec = load_eval_file(project(tmp_path, eval_text=_with_lora()))
    lora = spec.system("lora")
    assert isinstance(lora, LLMSystem)
    assert lora.adapter_check == DEFAULT_SAMPLE
    # written as the user wrote it (reports, fingerprints), called as the provider needs it
    assert lora.base_model() == ("local/smollm2", "local/smollm2")
    zero_shot = spec.system("zero-shot")
    assert isinstance(zero_shot, LLMSystem) and zero_shot.base_model() is None


def test_base_and_adapter_check_keys_load_and_leave_the_fingerprint_alone(
    tmp_path: Path,
) -> None:
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    plain = load_eval_file(project(tmp_path, eval_text=_with_lora())).system("lora")
    text = _with_lora("    base: local/smollm2\n    adapter_check: {sample: 5}\n")
    spec = load_eval_file(project(tmp_path, eval_text=text))
    lora = spec.system("lora")
    assert isinstance(lora, LLMSystem)
    assert lora.adapter_check == 5 and lora.base == "local/smollm2"
    assert lora.fingerprint() == plain.fingerprint()


@pytest.mark.parametrize(
    ("value", "sample"), [("true", 30), ("false", 0), ("12", 12), ("{sample: 3}", 3), ("{}", 30)]
)
def test_adapter_check_forms(value: str, sample: int, tmp_path: Path) -> None:
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    spec = load_eval_file(project(tmp_path, eval_text=_with_lora(f"    adapter_check: {value}\n")))
    assert spec.system("lora").adapter_check == sample  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "key", "problem"),
    [
        ("{size: 3}", "systems.lora.adapter_check.size", "unknown key 'size' in adapter_check"),
        ("{sample: -1}", "systems.lora.adapter_check.sample", "a whole number of at least 0"),
        ("lots", "systems.lora.adapter_check", "a whole number of at least 0"),
    ],
)
def test_a_bad_adapter_check_names_the_file_line_and_key(
    tmp_path: Path, value: str, key: str, problem: str
) -> None:
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    path = project(tmp_path, eval_text=_with_lora(f"    adapter_check: {value}\n"))
    with pytest.raises(ConfigError) as caught:
        load_eval_file(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:"), message
    line = EVAL.splitlines().index("  rules:") + LORA.count("\n") + 1  # the key's own line
    assert f"{path}:{line}:" in message, message
    assert f"'{key}'" in message and problem in message
    assert "adapter_check: {sample: 30}" in message  # the fix


@pytest.mark.parametrize("value", ["true", "{sample: 5}", "7"])
def test_an_adapter_check_asked_of_a_system_without_a_base_is_refused(
    tmp_path: Path, value: str
) -> None:
    # a prompt system on the bare model (no adapter, no base): the check would be skipped
    text = edit(
        EVAL,
        "    params: {temperature: 0, max_tokens: 4}\n  rules:\n",
        f"    params: {{temperature: 0, max_tokens: 4}}\n    adapter_check: {value}\n  rules:\n",
    )
    path = project(tmp_path, eval_text=text)
    with pytest.raises(ConfigError) as caught:
        load_eval_file(path)
    message = str(caught.value)
    line = EVAL.splitlines().index("  rules:") + 1  # the key's own line
    assert f"{path}:{line}:" in message, message
    assert "'systems.zero-shot.adapter_check'" in message
    assert "does not know its base model" in message and "add 'base: <model>'" in message
    # turned off, or with a base named, it loads
    off = edit(text, f"adapter_check: {value}", "adapter_check: false")
    assert load_eval_file(project(tmp_path, eval_text=off)).system("zero-shot")
    based = edit(
        text, f"adapter_check: {value}", f"adapter_check: {value}\n    base: local/smollm2"
    )
    system = load_eval_file(project(tmp_path, eval_text=based)).system("zero-shot")
    assert system.base_model() == ("local/smollm2", "local/smollm2")  # type: ignore[attr-defined]


def test_a_bad_base_is_refused(tmp_path: Path) -> None:
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"'systems\.lora\.base'.*litellm model string"):
        load_eval_file(project(tmp_path, eval_text=_with_lora("    base: 3\n")))


def test_the_python_api_takes_base_and_adapter_check() -> None:
    system = brittle.ModelSystem(
        "ft", "openai/ft:gpt-4o-mini:acme::x1", base="openai/gpt-4o-mini", adapter_check=False
    )
    assert system.base_model() == ("openai/gpt-4o-mini", "openai/gpt-4o-mini")
    assert system.adapter_check == 0
    checked = brittle.ModelSystem("ft", "openai/ft-x", base="openai/x", adapter_check={"sample": 7})
    assert checked.adapter_check == 7
    # a provider id without a base: no base known, nothing to check against
    assert brittle.ModelSystem("ft", "openai/ft:gpt-4o-mini:acme::x1").base_model() is None
    with pytest.raises(ConfigError, match="adapter_check"):
        brittle.ModelSystem("ft", "openai/ft-x", base="openai/x", adapter_check=-3)


@pytest.mark.parametrize(
    ("model", "call_model", "expected"),
    [
        ("local/smollm2+ad", "local/smollm2+/abs/ad", ("local/smollm2", "local/smollm2")),
        ("local/smollm2", None, None),
        ("openai/gpt-4o-mini", None, None),
    ],
)
def test_adapter_base(model: str, call_model: str | None, expected: object) -> None:
    assert adapter_base(model, call_model, None) == expected


def test_a_checkpoint_base_keeps_its_written_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ckpt").mkdir()
    monkeypatch.chdir(tmp_path)
    found = adapter_base("local/ckpt+ad", f"local/{tmp_path}/ckpt+{tmp_path}/ad", None)
    assert found == ("local/ckpt", f"local/{tmp_path}/ckpt")


def test_parse_adapter_check_defaults() -> None:
    assert parse_adapter_check(None, where=None, key="k") == DEFAULT_SAMPLE
    assert parse_adapter_check(True, where=None, key="k") == DEFAULT_SAMPLE


def test_an_adapter_gate_without_any_fine_tune_with_a_base_is_refused_at_load(
    tmp_path: Path,
) -> None:
    path = project(
        tmp_path, eval_text=edit(EVAL, "gates:\n", "gates:\n  - adapter_changed >= 0.1\n")
    )
    with pytest.raises(ConfigError) as caught:
        load_eval_file(path)
    message = str(caught.value)
    assert "gate 'adapter_changed >= 0.1'" in message and "'gates[0]'" in message
    assert "no system of this eval is a fine-tune with a known base" in message
    assert "base: <model>" in message  # the fix
    # with a fine-tune beside the prompt, the same gate loads (skipped on the prompt system)
    (tmp_path / "adapters" / "tiny").mkdir(parents=True)
    text = edit(_with_lora(), "gates:\n", "gates:\n  - adapter_changed >= 0.1\n")
    assert load_eval_file(project(tmp_path, eval_text=text)).gates[0].metric == "adapter_changed"
