"""Triage records and the inbox query, on a fresh SQLite file and on a real PostgreSQL database:
round trips, timeline order, mutes labelled (never dropped), filters, search, counts and keyset
pages that neither repeat nor skip a mention while new ones arrive."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from monitor.models import Evidence, Severity
from monitor.store import Store
from monitor.store.inbox import InboxError, InboxQuery, decode_cursor, encode_cursor
from monitor.store.schema import MentionEventRecord
from monitor.triage import (
    AddNote,
    Assign,
    CorrectCategories,
    EventKind,
    MarkNotAboutUs,
    MuteAuthor,
    MuteKind,
    MuteThread,
    SetStatus,
    Status,
    TriageError,
    Unmute,
)
from tests.inbox_support import add_mention
from tests.postgres import postgres_server

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HEAD = "head@ankermoor.sch.uk"
MINE = ("ankermoor", "bramley")


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/inbox.db"
    else:
        server: str = request.getfixturevalue("pg_server")
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + "/" + name
    s = Store.migrate(url)
    try:
        yield s
    finally:
        s.close()


def ids(store: Store, **filters: object) -> list[int]:
    page = store.inbox(InboxQuery(academies=MINE, limit=100, **filters))  # type: ignore[arg-type]
    return [r.id for r in page.rows]


def test_triage_round_trip_and_timeline_order(store: Store) -> None:
    m = add_mention(store, T0, categories=("reputation",), author="@angry.parent")
    steps = [
        SetStatus(Status.ACKNOWLEDGED),
        Assign("dsl@ankermoor.sch.uk"),
        AddNote("Phoned the parent; they will take it down."),
        SetStatus(Status.ACTION_TAKEN),
        CorrectCategories(("harassment",)),
        SetStatus(Status.CLOSED),
    ]
    with store.transaction() as tx:
        for i, cmd in enumerate(steps):
            tx.triage(m, cmd, HEAD, T0 + timedelta(minutes=i))
    # Refused: nothing written, the one-line reason says why.
    with (
        store.transaction() as tx,
        pytest.raises(TriageError, match="cannot go from closed to action_taken"),
    ):
        tx.triage(m, SetStatus(Status.ACTION_TAKEN), HEAD, T0)
    detail = store.mention_detail(m)
    assert detail is not None
    assert detail.status is Status.CLOSED
    assert detail.owner == "dsl@ankermoor.sch.uk"
    assert detail.assessment is not None and detail.assessment.categories == ("harassment",)
    assert detail.scored_categories == ("reputation",)
    assert [e.kind for e in detail.events] == [
        EventKind.STATUS,
        EventKind.ASSIGNED,
        EventKind.NOTE,
        EventKind.STATUS,
        EventKind.CATEGORIES,
        EventKind.STATUS,
    ]
    assert [e.at for e in detail.events] == [T0 + timedelta(minutes=i) for i in range(6)]
    assert detail.events[2].detail == {"text": "Phoned the parent; they will take it down."}
    assert detail.events[-1].detail == {"from": "action_taken", "to": "closed"}
    assert {e.actor for e in detail.events} == {HEAD}
    row = store.inbox(InboxQuery(academies=MINE)).rows[0]
    assert (row.status, row.owner, row.categories) == (
        Status.CLOSED,
        "dsl@ankermoor.sch.uk",
        ("harassment",),
    )


def test_not_about_us_closes_and_clears_the_categories(store: Store) -> None:
    m = add_mention(store, T0, categories=("reputation",))
    unscored = add_mention(store, T0, severity=None)
    with store.transaction() as tx:
        tx.correct(m, MarkNotAboutUs(), HEAD, T0)
        tx.correct(unscored, MarkNotAboutUs(), HEAD, T0)
        with pytest.raises(TriageError, match="not scored yet"):
            tx.correct(unscored, CorrectCategories(("reputation",)), HEAD, T0)
    detail = store.mention_detail(m)
    assert detail is not None and detail.assessment is not None
    assert detail.status is Status.CLOSED and detail.assessment.categories == ()
    assert ids(store, category="reputation") == []
    other = store.mention_detail(unscored)
    assert other is not None and other.status is Status.CLOSED
    assert [e.kind for e in other.events] == [EventKind.NOT_ABOUT_US]


def test_unknown_mention_is_refused(store: Store) -> None:
    with store.transaction() as tx, pytest.raises(TriageError, match="no mention with id 999"):
        tx.triage(999, AddNote("x"), HEAD, T0)
    assert store.mention_detail(999) is None


def test_muted_authors_and_threads_are_labelled_never_dropped(store: Store) -> None:
    loud = add_mention(store, T0, author="@Angry.Parent", severity=Severity.URGENT)
    loud_url = add_mention(
        store, T0 + timedelta(minutes=1), author="https://mastodon.social/@angry.parent"
    )
    same_name_elsewhere = add_mention(store, T0, academy="bramley", author="@angry.parent")
    thread = add_mention(store, T0, cluster="c-thread")
    copy = add_mention(store, T0 + timedelta(minutes=2), cluster="c-thread")
    quiet = add_mention(store, T0, author="@kind.parent")
    with store.transaction() as tx:
        tx.triage(loud, MuteAuthor("angry.parent"), HEAD, T0)
        tx.triage(thread, MuteThread("c-thread"), HEAD, T0)
        with pytest.raises(TriageError, match="already muted"):
            tx.triage(loud, MuteAuthor("@ANGRY.parent"), HEAD, T0)
    rows = {r.id: r for r in store.inbox(InboxQuery(academies=MINE)).rows}
    assert set(rows) == {loud, loud_url, same_name_elsewhere, thread, copy, quiet}
    muted = {i for i, r in rows.items() if r.muted}
    # A Mastodon profile URL names the same key only with its server: not this author.
    assert muted == {loud, thread, copy}
    assert rows[thread].cluster_size == rows[copy].cluster_size == 2
    assert rows[quiet].cluster_size == 1
    detail = store.mention_detail(loud)
    assert detail is not None and detail.muted
    with store.transaction() as tx:
        assert [(m.kind, m.key) for m in tx.mutes(MINE)] == [
            (MuteKind.AUTHOR, "angry.parent"),
            (MuteKind.THREAD, "c-thread"),
        ]
        tx.triage(quiet, Unmute(MuteKind.AUTHOR, "@angry.parent"), HEAD, T0)
        with pytest.raises(TriageError, match="no author 'angry.parent' is muted"):
            tx.triage(quiet, Unmute(MuteKind.AUTHOR, "angry.parent"), HEAD, T0)
    rows = {r.id: r for r in store.inbox(InboxQuery(academies=MINE)).rows}
    assert {i for i, r in rows.items() if r.muted} == {thread, copy}


def test_filters_search_and_the_viewers_academies(store: Store) -> None:
    store.sync_sources(
        [("ankermoor/gazette", "ankermoor", "feed"), ("ankermoor/masto", "ankermoor", "mastodon")],
        T0,
    )
    a = add_mention(store, T0, categories=("reputation",), title="Fête raises 100% for books")
    b = add_mention(
        store,
        T0 + timedelta(days=1),
        source="masto",
        severity=Severity.URGENT,
        categories=("harassment", "reputation"),
        text="A THREAT to a teacher",
    )
    c = add_mention(store, T0 + timedelta(days=2), academy="bramley", severity=None)
    other = add_mention(store, T0, academy="carrow", title="Fête at Carrow")
    with store.transaction() as tx:
        tx.triage(a, SetStatus(Status.ACKNOWLEDGED), HEAD, T0)
    assert ids(store) == [b, a, c]  # urgent, then scored, then not yet scored
    assert other not in ids(store)
    assert ids(store, category="reputation") == [b, a]
    assert ids(store, category="harassment") == [b]
    assert ids(store, urgent_only=True) == [b]
    assert ids(store, status=Status.ACKNOWLEDGED) == [a]
    assert ids(store, status=Status.NEW) == [b, c]
    assert ids(store, source_key="ankermoor/masto") == [b]
    assert ids(store, source_kind="feed") == [a]
    assert ids(store, seen_from=T0 + timedelta(hours=1)) == [b, c]
    assert ids(store, seen_until=T0 + timedelta(days=1)) == [a]
    assert ids(store, search="threat") == [b]  # any case, in the text
    assert ids(store, search="fête RAISES") == [a]
    assert ids(store, search="100%") == [a]  # wildcards are literal
    assert ids(store, search="1_0%") == []
    assert store.inbox(InboxQuery(academies=("carrow",))).rows[0].id == other
    with pytest.raises(InboxError, match="no academy"):
        store.inbox(InboxQuery(academies=()))
    with pytest.raises(InboxError, match="longer than 200"):
        store.inbox(InboxQuery(academies=MINE, search="x" * 201))
    with pytest.raises(InboxError, match="unknown category"):
        store.inbox(InboxQuery(academies=MINE, category="gossip"))
    with pytest.raises(InboxError, match="1 to 100"):
        store.inbox(InboxQuery(academies=MINE, limit=101))


def test_counts_per_status_follow_the_filters(store: Store) -> None:
    made = [
        add_mention(store, T0 + timedelta(minutes=i), severity=Severity.URGENT if i % 3 else None)
        for i in range(9)
    ]
    add_mention(store, T0, academy="carrow")
    with store.transaction() as tx:
        for m in made[:4]:
            tx.triage(m, SetStatus(Status.ACKNOWLEDGED), HEAD, T0)
        tx.triage(made[0], SetStatus(Status.CLOSED), HEAD, T0)
        tx.triage(made[1], SetStatus(Status.ACTION_TAKEN), HEAD, T0)
    page = store.inbox(InboxQuery(academies=MINE, status=Status.NEW, limit=2))
    assert page.counts == {
        Status.NEW: 5,
        Status.ACKNOWLEDGED: 2,
        Status.ACTION_TAKEN: 1,
        Status.CLOSED: 1,
    }
    assert page.total == 9 and len(page.rows) == 2
    urgent = store.inbox(InboxQuery(academies=MINE, urgent_only=True)).counts
    assert sum(urgent.values()) == 6
    assert urgent[Status.CLOSED] == 0 and urgent[Status.ACTION_TAKEN] == 1


def test_pages_neither_repeat_nor_skip_while_mentions_arrive(store: Store) -> None:
    sev = [Severity.URGENT, Severity.DIGEST, None]
    original = set()
    for i in range(30):
        # Several share one first_seen: the id breaks ties.
        original.add(add_mention(store, T0 + timedelta(minutes=i // 3), severity=sev[i % 3]))
    full = ids(store)
    seen: list[int] = []
    cursor = None
    arrived = 0
    while True:
        page = store.inbox(InboxQuery(academies=MINE, limit=7, cursor=cursor))
        seen.extend(r.id for r in page.rows)
        # New mentions (each severity) arrive between page loads.
        add_mention(store, T0 + timedelta(hours=1, minutes=arrived), severity=sev[arrived % 3])
        arrived += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(seen) == len(set(seen)), "a mention appeared on two pages"
    assert set(seen) == original
    assert seen == full  # the same order as one big page


def test_cursor_is_opaque_and_checked(store: Store) -> None:
    cursor = encode_cursor(1, T0, 42)
    assert decode_cursor(cursor) == (1, T0, 42)
    for bad in ("nonsense!", "e30", encode_cursor(1, T0, 42)[:-3]):
        with pytest.raises(InboxError, match="cursor is not valid"):
            store.inbox(InboxQuery(academies=MINE, cursor=bad))


def test_detail_has_copies_evidence_and_erasure_takes_the_timeline(store: Store) -> None:
    ev = Evidence(0, 6, "phrase", "harassment", "threat")
    first = add_mention(store, T0, cluster="c-story", categories=("harassment",), evidence=[ev])
    second = add_mention(store, T0 + timedelta(hours=1), source="masto", cluster="c-story")
    add_mention(store, T0, academy="bramley", cluster="c-story")  # another academy's copy
    with store.transaction() as tx:
        tx.triage(first, AddNote("seen"), HEAD, T0)
    detail = store.mention_detail(first)
    assert detail is not None and detail.assessment is not None
    assert [c.id for c in detail.copies] == [second]
    assert detail.copies[0].source == "ankermoor/masto"
    assert detail.assessment.evidence == (ev,)
    assert store.erase([first]) == 1
    with store.session() as session:
        left = session.scalar(select(func.count()).select_from(MentionEventRecord))
    assert left == 0
