"""Urgent alerts end to end: stored mention -> outbox (same transaction) -> real SMTP server."""

from __future__ import annotations

import email
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from email.policy import default
from pathlib import Path

import pytest

from alerts import outbox, subscriptions
from alerts.outbox import OutboxSink, dispatch_pending
from alerts.smtp import SmtpTransport, transport_for
from monitor.config import Settings
from monitor.models import Assessment, ScoringInput
from monitor.runner import Runner
from monitor.store import Store
from monitor.store.schema import IncidentRecord
from sources.http import GuardedClient
from tests.alerts_support import (
    PII_SECRETS,
    PII_TEXT,
    assess,
    make_settings,
    smtp_server,
    store_mention,
)

NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)


def _smtp_settings(tmp_path: Path, port: int, **mail: object) -> Settings:
    return make_settings(
        tmp_path,
        mail={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none", **mail},
    )


def _all_parts(msg) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(str(p.get_content()) for p in msg.walk() if p.get_content_maintype() == "text")


def test_urgent_mention_full_of_pii_gives_one_redacted_message_per_recipient(
    tmp_path: Path,
) -> None:
    with smtp_server() as srv:
        settings = _smtp_settings(tmp_path, srv.port)
        store = Store.open(settings.database_url)
        title = "Ankermoor Primary Academy class list leaked — Oliver Smith 07700 900123"
        m, queued = store_mention(
            store,
            settings,
            title=title,
            text=PII_TEXT,
            categories=["data_leak"],
            urgent=True,
            now=NOW,
        )
        assert queued == len(settings.academies[0].recipients)
        result = dispatch_pending(store, settings, SmtpTransport(settings.mail), NOW)
        assert (result.sent, result.retrying, result.dead) == (queued, 0, 0)
        received = srv.handler.received
        assert Counter(r.rcpt[0] for r in received) == Counter(settings.academies[0].recipients)
        for r in received:
            msg = r.message
            body = _all_parts(msg) + str(msg["Subject"])
            for secret in PII_SECRETS:
                assert secret not in body, secret
                assert secret not in r.raw.decode("utf-8", "replace"), secret
            assert (
                "[phone removed]" in body
                and "[name removed]" in body
                and "[date of birth removed]" in body
            )
            # what, where, why, what next, and the ICO clock with its deadline (72 h later, UK time)
            assert "data leak — pupil information, clauses 5.1(a)" in body
            assert "https://news.example.org/story" in body
            assert "First seen: Saturday 28 November 2026 at 14:05 (UK time)" in body
            assert "“leaked”" in body or "“shared publicly”" in body
            assert f"{settings.web.public_base_url}/mentions/{m.id}" in body
            assert "by Tuesday 1 December 2026 at 14:05 (UK time)" in body
            assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:8080/unsubscribe?token=")
            assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            excerpt_html = msg.get_body(("html",)).get_content()
            assert "<script" not in excerpt_html.lower()
        print(received[0].message.get_body(("plain",)).get_content())  # shown in the report
        # A second dispatch sends nothing more.
        again = dispatch_pending(store, settings, SmtpTransport(settings.mail), NOW)
        assert again.sent == 0 and len(srv.handler.received) == queued
        with store.session() as s:
            incidents = s.query(IncidentRecord).all()
            assert len(incidents) == 1 and incidents[0].cluster_id == m.cluster_id
        store.close()


def test_one_alert_per_story_and_none_for_digest_mentions(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    first, q1 = store_mention(
        store,
        settings,
        title="Staff passwords posted",
        text="Ankermoor admin: Pa55word!",
        categories=["data_leak"],
        urgent=True,
        now=NOW,
    )
    # A syndicated copy of the same story (same cluster) alerts nobody again.
    _, q2 = store_mention(
        store,
        settings,
        title="Staff passwords posted (repost)",
        text="Ankermoor admin: Pa55word!",
        categories=["data_leak"],
        urgent=True,
        now=NOW,
        cluster=first.cluster_id,
        source="forum",
    )
    # A non-urgent mention waits for the digest.
    _, q3 = store_mention(
        store,
        settings,
        title="Nice nativity",
        text="Lovely show",
        categories=["reputation"],
        urgent=False,
        now=NOW,
    )
    _, q4 = store_mention(store, settings, title="Unscored", text="x", now=NOW, scored=False)
    assert (q1, q2, q3, q4) == (2, 0, 0, 0)
    rows = outbox.list_notices(store)
    assert len(rows) == 2 and {r.scope for r in rows} == {first.cluster_id}
    assert len({r.message_id for r in rows}) == 2
    store.close()


def test_outbox_uniqueness_is_enforced_by_the_database(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    from monitor.store.schema import NoticeRecord

    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    store_mention(
        store,
        settings,
        title="Leak",
        text="Ankermoor password: Xy12345!",
        categories=["data_leak"],
        urgent=True,
        now=NOW,
    )
    row = outbox.list_notices(store)[0]
    with pytest.raises(IntegrityError), store.session() as s:
        s.add(
            NoticeRecord(
                kind=row.kind,
                academy_id=row.academy_id,
                scope=row.scope,
                recipient=row.recipient,
                subject="",
                message_id="<other@x>",
                payload="",
                status="pending",
                attempts=0,
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
    store.close()


def test_providers_hear_only_after_confirming_and_only_their_categories(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    subscriptions.add(
        store, settings, "breach@itprovider.example.com", academies=["ankermoor"], now=NOW
    )  # data_leak, pupil_image
    subscriptions.add(
        store,
        settings,
        "photos@photographer.example.com",
        academies=["ankermoor"],
        categories=["pupil_image"],
        now=NOW,
    )
    _, before = store_mention(
        store,
        settings,
        title="Leak one",
        text="Ankermoor password: Zz99999!",
        categories=["data_leak"],
        urgent=True,
        now=NOW,
    )
    assert before == 2  # the two recipients only: the providers have not confirmed
    subscriptions.confirm_by_admin(store, "breach@itprovider.example.com", NOW)
    subscriptions.confirm_by_admin(store, "photos@photographer.example.com", NOW)
    m, after = store_mention(
        store,
        settings,
        title="Leak two",
        text="Ankermoor password: Qq88888!",
        categories=["data_leak"],
        urgent=True,
        now=NOW,
    )
    provider_rows = [r for r in outbox.list_notices(store) if r.kind == "provider"]
    assert after == 3 and [r.recipient for r in provider_rows] == ["breach@itprovider.example.com"]
    # The provider's notice carries the incident id and deadline, but no title or excerpt.
    transport = transport_for(settings.mail)
    dispatch_pending(store, settings, transport, NOW)
    msgs = [
        email.message_from_bytes(p.read_bytes(), policy=default)
        for p in (tmp_path / "outbox").glob("*.eml")
    ]
    provider_mail = [
        x
        for x in msgs
        if x["To"] == "breach@itprovider.example.com"
        and x["Subject"].strip().startswith("Possible data leak")
    ]
    assert len(provider_mail) == 1
    with store.session() as s:
        inc = s.query(IncidentRecord).filter_by(cluster_id=m.cluster_id).one()
    text = _all_parts(provider_mail[0])
    assert inc.id in provider_mail[0]["Subject"] and inc.id in text
    assert "Leak two" not in text and "Qq88888" not in text
    store.close()


class UrgentEverything:
    """A stand-in scorer: every mention is an urgent data leak (the real one is monitor/scoring)."""

    model_version = "test"

    def assess(self, inputs: Sequence[ScoringInput]) -> list[Assessment]:
        return [assess(i.title, i.text, ["data_leak"], urgent=True) for i in inputs]


def test_runner_writes_notices_in_its_transaction_one_per_story(
    feed_settings: Settings, tmp_path: Path
) -> None:
    store = Store.open(feed_settings.database_url)
    from monitor.app import client_config

    client = GuardedClient(client_config(feed_settings))
    runner = Runner(
        feed_settings, store, client, scorer=UrgentEverything(), notices=OutboxSink(feed_settings)
    )
    try:
        runner.run_due()
    finally:
        client.close()
    mentions = store.mentions()
    clusters = {m.cluster_id for m, _ in mentions}
    assert len(clusters) < len(mentions)  # the fixture has a syndicated copy
    rows = outbox.list_notices(store)
    recipients = feed_settings.academies[0].recipients
    assert len(rows) == len(clusters) * len(recipients)
    assert Counter((r.scope, r.recipient) for r in rows).most_common(1)[0][1] == 1
    store.close()
