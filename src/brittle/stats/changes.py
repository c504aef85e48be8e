"""What changed between a run and its baseline: cases, variants, and the suites behind them.

A row id (``c07[typo#2]``) names a slot, not a text: change a suite's seed or parameters and
the same slot holds another rewording. So each row of a run carries a short hash of its text
(the ``text_hash`` column, made by :mod:`brittle.run.fingerprints`) and a baseline stores it
beside the row's outcome (``[passed, answer, hash]``). A row pairs with the baseline's only when
both its id and its hash agree (:func:`paired_mask`); a row whose text changed counts as
*changed*, not paired. A baseline written before variant fingerprints has no hashes: its rows
pair by id alone, as they always did, and :class:`CaseChanges` says so.

:func:`case_changes` counts, per family, the variants paired, changed, added and removed since
the baseline (of the cases both sides have; cases added or removed are listed apart), and names
the suites whose definition changed (:func:`suite_changes`), so a gate can say plainly why it
has fewer pairs than rows: "typo: 30 of 32 variants changed since the baseline (suite 'typos'
changed: seed 7 -> 8); 2 pairs left: too few to test; refresh the baseline: ...".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from brittle.stats.baseline import UPDATE_HINT
from brittle.stats.margin import FEW_CASES
from brittle.stats.metrics import ORIGINAL

if TYPE_CHECKING:
    import pandas as pd

MAX_IDS = 20
#: the run's column of row hashes; the baseline keeps each row's hash third in its outcome
HASH_COLUMN = "text_hash"
_COUNTS = ("paired", "changed", "added", "removed")
_VARIANT_ID = re.compile(r"^(?P<case>.*)\[(?P<label>[^\[\]]*)#\d+\]$")
#: one line for a baseline written before variant fingerprints (then how to refresh it)
UNFINGERPRINTED = (
    "the baseline predates variant fingerprints: its rows are paired by id, whatever their "
    "text; refresh it to pair only identical variants: "
)


def stored_hash(entry: Sequence[Any]) -> str | None:
    """The text hash of a baseline's stored outcome ``[passed, answer, hash]`` (None: none)."""
    return entry[2] if len(entry) > 2 and isinstance(entry[2], str) else None


def same_text(now: str | None, entry: Sequence[Any]) -> bool:
    """Whether a row of hash ``now`` is the stored one's text (True when either has no hash)."""
    before = stored_hash(entry)
    return now is None or before is None or now == before


def paired_mask(table: pd.DataFrame, outcomes: Mapping[str, Any]) -> np.ndarray:
    """Which rows of ``table`` pair with a stored outcome: the same row id and, when both sides
    have a text hash, the same hash."""
    rows = zip(table["row_id"], _hashes(table), strict=True)
    return np.fromiter(
        (row in outcomes and same_text(now, outcomes[row]) for row, now in rows),
        dtype=bool,
        count=len(table),
    )


def _hashes(table: pd.DataFrame) -> list[str | None]:
    if HASH_COLUMN not in table:
        return [None] * len(table)
    return [value if isinstance(value, str) else None for value in table[HASH_COLUMN]]


@dataclass(frozen=True)
class FamilyChanges:
    """One family's variants of the cases both sides have: the same text on both sides
    (``paired``), another text under the same id (``changed``), on one side only."""

    paired: int = 0
    changed: int = 0
    added: int = 0
    removed: int = 0

    @property
    def total(self) -> int:
        """The variants of the run (of common cases) in this family."""
        return self.paired + self.changed + self.added

    def to_dict(self) -> dict[str, int]:
        return {
            "paired": self.paired,
            "changed": self.changed,
            "added": self.added,
            "removed": self.removed,
        }


