"""The golden reader's compact form: repeated short values shared, line numbers as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from brittle._errors import ConfigError
from brittle.spec.golden import load_golden


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "golden.jsonl"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_repeated_keys_and_labels_are_one_string_each(tmp_path: Path) -> None:
    rows = "".join(
        f'{{"id": "c{i}", "text": "review number {i}", "hint": "positive", '
        f'"expected": "positive", "tags": ["short"]}}\n'
        for i in range(3)
    )
    cases = load_golden(_write(tmp_path, rows))
    assert [case.inputs for case in cases] == [
        {"text": f"review number {i}", "hint": "positive"} for i in range(3)
    ]
    assert cases[0].expected is cases[2].expected  # shared, not one string per row
    assert cases[0].inputs["hint"] is cases[1].inputs["hint"]
    assert cases[0].tags[0] is cases[2].tags[0]
    first, last = (next(k for k in case.inputs if k == "text") for case in (cases[0], cases[2]))
    assert first is last


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_error_lines_are_counted_alike_whatever_the_newlines(tmp_path: Path, newline: str) -> None:
    lines = ['{"id": "a", "text": "x"}', "", "// a comment", '{"id": "b", "text": oops}']
    path = _write(tmp_path, newline.join(lines) + newline)
    with pytest.raises(ConfigError) as raised:
        load_golden(path)
    assert "golden.jsonl:4" in str(raised.value)


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    cases = load_golden(_write(tmp_path, '{"id": "a", "t": "x"}\n{"id": "b", "t": "y"}'))
    assert [case.id for case in cases] == ["a", "b"]
    assert cases[1].source is not None and cases[1].source.endswith(":2")
