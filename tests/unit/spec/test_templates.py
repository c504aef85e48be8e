"""Template rendering: the plain-template shortcut renders exactly what Jinja2 renders."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest

from brittle.spec.systems import _JINJA, PromptSystem, Template

TEMPLATES = [
    "{{ hint }} is what I think of {{ text }}",
    "Classify: {{ text }}\n",  # the trailing newline Jinja2 drops
    "{{ text }}\n\n",
    "  {{ text }}  {{hint}} {# a comment #}",
    "{{- text -}}  x  {{- hint }}",
    "no fields at all",
    "",
    "é {{ text }} ü {{ text }}",
    "{{ range }}",  # a Jinja2 global when the case has no such field
    "{% if text %}{{ text }}{% endif %}",  # not plain: Jinja2 renders
    "{{ text | upper }}",
]
INPUTS: list[dict[Any, Any]] = [
    {"text": "a review", "hint": "positive"},
    {"text": None, "hint": 0},
    {"text": 1.5, "hint": True},
    {"text": ["x", 1], "hint": {"k": "v"}},
    {"text": "line\nbreak"},  # hint missing: Jinja2's StrictUndefined error
    {"self": "x", "text": "t", "hint": "h"},  # render(**inputs) itself fails
    {"text": "t", "hint": "h", 1: "a key that is no name"},
    {"range": "given", "text": "t", "hint": "h"},
]


def _outcome(function: Any) -> tuple[Any, ...]:
    try:
        return ("ok", function())
    except Exception as exc:
        return ("error", type(exc).__name__)


@pytest.mark.parametrize("text", TEMPLATES)
def test_rendering_equals_jinja2(text: str) -> None:
    template = Template(text)
    for inputs in INPUTS:
        want = _outcome(lambda i=inputs: _JINJA.from_string(text).render(**i))
        assert _outcome(lambda i=inputs: template.render(i)) == want, (text, inputs)


def test_plain_templates_skip_jinja2(monkeypatch: pytest.MonkeyPatch) -> None:
    plain, loop = (
        Template("{{ hint }}: {{ text }}"),
        Template("{% for x in text %}{{ x }}{% endfor %}"),
    )

    def refuse(*args: Any, **kwargs: Any) -> str:
        raise AssertionError("Jinja2 rendered")

    monkeypatch.setattr(jinja2.Template, "render", refuse)
    assert plain.render({"hint": "h", "text": "t"}) == "h: t"
    with pytest.raises(AssertionError, match="Jinja2 rendered"):
        loop.render({"text": "ab"})


def test_a_given_prompt_is_the_rendered_one() -> None:
    system = PromptSystem("s", "openai/x", "Say {{ text }}", system_prompt="Be brief")
    inputs = {"text": "hi"}
    assert system.request(inputs) == system.request(inputs, prompt=system.prompt_for(inputs))
    assert system.messages(inputs, prompt="given")[-1] == {"role": "user", "content": "given"}
