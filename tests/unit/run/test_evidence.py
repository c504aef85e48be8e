"""A failing gate's evidence (brittle.run.evidence): template-level flips show the difference
of the two prompts, not two equal inputs."""

from __future__ import annotations

from pathlib import Path

from brittle import PromptSystem, checks
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.options import Options
from brittle.run.evidence import describe, template_diff
from brittle.run.session import BrittleSession
from brittle.run.verdicts import check_gate
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.suites import suite_from_mapping


class RoleShy:
    """A fake model: the review's label, but 'unsure' when the prompt opens with a role line."""

    async def complete(self, request: CallRequest) -> CallResult:
        prompt = request.messages[-1]["content"]
        if prompt.startswith("You are"):
            return CallResult(text="unsure")
        return CallResult(text="negative" if "broke" in prompt else "positive")


def test_a_template_level_flip_shows_the_template_difference(tmp_path: Path) -> None:
    suite = suite_from_mapping(
        {"name": "roles", "perturbations": [{"family": "preamble", "params": {"kind": "role"}}]}
    )
    spec = build_spec(
        Eval(
            golden=[
                Case("c1", {"text": "It broke after a day."}, expected="negative"),
                Case("c2", {"text": "Lovely and quick."}, expected="positive"),
            ],
            systems=[PromptSystem("prompt", "fake/model", "Classify: {{ text }}\nAnswer:")],
            checks=[checks.label(["positive", "negative"])],
            suites=[suite],
            gates=["flip_rate <= 0"],
        ),
        source=Path("inline.eval.yaml"),
    )
    session = BrittleSession(Options(report_dir=None, cache="off", progress=False))
    session.state(spec).gateway = Gateway(RoleShy())
    verdict = check_gate(session, spec, "prompt", spec.gates[0])
    assert verdict.passed is False
    lines = verdict.message.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("    c1[preamble#1]"))
    assert lines[at].endswith("original answer 'negative'; template changed:")
    assert lines[at + 1].startswith("      +You are")  # the role line the variant added
    cases = verdict.details["evidence"]["cases"]
    assert cases[0]["template_diff"].startswith("+You are")
    assert cases[0]["original_input"] == cases[0]["variant_input"] == "It broke after a day."


def test_template_diff_is_short_and_clipped() -> None:
    before = "\n".join(f"line {i}" for i in range(20))
    after = "\n".join(f"LINE {i} " + "x" * 200 for i in range(20))
    diff = template_diff(before, after)
    assert diff is not None
    lines = diff.splitlines()
    assert len(lines) == 7 and lines[-1] == "… 34 more line(s)"
    assert all(len(line) <= 100 for line in lines)
    assert template_diff("same", "same") is None and template_diff(None, "x") is None


def test_a_worse_case_names_both_answers() -> None:
    case = {
        "row_id": "c3",
        "input": "a\tb",
        "expected": "yes",
        "answer": "no",
        "passed": False,
        "baseline_answer": "yes",
        "baseline_passed": True,
    }
    assert describe(case) == [
        "    c3: input 'a\\tb', expected 'yes': baseline answer 'yes' (passed) -> now 'no' (failed)"
    ]
