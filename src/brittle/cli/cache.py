"""``brittle cache export|import|info|clear``: move the response cache's entries between
machines, inspect it, or delete it (:mod:`brittle.gateway.cache`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from brittle._errors import CacheError
from brittle.gateway.cache import ResponseCache, resolve_path


def add_commands(sub: Any) -> None:
    """Register ``brittle cache`` and its actions on the ``brittle`` parser's subparsers."""
    cache = sub.add_parser(
        "cache",
        help="export, import or inspect the response cache",
        description="The response cache (.brittle/cache.sqlite) keeps every successful model "
        "call. Export a run's entries to commit them or keep them as a CI artifact; import them "
        "where runs replay (--brittle-cache=replay).",
    )
    actions = cache.add_subparsers(dest="cache_command", required=True)
    export = actions.add_parser(
        "export",
        help="write the entries of a run or an eval to a JSON-lines file",
        description="SELECTOR is a run id (the report folder's name), 'latest', or an "
        "*.eval.yaml file (the entries its current cases, variants and systems need).",
    )
    export.add_argument("selector", metavar="RUN_ID|latest|EVAL_FILE")
    export.add_argument("--out", required=True, help="the JSON-lines file to write")
    export.add_argument(
        "--system", action="append", default=None, help="eval selector: only this system"
    )
    export.set_defaults(handler=_cmd_cache_export)
    load = actions.add_parser("import", help="load an export into the cache (newer entries win)")
    load.add_argument("file", help="a file written by 'brittle cache export'")
    load.set_defaults(handler=_cmd_cache_import)
    info = actions.add_parser("info", help="where the cache is, its size, and an integrity check")
    info.set_defaults(handler=_cmd_cache_info)
    clear = actions.add_parser(
        "clear",
        help="delete the cache file (also a corrupt one): the next run records every call again",
    )
    clear.set_defaults(handler=_cmd_cache_clear)
    for parser in (export, load, info, clear):
        parser.add_argument(
            "--cache-dir",
            default=None,
            metavar="DIR",
            help="folder of cache.sqlite (default: .brittle; env BRITTLE_RESPONSE_CACHE_DIR)",
        )


def _open_cache(args: argparse.Namespace) -> ResponseCache:
    return ResponseCache(resolve_path(args.cache_dir, root=Path.cwd()))


def _cmd_cache_export(args: argparse.Namespace) -> int:
    cache = _open_cache(args)
    selector = str(args.selector)
    if selector.endswith((".yaml", ".yml")) or Path(selector).is_file():
        # the eval's rows and systems: pandas and the eval definitions, only for this selector
        from brittle.run.cache_keys import eval_keys
        from brittle.spec.eval import load_eval_file

        keys, unknown = eval_keys(load_eval_file(Path(selector)), args.system)
        for name in unknown:
            print(f"brittle: system '{name}' is a custom System: its calls cannot be predicted")
        source = f"eval {selector}"
    else:
        run_id = cache.latest_run() if selector == "latest" else selector
        keys = cache.run_keys(run_id) if run_id else []
        if not keys:
            raise CacheError(
                f"no run '{selector}' in the response cache",
                where=cache.path,
                fix="give a run id from reports/ (the run's folder name), 'latest', or an "
                "*.eval.yaml file",
            )
        source = f"run {run_id}"
    count = cache.export(Path(args.out), keys, source=source)
    wanted = len(set(keys))
    print(f"exported {count} response(s) of {source} to {args.out}")
    if count < wanted:
        print(f"  {wanted - count} call(s) of it are not in the cache (not recorded yet)")
    cache.close()
    return 0


def _cmd_cache_import(args: argparse.Namespace) -> int:
    cache = _open_cache(args)
    loaded, kept = cache.import_file(Path(args.file))
    print(f"imported {loaded} response(s) into {cache.path} ({kept} already there and newer)")
    cache.close()
    return 0


def _cmd_cache_info(args: argparse.Namespace) -> int:
    cache = _open_cache(args)
    print(f"{cache.path}: {cache.count()} response(s); integrity: {cache.integrity()}")
    cache.close()
    return 0


def _cmd_cache_clear(args: argparse.Namespace) -> int:
    path = resolve_path(args.cache_dir, root=Path.cwd())  # not opened: it may be corrupt
    removed = 0
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.is_file():
            file.unlink()
            removed += 1
    print(f"removed the response cache {path}" if removed else f"no response cache at {path}")
    return 0


__all__ = ["add_commands"]
