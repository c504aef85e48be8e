"""One set of option definitions for the pytest plugin and the ``brittle`` command line, and
the :class:`Options` a run is given once they are parsed.

Light on purpose: the plugin reads it at ``pytest_configure`` of every pytest run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OptionDef:
    flag: str  # without the "--brittle-" / "--" prefix
    help: str
    action: str = "store"
    type: Any = None
    default: Any = None
    metavar: str | None = None
    dest: str = ""
    nargs: str | None = None
    const: Any = None


#: the values of ``--brittle-update-baseline`` / ``--update-baseline``: bare, or ``=force``
UPDATE_MODES = ("yes", "force")


class UpdateBaselineAction(argparse.Action):
    """``--brittle-update-baseline[=force]`` (``--update-baseline[=force]`` in ``brittle run``).

    The value is optional, so argparse hands the flag the word that follows it. A word that is
    not a mode is a path written after the bare flag (``pytest --brittle-update-baseline
    evals/``): the flag takes ``yes`` and the word is kept in :data:`DISPLACED` and, when
    ``hand_back`` (pytest), returned as an argument argparse did not recognise, which pytest
    adds to its files. ``brittle run`` reads it from :data:`DISPLACED` as its eval file.
    """

    hand_back = True

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if values is None or values in UPDATE_MODES:
            setattr(namespace, self.dest, values or self.const)
            return
        word = str(values)
        if not Path(word.split("::")[0]).exists() and not any(c in word for c in "/.:"):
            parser.error(  # neither a mode nor a path: a misspelt mode ('=forse')
                f"{option_string}: '{word}' is not one of {', '.join(UPDATE_MODES)}; write "
                f"{option_string} (bare) or {option_string}=force"
            )
        setattr(namespace, self.dest, self.const)
        setattr(namespace, DISPLACED, [*getattr(namespace, DISPLACED, []), word])
        if self.hand_back:  # argparse returns these as arguments it did not recognise
            unrecognized = [*getattr(namespace, "_unrecognized_args", []), word]
            namespace._unrecognized_args = unrecognized


class KeepDisplacedAction(UpdateBaselineAction):
    """:class:`UpdateBaselineAction` for ``brittle run``, whose parser refuses leftovers."""

    hand_back = False


def on_off(value: str) -> bool:
    """An ``on``/``off`` option's value as a switch (argparse's ``type``: another word is a
    usage error naming the choices)."""
    text = str(value).strip().lower()
    if text not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"'{value}' is not one of on, off")
    return text == "on"


def positive_int(value: str) -> int:
    """A count option's value (argparse's ``type``): a whole number of at least 1."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{value}' is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is below 1: give at least 1")
    return number


@dataclass(frozen=True)
class Shard:
    """``--brittle-shard K/N``: this run takes shard ``k`` (1-based) of ``n``
    (:mod:`brittle.run.shards` says which cases that is)."""

    k: int
    n: int

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


def parse_shard(value: str) -> Shard:
    """A ``K/N`` option's value (argparse's ``type``): whole numbers with 1 <= K <= N."""
    text = str(value).strip()
    k_text, slash, n_text = text.partition("/")
    try:
        k, n = int(k_text), int(n_text)
    except ValueError:
        k = n = 0
    if not slash or n < 1 or not 1 <= k <= n:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not K/N with 1 <= K <= N (write e.g. 2/3 for the second of 3 shards)"
        )
    return Shard(k, n)


#: why ``--brittle-limit`` and a baseline update do not go together (a usage error)
LIMIT_WITH_UPDATE = (
    "a smoke run on the first cases cannot write a baseline: the baseline would hold only"
    " those cases; drop the limit to update the baseline, or the update to run a smoke run"
)


#: why a shard run neither updates a baseline nor takes a limit (a usage error)
SHARD_ALONE = (
    "a shard holds only its share of the cases: it cannot write a baseline or take"
    " --brittle-limit; run the shards, then `brittle merge SHARD_DIR... --update-baseline`"
)


#: where :class:`UpdateBaselineAction` keeps a word it handed back
DISPLACED = "brittle_displaced_args"


