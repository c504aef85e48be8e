"""Search for the smallest rewording of a case that flips a system's outcome.

Random variants measure how often a system flips; search finds *a* flip when there is one and
shrinks it to the fewest edits and operators, so the report can say "misspelling 'battery' as
'bsttery' turns this positive review negative". :func:`find_flip` drives hypothesis over
:func:`brittle.strategies.perturbed` compositions: it calls the system on each candidate, checks
the output with the eval's checks, and stops at the first candidate whose pass/fail differs from
the original's, which hypothesis then shrinks.

Found flips are remembered in the project (``.brittle/`` by default, git-ignored), as hypothesis
remembers failures:

- ``.brittle/examples/``: hypothesis's example database, replayed first on the next search with
  the same system, case, check and operators, so a known flip is confirmed with one call (and
  dropped once the system stops flipping on it);
- ``.brittle/flips/<key>.json``: the same flip in readable form, which ``brittle promote`` copies
  into a committed regression fixture (JSONL), read back by the ``regression`` family.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import NoSuchExample

from brittle._errors import ConfigError, EvalRunError
from brittle.checks import Check
from brittle.gateway import Gateway
from brittle.spec.cases import Case
from brittle.spec.systems import System
from brittle.spec.yamlio import read_jsonl
from brittle.strategies import Edit, Perturbed, operators_for, perturbed

DEFAULT_DIR = Path(".brittle")
SEARCH_FORMAT = 1


@dataclass(frozen=True)
class Outcome:
    passed: bool | None
    answer: str | None
    output: str | None
    error: str | None = None


@dataclass(frozen=True)
class FoundFlip:
    """A shrunk variant of one case whose outcome differs from the original's."""

    key: str
    system: str
    fingerprint: str
    case_id: str
    field: str
    original: str
    text: str
    edits: tuple[Edit, ...]
    checks: tuple[str, ...]
    original_passed: bool
    variant_passed: bool
    original_answer: str | None
    variant_answer: str | None
    tries: int = 0
    """Candidates evaluated by this search (memoised repeats included)."""
    tries_to_first: int = 0
    """Candidates evaluated until the first flip: 1 when a stored flip was replayed first."""
    replayed: bool = False
    """Whether the flip came from the example database of an earlier search."""
    operators: tuple[str, ...] = ()

    def describe(self) -> str:
        verdict = "pass->FAIL" if self.original_passed else "fail->pass"
        edits = "; ".join(edit.describe() for edit in self.edits)
        return (
            f"{self.system} / {self.case_id} ({verdict}, {len(self.edits)} edit(s): {edits}): "
            f"{self.text!r} -> answer {self.variant_answer!r} "
            f"(original answer {self.original_answer!r})"
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "brittle_search_version": SEARCH_FORMAT,
            "key": self.key,
            "system": self.system,
            "fingerprint": self.fingerprint,
            "id": self.case_id,
            "field": self.field,
            "original": self.original,
            "text": self.text,
            "edits": [edit.to_dict() for edit in self.edits],
            "operators": list(self.operators),
            "checks": list(self.checks),
            "original_passed": self.original_passed,
            "variant_passed": self.variant_passed,
            "original_answer": self.original_answer,
            "variant_answer": self.variant_answer,
        }


