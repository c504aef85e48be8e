"""Frozen paraphrases: the ``brittle paraphrase`` command, its fixture, and suites that read it.

The command test runs the real embedded model offline on three cases (``-m model``); the rest use
a fake model behind the same gateway, so they run in milliseconds.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from brittle import checks
from brittle._errors import ConfigError
from brittle.cli import main
from brittle.gateway import CallRequest, CallResult, Gateway
from brittle.search.embeddings import Embedder
from brittle.search.paraphrase import INPUT_PROMPTS, clean, paraphrase_file
from brittle.spec.cases import Case
from brittle.spec.eval import Eval, build_spec
from brittle.spec.suites import load_suite
from brittle.spec.systems import CallableSystem
from tests.support import ROOT

GOLDEN_ROWS = [
    {"id": "r1", "text": "The battery lasts all week.", "expected": "positive"},
    {"id": "r2", "text": "The lid broke on day two.", "expected": "negative"},
    {"id": "r3", "text": "Friendly staff and a spotless room.", "expected": "positive"},
]


class FakeModel:
    """Embeds a text as its letter counts: equal texts score 1, similar texts high."""

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return np.array(
            [[t.lower().count(c) + 0.1 for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts],
            dtype=np.float32,
        )


class Paraphraser:
    """A fake model that 'paraphrases' by replying with a label and the text in quotes."""

    def __init__(self, rows: list[dict[str, Any]] = GOLDEN_ROWS) -> None:
        self.calls: list[CallRequest] = []
        self.rows = rows

    async def complete(self, request: CallRequest) -> CallResult:
        self.calls.append(request)
        prompt = request.messages[-1]["content"]
        original = next(row["text"] for row in self.rows if row["text"] in prompt)
        k = next(i for i, p in enumerate(INPUT_PROMPTS) if p.format(text=original) == prompt)
        return CallResult(text=f'Rewritten text: "{original[:-1]}, really ({k})."')


def write_golden(folder: Path, rows: list[dict[str, Any]] = GOLDEN_ROWS) -> Path:
    path = folder / "golden.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def generate(folder: Path, golden: Path, transport: Paraphraser, n: int = 2) -> Any:
    return paraphrase_file(
        folder / "paraphrases.jsonl",
        golden,
        n=n,
        gateway=Gateway(transport),
        embedder=Embedder(FakeModel()),
    )


def test_fixture_lines_and_idempotence(tmp_path: Path) -> None:
    golden = write_golden(tmp_path)
    transport = Paraphraser()
    report = generate(tmp_path, golden, transport)
    assert (report.wanted, report.generated, report.kept, report.written) == (6, 6, 0, True)
    lines = [json.loads(line) for line in (tmp_path / "paraphrases.jsonl").read_text().splitlines()]
    assert [(r["id"], r["k"]) for r in lines] == [
        ("r1", 0),
        ("r1", 1),
        ("r2", 0),
        ("r2", 1),
        ("r3", 0),
        ("r3", 1),
    ]
    first = lines[0]
    assert set(first) == {"id", "field", "k", "original", "text", "model", "prompt", "similarity"}
    assert first["text"] == "The battery lasts all week, really (0)."  # label and quotes gone
    assert first["model"] == "local/smollm2" and first["prompt"] == INPUT_PROMPTS[0]
    assert 0 < first["similarity"] <= 1
    assert transport.calls[0].params["temperature"] == 0
    body = (tmp_path / "paraphrases.jsonl").read_bytes()

    again = generate(tmp_path, golden, transport)
    assert (again.generated, again.kept, again.written) == (0, 6, False)
    assert len(transport.calls) == 6  # nothing was called the second time
    assert (tmp_path / "paraphrases.jsonl").read_bytes() == body


def test_only_new_and_changed_cases_are_generated(tmp_path: Path) -> None:
    golden = write_golden(tmp_path)
    generate(tmp_path, golden, Paraphraser())
    rows = [dict(row) for row in GOLDEN_ROWS]
    rows[1]["text"] = "The lid broke on day three."
    rows.append({"id": "r4", "text": "Too loud to sleep next to.", "expected": "negative"})
    write_golden(tmp_path, rows)
    transport = Paraphraser(rows)
    report = generate(tmp_path, golden, transport)
    assert (report.kept, report.generated, report.removed) == (4, 4, 2)
    assert {call.messages[-1]["content"].count("day three") for call in transport.calls[:2]} == {1}
    lines = (tmp_path / "paraphrases.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        "r1",
        "r1",
        "r2",
        "r2",
        "r3",
        "r3",
        "r4",
        "r4",
    ]


def test_more_paraphrases_than_prompts_sample_with_a_seed(tmp_path: Path) -> None:
    golden = write_golden(tmp_path, GOLDEN_ROWS[:1])
    transport = Paraphraser()
    generate(tmp_path, golden, transport, n=len(INPUT_PROMPTS) + 1)
    last = transport.calls[-1].params
    assert last["temperature"] > 0 and last["seed"] == len(INPUT_PROMPTS)


def test_clean() -> None:
    assert clean('Paraphrase: "Good stuff."', multiline=False) == "Good stuff."
    assert clean("Nice.\n\nI hope this helps!", multiline=False) == "Nice."
    assert clean("Line one\nline two", multiline=False) == "Line one line two"
    assert clean("Line one\nline two", multiline=True) == "Line one\nline two"
    assert clean('The text was rewritten to: "Quick and tidy."', multiline=False) == (
        "Quick and tidy."
    )
    assert clean('The original text is: "Cut off mid-sente', multiline=False) == "Cut off mid-sente"
    assert clean('He said: "fine" and left.', multiline=False) == 'He said: "fine" and left.'


def test_instruction_paraphrases_from_a_template(tmp_path: Path) -> None:
    class Echo:
        async def complete(self, request: CallRequest) -> CallResult:
            return CallResult(text="Say whether the review is positive or negative.")

    report = paraphrase_file(
        tmp_path / "instructions.jsonl",
        templates=[ROOT / "fixtures" / "prompts" / "sentiment_zero_shot.txt"],
        n=1,
        gateway=Gateway(Echo()),
        embedder=Embedder(FakeModel()),
    )
    assert report.generated == 1
    line = json.loads((tmp_path / "instructions.jsonl").read_text())
    assert line["id"] == "sentiment_zero_shot" and line["field"] == "instruction"
    assert line["original"].startswith("Classify the sentiment of the product review")
    # the instruction family reads the file and rewrites the template with it
    suite_file = tmp_path / "instr.yaml"
    suite_file.write_text(
        "name: i\nperturbations:\n  - {family: instruction, params: {file: instructions.jsonl}}\n"
    )
    suite = load_suite(suite_file)
    template = (ROOT / "fixtures" / "prompts" / "sentiment_zero_shot.txt").read_text()
    variants, noops = suite.template_variants(Case("c", {"text": "x"}), template)
    assert noops == {} and len(variants) == 1
    assert variants[0].template is not None
    assert variants[0].template.startswith("Say whether the review is positive or negative.\n")


# --- suites that read the frozen file ------------------------------------------------------------


def paraphrase_suite(folder: Path, file: str = "paraphrases.jsonl", n: int = 2) -> Path:
    path = folder / "paraphrases.yaml"
    path.write_text(
        "name: paraphrases\nmin_similarity: 0.5\nlabel_guard: [positive, negative]\n"
        f"perturbations:\n  - {{family: paraphrase, n: {n}, params: {{file: {file}}}}}\n"
    )
    return path


def spec_for(folder: Path, suite_path: Path, rows: list[dict[str, Any]] = GOLDEN_ROWS) -> Any:
    cases = [Case(row["id"], {"text": row["text"]}, row["expected"]) for row in rows]
    return build_spec(
        Eval(
            golden=cases,
            systems=[CallableSystem("s", lambda inputs: "positive")],
            checks=[checks.label(["positive", "negative"])],
            suites=[load_suite(suite_path)],
        ),
        source=folder / "x.eval.yaml",
    )


def test_a_suite_using_the_file_yields_identical_variants(tmp_path: Path) -> None:
    generate(tmp_path, write_golden(tmp_path), Paraphraser())
    suite_path = paraphrase_suite(tmp_path, n=3)

    def variants() -> list[tuple[str, str]]:
        spec = spec_for(tmp_path, suite_path)
        out = []
        for case in spec.cases:
            found, noops = spec.suites[0].variants(case, fields=["text"], seed=None)
            assert noops == {"paraphrase": 1}  # two lines per case, three slots
            out += [(v.id, v.inputs["text"]) for v in found]
        return out

    first = variants()
    assert first == variants()
    assert first[0] == ("r1[paraphrase#1]", "The battery lasts all week, really (0).")
    assert first[1] == ("r1[paraphrase#2]", "The battery lasts all week, really (1).")
    # the seed has no say in frozen variants
    spec = spec_for(tmp_path, suite_path)
    again = [
        (v.id, v.inputs["text"])
        for case in spec.cases
        for v in spec.suites[0].variants(case, fields=["text"], seed=99)[0]
    ]
    assert again == first


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_suite(paraphrase_suite(tmp_path, file="nowhere.jsonl"))
    message = str(info.value)
    assert "paraphrases.yaml" in message
    assert "file 'nowhere.jsonl' does not exist" in message
    assert str(tmp_path / "nowhere.jsonl") in message
    assert "brittle paraphrase" in message


def test_ids_that_do_not_match_the_golden_set_are_clear_errors(tmp_path: Path) -> None:
    generate(tmp_path, write_golden(tmp_path), Paraphraser())
    suite_path = paraphrase_suite(tmp_path)
    fixture = str(tmp_path / "paraphrases.jsonl")
    with pytest.raises(ConfigError) as info:
        spec_for(tmp_path, suite_path, rows=GOLDEN_ROWS[:2])
    assert fixture in str(info.value)
    assert "1 id(s) in the file are not in the golden set: r3" in str(info.value)
    extra = [*GOLDEN_ROWS, {"id": "r9", "text": "New one.", "expected": "positive"}]
    with pytest.raises(ConfigError) as info:
        spec_for(tmp_path, suite_path, rows=extra)
    assert "1 golden case(s) have no line in the file: r9" in str(info.value)
    assert "brittle paraphrase" in str(info.value)
    changed = [dict(row) for row in GOLDEN_ROWS]
    changed[0]["text"] = "The battery lasts a month."
    with pytest.raises(ConfigError) as info:
        spec_for(tmp_path, suite_path, rows=changed)
    assert "golden text of case 'r1' has changed" in str(info.value)
    assert f"{fixture}:1" in str(info.value)


def test_malformed_lines_are_clear_errors(tmp_path: Path) -> None:
    fixture = tmp_path / "paraphrases.jsonl"
    for body, message in (
        ('{"id": "r1", "text": "ok"}\nnot json\n', "line is not valid JSON"),
        ('{"id": "r1"}\n', "'text' is missing or not a string"),
        ('["r1", "text"]\n', "line is not a JSON object"),
    ):
        fixture.write_text(body)
        with pytest.raises(ConfigError, match=message) as info:
            load_suite(paraphrase_suite(tmp_path))
        assert str(fixture) in str(info.value)


def test_the_demo_fixture_matches_the_demo_golden_set() -> None:
    fixture = ROOT / "fixtures" / "sentiment" / "paraphrases.jsonl"
    if not fixture.is_file():
        pytest.skip("fixtures/sentiment/paraphrases.jsonl not generated yet")
    suite = load_suite(ROOT / "suites" / "paraphrases.yaml")
    from brittle.spec.golden import load_golden

    cases = load_golden(ROOT / "fixtures" / "sentiment" / "golden.jsonl")
    suite.check_cases(cases, ["text"])  # raises on any mismatch
    lines = [json.loads(line) for line in fixture.read_text().splitlines()]
    assert {line["model"] for line in lines} == {"local/smollm2"}


# --- the command, with the real embedded model ----------------------------------------------------


@pytest.mark.model
def test_paraphrase_command_offline_with_the_local_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    golden = ROOT / "fixtures" / "sentiment" / "golden.jsonl"
    three = tmp_path / "golden.jsonl"
    three.write_text("".join(golden.read_text().splitlines(keepends=True)[:3]))
    out = tmp_path / "paraphrases.jsonl"
    argv = ["paraphrase", str(three), "--out", str(out), "--n", "1", "--max-tokens", "40"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "3 wanted, 0 kept, 3 generated, 0 failed" in first
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["rev-001", "rev-002", "rev-003"]
    for line in lines:
        assert line["model"] == "local/smollm2"
        assert line["text"].strip()
        assert -1 <= line["similarity"] <= 1
    body = out.read_bytes()
    assert main(argv) == 0
    assert "3 kept, 0 generated" in capsys.readouterr().out
    assert out.read_bytes() == body
