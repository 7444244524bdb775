"""The database-backed embedding cache: one vector per (content fingerprint, model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from monitor.store.repository import Store
from monitor.store.schema import EmbeddingRecord


class StoreEmbeddingCache:
    """Implements monitor.scoring's EmbeddingCache protocol on the `embeddings` table."""

    def __init__(self, store: Store, model_key: str = "default") -> None:
        self.store = store
        self.model_key = model_key

    @classmethod
    def for_model(cls, store: Store, model_setting: str) -> StoreEmbeddingCache:
        """The cache of the model named by `scoring.model` (empty: the bundled one)."""
        return cls(store, model_setting or "all-MiniLM-L6-v2")

    def get_many(self, fingerprints: Sequence[str]) -> dict[str, np.ndarray]:
        if not fingerprints:
            return {}
        with self.store.session() as s:
            q = select(EmbeddingRecord.fingerprint, EmbeddingRecord.vector).where(
                EmbeddingRecord.model_version == self.model_key,
                EmbeddingRecord.fingerprint.in_(list(fingerprints)),
            )
            return {fp: np.frombuffer(vec, dtype=np.float32).copy() for fp, vec in s.execute(q)}

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        if not items:
            return
        now = datetime.now(UTC)
        with self.store.session() as s:
            for fp, vec in items.items():
                s.merge(
                    EmbeddingRecord(
                        fingerprint=fp,
                        model_version=self.model_key,
                        vector=np.asarray(vec, dtype=np.float32).tobytes(),
                        created_at=now,
                    )
                )
