"""Python/YAML parity of templates (issue 17): the Python API takes a template file as a
``Path`` or ``Template.from_file``; text that names a file is refused, never sent as the prompt."""

from __future__ import annotations

from pathlib import Path

import pytest

import brittle
from brittle import ConfigError, ModelSystem, PromptSystem, Template
from brittle.spec.systems import LLMSystem

TEXT = "Classify the ticket: {{ text }}\nAnswer with one label.\n"


@pytest.fixture
def prompt_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "prompts").mkdir()
    path = tmp_path / "prompts" / "zero_shot.txt"
    path.write_text(TEXT, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return path


def test_a_path_and_from_file_read_the_file(prompt_file: Path) -> None:
    inline = PromptSystem("zs", "openai/x", TEXT)
    for given in (Path("prompts/zero_shot.txt"), prompt_file, Template.from_file(prompt_file)):
        system = PromptSystem("zs", "openai/x", given)
        assert system.template is not None
        assert system.template.source == str(prompt_file.resolve())
        assert system.prompt_for({"text": "printer on fire"}).startswith(
            "Classify the ticket: printer on fire"
        )
        assert system.fingerprint() == inline.fingerprint()  # the text, not where it lives
    assert ModelSystem("ft", "openai/ft", Path("prompts/zero_shot.txt")).required_fields() == {
        "text"
    }
    assert LLMSystem("raw", "openai/x", Path("prompts/zero_shot.txt")).template == Template(  # type: ignore[arg-type]
        TEXT, source=str(prompt_file.resolve())
    )
    assert brittle.Template is Template


@pytest.mark.parametrize("given", ["prompts/zero_shot.txt", "  prompts/zero_shot.txt\n"])
def test_text_that_names_a_file_is_refused_with_the_fix(prompt_file: Path, given: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PromptSystem("zs", "openai/x", given)
    message = str(caught.value)
    assert "'prompts/zero_shot.txt' is a file path" in message
    assert "Path('prompts/zero_shot.txt')" in message
    assert "Template.from_file('prompts/zero_shot.txt')" in message
    assert caught.value.key == "systems.zs.template"
    assert caught.value.where is not None and __file__ in caught.value.where  # the caller's line
    with pytest.raises(ConfigError, match="is a file path"):
        ModelSystem("ft", "openai/ft", str(prompt_file))


def test_text_that_looks_like_a_missing_file_is_refused(prompt_file: Path) -> None:
    # the user's case: a path relative to the test file, run from another folder
    with pytest.raises(ConfigError, match=r"looks like a file path \(no such file here\)"):
        PromptSystem("zs", "openai/x", "../prompts/zero_shot.txt")
    with pytest.raises(ConfigError, match="does not exist") as caught:
        Template.from_file("../prompts/zero_shot.txt")
    assert "Path(__file__).parent" in str(caught.value)
    with pytest.raises(ConfigError, match="does not exist"):
        PromptSystem("zs", "openai/x", Path("missing.txt"))


@pytest.mark.parametrize(
    "text", ["Say hello.", "Answer: {{ text }}", "notes.txt: {{ text }}", "Reply in a file.txt"]
)
def test_template_text_stays_text(prompt_file: Path, text: str) -> None:
    system = PromptSystem("zs", "openai/x", text)
    assert system.template is not None and system.template.text == text


def test_wrong_types_still_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"pathlib\.Path or a brittle Template, got"):
        PromptSystem("zs", "openai/x", 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="got null"):
        PromptSystem("zs", "openai/x", None)  # type: ignore[arg-type]
