"""Urgent alerts cannot be switched off by a link scanner or one click: only POST acts on a link;
a configured recipient's unsubscribe mutes the digest only; only an administrator mutes urgent
alerts; an academy whose urgent alerts reach nobody is unhealthy everywhere it is shown."""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from alerts import outbox, subscriptions, tokens
from alerts.digest import enqueue_due_digests, preview_digest
from alerts.smtp import transport_for
from monitor.app import App
from monitor.cli import cli
from monitor.config import Settings
from monitor.service import collect_health
from monitor.store import Store
from monitor.store.schema import NoticeRecord, SubscriberRecord
from monitor.web import create_app
from tests.alerts_support import make_settings, store_mention

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HEAD = "head@ankermoor.example.org"
DPO = "dpo@fierte-trust.example.org"
PROVIDER = "breach@itprovider.example.com"


def _client(settings: Settings, store: Store) -> TestClient:
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], NOW, scheduler_alive=True),
        clock=lambda: NOW,
    )
    return TestClient(app)


def _row(store: Store, email: str, role: str) -> SubscriberRecord:
    with store.session() as s:
        rec = s.scalars(
            select(SubscriberRecord).where(
                SubscriberRecord.email == email, SubscriberRecord.role == role
            )
        ).one()
        s.expunge(rec)
        return rec


def _token(store: Store, email: str, role: str, purpose: tokens.Purpose) -> str:
    rec = _row(store, email, role)
    with store.transaction() as tx:
        return tokens.issue(tx, rec.id, purpose, NOW, timedelta(days=7))


def _urgent(store: Store, settings: Settings, title: str, now: datetime = NOW) -> int:
    _, queued = store_mention(
        store,
        settings,
        title=title,
        text="Ankermoor password: Zz99999!",
        categories=["data_leak"],
        urgent=True,
        now=now,
    )
    return queued


def _cli(settings: Settings, *args: str) -> tuple[int, str]:
    app = App()
    app._settings = settings
    command = cli.commands[args[0]]  # the subcommand itself, so that it uses these settings
    res = CliRunner().invoke(command, list(args[1:]), obj=app)
    return res.exit_code, res.output


@pytest.fixture
def env(tmp_path: Path) -> tuple[Settings, Store]:
    settings = make_settings(
        tmp_path,
        academies=[
            {
                "id": "ankermoor",
                "display_name": "Ankermoor Primary Academy",
                "names": ["Ankermoor Primary Academy"],
                "recipients": [HEAD, DPO],
                "dpo_contact": "Dana Price, dpo@fierte-trust.example.org, 01632 960001",
            }
        ],
    )
    return settings, Store.open(settings.database_url)


