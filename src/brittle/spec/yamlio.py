"""YAML and JSONL reading with line numbers, so errors can point at the line of a bad key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from brittle._errors import ConfigError

LinePath = tuple[Any, ...]


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records the 1-based line of every mapping value and sequence item."""

    lines: dict[LinePath, int]


def _walk(node: yaml.Node, path: LinePath, lines: dict[LinePath, int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), lines)


def read_utf8(path: Path) -> str:
    """A file's text; invalid UTF-8 or a NUL byte is a ConfigError naming the line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file does not exist", where=path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x})",
            where=path,
            line=data[: exc.start].count(b"\n") + 1,
            fix="re-save the file as UTF-8",
        ) from None
    if "\x00" in text:
        raise ConfigError(
            "file contains a NUL byte",
            where=path,
            line=text[: text.index("\x00")].count("\n") + 1,
            fix="remove it (the file may be binary or saved as UTF-16)",
        )
    return text


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[LinePath, int]]:
    """Parse ``path``; return the data and a map from key paths to line numbers."""
    text = read_utf8(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{context}, {problem}" if context else problem
        raise ConfigError(
            f"malformed YAML: {detail}",
            where=path,
            line=mark.line + 1 if mark is not None else None,
            fix="check indentation and quoting near that line (a value containing ': ' "
            "or starting with '{' or '*' must be quoted)",
        ) from None
    lines: dict[LinePath, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return data, lines


def read_jsonl(path: Path, *, what: str = "line", fix: str) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` for every non-blank line of a JSONL file.

    A line that is not JSON is a ConfigError naming the file and line (``what`` names the line
    in the message, e.g. "regression fixture line"); ``fix`` says what to do about it.
    """
    for number, line in enumerate(read_utf8(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{what} is not valid JSON ({exc.msg})", where=path, line=number, fix=fix
            ) from None
