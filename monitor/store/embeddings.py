"""The database-backed embedding cache: one vector per (content fingerprint, model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import cast

import numpy as np
from sqlalchemy import Table, select

from monitor.store.engine import upsert_insert
from monitor.store.repository import Store
from monitor.store.schema import EmbeddingRecord

BATCH = 500  # rows per INSERT (SQLite allows 32766 bound parameters; 4 per row)


class StoreEmbeddingCache:
    """Implements monitor.scoring's EmbeddingCache protocol on the `embeddings` table."""

    def __init__(self, store: Store, model_key: str) -> None:
        self.store = store
        self.model_key = model_key  # monitor.scoring.cache_key: the model and text preparation

    def get_many(self, fingerprints: Sequence[str]) -> dict[str, np.ndarray]:
        if not fingerprints:
            return {}
        with self.store.read_session() as s:  # no write lock for a lookup
            q = select(EmbeddingRecord.fingerprint, EmbeddingRecord.vector).where(
                EmbeddingRecord.model_version == self.model_key,
                EmbeddingRecord.fingerprint.in_(list(fingerprints)),
            )
            return {fp: np.frombuffer(vec, dtype=np.float32).copy() for fp, vec in s.execute(q)}

    def put_many(self, items: Mapping[str, np.ndarray]) -> None:
        """Insert or replace the vectors in one statement (a merge per vector would first
        select each row: one round trip per embedded text on the hot path)."""
        if not items:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "fingerprint": fp,
                "model_version": self.model_key,
                "vector": np.asarray(vec, dtype=np.float32).tobytes(),
                "created_at": now,
            }
            for fp, vec in items.items()
        ]
        table = cast(Table, EmbeddingRecord.__table__)
        with self.store.session() as s:
            stmt = upsert_insert(s, table)
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.fingerprint, table.c.model_version],
                set_={"vector": stmt.excluded.vector, "created_at": stmt.excluded.created_at},
            )
            for start in range(0, len(rows), BATCH):
                s.execute(stmt, rows[start : start + BATCH])
