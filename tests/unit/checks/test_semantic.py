"""The similarity check and the embedding helper behind it.

The tests that use the embedded all-MiniLM-L6-v2 load it once per module (a few seconds, mostly
importing torch); the others use stand-in models.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from brittle._errors import ConfigError, ModelError
from brittle.checks import (
    make_check,
    similarity,
)
from brittle.search import embeddings
from tests.unit.checks.cases import case

# --------------------------------------------------------------------------- embeddings


class FakeModel:
    """A stand-in with sentence-transformers' ``encode``: one unnormalised vector per text."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        self.calls.append(list(texts))
        return np.array([[len(text) + 1.0, 1.0, 0.0] for text in texts])


class DictStore:
    def __init__(self, vectors: Mapping[str, np.ndarray] | None = None) -> None:
        self.vectors = dict(vectors or {})
        self.asked: list[list[str]] = []

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        self.asked.append(list(texts))
        return {text: self.vectors[text] for text in texts if text in self.vectors}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        self.vectors.update(vectors)


def test_embedder_normalises_and_caches_with_a_fake_model() -> None:
    model = FakeModel()
    embedder = embeddings.Embedder(model)
    vectors = embedder.embed(["a", "bb", "a"])
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(vectors[0], vectors[2])
    embedder.embed(["bb", "ccc"])
    assert model.calls == [["a", "bb"], ["ccc"]]
    assert embedder.encoded == 3
    assert embedder.embed([]).shape == (0, 0)
    assert embedder.cosine([], []).shape == (0,)


def test_embedder_store_seam() -> None:
    stored = np.array([0.0, 0.0, 1.0], dtype=np.float32)
    store = DictStore({"known": stored})
    model = FakeModel()
    embedder = embeddings.Embedder(model, store=store)
    vectors = embedder.embed(["known", "new"])
    np.testing.assert_array_equal(vectors[0], stored)
    assert model.calls == [["new"]]
    assert set(store.vectors) == {"known", "new"}
    embedder.embed(["known", "new"])  # both in memory now: the store is not asked again
    assert store.asked == [["known", "new"]]


def test_embedder_is_thread_safe_without_double_work() -> None:
    model = FakeModel()
    embedder = embeddings.Embedder(model)
    texts = [f"text {i}" for i in range(50)]
    threads = [threading.Thread(target=embedder.embed, args=(texts,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert embedder.encoded == 50


def test_missing_embedding_packages_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(embeddings, "missing_package", lambda: "sentence-transformers")
    with pytest.raises(ConfigError) as info:
        make_check("similarity", {"threshold": 0.7})
    assert "pip install sentence-transformers" in (info.value.fix or "")
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ModelError, match="pip install sentence-transformers"):
        embeddings._load_model()


class CountingModel:
    """Wraps the real model to record which texts reach ``encode``."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.encoded: list[str] = []

    def encode(self, texts: Sequence[str], **kwargs: Any) -> Any:
        self.encoded.extend(texts)
        return self.model.encode(texts, **kwargs)


@pytest.fixture(scope="module")
def real_model() -> Any:
    return embeddings.get_embedder().model


PARAPHRASE = (
    "The meeting was moved to Friday afternoon.",
    "They rescheduled the meeting for Friday afternoon.",
)
UNRELATED = ("The meeting was moved to Friday afternoon.", "Bananas are rich in potassium.")


def test_similarity_with_the_real_model(real_model: Any) -> None:
    counting = CountingModel(real_model)
    embedder = embeddings.Embedder(counting)
    check = similarity(0.6, embedder=embedder)
    outputs = [PARAPHRASE[1], UNRELATED[1]]
    results = check.check_batch(outputs, [case(PARAPHRASE[0]), case(UNRELATED[0])])
    assert results[0].passed
    assert results[0].score is not None and results[0].score > 0.6
    assert not results[1].passed
    assert results[1].score is not None and results[1].score < 0.3
    assert results[1].detail.endswith("< threshold 0.6")
    # The shared expected text was embedded once, in one batch.
    assert sorted(counting.encoded) == sorted({*outputs, PARAPHRASE[0]})
    # Only texts never seen before reach the model.
    counting.encoded.clear()
    again = check.check(PARAPHRASE[1], case("Completely new reference text."))
    assert counting.encoded == ["Completely new reference text."]
    assert again.score is not None
    assert not check.check("anything", case(None)).passed


def test_cosine_is_row_wise(real_model: Any) -> None:
    embedder = embeddings.Embedder(real_model)
    scores = embedder.cosine([PARAPHRASE[0], UNRELATED[1]], [PARAPHRASE[1], UNRELATED[1]])
    assert scores.shape == (2,)
    assert scores[1] == pytest.approx(1.0, abs=1e-5)
    assert 0.6 < scores[0] < 1.0
    with pytest.raises(ValueError, match="equal lengths"):
        embedder.cosine(["a"], [])