def search_key(
    system: System,
    case: Case,
    field_name: str,
    checks: Sequence[Check],
    families: Sequence[str] | None,
    max_ops: int,
) -> str:
    """What a stored example belongs to: system, case text, checks and the strategy's shape."""
    payload = json.dumps(
        [
            "brittle.search/1",
            system.fingerprint(),
            case.id,
            field_name,
            str(case.inputs.get(field_name)),
            [check.describe() for check in checks],
            [op.name for op in operators_for(families)],
            max_ops,
        ]
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _field_of(case: Case, field_name: str | None) -> str:
    if field_name is None:
        field_name = next((k for k, v in case.inputs.items() if isinstance(v, str)), None)
    if field_name is None or not isinstance(case.inputs.get(field_name), str):
        raise ConfigError(
            f"case '{case.id}' has no text field {field_name!r} to search over",
            where=case.source,
            key="field",
            fix="pass the name of one of the case's text fields",
        )
    return field_name


def find_flip(
    system: System,
    case: Case,
    check: Check | Sequence[Check],
    *,
    budget: int = 200,
    families: Sequence[str] | None = None,
    max_ops: int = 3,
    field_name: str | None = None,
    directory: str | Path | None = DEFAULT_DIR,
    gateway: Gateway | None = None,
    loop: asyncio.AbstractEventLoop | None = None,
) -> FoundFlip | None:
    """The smallest composition of edits of ``case`` that flips ``system``'s outcome, or None.

    ``budget`` bounds the candidates generated (each is one call of the system; shrinking a
    found flip costs more calls, a few dozen for a short text). ``families`` limits the edit
    kinds (default: all, see :data:`brittle.strategies.OPERATORS`); ``max_ops`` bounds the
    edits composed. With ``directory`` (default ``.brittle``) stored flips are replayed first
    and new ones stored; ``directory=None`` keeps nothing. Generation is random, as hypothesis's
    is (hypothesis turns its database off for seeded runs); a stored flip makes a search
    deterministic, since it is tried first. ``loop``: the event loop to make the calls on,
    left open (a command searching many cases keeps one loop, so that clients bound to it,
    litellm's among them, are closed on it once); without it, one of its own, closed here.
    """
    checks = [check] if isinstance(check, Check) else list(check)
    if not checks:
        raise ConfigError("search needs at least one check", key="checks")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ConfigError(
            f"search budget must be a whole number >= 1, got {budget!r}",
            key="budget",
            fix="set budget to e.g. 200",
        )
    name = _field_of(case, field_name)
    text = str(case.inputs[name])
    strategy = perturbed(text, families, max_ops=max_ops)
    key = search_key(system, case, name, checks, families, max_ops)
    gateway = gateway or Gateway.for_spec(concurrency=1)
    own_loop = loop is None
    if loop is None:
        loop = asyncio.new_event_loop()
    memo: dict[str, Outcome] = {}

    def outcome(candidate: str) -> Outcome:
        if candidate not in memo:
            result = loop.run_until_complete(system.run({**case.inputs, name: candidate}, gateway))
            if result.error is not None:
                memo[candidate] = Outcome(None, None, None, result.error)
            else:
                output = result.text or ""
                results = [c.check(output, case) for c in checks]
                answer = next((r.answer for r in results if r.answer is not None), None)
                memo[candidate] = Outcome(all(r.passed for r in results), answer, output)
        return memo[candidate]

    try:
        original = outcome(text)
        if original.error is not None:
            raise EvalRunError(
                f"search on case '{case.id}': system '{system.name}' errored on the original "
                f"input, so nothing can flip: {original.error}"
            )
        root = Path(directory) if directory is not None else None
        record_path = root / "flips" / f"{key}.json" if root is not None else None
        stored = record_path is not None and record_path.is_file()
        tries = 0
        first: list[int] = []

        def flips(candidate: Perturbed) -> bool:
            nonlocal tries
            tries += 1
            if candidate.text == text:
                return False
            seen = outcome(candidate.text)
            flipped = seen.error is None and seen.passed != original.passed
            if flipped and not first:
                first.append(tries)
            return flipped

        database = DirectoryBasedExampleDatabase(root / "examples") if root is not None else None
        config = settings(
            max_examples=budget,
            derandomize=False,  # derandomized runs ignore the database
            database=database,
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink),
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
        )
        try:
            found = find(
                strategy,
                flips,
                settings=config,
                database_key=key.encode(),
            )
        except NoSuchExample:
            if record_path is not None:
                record_path.unlink(missing_ok=True)  # no longer flips: forget it
            return None
        final = outcome(found.text)
        flip = FoundFlip(
            key=key,
            system=system.name,
            fingerprint=system.fingerprint(),
            case_id=case.id,
            field=name,
            original=text,
            text=found.text,
            edits=found.edits,
            checks=tuple(c.describe() for c in checks),
            original_passed=bool(original.passed),
            variant_passed=bool(final.passed),
            original_answer=original.answer,
            variant_answer=final.answer,
            tries=tries,
            tries_to_first=first[0] if first else 0,
            replayed=stored and bool(first) and first[0] == 1,
            operators=found.operators,
        )
        if record_path is not None:
            record_path.parent.mkdir(parents=True, exist_ok=True)
            record_path.write_text(
                json.dumps(flip.to_record(), indent=1, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
        return flip
    finally:
        if own_loop:
            close_loop(loop)


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close ``loop`` as :func:`asyncio.run` closes its own: pending tasks (litellm's logging
    worker) cancelled and awaited, then asynchronous generators (the fast transport closes its
    HTTP client there), so nothing warns "Task was destroyed" or "Event loop is closed"."""
    pending = asyncio.all_tasks(loop)
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def stored_flips(directory: str | Path = DEFAULT_DIR) -> list[dict[str, Any]]:
    """The readable flip records under ``directory/flips``, sorted by case and text."""
    folder = Path(directory) / "flips"
    records = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(
                f"stored flip is not readable JSON ({exc})",
                where=path,
                fix="delete the file; the next `brittle search` finds the flip again",
            ) from None
        if isinstance(record, dict) and {"id", "text"} <= set(record):
            records.append(record)
    return sorted(records, key=lambda r: (str(r["id"]), str(r.get("field")), str(r["text"])))


REGRESSION_KEYS = (
    "id",
    "field",
    "original",
    "text",
    "system",
    "edits",
    "checks",
    "original_answer",
    "variant_answer",
)


def promote(out: str | Path, *, directory: str | Path = DEFAULT_DIR) -> tuple[int, int]:
    """Merge the stored flips into the regression fixture ``out`` (JSONL); (added, total).

    Lines already in the fixture are kept as they are; a flip is new when no line has its
    case id, field and text. Lines are sorted by case id, field and text, so promoting the same
    flips twice leaves the file byte for byte the same.
    """
    path = Path(out)
    lines: dict[tuple[str, str, str], dict[str, Any]] = {}
    if path.is_file():
        fix = "fix or delete the line"
        for _, record in read_jsonl(path, what="regression fixture line", fix=fix):
            lines[(str(record.get("id")), str(record.get("field")), str(record.get("text")))] = (
                record
            )
    added = 0
    for record in stored_flips(directory):
        key = (str(record["id"]), str(record.get("field")), str(record["text"]))
        if key not in lines:
            lines[key] = {name: record.get(name) for name in REGRESSION_KEYS}
            added += 1
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(lines[key], ensure_ascii=False) + "\n" for key in sorted(lines))
    if not path.is_file() or path.read_text(encoding="utf-8") != body:
        path.write_text(body, encoding="utf-8")
    return added, len(lines)


__all__ = [
    "DEFAULT_DIR",
    "FoundFlip",
    "close_loop",
    "find_flip",
    "promote",
    "search_key",
    "stored_flips",
]