def test_head_and_get_never_act_only_post_does(env: tuple[Settings, Store]) -> None:
    settings, store = env
    subscriptions.add(store, settings, PROVIDER, academies=["ankermoor"], now=NOW)
    confirm = _token(store, PROVIDER, "provider", tokens.Purpose.CONFIRM)
    assert _urgent(store, settings, "Leak A001") == 2  # creates the recipients' rows
    unsub = _token(store, HEAD, "recipient", tokens.Purpose.UNSUBSCRIBE)
    with _client(settings, store) as http:
        for method in ("HEAD", "GET"):
            r = http.request(method, f"/confirm?token={confirm}")
            assert r.status_code == 200, method
            assert _row(store, PROVIDER, "provider").status == "pending", method
            r = http.request(method, f"/unsubscribe?token={unsub}")
            assert r.status_code == 200, method
            assert _row(store, HEAD, "recipient").digest_muted_at is None, method
        r = http.post(f"/confirm?token={confirm}")
        assert r.status_code == 200 and "Subscription confirmed" in r.text
        assert _row(store, PROVIDER, "provider").status == "active"
        r = http.post(
            f"/unsubscribe?token={unsub}",
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200 and "The daily digest is muted" in r.text
        assert _row(store, HEAD, "recipient").digest_muted_at == NOW
        # A provider's one-click still unsubscribes them from everything.
        punsub = _token(store, PROVIDER, "provider", tokens.Purpose.UNSUBSCRIBE)
        http.head(f"/unsubscribe?token={punsub}")
        assert _row(store, PROVIDER, "provider").status == "active"
        assert "You are unsubscribed" in http.post(f"/unsubscribe?token={punsub}").text
        assert _row(store, PROVIDER, "provider").status == "unsubscribed"


def test_recipient_one_click_mutes_the_digest_but_not_urgent_alerts(
    env: tuple[Settings, Store],
) -> None:
    settings, store = env
    assert _urgent(store, settings, "Leak B002") == 2
    unsub = _token(store, HEAD, "recipient", tokens.Purpose.UNSUBSCRIBE)
    with _client(settings, store) as http:
        r = http.post(f"/unsubscribe?token={unsub}", content=b"List-Unsubscribe=One-Click")
        assert "The daily digest is muted" in r.text
        assert "The daily digest was already muted" in http.post(f"/unsubscribe?token={unsub}").text
        assert http.get("/healthz").status_code == 200
    assert _urgent(store, settings, "Leak C003") == 2  # urgent alerts still reach both
    day = NOW + timedelta(days=1)
    enqueue_due_digests(store, settings, day, lambda _a: [])
    digests = [n for n in outbox.list_notices(store) if n.kind == "digest"]
    assert [n.recipient for n in digests] == [DPO]
    code, out = _cli(settings, "recipients", "list")
    assert code == 0 and "muted" in out and "MUTED" not in out


def test_only_an_admin_mutes_urgent_alerts_and_nobody_left_is_unhealthy(
    env: tuple[Settings, Store], caplog: pytest.LogCaptureFixture
) -> None:
    settings, store = env
    assert _urgent(store, settings, "Leak D004") == 2
    code, out = _cli(settings, "recipients", "mute", HEAD, "--urgent")
    assert code != 0 and "--urgent needs --academy" in out
    code, out = _cli(settings, "recipients", "mute", HEAD, "--urgent", "--academy", "ankermoor")
    assert code == 0 and "urgent alerts for ankermoor muted" in out, out
    assert _urgent(store, settings, "Leak E005") == 1  # the DPO only
    code, out = _cli(settings, "recipients", "mute", DPO, "--urgent", "--academy", "ankermoor")
    assert code == 0 and "WARNING: nobody receives urgent alerts for ankermoor" in out, out

    # Unhealthy in status, /healthz, sources, check-config and the digest.
    code, out = _cli(settings, "status", "--json")
    assert code == 1 and '"academies_without_urgent_recipient": ["ankermoor"]' in out
    code, out = _cli(settings, "sources")
    assert out.startswith("WARNING: ankermoor: nobody receives urgent alerts"), out
    code, out = _cli(settings, "check-config")
    assert "0 recipients for urgent alerts" in out and "WARNING: ankermoor" in out, out
    with _client(settings, store) as http:
        r = http.get("/healthz")
        assert r.status_code == 503 and r.json()["ok"] is False
        assert any("nobody receives urgent alerts" in p for p in r.json()["problems"])

    # A new urgent leak with nobody to receive it: nothing queued, but a WARNING and red health.
    with caplog.at_level(logging.WARNING, logger="alerts.outbox"):
        assert _urgent(store, settings, "Leak F006", NOW + timedelta(hours=1)) == 0
    assert any("reached no recipient" in r.getMessage() for r in caplog.records)
    later = NOW + timedelta(hours=2)
    health = collect_health(settings, store, [], later, scheduler_alive=True)
    assert not health.ok and any("reached nobody" in p for p in health.problems)
    _d, msg = preview_digest(
        store, settings, "ankermoor", (NOW + timedelta(days=1)).date(), later, lambda _a: []
    )
    text = str(msg.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "URGENT ALERTS NEED ATTENTION" in text and "reached nobody" in text
    assert "Every email was delivered" not in text

    # The administrator enables a recipient again: urgent alerts flow.
    code, out = _cli(settings, "recipients", "enable", HEAD)
    assert code == 0 and "enabled" in out
    assert _urgent(store, settings, "Leak G007", later) == 1
    health = collect_health(settings, store, [], later, scheduler_alive=True)
    assert health.academies_without_urgent_recipient == ()


def test_subscribers_add_refuses_a_recipient_and_needs_academies(
    env: tuple[Settings, Store],
) -> None:
    settings, store = env
    code, out = _cli(settings, "subscribers", "add", HEAD)
    assert code != 0 and "configured recipient of ankermoor" in out, out
    code, out = _cli(settings, "subscribers", "add", PROVIDER)
    assert code != 0 and "--academy ID" in out, out
    with store.session() as s:
        assert s.scalars(select(SubscriberRecord)).first() is None
    code, out = _cli(settings, "subscribers", "add", PROVIDER, "--academy", "ankermoor")
    assert code == 0 and "confirmation email queued" in out


def test_provider_notice_gives_the_dpo_contact_not_the_dashboard(
    env: tuple[Settings, Store], tmp_path: Path
) -> None:
    settings, store = env
    subscriptions.add(store, settings, PROVIDER, academies=["ankermoor"], now=NOW)
    subscriptions.confirm_by_admin(store, PROVIDER, NOW)
    assert _urgent(store, settings, "Leak H008") == 3
    with store.session() as s:
        s.execute(NoticeRecord.__table__.delete().where(NoticeRecord.kind != "provider"))
    outbox.dispatch_pending(store, settings, transport_for(settings.mail), NOW)
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    for kind in ("plain", "html"):
        body = str(msg.get_body((kind,)).get_content())  # type: ignore[union-attr]
        assert "Dana Price" in body and "01632 960001" in body, kind
        assert "dashboard" not in body.lower(), kind


def test_migration_turns_an_old_recipient_unsubscribe_into_a_digest_mute(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from monitor.store.engine import alembic_config, migrate

    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_engine(url)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(
            text(
                "INSERT INTO subscribers (email, role, name, academies, categories, status, "
                "created_at, unsubscribed_at) VALUES ('head@ankermoor.example.org', 'recipient', "
                "'', '[\"ankermoor\"]', '[]', 'unsubscribed', '2026-11-01 00:00:00', "
                "'2026-11-02 00:00:00')"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT status, digest_muted_at FROM subscribers")).one()
    assert row[0] == "active" and row[1] is not None
