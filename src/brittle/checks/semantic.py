"""The ``similarity`` check: the output means what the expected answer means, by embeddings.

Embeddings (numpy; sentence-transformers when the model is first used) come from
:mod:`brittle.search.embeddings`, imported here so that only evals with a ``similarity`` check
load them.
"""

from __future__ import annotations

from collections.abc import Sequence

import brittle.search.embeddings as embeddings
from brittle._errors import ConfigError
from brittle.checks._params import real
from brittle.checks.base import Check, CheckResult, no_expected
from brittle.spec.cases import Case

__all__ = ["similarity"]


class _SimilarityCheck(Check):
    def __init__(self, threshold: float, embedder: embeddings.Embedder | None) -> None:
        super().__init__(
            "similarity",
            {"threshold": threshold, "model": embeddings.MODEL_NAME},
            requires_expected=True,
            defaults={"threshold": 0.8, "model": embeddings.MODEL_NAME},
        )
        self._threshold = threshold
        self._embedder = embedder

    def check(self, output: str, case: Case) -> CheckResult:
        return self.check_batch([output], [case])[0]

    def check_batch(self, outputs: Sequence[str], cases: Sequence[Case]) -> list[CheckResult]:
        """Embed every output and expected answer in one batch (the embedder caches repeats)."""
        if len(outputs) != len(cases):
            raise ValueError(f"check_batch got {len(outputs)} outputs for {len(cases)} cases")
        results: list[CheckResult | None] = [None] * len(outputs)
        pending: list[int] = []
        for index, case in enumerate(cases):
            if case.expected is None:
                results[index] = no_expected(self, case)
            else:
                pending.append(index)
        if pending:
            embedder = self._embedder or embeddings.get_embedder()
            scores = embedder.cosine(
                [outputs[index] for index in pending],
                [str(cases[index].expected) for index in pending],
            )
            for index, raw in zip(pending, scores, strict=True):
                score = float(raw)
                passed = score >= self._threshold
                detail = "" if passed else f"similarity {score:.3f} < threshold {self._threshold:g}"
                results[index] = CheckResult(passed=passed, score=score, detail=detail)
        return [result for result in results if result is not None]


def similarity(
    threshold: float = 0.8,
    *,
    model: str = embeddings.MODEL_NAME,
    embedder: embeddings.Embedder | None = None,
) -> Check:
    """Cosine similarity of the output and the expected answer reaches ``threshold``.

    Embeddings come from the embedded all-MiniLM-L6-v2 (the only ``model`` supported), through
    ``embedder`` or the process-wide one. Paraphrases score about 0.7-0.8 with it, unrelated
    texts about 0, so thresholds near 0.6-0.7 separate "same meaning" from "different".
    """
    if model != embeddings.MODEL_NAME:
        raise ConfigError(
            f"unsupported embedding model {model!r}",
            key="model",
            fix=f"leave 'model' out; only {embeddings.MODEL_NAME} is embedded",
        )
    missing = embeddings.missing_package()
    if missing is not None and embedder is None:
        raise ConfigError(
            f"the similarity check needs the package '{missing}', which is not installed",
            fix=embeddings.install_fix(),
        )
    return _SimilarityCheck(real(threshold, "threshold", low=-1.0, high=1.0), embedder)


def _similarity_from_config(threshold: float = 0.8, *, model: str = embeddings.MODEL_NAME) -> Check:
    """:func:`similarity` without the Python-only ``embedder`` argument."""
    return similarity(threshold, model=model)
