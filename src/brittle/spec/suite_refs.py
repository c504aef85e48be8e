"""What an entry of an eval's ``suites:`` may be: a suite file, a suite shipped with brittle, or
a suite written inline.

::

    suites:
      - ../suites/typos.yaml          # a suite file, relative to the eval file
      - builtin:noise                 # shipped with brittle: `brittle suites` lists them
      - name: polite                  # inline: the keys of a suite file (brittle.spec.suites)
        perturbations:
          - {family: prefix, n: 2, params: {kind: politeness}}
      - format_search: {budget: 60}   # not a suite: a search of formats (spec.format_search)

The builtin suites live in ``brittle/spec/builtin_suites/`` and perturb every case: sampling a
share of the cases is the user's choice, made by copying one (``brittle suites typos >
suites/typos.yaml``) and adding ``sample``. A suite's fingerprint is its parsed definition
(:mod:`brittle.run.fingerprints`), so a brittle release that changes a builtin suite shows as a
suite change against a baseline made with the earlier one, as an edited suite file would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError
from brittle._registry import unknown
from brittle.spec.format_search import is_entry as is_format_search
from brittle.spec.suites import Suite, load_suite, suite_from_mapping
from brittle.spec.yamlio import LinePath, load_yaml_with_lines

#: how an eval names a suite shipped with brittle: ``builtin:typos``
BUILTIN = "builtin:"
_FOLDER = Path(__file__).parent / "builtin_suites"


def builtin_names() -> list[str]:
    """The names of the suites shipped with brittle, sorted."""
    return sorted(path.stem for path in _FOLDER.glob("*.yaml"))


def builtin_path(name: str, *, where: str | None = None, key: str | None = None) -> Path:
    """The file of builtin suite ``name``; an unknown name is a ConfigError with the closest."""
    names = builtin_names()
    if name not in names:
        raise unknown(
            "builtin suite",
            name,
            names,
            listing="builtin suites (`brittle suites` shows each): ",
            where=where,
            key=key,
        )
    return _FOLDER / f"{name}.yaml"


def load_builtin(name: str, *, where: str | None = None, key: str | None = None) -> Suite:
    """Builtin suite ``name`` (``"typos"``, without the ``builtin:`` prefix)."""
    path = builtin_path(name, where=where, key=key)
    data, lines = load_yaml_with_lines(path)
    return suite_from_mapping(
        data, source=f"{BUILTIN}{name}", lines=lines, raw=path.read_bytes(), folder=_FOLDER
    )


def resolve_suites(
    items: Sequence[Any],
    *,
    base_dir: Path,
    where: str,
    lines: Mapping[LinePath, int] | None = None,
) -> list[Suite]:
    """The suites of an eval: each item a :class:`Suite`, a file path (relative to
    ``base_dir``), ``builtin:NAME`` or an inline mapping. Two suites of one name are an error:
    results, baselines and reports tell suites apart by name."""
    lines = lines or {}
    suites: list[Suite] = []
    for index, item in enumerate(items):
        if is_format_search(item):
            continue  # not a suite: the eval's format search (brittle.spec.format_search)
        line = lines.get(("suites", index))
        suite = _resolve_one(item, index, base_dir=base_dir, where=where, line=line, lines=lines)
        for earlier in suites:
            if earlier.name == suite.name:
                raise ConfigError(
                    f"two suites are named '{suite.name}' ({earlier.source} and {suite.source})",
                    where=where,
                    line=line,
                    key=f"suites[{index}]",
                    fix="results, baselines and reports tell suites apart by name: drop one, or "
                    "copy one (`brittle suites NAME > suites/NAME.yaml`) and rename it",
                )
        suites.append(suite)
    return suites


def _resolve_one(
    item: Any,
    index: int,
    *,
    base_dir: Path,
    where: str,
    line: int | None,
    lines: Mapping[LinePath, int],
) -> Suite:
    key = f"suites[{index}]"
    at = f"{where}:{line}" if line is not None else where
    if isinstance(item, Suite):
        return item
    if isinstance(item, Mapping):
        return _inline(item, index, base_dir=base_dir, where=where, line=line, lines=lines)
    if isinstance(item, str) and item.startswith(BUILTIN):
        return load_builtin(item[len(BUILTIN) :].strip(), where=at, key=key)
    if isinstance(item, str | Path):
        path = Path(item).expanduser()
        return load_suite(path if path.is_absolute() else base_dir / path, referenced_from=at)
    raise ConfigError(
        f"a suite must be a file path, builtin:NAME or an inline suite, not {type(item).__name__}",
        where=where,
        line=line,
        key=key,
        fix="write e.g. '- builtin:typos', '- ../suites/mine.yaml', or a mapping with 'name' "
        "and 'perturbations'",
    )


def _inline(
    item: Mapping[Any, Any],
    index: int,
    *,
    base_dir: Path,
    where: str,
    line: int | None,
    lines: Mapping[LinePath, int],
) -> Suite:
    """A suite written in the eval file: its errors name the eval file and the line."""
    key = f"suites[{index}]"
    if "suite" in item:
        raise ConfigError(
            "a suite entry cannot override another suite's settings ('suite' is not a suite key)",
            where=where,
            line=lines.get(("suites", index, "suite"), line),
            key=f"{key}.suite",
            fix="copy the suite and edit the copy: `brittle suites NAME > suites/NAME.yaml`, "
            "then list '../suites/NAME.yaml'; or define the whole suite inline",
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(
            "an inline suite needs a 'name' (it labels the suite in results, baselines and "
            "reports)",
            where=where,
            line=lines.get(("suites", index, "name"), line),
            key=f"{key}.name",
            fix="add e.g. 'name: polite' to the suite's mapping",
        )
    inner = {path[2:]: number for path, number in lines.items() if path[:2] == ("suites", index)}
    return suite_from_mapping(item, source=where, lines=inner, folder=base_dir, within=key)


__all__ = ["BUILTIN", "builtin_names", "builtin_path", "load_builtin", "resolve_suites"]
