"""What classification keeps between runs, as an interface: `flows` wires it to Postgres
(`staging.classification.ClassificationStore`); tests may pass anything with these methods.

The classifiers never open a database themselves: the history model, the chart of accounts and
cost centres, the clerks' corrections, the LLM cache and the LLM call log all come through here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

import numpy as np


class Embedder(Protocol):
    """The shared sentence-embedding model (loaded by `matchers.embeddings`): unit-length
    float32 vectors, one row per text, and a stable name recorded with every trained model."""

    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text."""
        ...


class ClassificationStore(Protocol):
    """Reads and writes of the classification stage."""

    def chart_of_accounts(self) -> dict[str, str]:
        """GL account -> name, in account order."""
        ...

    def cost_centre_codes(self) -> list[str]:
        """Every cost centre code, in order."""
        ...

    def coded_history(self) -> list[dict[str, Any]]:
        """Every coded history line that has a GL account."""
        ...

    def latest_corrections(self) -> list[dict[str, Any]]:
        """The clerks' latest correction of each (invoice, line)."""
        ...

    def promoted_model(self, kind: str = "history") -> dict[str, Any] | None:
        """The promoted model of a kind (version, metrics, embedder, artifact bytes)."""
        ...

    def save_model(self, **record: Any) -> None:
        """Record a trained model version (promoted or not)."""
        ...

    def llm_cache_get(self, input_hash: str) -> dict[str, Any] | None:
        """A cached LLM answer by input hash."""
        ...

    def llm_cache_put(self, input_hash: str, model: str, answer: Mapping[str, Any]) -> None:
        """Remember a valid LLM answer."""
        ...

    def insert_llm_calls(
        self, records: Iterable[Mapping[str, Any]], run_id: uuid.UUID | None = None
    ) -> int:
        """Append LLM call records."""
        ...


def embedder_name(embedder: object) -> str:
    """A stable name of an embedder (its `name`, else its class), recorded with each model."""
    return str(getattr(embedder, "name", None) or type(embedder).__name__)
