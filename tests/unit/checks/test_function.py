"""The python check: a user function decides."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from brittle._errors import ConfigError
from brittle.checks import (
    CheckResult,
    make_check,
    python,
)
from brittle.spec.cases import Case
from tests.unit.checks.cases import case

# --------------------------------------------------------------------------- python


def test_python_check_interprets_return_values() -> None:
    def verdict(output: str, case: Case) -> Any:
        return {"yes": True, "no": False, "half": 0.5, "low": 0.2}[output]

    check = python(verdict)
    assert check.check("yes", case()) == CheckResult(passed=True)
    assert not check.check("no", case()).passed
    assert check.check("half", case()) == CheckResult(passed=True, score=0.5)
    low = check.check("low", case())
    assert (low.passed, low.score) == (False, 0.2)
    assert python(verdict, threshold=0.1).check("low", case()).passed
    assert check.params["function"].endswith("verdict")


def test_python_check_returning_a_result_or_raising() -> None:
    def scorer(output: str, case: Case) -> CheckResult:
        if output == "boom":
            raise RuntimeError("model said boom")
        return CheckResult(passed=output == case.expected, answer=output.upper())

    check = python(scorer)
    assert check.check("a", case("a")) == CheckResult(passed=True, answer="A")
    crashed = check.check("boom", case("a"))
    assert crashed == CheckResult(passed=False, detail="error: RuntimeError: model said boom")
    odd = python(lambda output, case: "yes").check("x", case())
    assert not odd.passed
    assert "must return a bool" in odd.detail
    assert not python(lambda output, case: 1.5).check("x", case()).passed


def test_python_check_from_a_module_or_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "brittle_test_scorers.py").write_text(
        "def shouty(output, case):\n    return output.isupper()\n", encoding="utf-8"
    )
    (tmp_path / "local_scorer.py").write_text(
        "def long_enough(output, case):\n    return len(output) / 10\n", encoding="utf-8"
    )
    monkeypatch.delitem(sys.modules, "brittle_test_scorers", raising=False)
    from_module = make_check(
        "python", {"function": "brittle_test_scorers:shouty"}, base_dir=tmp_path
    )
    assert from_module.check("HEY", case()).passed
    assert from_module.params == {
        "function": "brittle_test_scorers:shouty",
        "threshold": 0.5,
        "requires_expected": False,
    }
    from_file = make_check("python", {"function": "local_scorer.py:long_enough"}, base_dir=tmp_path)
    assert from_file.check("0123456789", case()).score == 1.0
    monkeypatch.delitem(sys.modules, "brittle_test_scorers")


@pytest.mark.parametrize(
    ("function", "problem"),
    [
        ("no_such_module_xyz:fn", "no module named 'no_such_module_xyz'"),
        ("json:lods", "has no attribute 'lods'"),
        ("json", "is not of the form 'module:function'"),
        ("json:__doc__", "is not callable"),
        ("os.path:join", ""),  # fine: join(output, case) binds
        ("math:sqrt", "cannot be called as function(output, case)"),
    ],
)
def test_python_check_import_errors(function: str, problem: str) -> None:
    if not problem:
        make_check("python", {"function": function})
        return
    with pytest.raises(ConfigError) as info:
        make_check("python", {"function": function}, where="e.yaml", key="checks[0]")
    assert problem in info.value.problem
    assert info.value.key == "checks[0].python.function"
    assert info.value.fix
