"""Golden sets: JSONL, CSV or YAML rows with an id, input fields, the expected answer and tags.

A row's reserved keys are ``id``, ``expected`` and ``tags``; every other key is an input field
(or, equivalently, the keys of an ``inputs`` mapping). Errors name the file and line.

Large golden sets are held compactly: a JSONL file is read line by line from its text (no second
copy of it), and the field names and short values that repeat across rows (labels, categories)
are one shared string each, not one per row (about 0.5 KB a case instead of 0.9 KB). Inside
:func:`compact_golden` (a merge of shards), a golden set is held as :class:`CompactCases`: each
row validated as it is read, then kept as its id, its input values and its line, a
:class:`Case` made each time one is read (about 0.25 KB a case).
"""

from __future__ import annotations

import csv
import io
import json
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, cast, overload

from brittle._errors import ConfigError
from brittle.spec.cases import Case
from brittle.spec.yamlio import load_yaml_with_lines, read_utf8

RESERVED = ("id", "expected", "tags", "inputs")
SUFFIXES = (".jsonl", ".csv", ".yaml", ".yml")
_SHORT = 64  # string values up to this length are shared between rows that repeat them
_COMPACT: ContextVar[bool] = ContextVar("brittle_compact_golden", default=False)


@contextmanager
def compact_golden() -> Iterator[None]:
    """Golden sets loaded inside are :class:`CompactCases` (a read-only sequence of cases)."""
    token = _COMPACT.set(True)
    try:
        yield
    finally:
        _COMPACT.reset(token)


