"""The batched write path (`Tx.add_mentions`) stores exactly what one-by-one inserts store.

The runner writes a source run's mentions, clusters and assessments in a few statements
(monitor/store/mentions.py `add_many`). Each test runs on a fresh SQLite file and on a fresh
database of a real PostgreSQL server, and compares the batch with the one-by-one path
(`find_cluster`, `add_mention`, `add_assessment`) on the same input: the same mentions, the same
story clusters, the same assessments, the same refusals.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.models import Assessment, Match, Mention, RawItem, Severity
from monitor.store import Store
from monitor.store.repository import Candidate
from tests.postgres import new_database

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
STORY = 0x5A5A_1234_0F0F_7777  # a simhash; bands are its four 16-bit slices


def _bands(h: int) -> tuple[int, int, int, int]:
    return (h & 0xFFFF, (h >> 16) & 0xFFFF, (h >> 32) & 0xFFFF, (h >> 48) & 0xFFFF)


def cand(
    ext: str, fp: str, simhash: int, org: str = "ankermoor", source: str = "news"
) -> Candidate:
    item = RawItem(
        f"{org}/{source}",
        ext,
        f"https://x.example/{ext}",
        f"Title {ext}",
        f"Text of {ext}",
        author="@someone",
        published_at=T0,
    )
    return Candidate(
        item, Match(org, "Ankermoor", "title", 0, 9), item.url, fp, simhash, _bands(simhash)
    )


def assessment(ext: str) -> Assessment:
    return Assessment(
        probabilities={"other": 0.9},
        categories=("other",),
        severity=Severity.DIGEST,
        reason=f"because {ext}",
        evidence=(),
        model_version="test",
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def make_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A factory of fresh, migrated, empty databases of one engine."""
    n = iter(range(100))

    def fresh() -> str:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path}/db{next(n)}.db"
        else:
            url = new_database(request.getfixturevalue("pg_server"))
        Store.migrate(url).close()
        return url

    return fresh


def _one_by_one(
    store: Store, cands: list[Candidate], scores: list[Assessment | None]
) -> list[Mention | None]:
    """What the runner did before batching: per candidate, a cluster lookup, an insert, an
    assessment."""
    out: list[Mention | None] = []
    with store.transaction() as tx:
        for c, a in zip(cands, scores, strict=True):
            cluster = tx.find_cluster(c.match.organisation, c.simhash, c.bands)
            m = tx.add_mention(c, cluster, T0)
            if m is not None and a is not None:
                tx.add_assessment(m.id, a, T0)
            out.append(m)
    return out


def _batch(
    store: Store, cands: list[Candidate], scores: list[Assessment | None]
) -> list[Mention | None]:
    with store.transaction() as tx:
        return tx.add_mentions(cands, scores, T0)


def _without_id(m: Mention | None) -> tuple[object, ...] | None:
    if m is None:
        return None
    d = dataclasses.asdict(m)
    d.pop("id")
    return tuple(sorted(d.items()))


def _stored(store: Store) -> list[tuple[object, ...]]:
    rows = store.mentions()
    return sorted((m.organisation, m.external_id, m.cluster_id, m.fingerprint, a) for m, a in rows)


def _setup(store: Store) -> Mention:
    """An earlier run's mention, and a row that a concurrent run stored a moment ago."""
    with store.transaction() as tx:
        old = tx.add_mention(cand("old", "fp-old", STORY), None, T0)
        tx.add_mention(cand("raced", "fp-raced", 0x1111_2222_3333_4444), None, T0)
    assert old is not None
    return old


BATCH = [
    ("near-old", "fp-1", STORY ^ 0b101),  # syndicated copy of the stored story: its cluster
    ("new", "fp-2", 0x0F0F_0F0F_0F0F_0F0F),  # a new story: its own cluster
    ("near-new", "fp-3", 0x0F0F_0F0F_0F0F_0F0F ^ 0b1000_0001),  # copy of the one before it
    ("new", "fp-4", 0x7777_0000_7777_0000),  # same source id as "new": refused
    ("same-text", "fp-1", 0x1234_5678_9ABC_DEF0),  # same text as "near-old": refused
    ("raced", "fp-raced-2", 0x2222_0000_1111_0000),  # a concurrent run stored this id: refused
    ("far", "fp-5", STORY ^ 0x00FF_0000_0000_FFFF),  # shares two bands, too far: own cluster
]


def test_batch_stores_what_one_by_one_stores(make_url) -> None:  # type: ignore[no-untyped-def]
    cands = [cand(e, f, h) for e, f, h in BATCH]
    # The same story found for a sister academy is its own mention and its own cluster.
    cands.append(cand("new", "fp-2", 0x0F0F_0F0F_0F0F_0F0F, org="sister"))
    scores: list[Assessment | None] = [
        None if i % 3 == 2 else assessment(c.item.external_id) for i, c in enumerate(cands)
    ]

    results = []
    for write in (_one_by_one, _batch):
        store = Store.open(make_url())
        try:
            old = _setup(store)
            got = write(store, cands, scores)
            results.append(([_without_id(m) for m in got], _stored(store), old))
        finally:
            store.close()

    (single, single_rows, old1), (batch, batch_rows, old2) = results
    assert batch == single
    assert batch_rows == single_rows
    kept = [m is not None for m in batch]
    assert kept == [True, True, True, False, False, False, True, True]
    clusters = [dict(m)["cluster_id"] if m else None for m in batch]
    assert clusters[0] == old2.cluster_id == old1.cluster_id  # found among stored mentions
    assert clusters[2] == clusters[1] == "c-fp-2"  # found among the batch's earlier mentions
    assert clusters[6] == "c-fp-5" and clusters[7] == "c-fp-2"


def test_batch_returns_ids_of_the_stored_rows_and_their_assessments(make_url) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(make_url())
    try:
        _setup(store)
        cands = [cand(e, f, h) for e, f, h in BATCH]
        scores: list[Assessment | None] = [assessment(c.item.external_id) for c in cands]
        got = _batch(store, cands, scores)
        for m, a in zip(got, scores, strict=True):
            if m is None:
                continue
            stored = store.mention(m.id)
            assert stored is not None
            assert stored[0] == m  # the returned mention is the stored row, id included
            assert stored[1] == a
        with store.engine.connect() as conn:
            n_assessed = conn.execute(text("select count(*) from assessments")).scalar()
            n_mentions = conn.execute(text("select count(*) from mentions")).scalar()
        assert n_assessed == sum(m is not None for m in got)
        assert n_mentions == 2 + sum(m is not None for m in got)
    finally:
        store.close()


def test_an_empty_batch_writes_nothing(make_url) -> None:  # type: ignore[no-untyped-def]
    store = Store.open(make_url())
    try:
        assert _batch(store, [], []) == []
        assert store.count_mentions() == 0
    finally:
        store.close()
