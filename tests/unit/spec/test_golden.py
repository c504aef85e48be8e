"""Golden files: three formats, one set of Cases, and errors that name the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brittle._errors import ConfigError
from brittle.spec.cases import Case
from brittle.spec.golden import load_golden

JSONL = """\
{"id":"c1", "text":"Great battery, quick charge", "expected":"positive", "tags":["short", "tech"]}

// a comment line is skipped but counted
{"id": "c2", "text": "Screen, cracked; twice", "expected": "negative", "tags": []}
{"id": "c3", "text": "Ok \\"I guess\\"", "expected": "negative", "tags": ["quote"]}
"""

CSV = '''\
id,text,expected,tags
c1,"Great battery, quick charge",positive,short; tech
c2,"Screen, cracked; twice",negative,
c3,"Ok ""I guess""",negative,quote
'''

YAML = """\
# golden set
- id: c1
  text: Great battery, quick charge
  expected: positive
  tags: [short, tech]

- id: c2
  text: "Screen, cracked; twice"
  expected: negative
- id: c3
  text: 'Ok "I guess"'
  expected: negative
  tags: quote
"""

YAML_CASES = """\
cases:
  - id: c1
    inputs: {text: "Great battery, quick charge"}
    expected: positive
    tags: [short, tech]
  - id: c2
    inputs:
      text: Screen, cracked; twice
    expected: negative
  - {id: c3, text: 'Ok "I guess"', expected: negative, tags: [quote]}
"""

EXPECTED = [
    ("c1", {"text": "Great battery, quick charge"}, "positive", ("short", "tech")),
    ("c2", {"text": "Screen, cracked; twice"}, "negative", ()),
    ("c3", {"text": 'Ok "I guess"'}, "negative", ("quote",)),
]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_golden(path)
    return info.value


@pytest.mark.parametrize(
    ("name", "content", "lines"),
    [
        ("golden.jsonl", JSONL, [1, 4, 5]),
        ("golden.csv", CSV, [2, 3, 4]),
        ("golden.yaml", YAML, [2, 7, 10]),
        ("golden.yml", YAML_CASES, [2, 6, 10]),
    ],
)
def test_formats_load_into_the_same_cases(
    tmp_path: Path, name: str, content: str, lines: list[int]
) -> None:
    path = write(tmp_path, name, content)
    cases = load_golden(path)
    assert all(isinstance(c, Case) for c in cases)
    assert [(c.id, dict(c.inputs), c.expected, c.tags) for c in cases] == EXPECTED
    assert [c.source for c in cases] == [f"{path}:{line}" for line in lines]


def test_jsonl_keeps_value_types_and_inputs_mapping(tmp_path: Path) -> None:
    rows = [
        {"id": 7, "question": "2+2?", "context": None, "expected": 4},
        {"id": "q2", "inputs": {"question": "3+3?", "n": 2}, "expected": [6, "six"], "x": 1},
    ]
    path = write(tmp_path, "g.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    one, two = load_golden(path)
    assert one == Case("7", {"question": "2+2?", "context": None}, 4, (), f"{path}:1")
    # with an 'inputs' mapping, the other keys are not inputs
    assert two == Case("q2", {"question": "3+3?", "n": 2}, [6, "six"], (), f"{path}:2")


def test_csv_with_bom_crlf_and_missing_expected(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", b"\xef\xbb\xbfid,text\r\n c1 ,hello\r\nc2,world\r\n")
    cases = load_golden(path)
    assert [(c.id, dict(c.inputs), c.expected) for c in cases] == [
        ("c1", {"text": "hello"}, None),
        ("c2", {"text": "world"}, None),
    ]


def test_csv_row_with_more_cells_than_header(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", "id,text\nc1,hi\nc2,a, b\n")
    error = error_of(path)
    assert str(error).startswith(f"{path}:3: row has more cells than the header has columns")
    assert "quote cells that contain commas" in str(error)


# --- errors ------------------------------------------------------------------------------------


def test_invalid_json_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "c1", "text": "a"}\n\n{"id": "c2", "text": "b",}\n')
    message = str(error_of(path))
    assert message.startswith(f"{path}:3: invalid JSON: ")
    assert "fix: each line of a .jsonl file must be one JSON object" in message


@pytest.mark.parametrize(
    "row", ['{"text": "a", "expected": "x"}', '{"id": "", "text": "a"}', '{"id": null}']
)
def test_missing_id(tmp_path: Path, row: str) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "c1", "text": "a"}\n' + row + "\n")
    error = error_of(path)
    assert str(error).startswith(f"{path}:2: 'id': row has no 'id'")
    assert "fix: give every row a unique, stable id" in str(error)


def test_missing_id_in_yaml_names_the_row_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", "- id: c1\n  text: a\n- text: b\n  expected: x\n")
    assert str(error_of(path)).startswith(f"{path}:3: 'id': row has no 'id'")


def test_duplicate_ids_name_both_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "g.jsonl",
        '{"id": "c1", "text": "a"}\n{"id": "c2", "text": "b"}\n{"id": " c1", "text": "c"}\n',
    )
    error = error_of(path)
    assert (error.where, error.line, error.key) == (str(path), 3, "id")
    assert str(error).startswith(f"{path}:3: 'id': duplicate case id 'c1' (first seen on line 1)")
    assert "fix: give every row a unique id" in str(error)


def test_duplicate_ids_in_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", "id,text\nc1,a\nc2,b\nc2,c\n")
    assert "duplicate case id 'c2' (first seen on line 3)" in str(error_of(path))
    assert error_of(path).line == 4


@pytest.mark.parametrize(("row", "kind"), [("[1, 2]", "list"), ('"c2"', "str"), ("3", "int")])
def test_row_that_is_not_an_object(tmp_path: Path, row: str, kind: str) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "c1", "text": "a"}\n' + row + "\n")
    message = str(error_of(path))
    assert message.startswith(f"{path}:2: row must be an object/mapping, not {kind}")
    assert "fix: write rows like" in message


def test_yaml_that_is_not_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", "id: c1\ntext: a\n")
    message = str(error_of(path))
    assert message.startswith(f"{path}: a YAML golden file must be a list of rows")
    assert "fix: write '- id: case-1' entries" in message


@pytest.mark.parametrize("name", ["g.jsonl", "g.csv"])
def test_invalid_utf8_names_the_line(tmp_path: Path, name: str) -> None:
    header = b'{"id": "c0", "text": "ok"}\n' if name.endswith("jsonl") else b"id,text\n"
    row = b'{"id": "c1", "text": "ok"}\n' if name.endswith("jsonl") else b"c1,ok\n"
    bad = b'{"id": "c2", "text": "caf\xe9"}\n' if name.endswith("jsonl") else b"c2,caf\xe9\n"
    path = write(tmp_path, name, header + row + bad)
    message = str(error_of(path))
    assert message.startswith(f"{path}:3: file is not valid UTF-8")
    assert "fix: re-save the file as UTF-8" in message


def test_nul_byte_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "g.jsonl", '{"id": "c1", "text": "a"}\n\n{"id": "c2", "text": "b\x00"}\n'
    )
    message = str(error_of(path))
    assert message.startswith(f"{path}:3: file contains a NUL byte")
    assert "fix: remove it" in message


@pytest.mark.parametrize(("name", "shown"), [("golden.txt", "'.txt'"), ("golden", "'(none)'")])
def test_unsupported_suffix(tmp_path: Path, name: str, shown: str) -> None:
    path = write(tmp_path, name, '{"id": "c1"}\n')
    message = str(error_of(path))
    assert message.startswith(f"{path}: unsupported golden file type {shown}")
    assert "fix: use one of .jsonl, .csv, .yaml, .yml" in message


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "GOLDEN.JSONL", '{"id": "c1", "text": "a"}\n')
    assert [c.id for c in load_golden(path)] == ["c1"]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    message = str(error_of(path))
    assert message.startswith(f"{path}: golden file does not exist")
    assert "relative to the eval file" in message


def test_a_folder_is_not_a_golden_file(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    assert "golden file does not exist" in str(error_of(tmp_path / "dir.jsonl"))


@pytest.mark.parametrize(
    ("name", "content"),
    [("g.jsonl", ""), ("g.jsonl", "\n  \n// only a comment\n"), ("g.csv", "id,text\n")],
)
def test_empty_file(tmp_path: Path, name: str, content: str) -> None:
    path = write(tmp_path, name, content)
    message = str(error_of(path))
    assert message.startswith(f"{path}: golden file has no rows")
    assert "fix: add at least one case" in message


@pytest.mark.parametrize("case_id", ["c[1]", "c1]", "c#1", "c1[typo#2]"])
def test_id_with_reserved_characters(tmp_path: Path, case_id: str) -> None:
    path = write(
        tmp_path, "g.jsonl", '{"id": "ok", "text": "a"}\n' + json.dumps({"id": case_id}) + "\n"
    )
    error = error_of(path)
    assert (error.line, error.key) == (2, "id")
    assert f"case id '{case_id}' contains one of '[', ']', '#' or a newline" in str(error)
    assert "reserved for variant ids such as 'c1[typo#2]'" in str(error)


def test_tags_that_are_not_a_list(tmp_path: Path) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "c1", "tags": {"a": 1}}\n')
    error = error_of(path)
    assert (error.line, error.key) == (1, "tags")
    assert "'tags' must be a list of strings" in str(error)


def test_inputs_that_are_not_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "g.jsonl", '{"id": "c1", "inputs": ["a"]}\n')
    error = error_of(path)
    assert (error.line, error.key) == (1, "inputs")


def test_invalid_utf8_in_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", b"- id: c1\n  text: a\n- id: c2\n  text: caf\xe9\n")
    assert error_of(path).line == 4


def test_nul_byte_in_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.yaml", "- id: c1\n  text: a\n- id: c2\n  text: b\x00\n")
    error = error_of(path)
    assert error.line == 4
    assert "NUL" in str(error)


def test_csv_multiline_cell_keeps_the_row_start_line(tmp_path: Path) -> None:
    path = write(tmp_path, "g.csv", 'id,text\nc1,"two\nlines"\nc2,x\n')
    assert [c.source for c in load_golden(path)] == [f"{path}:2", f"{path}:4"]
