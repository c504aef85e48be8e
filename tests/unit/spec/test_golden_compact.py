"""The golden reader's compact form: repeated short values shared, line numbers as before; a
merge's golden set held as CompactCases, the same cases and the same errors."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from brittle._errors import ConfigError
from brittle.spec.cases import Case
from brittle.spec.golden import CompactCases, compact_golden, load_golden


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


# --- inside compact_golden() (a merge of shards): CompactCases, the same cases and errors ---

ROWS = (
    '{"id": "a", "text": "first", "expected": "positive", "tags": ["x", "y"]}\n'
    '{"id": "b", "inputs": {"question": "2+2?", "n": 4, "ctx": {"k": [1, 2]}}, "expected": 4}\n'
    '{"id": "c", "text": "third", "expected": {"label": "negative"}}\n'
    '{"id": "d", "text": "fourth", "expected": "positive", "tags": ["x", "y"]}\n'
)


def _compact(path: Path) -> list[Case]:
    with compact_golden():
        return load_golden(path)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("golden.jsonl", ROWS),
        ("golden.csv", "id,text,expected,tags\na,one,pos,x;y\nb,two,neg,\n"),
        ("golden.yaml", "- {id: a, text: one, expected: pos, tags: [x]}\n- {id: b, text: two}\n"),
    ],
)
def test_compact_cases_equal_the_plain_ones(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    plain, compact = load_golden(path), _compact(path)
    assert isinstance(compact, CompactCases) and not isinstance(plain, CompactCases)
    assert list(compact) == plain
    assert len(compact) == len(plain)
    assert compact[-1] == plain[-1] and compact[1:] == plain[1:]
    assert compact.ids == [case.id for case in plain]
    with pytest.raises(IndexError):
        compact[len(plain)]


def test_compact_cases_share_tags(tmp_path: Path) -> None:
    cases = _compact(_write(tmp_path, ROWS))
    assert cases[0].tags is cases[3].tags


@pytest.mark.parametrize(
    "text",
    [
        '{"id": "a", "text": "x"}\n{"id": "a", "text": "y"}\n',  # duplicate id
        '{"id": "a", "text": "x"}\n{"text": "y"}\n',  # no id
        '{"id": "a", "text": "x"}\n{"id": "b", "text": oops}\n',  # invalid JSON
        '{"id": "a[1]", "text": "x"}\n',  # reserved characters
        '{"id": "a", "tags": 3}\n',  # tags not a list
        "\n// only a comment\n",  # no rows
    ],
)
def test_bad_golden_files_give_the_same_errors(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as plain:
        load_golden(path)
    with pytest.raises(ConfigError) as compact:
        _compact(path)
    assert str(compact.value) == str(plain.value)


def test_compact_golden_is_undone_after_the_block(tmp_path: Path) -> None:
    path = _write(tmp_path, ROWS)
    with pytest.raises(RuntimeError), compact_golden():
        raise RuntimeError
    assert isinstance(load_golden(path), list)


def test_compact_cases_hold_less_than_half_the_memory(tmp_path: Path) -> None:
    rows = "".join(
        f'{{"id": "c{i:07d}", "text": "review {i} of a product, mostly about item {i % 7}", '
        f'"hint": "{("positive", "negative")[i % 2]}", "expected": "positive"}}\n'
        for i in range(20_000)
    )
    path = _write(tmp_path, rows)
    held = []
    for load in (load_golden, _compact):
        tracemalloc.start()
        try:
            cases = load(path)
            held.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        del cases
    plain, compact = held
    assert compact < plain / 2, (plain, compact)  # measured: 257 against 586 bytes a case
