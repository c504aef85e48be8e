"""Python/YAML parity and validation gaps of issue 17, through the plugin and ``brittle run``
as a user meets them: a template path passed as text in a Python eval, and the remark on a
system that is always wrong or always gives the same answer."""

from __future__ import annotations

import json

import pytest

from tests.support.evalproject import eval_yaml, write_project

ODD = """
OPPOSITE = {"positive": "negative", "negative": "positive"}


def always_wrong(inputs):
    return OPPOSITE[inputs["hint"]]


def always_negative(inputs):
    return "negative"
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    write_project(pytester)
    pytester.makepyfile(odd=ODD)
    return pytester


def test_a_template_path_as_text_fails_at_collection_with_the_fix(
    project: pytest.Pytester,
) -> None:
    (project.path / "prompts").mkdir()
    (project.path / "prompts" / "zero_shot.txt").write_text("Sentiment of: {{ text }}\n")
    project.makepyfile(
        test_routing="""
        from pathlib import Path
        import brittle
        from brittle import checks

        @brittle.evaluation
        def test_demo():
            return brittle.Eval(
                golden="golden.jsonl",
                systems=[brittle.PromptSystem("zero-shot", "openai/stub", "prompts/zero_shot.txt")],
                checks=[checks.label(["positive", "negative"])],
            )
        """
    )
    result = project.runpytest()
    assert result.ret != 0
    out = result.stdout.str()
    assert "template 'prompts/zero_shot.txt' is a file path" in out
    assert "Path('prompts/zero_shot.txt')" in out and "Template.from_file(" in out
    assert "test_routing.py:9: " in out  # the line that built the system


def test_always_wrong_and_constant_systems_get_a_remark(project: pytest.Pytester) -> None:
    project.makefile(
        ".eval.yaml",
        demo=eval_yaml({"fine": "stable"}, ["flip_rate <= 0.2"]).replace(
            "    callable: sysmod:stable",
            "    callable: sysmod:stable\n"
            "  wrong:\n    kind: python\n    callable: odd:always_wrong\n"
            "  same:\n    kind: python\n    callable: odd:always_negative",
        ),
    )
    result = project.runpytest()
    result.assert_outcomes(passed=3)  # a flip-rate gate passes: the answers never change
    out = result.stdout.str()
    wrong = "system 'wrong' got all 16 cases wrong"
    same = "system 'same' answered 'negative' to all 16 cases"
    assert f"note: {wrong}" in out and f"note: {same}" in out
    assert "system 'fine'" not in out
    summary = json.loads((project.path / "reports" / "latest" / "summary.json").read_text())
    notes = summary["evals"][0]["notes"]
    assert len(notes) == 2 and notes[0].startswith(wrong) and notes[1].startswith(same)
    markdown = (project.path / "reports" / "latest" / "summary.md").read_text()
    assert wrong in markdown and same in markdown