@dataclass(frozen=True)
class CaseChanges:
    """Cases (and variants of common cases) on one side of the comparison only, and variants
    whose text changed under the same id."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    common: int = 0
    variants_added: int = 0
    variants_removed: int = 0
    variants_changed: int = 0
    #: per family (``""``: the originals) of the common cases
    families: Mapping[str, FamilyChanges] = field(default_factory=dict)
    #: the suites whose definition changed since the baseline (empty: none, or unknown)
    suites: tuple[SuiteChange, ...] = ()
    #: whether both sides name their suites' spec hashes (so an empty ``suites`` means none changed)
    suites_known: bool = False
    #: False: the baseline has no text hashes (written before variant fingerprints)
    fingerprinted: bool = True

    @property
    def changed(self) -> bool:
        return bool(
            self.added
            or self.removed
            or self.variants_added
            or self.variants_removed
            or self.variants_changed
            or self.originals_changed
        )

    @property
    def originals_changed(self) -> int:
        return self.families.get(ORIGINAL, FamilyChanges()).changed

    def describe(self) -> str:
        """The cases on one side only, in one phrase (variants: :meth:`notes`, per family)."""
        parts = []
        for count, what, ids in (
            (len(self.added), "added", self.added),
            (len(self.removed), "removed", self.removed),
        ):
            if count:
                shown = ", ".join(ids[:5]) + (", ..." if count > 5 else "")
                parts.append(f"{count} case(s) {what} ({shown})")
        return "; ".join(parts)

    def lines(self, family: str | None = None, *, hint: str = UPDATE_HINT) -> list[str]:
        """What a verdict says about the pairing (``family``: the gate's scope; None: all):
        the cases on one side only (:meth:`describe`), then :meth:`notes`."""
        left_out = self.describe()
        head = [f"left out of the comparison: {left_out}"] if left_out else []
        return head + self.notes(family, hint=hint)

    def notes(self, family: str | None = None, *, hint: str = UPDATE_HINT) -> list[str]:
        """The note of a baseline without fingerprints, and one line per family (of the scope
        ``family``; None: all) whose variants changed, were added or were removed since the
        baseline, with the pairs left and how to refresh the baseline (``hint``)."""
        lines = [] if self.fingerprinted else [UNFINGERPRINTED + hint]
        for name in sorted(self.families):
            if _in_scope(name, family):
                line = self.family_line(name, hint=hint)
                if line:
                    lines.append(line)
        return lines

    def scope(self, family: str | None = None) -> dict[str, Any]:
        """The counts of a gate's scope (``family``; None: every family), as its details keep
        them: variants ``paired``, ``changed``, ``added``, ``removed``, and the originals
        changed."""
        counts = [
            c for name, c in self.families.items() if name != ORIGINAL and _in_scope(name, family)
        ]
        return {
            "fingerprinted": self.fingerprinted,
            **{what: sum(getattr(c, what) for c in counts) for what in _COUNTS},
            "originals_changed": self.originals_changed,
        }

    def family_line(self, family: str, *, hint: str = UPDATE_HINT) -> str | None:
        """``typo: 30 of 32 variants changed since the baseline (...); 2 pairs left: too few
        to test; refresh the baseline: ...`` (added and removed variants too), or None when
        every variant of ``family`` pairs."""
        counts = self.families.get(family)
        if counts is None or not (counts.changed or counts.added or counts.removed):
            return None
        label = family if family != ORIGINAL else "originals"
        unit = "variants" if family != ORIGINAL else "originals"
        parts = [
            (n, word) for n, word in ((counts.changed, "changed"), (counts.added, "added")) if n
        ]
        if parts:
            (first, word), *others = parts
            head = f"{first} of {counts.total} {unit} {word} since the baseline"
            head += "".join(f", {n} {what}" for n, what in others)
            if counts.removed:
                head += f", {counts.removed} removed"
        else:
            noun = unit[:-1] if counts.removed == 1 else unit
            head = f"{counts.removed} {noun} removed since the baseline"
        left = counts.paired
        verdict = (
            ": nothing left to test"
            if left == 0
            else ": too few to test"
            if left < FEW_CASES
            else ""
        )
        return (
            f"{label}: {head}{self._why(family)}; {left} pair{'s' if left != 1 else ''} left"
            f"{verdict}; refresh the baseline: {hint}"
        )

    def _why(self, family: str) -> str:
        """`` (suite 'typos' changed: seed 7 -> 8)``: the suites behind a family's changes."""
        if family == ORIGINAL:
            return " (the golden set's inputs changed)"
        reasons = [s.describe() for s in self.suites if not s.families or family in s.families]
        if reasons:
            return f" ({'; '.join(reasons)})"
        if self.suites_known:
            return (
                " (its suite is unchanged: the cases, a variants file, the meaning filter, the "
                "family's code or the system's template changed)"
            )
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "common": self.common,
            "added_ids": list(self.added[:MAX_IDS]),
            "removed_ids": list(self.removed[:MAX_IDS]),
            "variants_added": self.variants_added,
            "variants_removed": self.variants_removed,
            "variants_changed": self.variants_changed,
            "originals_changed": self.originals_changed,
            "fingerprinted": self.fingerprinted,
            "families": {name: c.to_dict() for name, c in sorted(self.families.items())},
            "suites_changed": [s.describe() for s in self.suites],
            "notes": self.notes(),
        }


def _in_scope(name: str, family: str | None) -> bool:
    """Whether a family's rows count for a gate on ``family`` (None: all; originals: always)."""
    return family is None or name in (family, ORIGINAL)


