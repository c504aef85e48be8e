"""The meaning filter: variants that no longer say what their original said are dropped.

A rewording is only a fair test if it keeps the meaning. Generated rewordings mostly do, model
paraphrases often do not (a 135M-parameter paraphraser drifts, and any paraphraser can flip a
review's sentiment). So every variant of a suite entry with ``min_similarity`` is scored by the
cosine similarity of its sentence embedding (the offline all-MiniLM-L6-v2) to its original's, and
dropped under the threshold; an entry with ``label_guard`` also drops a variant that brings in a
label word (``positive``, ``negative``) its original did not contain. Dropped variants are counted
per family and shown in the summary, never silently lost.

All scoring of one run happens in one batch: each distinct text is embedded once (the embedder
keeps an in-memory cache, and an on-disk cache across runs; see :mod:`brittle.search.embeddings`).
For instruction- and format-level variants the compared texts are the original and the rewritten
templates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from brittle._errors import ConfigError

if TYPE_CHECKING:
    from brittle.search.embeddings import Embedder


@dataclass(frozen=True)
class MeaningRule:
    """What a variant must keep: embedding similarity, and no new label words."""

    min_similarity: float | None = None
    label_guard: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        return self.min_similarity is not None or bool(self.label_guard)

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.min_similarity is not None:
            out["min_similarity"] = self.min_similarity
        if self.label_guard:
            out["label_guard"] = list(self.label_guard)
        return out


@dataclass(frozen=True)
class Candidate:
    """One variant to judge: its family, rule, and (original, rewritten) text pairs."""

    family: str
    rule: MeaningRule
    pairs: tuple[tuple[str, str], ...]


@dataclass
class Judgement:
    kept: list[bool]
    similarity: list[float | None]
    dropped: dict[str, int]


def introduced_label(original: str, variant: str, labels: Sequence[str]) -> str | None:
    """A label word (whole word, any case) in ``variant`` but not in ``original``, or None."""
    for label in labels:
        pattern = re.compile(rf"(?<!\w){re.escape(label)}(?!\w)", re.IGNORECASE)
        if pattern.search(variant) and not pattern.search(original):
            return label
    return None


def judge(candidates: Sequence[Candidate], embedder: Embedder | None = None) -> Judgement:
    """Which candidates keep their meaning, their lowest similarity, and drops per family.

    Texts are embedded in one batch (only for candidates whose rule sets ``min_similarity``);
    a candidate with several changed fields must keep every one.
    """
    texts = list(
        dict.fromkeys(
            text
            for candidate in candidates
            if candidate.rule.min_similarity is not None
            for pair in candidate.pairs
            for text in pair
        )
    )
    row: dict[str, int] = {}
    vectors = None
    if texts:
        if embedder is None:
            from brittle.search.embeddings import get_embedder

            embedder = get_embedder()
        vectors = embedder.embed(texts)
        row = {text: index for index, text in enumerate(texts)}
    kept: list[bool] = []
    similarity: list[float | None] = []
    dropped: dict[str, int] = {}
    for candidate in candidates:
        rule = candidate.rule
        score: float | None = None
        if rule.min_similarity is not None and candidate.pairs and vectors is not None:
            score = min(
                float(vectors[row[a]] @ vectors[row[b]]) if a != b else 1.0
                for a, b in candidate.pairs
            )
        ok = score is None or rule.min_similarity is None or score >= rule.min_similarity
        if ok and rule.label_guard:
            ok = not any(introduced_label(a, b, rule.label_guard) for a, b in candidate.pairs)
        kept.append(ok)
        similarity.append(None if score is None else round(score, 4))
        if not ok:
            dropped[candidate.family] = dropped.get(candidate.family, 0) + 1
    return Judgement(kept, similarity, dropped)


def parse_rule(
    raw: Any, *, inherited: MeaningRule, where: str, line: int | None, key: str
) -> MeaningRule:
    """A suite's or entry's ``min_similarity`` / ``label_guard``, over ``inherited`` defaults."""
    threshold = inherited.min_similarity
    if "min_similarity" in raw:
        value = raw["min_similarity"]
        if value is None:
            threshold = None
        elif isinstance(value, bool) or not isinstance(value, int | float) or not -1 <= value <= 1:
            raise ConfigError(
                f"'min_similarity' must be a cosine similarity between -1 and 1, got {value!r}",
                where=where,
                line=line,
                key=f"{key}min_similarity",
                fix="set e.g. min_similarity: 0.8 (paraphrases of one sentence score about "
                "0.7-0.9; unrelated sentences about 0)",
            )
        else:
            threshold = float(value)
    guard = inherited.label_guard
    if "label_guard" in raw:
        value = raw["label_guard"]
        if value is None or value == []:
            guard = ()
        elif (
            isinstance(value, str)
            or not isinstance(value, list)
            or not all(isinstance(item, str) and item.strip() for item in value)
        ):
            raise ConfigError(
                f"'label_guard' must be a list of label words, got {value!r}",
                where=where,
                line=line,
                key=f"{key}label_guard",
                fix="write e.g. label_guard: [positive, negative]",
            )
        else:
            guard = tuple(value)
    return MeaningRule(threshold, guard)
