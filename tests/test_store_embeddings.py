"""The database-backed embedding cache: one upsert statement per batch, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from monitor.config import ScoringSettings
from monitor.scoring import gloss
from monitor.scoring.embeddings import cores_each
from monitor.scoring.pipeline import cache_key
from monitor.store import Store
from monitor.store.embeddings import BATCH, StoreEmbeddingCache
from tests.postgres import new_database


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/cache.db"
    else:
        url = new_database(request.getfixturevalue("pg_server"))
        Store.migrate(url).close()  # explicit on PostgreSQL (`mention-monitor migrate`)
    st = Store.open(url)
    try:
        yield st
    finally:
        st.close()


def vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(384).astype(np.float32)


def test_put_many_stores_replaces_and_keeps_models_apart(store: Store) -> None:
    cache = StoreEmbeddingCache(store, "model-a")
    other = StoreEmbeddingCache(store, "model-b")
    cache.put_many({"fp1": vec(1), "fp2": vec(2)})
    other.put_many({"fp1": vec(9)})
    cache.put_many({"fp2": vec(3), "fp3": vec(4)})  # fp2 again: the newer vector wins
    got = cache.get_many(["fp1", "fp2", "fp3", "missing"])
    assert set(got) == {"fp1", "fp2", "fp3"}
    assert np.array_equal(got["fp1"], vec(1))
    assert np.array_equal(got["fp2"], vec(3))
    assert np.array_equal(got["fp3"], vec(4))
    assert np.array_equal(other.get_many(["fp1"])["fp1"], vec(9))
    cache.put_many({})
    assert cache.get_many([]) == {}


def test_a_new_text_encoding_never_finds_the_old_vectors(store: Store) -> None:
    """A mention's vector is cached by its fingerprint; once the encoder reads a glossed text
    the fingerprint alone would return the vector of the unglossed one."""
    before = StoreEmbeddingCache(store, "all-MiniLM-L6-v2")  # the key before the gloss
    after = StoreEmbeddingCache(store, cache_key(ScoringSettings()))
    assert after.model_key == f"all-MiniLM-L6-v2+{gloss.ENCODING}"
    assert cache_key(ScoringSettings(model="/models/mpnet")) == f"/models/mpnet+{gloss.ENCODING}"
    before.put_many({"fp1": vec(1)})
    assert after.get_many(["fp1"]) == {}
    assert "fp1" in before.get_many(["fp1"])


def test_put_many_over_one_statement_size(store: Store) -> None:
    cache = StoreEmbeddingCache(store, "model-a")
    items = {f"fp{i}": vec(i) for i in range(BATCH + 7)}
    cache.put_many(items)
    got = cache.get_many(list(items))
    assert len(got) == len(items)
    assert np.array_equal(got[f"fp{BATCH + 6}"], vec(BATCH + 6))


def test_cores_each_shares_the_cores_and_never_gives_none() -> None:
    # As intra-op threads per encode, given the encodes that run at once:
    assert cores_each(1, cores=8) == 8
    assert cores_each(4, cores=8) == 2
    assert cores_each(8, cores=2) == 1
    assert cores_each(0, cores=2) == 2
    # As encodes at once, given each encode's threads:
    assert cores_each(1, cores=2) == 2  # eight workers, one thread each: two encodes at once
    assert cores_each(2, cores=2) == 1  # a command's one encode uses both cores
    assert cores_each(2, cores=8) == 4
    assert cores_each(4, cores=2) == 1  # never none
