"""The daily digest: timing with an injected clock in Europe/London across both clock changes, one
digest after downtime, weekdays-only, the content, and the empty-day digest."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from click.testing import CliRunner

from alerts import outbox
from alerts.digest import digest_window, due_digest_date, enqueue_due_digests, slot_at
from alerts.outbox import dispatch_pending
from alerts.smtp import transport_for
from monitor.app import App
from monitor.health import SourceHealth
from monitor.store import Store
from tests.alerts_support import PII_SECRETS, PII_TEXT, make_settings, store_mention

LONDON = ZoneInfo("Europe/London")
# 2026: British Summer Time starts Sunday 29 March (01:00 UTC), ends Sunday 25 October (01:00 UTC).
SPRING, AUTUMN = date(2026, 3, 29), date(2026, 10, 25)


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_digest_time_is_local_time_on_both_sides_of_each_clock_change() -> None:
    for d in (SPRING - timedelta(days=1), SPRING, AUTUMN - timedelta(days=1), AUTUMN):
        slot = slot_at(d, "07:00", LONDON)
        local = slot.astimezone(LONDON)
        assert (local.date(), local.hour, local.minute) == (d, 7, 0)
    # 07:00 GMT is 07:00 UTC; 07:00 BST is 06:00 UTC.
    assert slot_at(SPRING - timedelta(days=1), "07:00", LONDON) == _utc(2026, 3, 28, 7, 0)
    assert slot_at(SPRING, "07:00", LONDON) == _utc(2026, 3, 29, 6, 0)
    assert slot_at(AUTUMN, "07:00", LONDON) == _utc(2026, 10, 25, 7, 0)
    # Just before and after the spring slot:
    assert due_digest_date(
        _utc(2026, 3, 29, 5, 59), "07:00", LONDON, "daily"
    ) == SPRING - timedelta(days=1)
    assert due_digest_date(_utc(2026, 3, 29, 6, 0), "07:00", LONDON, "daily") == SPRING
    # The windows are 23 and 25 hours long on the change days: every instant is in exactly one.
    s0, e0 = digest_window(SPRING, "07:00", LONDON, "daily")
    s1, e1 = digest_window(AUTUMN, "07:00", LONDON, "daily")
    assert e0 - s0 == timedelta(hours=23) and e1 - s1 == timedelta(hours=25)
    assert digest_window(SPRING + timedelta(days=1), "07:00", LONDON, "daily")[0] == e0


def test_modes_off_and_weekdays() -> None:
    saturday = _utc(2026, 11, 28, 12, 0)
    assert due_digest_date(saturday, "07:00", LONDON, "off") is None
    assert due_digest_date(saturday, "07:00", LONDON, "weekdays") == date(2026, 11, 27)  # Friday's
    monday = _utc(2026, 11, 30, 7, 0)
    assert due_digest_date(monday, "07:00", LONDON, "weekdays") == date(2026, 11, 30)
    start, end = digest_window(date(2026, 11, 30), "07:00", LONDON, "weekdays")
    assert (start, end) == (_utc(2026, 11, 27, 7, 0), _utc(2026, 11, 30, 7, 0))  # Friday to Monday


def _health(n_ok: int, failing: tuple[str, ...] = (), since: datetime | None = None):  # type: ignore[no-untyped-def]
    def provider(academy_id: str) -> list[SourceHealth]:
        out = [
            SourceHealth(f"{academy_id}/src{i}", "feed", "ok", since, 0, None, None, 3, False)
            for i in range(n_ok)
        ]
        out += [
            SourceHealth(
                f"{academy_id}/{name}",
                "feed",
                "failing",
                None,
                4,
                "HTTP 503 from the server",
                None,
                0,
                False,
            )
            for name in failing
        ]
        return out

    return provider


def test_clock_across_the_spring_change_with_downtime_sends_exactly_one_digest_per_slot(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    now = _utc(2026, 3, 25, 12, 0)
    health = _health(2, since=now)
    ticks: list[tuple[datetime, int]] = []
    # Ticks every 10 minutes for 7 days, except while "down" from 27 Mar 06:00 to 29 Mar 09:00 UTC.
    down = (_utc(2026, 3, 27, 6, 0), _utc(2026, 3, 29, 9, 0))
    end = now + timedelta(days=7)
    while now < end:
        if not (down[0] <= now < down[1]):
            ticks.append((now, enqueue_due_digests(store, settings, now, health)))
        now += timedelta(minutes=10)
    rows = [r for r in outbox.list_notices(store, limit=1000) if r.kind == "digest"]
    per_date = Counter(r.scope for r in rows)
    recipients = len(settings.academies[0].recipients)
    # 25 Mar's 07:00 slot had passed when the clock started: it is sent (never zero). 27 and 28
    # March were missed while down; on return only the latest (29 Mar) is sent, then every day.
    assert sorted(per_date) == [
        "2026-03-25",
        "2026-03-26",
        "2026-03-29",
        "2026-03-30",
        "2026-03-31",
        "2026-04-01",
    ]
    assert set(per_date.values()) == {recipients}
    # Each digest went out at its slot (or at the first tick after it): 06:00 UTC once BST began.
    first_tick = {}
    for t, n in ticks:
        if n:
            first_tick.setdefault(t.astimezone(LONDON).date(), t)
    assert first_tick[date(2026, 3, 26)] == _utc(2026, 3, 26, 7, 0)
    assert first_tick[date(2026, 3, 30)] == _utc(2026, 3, 30, 6, 0)
    assert first_tick[date(2026, 3, 29)] == _utc(2026, 3, 29, 9, 0)  # back from downtime
    store.close()


def test_digest_after_downtime_covers_the_missed_days(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    t = _utc(2026, 3, 26, 7, 0)
    assert enqueue_due_digests(store, settings, t, _health(1, since=t)) == 2
    # Mentions on the 27th and 28th, while the service was down at digest time:
    for day in (27, 28):
        store_mention(
            store,
            settings,
            title=f"Ankermoor fete on the {day}th",
            text="Lovely fete",
            now=_utc(2026, 3, day, 12, 0),
        )
    back = _utc(2026, 3, 29, 9, 0)
    assert enqueue_due_digests(store, settings, back, _health(1, since=back)) == 2
    assert (
        enqueue_due_digests(store, settings, back + timedelta(minutes=1), _health(1, since=back))
        == 0
    )
    dispatch_pending(store, settings, transport_for(settings.mail), back)
    texts = _digest_texts(tmp_path, "29 March 2026")
    assert texts and all(
        "2 mentions" in x and "fete on the 27th" in x and "fete on the 28th" in x for x in texts
    )
    store.close()


def _digest_texts(tmp_path: Path, date_words: str) -> list[str]:
    import email
    from email.policy import default

    out = []
    for p in (tmp_path / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(p.read_bytes(), policy=default)
        if "Daily digest" in str(msg["Subject"]) and date_words.split()[0] in str(msg["Subject"]):
            body = msg.get_body(("plain",))
            assert body is not None
            out.append(str(body.get_content()))
    return out


def test_digest_content_groups_by_seriousness_and_reports_health(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    day = date(2026, 11, 28)
    start, end = digest_window(day, "07:00", LONDON, "daily")
    inside = start + timedelta(hours=3)
    m1, _ = store_mention(
        store,
        settings,
        title="Parents moan about Ankermoor car park",
        text="Shambles every morning",
        categories=["reputation"],
        now=inside,
        source="forum",
    )
    leak, _ = store_mention(
        store,
        settings,
        title="Ankermoor class list posted",
        text=PII_TEXT,
        categories=["data_leak"],
        urgent=True,
        now=inside + timedelta(hours=1),
    )
    store_mention(
        store,
        settings,
        title="Ankermoor class list posted (copy)",
        text=PII_TEXT,
        categories=["data_leak"],
        urgent=True,
        now=inside + timedelta(hours=2),
        cluster=leak.cluster_id,
        source="forum",
    )
    store_mention(
        store, settings, title="Ankermoor Primary nativity tickets", text="On sale now", now=inside
    )
    store_mention(store, settings, title="Ankermoor choir sings", text="Well done", now=inside)
    store_mention(store, settings, title="Not scored yet", text="x", now=inside, scored=False)
    store_mention(
        store,
        settings,
        title="Yesterday's news",
        text="old",
        categories=["harassment"],
        now=start - timedelta(minutes=1),
    )
    # A dead letter, to appear under monitoring health:
    with store.session() as s:
        from monitor.store.schema import NoticeRecord

        s.query(NoticeRecord).filter(NoticeRecord.kind == "urgent").limit(1).first().status = "dead"  # type: ignore[union-attr]
        dead = s.query(NoticeRecord).filter(NoticeRecord.status == "dead").one()
        dead.last_error = "recipient refused by relay: 550 5.1.1 no such user"
    n = enqueue_due_digests(
        store, settings, end, _health(2, failing=("parents-forum",), since=end - timedelta(hours=1))
    )
    assert n == 2
    dispatch_pending(store, settings, transport_for(settings.mail), end)
    texts = _digest_texts(tmp_path, "28 November")
    assert len(texts) == 2
    text = texts[0]
    print(text)  # shown in the report
    assert "6 mentions" in text
    # most serious first: data leak before reputation; the syndicated copy folded into its story
    assert text.index("DATA LEAK") < text.index("REPUTATION")
    assert (
        "DATA LEAK, CLAUSES 5.1(A)" in text and "(+1 copy elsewhere)" in text and "[URGENT]" in text
    )
    assert "OTHER MENTIONS (2)" in text and "nativity tickets" in text
    assert "1 mention could not be assessed yet" in text
    assert "forum: 2" in text and "local-news: 4" in text
    assert "Yesterday's news" not in text
    assert "parents-forum: failing (HTTP 503 from the server)" in text
    assert "550 5.1.1 no such user" in text
    for secret in PII_SECRETS:
        assert secret not in text
    assert f"/mentions/{m1.id}" in text
    store.close()


def test_a_day_with_nothing_found_still_sends_a_digest_saying_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    end = slot_at(date(2026, 11, 28), "07:00", LONDON)
    assert (
        enqueue_due_digests(store, settings, end, _health(3, since=end - timedelta(minutes=20)))
        == 2
    )
    dispatch_pending(store, settings, transport_for(settings.mail), end)
    texts = _digest_texts(tmp_path, "28 November")
    assert len(texts) == 2
    print(texts[0])
    assert "Nothing was found about Ankermoor Primary Academy in this period." in texts[0]
    assert "Every source (3) was checked in this period" in texts[0]
    assert "All 3 sources are working" in texts[0]
    store.close()


def test_nothing_found_but_a_source_not_checked_is_not_called_a_real_nothing(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    end = slot_at(date(2026, 11, 28), "07:00", LONDON)
    enqueue_due_digests(
        store, settings, end, _health(1, failing=("gazette",), since=end - timedelta(minutes=20))
    )
    dispatch_pending(store, settings, transport_for(settings.mail), end)
    text = _digest_texts(tmp_path, "28 November")[0]
    assert "1 of 2 sources were checked" in text and "real" not in text
    assert "gazette: failing" in text
    store.close()


def test_digest_off_sends_nothing_and_unsubscribed_recipients_are_skipped(tmp_path: Path) -> None:
    off = make_settings(
        tmp_path,
        academies=[
            {
                "id": "a",
                "display_name": "A",
                "names": ["A Academy"],
                "recipients": ["x@a.example"],
                "digest": "off",
            }
        ],
    )
    store = Store.open(off.database_url)
    assert enqueue_due_digests(store, off, _utc(2026, 11, 28, 8, 0), _health(1)) == 0
    store.close()


def test_preview_writes_the_next_digest_without_sending(tmp_path: Path) -> None:
    from monitor.commands.alerts import digest_cmd

    settings = make_settings(tmp_path)
    app = App()
    app._settings = settings
    out_file = tmp_path / "preview.txt"
    res = CliRunner().invoke(
        digest_cmd, ["--preview", "--date", "2026-11-28", "--out", str(out_file)], obj=app
    )
    assert res.exit_code == 0, res.output
    assert "Digest for ankermoor on 2026-11-28 written to" in res.output
    assert "DAILY DIGEST: Ankermoor Primary Academy" in out_file.read_text()
    store = Store.open(settings.database_url)
    assert outbox.list_notices(store) == []  # nothing queued, nothing sent
    store.close()
    assert not (tmp_path / "outbox").exists()
