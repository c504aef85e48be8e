"""``brittle suites [NAME]``: the perturbation suites shipped with brittle
(:mod:`brittle.spec.suite_refs`), listed with their families and parameters, or one printed as
YAML to copy into a project and edit."""

from __future__ import annotations

import argparse
from typing import Any

_TEMPLATE_TARGETS = {"instruction", "format"}


def add_commands(sub: Any) -> None:
    """Register ``brittle suites`` on the ``brittle`` parser's subparsers."""
    suites = sub.add_parser(
        "suites",
        help="list the perturbation suites shipped with brittle, or print one as YAML",
        description="Suites shipped with brittle are named in an eval as 'builtin:NAME' "
        "(suites: [builtin:typos, builtin:noise]) and perturb every case. Without NAME, list "
        "them with their families and parameters; with NAME, print that suite's YAML, e.g. "
        "`brittle suites typos > suites/typos.yaml` to copy it and change it (add 'sample: 0.3' "
        "to perturb about 30% of the cases).",
    )
    suites.add_argument(
        "name", nargs="?", default=None, metavar="NAME", help="a builtin suite, e.g. typos"
    )
    suites.set_defaults(handler=_cmd_suites)


def _cmd_suites(args: argparse.Namespace) -> int:
    # the suite definitions import the perturbation families: only when the command runs
    from brittle.spec.suite_refs import BUILTIN, builtin_names, builtin_path

    if args.name is not None:
        name = str(args.name).removeprefix(BUILTIN)
        print(builtin_path(name, key="NAME").read_text(encoding="utf-8"), end="")
        return 0
    print("Suites shipped with brittle: list them in an eval as 'suites: [builtin:NAME]'.")
    print("Each perturbs every case; `brittle suites NAME > suites/NAME.yaml` copies one to edit.")
    for name in builtin_names():
        print()
        print(_describe(name))
    return 0


def _describe(name: str) -> str:
    """A builtin suite as the listing shows it: name, description, settings, one line an entry."""
    from brittle.perturb import make_perturbation
    from brittle.spec.suite_refs import BUILTIN, builtin_path
    from brittle.spec.yamlio import load_yaml_with_lines

    data, _ = load_yaml_with_lines(builtin_path(name))
    settings = [f"seed {data.get('seed', 0)}"]
    if data.get("sample", 1.0) < 1:
        settings.append(f"sample {data['sample']}")
    if "min_similarity" in data:
        settings.append(f"min_similarity {data['min_similarity']}")
    out = [f"{BUILTIN}{name}  {data.get('description', '')}", f"  {', '.join(settings)}"]
    entries = [e if isinstance(e, dict) else {"family": e} for e in data["perturbations"]]
    width = max(len(str(e.get("name") or e["family"])) for e in entries)
    family_width = max(len(str(e["family"])) for e in entries)
    for entry in entries:
        family = str(entry["family"])
        params = entry.get("params") or {}
        target = getattr(make_perturbation(family, params), "target", "input")
        shown = [f"n={entry.get('n', 1)}"]
        shown += [f"{key}={_value(value)}" for key, value in params.items()]
        if target in _TEMPLATE_TARGETS:
            shown.append("(rewrites each system's template)")
        label = str(entry.get("name") or family)
        out.append(f"    {label:<{width}}  {family:<{family_width}}  {'  '.join(shown)}")
    return "\n".join(out)


def _value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


__all__ = ["add_commands"]
