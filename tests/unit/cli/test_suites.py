"""``brittle suites``: the builtin suites listed with their families and parameters, one printed
as YAML to copy, an unknown name answered with the closest."""

from __future__ import annotations

import pytest

from brittle.cli import main
from brittle.spec.suite_refs import builtin_names, builtin_path


def test_brittle_suites_lists_the_builtins_and_prints_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["suites"]) == 0
    out = capsys.readouterr().out
    for name in builtin_names():
        assert f"builtin:{name}  " in out
    assert "typo-light  typo  n=1  rate=0.03" in out
    assert "format  format  n=2  vary=separators,spacing,casing,quoting" in out
    assert "(rewrites each system's template)" in out
    assert main(["suites", "builtin:typos"]) == 0
    assert capsys.readouterr().out == builtin_path("typos").read_text()
    assert main(["suites", "typo"]) == 2
    assert "did you mean 'typos'?" in capsys.readouterr().err


def test_brittle_suites_help_says_how_to_name_and_copy_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["suites", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "'builtin:NAME'" in out
    assert "`brittle suites typos > suites/typos.yaml`" in out
    assert "about 30% of the cases" in out