@dataclass(frozen=True)
class SuiteChange:
    """A suite whose spec hash differs from the baseline's, or that is new or gone."""

    name: str
    what: str  # "is new", "was removed", "changed: seed 7 -> 8", ...
    #: the families of its perturbations (either side); empty: unknown
    families: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"suite '{self.name}' {self.what}"


def _split(row_id: str) -> tuple[str, str | None]:
    """``(case id, perturbation label)``; the label is None for an original's id."""
    match = _VARIANT_ID.match(row_id)
    return (match["case"], match["label"]) if match else (row_id, None)


def case_changes(
    table: pd.DataFrame,
    outcomes: Mapping[str, Any],
    *,
    suites: Mapping[str, Mapping[str, Any]] | None = None,
    baseline_suites: Mapping[str, Mapping[str, Any]] | None = None,
) -> CaseChanges:
    """What differs between the run's rows (``table``) and the baseline's stored outcomes.

    ``suites`` and ``baseline_suites`` (suite name -> ``{"hash", "seed"}``, see
    :func:`brittle.run.fingerprints.suite_fingerprints`) name the suites that changed.
    """
    import pandas as pd  # heavy: only a run with a baseline compares its cases

    run_cases = list(pd.unique(table["case_id"]))
    base_cases: list[str] = []
    base_variants: list[tuple[str, str, str]] = []
    for row_id in outcomes:
        case, label = _split(row_id)
        if label is None:
            base_cases.append(case)
        else:
            base_variants.append((case, label, row_id))
    run_set, base_set = set(run_cases), set(base_cases)
    common = run_set & base_set
    counts: dict[str, dict[str, int]] = {}
    label_family: dict[str, str] = {}
    run_rows: set[str] = set()
    fingerprinted = any(stored_hash(entry) is not None for entry in outcomes.values())
    columns = zip(table["case_id"], table["row_id"], table["family"], _hashes(table), strict=True)
    for case, row, family, now in columns:
        run_rows.add(row)
        label = _split(row)[1]
        if label is not None:
            label_family.setdefault(label, family)
        if case not in common:
            continue
        tally = counts.setdefault(family, dict.fromkeys(_COUNTS, 0))
        entry = outcomes.get(row)
        if entry is None:
            tally["added"] += 1
        else:
            tally["paired" if same_text(now, entry) else "changed"] += 1
    for case, label, row in base_variants:
        if case in common and row not in run_rows:
            family = label_family.get(label, label)
            counts.setdefault(family, dict.fromkeys(_COUNTS, 0))["removed"] += 1
    families = {name: FamilyChanges(**tally) for name, tally in counts.items()}
    variants = [c for name, c in families.items() if name != ORIGINAL]
    return CaseChanges(
        added=tuple(str(c) for c in run_cases if c not in base_set),
        removed=tuple(c for c in base_cases if c not in run_set),
        common=len(common),
        variants_added=sum(c.added for c in variants),
        variants_removed=sum(c.removed for c in variants),
        variants_changed=sum(c.changed for c in variants),
        families=families,
        suites=suite_changes(suites, baseline_suites),
        suites_known=bool(suites and baseline_suites),
        fingerprinted=fingerprinted or not outcomes,
    )


def suite_changes(
    now: Mapping[str, Mapping[str, Any]] | None, before: Mapping[str, Mapping[str, Any]] | None
) -> tuple[SuiteChange, ...]:
    """Each suite whose definition differs from the baseline's (by its spec hash), is new, or
    is gone; nothing when either side is unknown. The entries are suite name ->
    ``{"hash", "seed", "families"}`` (:func:`brittle.run.fingerprints.suite_fingerprints`)."""
    if not now or not before:
        return ()
    out = []
    for name in sorted(set(now) | set(before)):
        if name in now and name in before and now[name].get("hash") == before[name].get("hash"):
            continue
        ours, theirs = now.get(name) or {}, before.get(name) or {}
        families = tuple(sorted({*ours.get("families", ()), *theirs.get("families", ())}))
        if not theirs:
            what = "is new"
        elif not ours:
            what = "was removed"
        elif theirs.get("seed") != ours.get("seed"):
            what = f"changed: seed {theirs.get('seed')} -> {ours.get('seed')}"
        else:
            what = "changed: its perturbations, parameters or fields"
        out.append(SuiteChange(name, what, families))
    return tuple(out)


__all__ = [
    "HASH_COLUMN",
    "UNFINGERPRINTED",
    "CaseChanges",
    "FamilyChanges",
    "SuiteChange",
    "case_changes",
    "paired_mask",
    "same_text",
    "stored_hash",
    "suite_changes",
]