OPTIONS = (
    OptionDef(
        "update-baseline",
        "write the baselines of the evals and systems that ran (queued, written once at the end;"
        " evals not selected are left alone). A system that scored no rows, or whose errors"
        " exceed the eval's error_budget, is refused: nothing written for it, the run fails."
        " '=force' writes it anyway and records its errors in the baseline",
        action="update_baseline",
        default=None,
        metavar="force",
        dest="update_baseline",
        nargs="?",
        const="yes",
    ),
    OptionDef(
        "limit",
        "smoke run: only the first N cases of each golden set, with all their variants."
        " Marked partial (terminal, run.json and summary.json 'partial' and 'limit'); relative"
        " gates compare the cases present with the baseline's; cannot update a baseline",
        type=positive_int,
        default=None,
        metavar="N",
        dest="limit",
    ),
    OptionDef(
        "shard",
        "run only shard K of N: the cases whose stable hash of the case id falls in part K"
        " (all variants and repeats of a case together; adding cases moves no other case)."
        " The report folder gets manifest.json; gates are shown but decide nothing (exit 0"
        " unless an error): `brittle merge` gates the merged shards. No baseline update",
        type=parse_shard,
        default=None,
        metavar="K/N",
        dest="shard",
    ),
    OptionDef(
        "report-dir",
        "folder for run reports: <dir>/<run-id>/run.json, results.parquet, summary.md"
        " (default: reports)",
        default=None,
        metavar="DIR",
        dest="report_dir",
    ),
    OptionDef(
        "no-report",
        "do not write run reports",
        action="store_true",
        default=False,
        dest="no_report",
    ),
    OptionDef(
        "concurrency",
        "maximum concurrent model calls per eval (overrides each eval's 'concurrency')",
        type=int,
        default=None,
        metavar="N",
        dest="concurrency",
    ),
    OptionDef(
        "history",
        "SQLite file that keeps every run's metrics and per-case outcomes, for trends and"
        " `brittle history/compare/report` (default: <report dir>/history.sqlite; 'off' to skip)",
        default=None,
        metavar="PATH",
        dest="history",
    ),
    OptionDef(
        "correct-across-evals",
        "Holm-correct the relative gates of every eval collected in the session together, as one"
        " family, at the smallest 'alpha' among those evals (default: each eval file is its own"
        " family: every relative gate of every system it defines). Stricter: with m relative"
        " gates in the build, the first is decided at alpha / m. Every system with a baseline of"
        " every collected eval runs before the first relative verdict, selected or not, so"
        " selection (-k, node ids) never changes a verdict",
        action="store_true",
        default=False,
        dest="correct_across_evals",
    ),
    OptionDef(
        "cache",
        "response cache mode: rw (default: reuse recorded responses, record missing ones),"
        " replay (no model calls; a missing response is an error: for pull-request CI),"
        " record (always call and refresh), off; env BRITTLE_CACHE",
        default=None,
        metavar="{rw,replay,record,off}",
        dest="cache",
    ),
    OptionDef(
        "recordings",
        "recordings beside the baselines (evals/__recordings__/<eval>.jsonl.gz): 'on' (default)"
        " writes the responses a baseline update used, scrubbed and without prompts, and replay"
        " mode reads them before the response cache; 'off' neither writes nor reads them",
        type=on_off,
        default=True,
        metavar="{on,off}",
        dest="recordings",
    ),
    OptionDef(
        "cache-dir",
        "folder of the response cache (cache.sqlite; default .brittle under the project root);"
        " env BRITTLE_RESPONSE_CACHE_DIR",
        default=None,
        metavar="DIR",
        dest="cache_dir",
    ),
)


@dataclass
class Options:
    """Options common to ``pytest --brittle-*`` and ``brittle run``."""

    update_baseline: bool = False
    #: ``--brittle-update-baseline=force``: write a baseline even where it is refused
    force_baseline: bool = False
    report_dir: Path | None = Path("reports")
    concurrency: int | None = None
    history: str | None = None  # run history file; None: <report_dir>/history.sqlite; "off"
    #: response cache mode (rw, replay, record, off); None: BRITTLE_CACHE, else rw
    cache: str | None = None
    #: the response cache file; None: cache.sqlite in BRITTLE_RESPONSE_CACHE_DIR or ./.brittle
    cache_path: Path | None = None
    #: write recordings beside updated baselines and replay them (``--brittle-recordings``)
    recordings: bool = True
    #: show a progress line; None: only on an interactive terminal outside CI
    progress: bool | None = None
    #: one Holm family for the relative gates of every eval of the session (else one per eval)
    correct_across_evals: bool = False
    #: a smoke run on the first N cases of each golden set (``--brittle-limit``); None: all
    limit: int | None = None
    #: run only this shard of each eval's cases (``--brittle-shard K/N``); None: all
    shard: Shard | None = None


def argparse_kwargs(option: OptionDef, *, hand_back: bool = True) -> dict[str, Any]:
    """The keyword arguments of ``add_argument`` / pytest's ``addoption`` for ``option``
    (``hand_back``: see :class:`UpdateBaselineAction`)."""
    if option.action == "update_baseline":
        return {
            "action": UpdateBaselineAction if hand_back else KeepDisplacedAction,
            "help": option.help,
            "nargs": option.nargs,
            "const": option.const,
            "default": option.default,
            "metavar": option.metavar,
        }
    kwargs: dict[str, Any] = {"action": option.action, "help": option.help}
    if option.action == "store":
        kwargs.update(default=option.default, metavar=option.metavar)
        if option.type is not None:
            kwargs["type"] = option.type
    else:
        kwargs["default"] = option.default
    return kwargs


__all__ = [
    "DISPLACED",
    "LIMIT_WITH_UPDATE",
    "OPTIONS",
    "SHARD_ALONE",
    "UPDATE_MODES",
    "KeepDisplacedAction",
    "OptionDef",
    "Options",
    "Shard",
    "UpdateBaselineAction",
    "argparse_kwargs",
    "on_off",
    "parse_shard",
    "positive_int",
]
