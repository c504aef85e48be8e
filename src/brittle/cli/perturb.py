"""``brittle paraphrase``, ``brittle search`` and ``brittle promote``: make and keep rewordings.

- ``paraphrase``: generate paraphrases of a golden set (or of templates' instructions) with a
  model, score them and freeze them into a JSONL fixture (see :mod:`brittle.search.paraphrase`);
- ``search``: look for the smallest rewording of each case that flips each system of an eval
  (see :mod:`brittle.search`); found flips are stored under ``.brittle/``;
- ``promote``: copy the stored flips into a committed regression fixture, read back by the
  ``regression`` family.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from brittle._errors import ConfigError, EvalRunError


def add_commands(sub: Any) -> None:
    paraphrase = sub.add_parser(
        "paraphrase",
        help="generate paraphrases with a model and freeze them into a JSONL fixture",
        description="Paraphrase every case of GOLDEN (or the instruction of each --template) "
        "with a litellm model, score each paraphrase against its original (embedding cosine) "
        "and write the fixture that the 'paraphrase' family reads. Lines that are still valid "
        "are kept, so running it again only generates what is new; the same inputs always give "
        "the same file.",
    )
    paraphrase.add_argument("golden", nargs="?", help="golden set (JSONL, CSV or YAML)")
    paraphrase.add_argument("--out", required=True, help="the fixture to write (JSONL)")
    paraphrase.add_argument(
        "--model", default="local/smollm2", help="litellm model string (default local/smollm2)"
    )
    paraphrase.add_argument(
        "--api-base",
        default=None,
        help="base URL of an OpenAI-compatible server for --model (e.g. http://localhost:8000/v1)",
    )
    paraphrase.add_argument(
        "--api-key-env",
        default=None,
        metavar="NAME",
        help="environment variable holding the API key (default: the provider's own, e.g. "
        "OPENAI_API_KEY)",
    )
    paraphrase.add_argument("--n", type=int, default=2, help="paraphrases per text (default 2)")
    paraphrase.add_argument(
        "--field", action="append", default=None, help="input field to paraphrase (repeatable)"
    )
    paraphrase.add_argument(
        "--template",
        action="append",
        default=[],
        help="paraphrase this prompt template's instruction instead (repeatable)",
    )
    paraphrase.add_argument(
        "--max-tokens", type=int, default=96, help="longest paraphrase in tokens (default 96)"
    )
    paraphrase.add_argument(
        "--concurrency", type=int, default=16, help="model calls in flight (default 16)"
    )
    paraphrase.set_defaults(handler=_cmd_paraphrase)

    search = sub.add_parser(
        "search",
        help="find the smallest rewording of each case that flips each system",
        description="Hypothesis-driven search over compositions of single edits (typos, "
        "synonyms, casing, ...) for a variant whose check outcome differs from the original's, "
        "shrunk to the fewest edits. Settings come from the first suite of the eval with a "
        "'search' key, then from these options. Found flips are stored under --dir and replayed "
        "first next time; `brittle promote` turns them into a regression fixture.",
    )
    search.add_argument("eval_file", help="path of an *.eval.yaml file")
    search.add_argument("--system", action="append", default=None, help="only this system")
    search.add_argument("--case", action="append", default=None, help="only this case id")
    search.add_argument("--budget", type=int, default=None, help="candidates per case")
    search.add_argument("--max-ops", type=int, default=None, help="most edits composed")
    search.add_argument(
        "--families", default=None, help="comma-separated families to compose (default all)"
    )
    search.add_argument(
        "--cases", type=int, default=None, help="search only the first N cases of the golden set"
    )
    search.add_argument("--dir", default=".brittle", help="where flips are kept (.brittle)")
    search.set_defaults(handler=_cmd_search)

    promote = sub.add_parser(
        "promote",
        help="copy flips found by `brittle search` into a committed regression fixture",
        description="Merge the flips stored under --dir into the JSONL fixture --out (kept "
        "sorted; lines already there stay). A suite reads it with the 'regression' family.",
    )
    promote.add_argument("--out", required=True, help="the regression fixture (JSONL)")
    promote.add_argument("--dir", default=".brittle", help="where flips are kept (.brittle)")
    promote.set_defaults(handler=_cmd_promote)


def _cmd_paraphrase(args: argparse.Namespace) -> int:
    import os

    from brittle.search.paraphrase import paraphrase_file

    params: dict[str, Any] = {}
    if args.api_base:
        params["api_base"] = args.api_base
    if args.api_key_env:
        key = os.environ.get(args.api_key_env)
        if not key:
            raise ConfigError(
                f"environment variable {args.api_key_env} is not set",
                key="--api-key-env",
                fix=f"export {args.api_key_env}=... first, or name the variable that holds the key",
            )
        params["api_key"] = key
    report = paraphrase_file(
        Path(args.out),
        Path(args.golden) if args.golden else None,
        model=args.model,
        n=args.n,
        fields=args.field,
        templates=[Path(t) for t in args.template],
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        params=params,
    )
    print(
        f"paraphrases: {report.wanted} wanted, {report.kept} kept, {report.generated} "
        f"generated, {len(report.failed)} failed, {report.removed} stale line(s) dropped; "
        f"{report.low_similarity} under similarity 0.7 (the meaning filter decides at run time)"
    )
    print(f"{'wrote' if report.written else 'unchanged'}: {args.out}")
    for failure in report.failed[:20]:
        print(f"  failed: {failure}")
    return 1 if report.failed else 0


def _cmd_search(args: argparse.Namespace) -> int:
    import asyncio

    from brittle.gateway import Gateway
    from brittle.search.flips import close_loop, find_flip
    from brittle.spec.eval import load_eval_file

    spec = load_eval_file(Path(args.eval_file))
    configured = next((s.search for s in spec.suites if s.search is not None), None)
    budget = args.budget or (configured.budget if configured else 200)
    max_ops = args.max_ops or (configured.max_ops if configured else 3)
    families = (
        [f.strip() for f in args.families.split(",") if f.strip()]
        if args.families
        else (list(configured.families) if configured and configured.families else None)
    )
    limit = args.cases or (configured.cases if configured else None)
    cases = [c for c in spec.cases if not args.case or c.id in args.case]
    if args.case:
        unknown = sorted(set(args.case) - {c.id for c in cases})
        if unknown:
            raise ConfigError(f"no case with id '{unknown[0]}' in the golden set", key="--case")
    if limit:
        cases = cases[:limit]
    systems = [s for s in spec.systems if not args.system or s.name in args.system]
    found = skipped = 0
    # one event loop and one gateway for the whole search: clients bound to the loop (the fast
    # transport's, litellm's) are made once and closed on it at the end, not left to warn
    loop = asyncio.new_event_loop()
    gateway = Gateway.for_spec(spec, concurrency=1)
    try:
        for system in systems:
            for case in cases:
                try:
                    flip = find_flip(
                        system,
                        case,
                        spec.checks,
                        budget=budget,
                        families=families,
                        max_ops=max_ops,
                        field_name=spec.perturb_fields[0] if spec.perturb_fields else None,
                        directory=args.dir,
                        gateway=gateway,
                        loop=loop,
                    )
                except EvalRunError as exc:  # the original errored: nothing to flip, go on
                    skipped += 1
                    print(f"skipped: {exc}")
                    continue
                if flip is not None:
                    found += 1
                    note = " (replayed)" if flip.replayed else ""
                    print(f"flip{note}: {flip.describe()}")
    finally:
        close_loop(loop)
    print(
        f"search: {found} flip(s) in {len(systems)} system(s) x {len(cases)} case(s) "
        f"(budget {budget}, at most {max_ops} edit(s)); stored under {args.dir}/flips"
        + ("; promote them with `brittle promote --out FILE`" if found else "")
        + (f"; {skipped} case(s) skipped: the system errored on the original" if skipped else "")
    )
    return 1 if skipped else 0


def _cmd_promote(args: argparse.Namespace) -> int:
    from brittle.search.flips import promote

    added, total = promote(Path(args.out), directory=args.dir)
    print(f"promote: {added} new flip(s); {total} line(s) in {args.out}")
    return 0
