"""The first digest of a new academy: not sent for a slot before it was added, covering only the
time since, and never calling a source that was not checked yet "working"."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email.policy import default
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts.digest import enqueue_due_digests, slot_at
from alerts.outbox import dispatch_pending
from alerts.smtp import transport_for
from monitor.config import Settings
from monitor.health import source_health
from monitor.runner import configured_sources, register_sources
from monitor.store import Store
from monitor.store.schema import SourceRecord
from tests.alerts_support import make_settings, store_mention

LONDON = ZoneInfo("Europe/London")
ADDED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # after that day's 07:00 digest slot
NEXT_SLOT = slot_at(date(2026, 11, 28), "07:00", LONDON)


def _settings(tmp_path: Path) -> Settings:
    return make_settings(
        tmp_path,
        academies=[
            {
                "id": "staldhelms",
                "display_name": "Staldhelms Academy",
                "names": ["Staldhelms Academy"],
                "recipients": ["head@staldhelms.example.org"],
                "sources": [
                    {"kind": "feed", "name": "deep", "url": "https://news.example.org/rss"}
                ],
            }
        ],
    )


def _texts(tmp_path: Path) -> list[str]:
    out = []
    for p in sorted((tmp_path / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=default)
        body = msg.get_body(("plain",))
        assert body is not None
        out.append(str(body.get_content()))
    return out


def test_first_digest_of_a_new_academy_covers_only_the_time_since_it_was_added(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    store = Store.open(settings.database_url)
    sources = configured_sources(settings)
    register_sources(store, sources, ADDED)
    assert store.academy_added("staldhelms") == ADDED

    def health(academy_id: str, now: datetime = NEXT_SLOT):  # type: ignore[no-untyped-def]
        return source_health(store, sources, now)

    # Added at 10:00, after today's 07:00 slot: today's digest (a day before it was configured)
    # is not sent.
    assert enqueue_due_digests(store, settings, ADDED + timedelta(minutes=1), health) == 0
    # A mention from before it was added (as a re-registered database could hold) is not in it.
    store_mention(
        store,
        settings,
        title="Staldhelms Academy fete",
        text="x",
        now=ADDED - timedelta(hours=2),
        academy="staldhelms",
        source="deep",
    )
    # The next slot's digest is sent, though the source has still not been checked.
    assert enqueue_due_digests(store, settings, NEXT_SLOT, health) == 1
    dispatch_pending(store, settings, transport_for(settings.mail), NEXT_SLOT)
    [text] = _texts(tmp_path)
    print(text)
    assert "Mentions first seen from Friday 27 November 2026 at 10:00" in text
    assert "This is the first digest: monitoring of Staldhelms Academy began at the start" in text
    assert "Nothing was found about Staldhelms Academy in this period." in text
    assert "0 of 1 sources were checked in this period" in text
    assert "Not checked yet (1 of 1 sources): deep." in text
    assert "sources are working" not in text and "are working" not in text
    store.close()


def test_an_academy_known_before_keeps_its_full_window(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = Store.open(settings.database_url)
    sources = configured_sources(settings)
    register_sources(store, sources, ADDED)
    # Registering again later (a restart) does not move the time it was added.
    register_sources(store, sources, ADDED + timedelta(days=3))
    assert store.academy_added("staldhelms") == ADDED
    store.close()
    # A database from before this was recorded: its sources exist, so nothing is recorded and
    # the academy is not treated as new.
    settings2 = _settings(tmp_path / "two")
    store2 = Store.open(settings2.database_url)
    with store2.session() as s:
        s.add(SourceRecord(key="staldhelms/deep", academy_id="staldhelms", kind="feed"))
    register_sources(store2, configured_sources(settings2), ADDED + timedelta(days=1))
    assert store2.academy_added("staldhelms") is None
    store2.close()
