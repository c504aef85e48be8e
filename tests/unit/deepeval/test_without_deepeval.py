"""deepeval is the optional extra ``brittle[deepeval]``: without it, everything that needs it says
how to install it, in one line, and everything else works.

Each test runs a child Python in which deepeval cannot be imported (``sys.modules["deepeval"] =
None``, which is what Python does for a module that is not there: ``ModuleNotFoundError`` with
``name == "deepeval"``). tests/integration/test_install.py checks the same in a real install
without the extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import ROOT

INSTALL = "pip install 'brittle[deepeval]'"

BLOCK = "import sys\nsys.modules['deepeval'] = None  # as if not installed\n"


def _child(code: str, cwd: Path) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        # the project folder importable, as pytest's rootdir would be (rules.py)
        env={"PYTHONPATH": f"{ROOT}:{cwd}", "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found


def test_the_deepeval_check_and_api_name_the_extra(tmp_path: Path) -> None:
    found = _child(
        """
        import json
        from brittle.checks import make_check
        out = {}
        try:
            make_check("deepeval", {"judge": "openai/x", "criteria": "ok?"}, where="a.eval.yaml")
        except Exception as exc:
            out["check"] = f"{type(exc).__name__}: {exc}"
        for name in ("ConsistencyMetric", "GatewayJudge", "export_goldens", "import_goldens"):
            try:
                exec(f"from brittle.deepeval import {name}")
            except ImportError as exc:
                out[name] = f"{type(exc).__name__}: {exc} [{exc.name}]"
        import brittle.deepeval
        out["cheap"] = str(sorted(brittle.deepeval.METRICS)[:2])
        print(json.dumps(out))
        """,
        tmp_path,
    )
    assert found["check"] == (
        "ConfigError: a.eval.yaml: 'deepeval': the deepeval check needs deepeval, which is not "
        f"installed\n  fix: install it with: {INSTALL} (or use a check that needs no judge)"
    )
    for name, what in (
        ("ConsistencyMetric", "brittle.deepeval.ConsistencyMetric"),
        ("GatewayJudge", "brittle.deepeval.GatewayJudge"),
        ("export_goldens", "brittle.deepeval (golden sets)"),
        ("import_goldens", "brittle.deepeval (golden sets)"),
    ):
        assert found[name] == (
            f"ModuleNotFoundError: {what} needs deepeval, which is not installed; "
            f"install it with: {INSTALL} [deepeval]"
        )
    assert found["cheap"] == "['answer_relevancy', 'bias']"  # the package itself still imports


def test_an_eval_file_with_a_deepeval_check_fails_to_load_naming_file_and_extra(
    tmp_path: Path,
) -> None:
    (tmp_path / "golden.jsonl").write_text('{"id": "a", "text": "hi", "expected": "hi"}\n')
    (tmp_path / "rules.py").write_text("def answer(inputs):\n    return inputs['text']\n")
    (tmp_path / "judged.eval.yaml").write_text(
        "name: judged\ngolden: golden.jsonl\nsystems:\n  rules: {callable: 'rules:answer'}\n"
        "checks:\n  - exact: {}\n  - deepeval: {judge: openai/j, criteria: 'Same?'}\n"
        "gates: [accuracy >= 1.0]\n"
    )
    found = _child(
        """
        import json
        from brittle.spec.eval import load_eval_file
        try:
            load_eval_file(__import__("pathlib").Path("judged.eval.yaml"))
        except Exception as exc:
            print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        else:
            print(json.dumps({"error": None}))
        """,
        tmp_path,
    )
    error = found["error"]
    assert error is not None and error.startswith("ConfigError: judged.eval.yaml:7: "), error
    assert "the deepeval check needs deepeval, which is not installed" in error
    assert f"fix: install it with: {INSTALL}" in error


def test_a_broken_deepeval_is_not_reported_as_missing(tmp_path: Path) -> None:
    """Only deepeval's own absence is "not installed": a module deepeval fails to import (a
    broken install) keeps its own error."""
    from brittle.deepeval._require import check_error, missing_deepeval

    other = ModuleNotFoundError("No module named 'posthog'", name="posthog")
    assert missing_deepeval(other, "x") is other
    assert check_error(other) is other
    absent = ModuleNotFoundError("No module named 'deepeval.metrics'", name="deepeval.metrics")
    assert INSTALL in str(missing_deepeval(absent, "x"))