def load_golden(path: Path) -> list[Case]:
    """Read a golden set; raise ConfigError (with file and line) on any bad row."""
    if not path.is_file():
        raise ConfigError(
            "golden file does not exist",
            where=path,
            fix="check the 'golden' path; it is relative to the eval file",
        )
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        rows = _read_jsonl(path)
    elif suffix == ".csv":
        rows = _read_csv(path)
    elif suffix in (".yaml", ".yml"):
        rows = _read_yaml(path)
    else:
        raise ConfigError(
            f"unsupported golden file type '{suffix or '(none)'}'",
            where=path,
            fix=f"use one of {', '.join(SUFFIXES)}",
        )
    cases: list[Case] = []
    compact = CompactCases(path) if _COMPACT.get() else None
    first_line: dict[str, int] = {}
    shared: dict[str, str] = {}  # one string per repeated key or short value
    for line, row in rows:
        case = _to_case(row, path, line, shared)
        if case.id in first_line:
            raise ConfigError(
                f"duplicate case id '{case.id}' (first seen on line {first_line[case.id]})",
                where=path,
                line=line,
                key="id",
                fix="give every row a unique id: baselines and variants are keyed by it",
            )
        first_line[case.id] = line
        if compact is None:
            cases.append(case)
        else:  # the case itself is dropped: its inputs dict and source string
            compact.append(case, line)
    if not (cases if compact is None else compact):
        raise ConfigError("golden file has no rows", where=path, fix="add at least one case")
    # a CompactCases is a read-only Sequence[Case]: what a merge's reports read of it
    return cases if compact is None else cast(list[Case], compact)


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as a text file reads them (universal newlines), one at a time: no
    copy of the whole text (a StringIO holds four bytes a character)."""
    if "\r" in text:  # \r\n or a lone \r: the file object's newline handling
        with io.StringIO(text, newline=None) as handle:
            yield from handle
        return
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _read_jsonl(path: Path) -> Iterator[tuple[int, Any]]:
    for number, raw in enumerate(_lines(read_utf8(path)), start=1):
        text = raw.strip()
        if not text or text.startswith("//"):
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg} (column {exc.colno})",
                where=path,
                line=number,
                fix="each line of a .jsonl file must be one JSON object",
            ) from None


def _read_csv(path: Path) -> Iterator[tuple[int, Any]]:
    with _open_text(path, newline="") as handle:
        # strict: without it, an unclosed quote swallows the rest of the file into one cell
        reader = csv.DictReader(handle, strict=True)
        start = 2  # the first data row follows the header
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise _csv_error(exc, path, start if reader.line_num >= 1 else 1) from None
            if None in row:
                raise ConfigError(
                    "row has more cells than the header has columns",
                    where=path,
                    line=start,
                    fix="quote cells that contain commas",
                )
            record: dict[str, Any] = dict(row)
            if isinstance(record.get("tags"), str):
                record["tags"] = [t.strip() for t in record["tags"].split(";") if t.strip()]
            yield start, record
            start = reader.line_num + 1


def _csv_error(exc: csv.Error, path: Path, line: int) -> ConfigError:
    """A broken quote, named at the line of the row it is in."""
    return ConfigError(
        "a quoted cell is never closed: the quote swallows every line after it"
        if "unexpected end of data" in str(exc)
        else f"malformed CSV ({exc})",
        where=path,
        line=line,
        fix='close the quote; a quote inside a quoted cell is written twice ("")',
    )


def _read_yaml(path: Path) -> Iterator[tuple[int, Any]]:
    data, lines = load_yaml_with_lines(path)
    if isinstance(data, Mapping) and "cases" in data:
        data = data["cases"]
    if not isinstance(data, list):
        raise ConfigError(
            "a YAML golden file must be a list of rows (or a mapping with a 'cases' list)",
            where=path,
            fix="write '- id: case-1' entries",
        )
    for index, row in enumerate(data):
        yield lines.get(("cases", index), lines.get((index,), 1)), row


def _open_text(path: Path, newline: str | None = None) -> io.StringIO:
    return io.StringIO(read_utf8(path), newline=newline)


def _share(value: Any, shared: dict[str, str]) -> Any:
    """``value``, or the equal string an earlier row already holds (short strings only)."""
    if isinstance(value, str) and len(value) <= _SHORT:
        return shared.setdefault(value, value)
    return value


def _to_case(row: Any, path: Path, line: int, shared: dict[str, str] | None = None) -> Case:
    if not isinstance(row, Mapping):
        raise ConfigError(
            f"row must be an object/mapping, not {type(row).__name__}",
            where=path,
            line=line,
            fix='write rows like {"id": "c1", "text": "...", "expected": "..."}',
        )
    raw_id = row.get("id")
    if raw_id is None or str(raw_id).strip() == "":
        raise ConfigError(
            "row has no 'id'",
            where=path,
            line=line,
            key="id",
            fix="give every row a unique, stable id (baselines are keyed by it)",
        )
    case_id = str(raw_id).strip()
    if any(ch in case_id for ch in "[]#\n"):
        raise ConfigError(
            f"case id '{case_id}' contains one of '[', ']', '#' or a newline",
            where=path,
            line=line,
            key="id",
            fix="those characters are reserved for variant ids such as 'c1[typo#2]'",
        )
    inputs_obj = row.get("inputs")
    if inputs_obj is not None:
        if not isinstance(inputs_obj, Mapping):
            raise ConfigError(
                "'inputs' must be a mapping of field names to values",
                where=path,
                line=line,
                key="inputs",
            )
        inputs = dict(inputs_obj)
    else:
        inputs = {k: v for k, v in row.items() if k not in RESERVED}
    if shared is not None:
        inputs = {_share(k, shared): _share(v, shared) for k, v in inputs.items()}
    tags_obj = row.get("tags") or ()
    if isinstance(tags_obj, str):
        tags_obj = [tags_obj]
    if not isinstance(tags_obj, list | tuple):
        raise ConfigError("'tags' must be a list of strings", where=path, line=line, key="tags")
    expected = row.get("expected")
    return Case(
        id=case_id,
        inputs=inputs,
        expected=expected if shared is None else _share(expected, shared),
        tags=tuple(str(t) if shared is None else _share(str(t), shared) for t in tags_obj),
        source=f"{path}:{line}",
    )


class CompactCases(Sequence[Case]):
    """A golden set held compactly (:func:`compact_golden`): per case its id, expected answer,
    tags, line and input values (the field names one shared tuple per distinct set); reading a
    case makes its :class:`Case`, equal to the one a plain load gives.

    A merge of shards reads 200,000 cases: held as cases they took about 155 MB (a dict, a
    source string and the case object each), compactly about 50 MB, and no more while loading."""

    __slots__ = (
        "_fields",
        "_keys",
        "_lines",
        "_path",
        "_shared",
        "_values",
        "expected",
        "ids",
        "tags",
    )

    def __init__(self, path: Path) -> None:
        self._path = str(path)
        self.ids: list[str] = []
        self.expected: list[Any] = []
        self.tags: list[tuple[str, ...]] = []
        self._lines = array("q")
        self._keys = array("l")  # index into _fields
        self._fields: list[tuple[str, ...]] = []
        self._values: list[tuple[Any, ...]] = []
        self._shared: dict[Any, Any] = {}

    def append(self, case: Case, line: int) -> None:
        keys = tuple(case.inputs)
        where = self._shared.get(("keys", keys))
        if where is None:
            where = self._shared[("keys", keys)] = len(self._fields)
            self._fields.append(keys)
        self.ids.append(case.id)
        self.expected.append(case.expected)
        self.tags.append(self._shared.setdefault(("tags", case.tags), case.tags))
        self._lines.append(line)
        self._keys.append(where)
        self._values.append(tuple(case.inputs.values()))

    def __len__(self) -> int:
        return len(self.ids)

    def _case(self, index: int) -> Case:
        inputs = dict(zip(self._fields[self._keys[index]], self._values[index], strict=True))
        source = f"{self._path}:{self._lines[index]}"
        return Case(self.ids[index], inputs, self.expected[index], self.tags[index], source)

    @overload
    def __getitem__(self, index: int) -> Case: ...
    @overload
    def __getitem__(self, index: slice) -> list[Case]: ...
    def __getitem__(self, index: int | slice) -> Case | list[Case]:
        if isinstance(index, slice):
            return [self._case(i) for i in range(*index.indices(len(self.ids)))]
        if index < 0:
            index += len(self.ids)
        if not 0 <= index < len(self.ids):
            raise IndexError("case index out of range")
        return self._case(index)

    def __iter__(self) -> Iterator[Case]:
        for index in range(len(self.ids)):
            yield self._case(index)
