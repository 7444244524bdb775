"""Dashboard sign-in through the real app (Starlette's TestClient): the email link read from the
real aiosmtpd server, single use, expiry, idle timeout, CSRF, rate limits, GET never changing
state, deep links, role boundaries and the audited reveal."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from alerts.outbox import dispatch_pending
from alerts.smtp import SmtpTransport
from monitor.config import Settings
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.store.schema import WebSessionRecord
from monitor.web import create_app
from monitor.web.auth import COOKIE, safe_next
from tests.alerts_support import make_settings, smtp_server, store_mention
from tests.auth_support import add_user, signed_in

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BASE = "http://testserver"
HEAD = "head@ankermoor.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, Store, TestClient, Clock]]:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": BASE},
        academies=[
            {"id": "ankermoor", "display_name": "Ankermoor", "names": ["Ankermoor"]},
            {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
        ],
    )
    store = Store.open(settings.database_url)
    clock = Clock()
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], clock(), scheduler_alive=True),
        clock=clock,
    )
    try:
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            yield settings, store, client, clock
    finally:
        store.close()


def _mention(store: Store, settings: Settings, academy: str, now: datetime) -> int:
    m, _ = store_mention(
        store,
        settings,
        title=f"{academy} pupils named",
        text="Call 07700 900123 about Oliver Smith in year 6",
        now=now,
        academy=academy,
    )
    return m.id


def _request_link(client: TestClient, email: str, next_path: str = "/") -> int:
    return client.post("/signin", data={"email": email, "next": next_path}).status_code


def _link_from_outbox(store: Store, settings: Settings, now: datetime) -> str:
    with smtp_server() as srv:
        mail = settings.mail.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": srv.port, "smtp_security": "none"}
        )
        result = dispatch_pending(
            store, settings.model_copy(update={"mail": mail}), SmtpTransport(mail), now
        )
        assert result.sent == 1, result
        (msg,) = srv.handler.messages()
    body = msg.get_body(("plain",))
    assert body is not None
    m = re.search(r"http://testserver(/signin/[A-Za-z0-9_-]+)", str(body.get_content()))
    assert m, body.get_content()
    assert "List-Unsubscribe" not in msg
    return m.group(1)


def _sessions(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(WebSessionRecord)) or 0)


def test_signin_by_emailed_link_lands_on_the_deep_link(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
    mid = _mention(store, settings, "ankermoor", T0)
    # The email's "Open it in the dashboard" link, without a session: to sign-in, and back.
    r = client.get(f"/mentions/{mid}")
    assert r.status_code == 303
    assert r.headers["location"] == f"/signin?next=%2Fmentions%2F{mid}"
    form = client.get(r.headers["location"])
    assert form.status_code == 200 and f'value="/mentions/{mid}"' in form.text
    assert _request_link(client, HEAD.upper(), f"/mentions/{mid}") == 200
    path = _link_from_outbox(store, settings, T0)
    # Mail scanners: GET and HEAD of the link show a button and change nothing.
    assert client.head(path).status_code == 200
    page = client.get(path)
    assert page.status_code == 200 and f'action="{path}"' in page.text
    assert _sessions(store) == 0 and COOKIE not in client.cookies
    r = client.post(path)
    assert r.status_code == 303 and r.headers["location"] == f"/mentions/{mid}"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # http public_base_url
    page = client.get(f"/mentions/{mid}")
    assert page.status_code == 200 and "[phone removed]" in page.text
    assert "07700 900123" not in page.text
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get("/").status_code == 200
    actions = [r.entry.action for r in store.audit_entries()]
    assert actions == ["signin.link", "signin"]
    # The link works once.
    client.cookies.clear()
    again = client.post(path)
    assert again.status_code == 410 and COOKIE not in again.headers.get("set-cookie", "")
    assert client.get(path).status_code == 410


def test_unknown_addresses_get_the_same_answer_and_no_email(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
    known = client.post("/signin", data={"email": HEAD, "next": "/"})
    unknown = client.post("/signin", data={"email": "nobody@example.org", "next": "/"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    with store.session() as s:
        rows = s.execute(text("select kind, recipient from notices")).all()
    assert rows == [("signin", HEAD)]


def test_a_link_expires_after_15_minutes(env: tuple[Settings, Store, TestClient, Clock]) -> None:
    settings, store, client, clock = env
    add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
    _request_link(client, HEAD)
    path = _link_from_outbox(store, settings, T0)
    clock.now = T0 + timedelta(minutes=15, seconds=1)
    assert client.get(path).status_code == 410
    assert client.post(path).status_code == 410 and _sessions(store) == 0


def test_a_session_ends_when_idle(env: tuple[Settings, Store, TestClient, Clock]) -> None:
    settings, store, client, clock = env
    cookies, _ = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    clock.now = T0 + timedelta(minutes=59)
    assert client.get("/").status_code == 200  # in use: the idle clock restarts
    clock.now += timedelta(minutes=59)
    assert client.get("/").status_code == 200
    clock.now += timedelta(minutes=61)
    r = client.get("/")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")
    assert _sessions(store) == 0


def test_a_session_ends_at_its_maximum_age(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    cookies, _ = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    for _ in range(12):
        clock.now += timedelta(minutes=59)
        assert client.get("/").status_code == 200
    clock.now = T0 + timedelta(hours=12, minutes=1)
    assert client.get("/").status_code == 303


def test_cross_site_posts_and_missing_csrf_tokens_are_refused(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    mid = _mention(store, settings, "ankermoor", T0)
    cookies, csrf = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    evil = {"Origin": "https://evil.example.com"}
    r = client.post(f"/mentions/{mid}/reveal", data={"csrf_token": csrf}, headers=evil)
    assert r.status_code == 403
    assert client.post(f"/mentions/{mid}/reveal", data={}).status_code == 403
    assert client.post(f"/mentions/{mid}/reveal", data={"csrf_token": "x"}).status_code == 403
    assert client.post("/signout", data={}).status_code == 403
    assert client.post("/signin", data={"email": HEAD}, headers=evil).status_code == 403
    assert store.audit_entries(action="reveal") == []
    ok = client.post(f"/mentions/{mid}/reveal", data={"csrf_token": csrf}, headers={"Origin": BASE})
    assert ok.status_code == 200 and "07700 900123" in ok.text


def test_reveal_is_audited_and_only_for_roles_that_may(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    mid = _mention(store, settings, "ankermoor", T0)
    cookies, csrf = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    page = client.get(f"/mentions/{mid}")
    assert "recorded in the audit log" in page.text and csrf in page.text
    r = client.post(f"/mentions/{mid}/reveal", data={"csrf_token": csrf})
    assert r.status_code == 200 and "Oliver Smith" in r.text
    (row,) = store.audit_entries(action="reveal")
    assert row.entry.actor == f"user:{HEAD}" and row.entry.target == f"mention:{mid}"
    assert row.entry.academy_id == "ankermoor" and row.entry.client == "testclient"
    # A viewer reads the redacted page and may not reveal.
    client.cookies.clear()
    cookies, csrf = signed_in(store, settings, T0, email="deputy@x.example.org", role=Role.VIEWER)
    client.cookies.update(cookies)
    page = client.get(f"/mentions/{mid}")
    assert page.status_code == 200 and "Show full text" not in page.text
    r = client.post(f"/mentions/{mid}/reveal", data={"csrf_token": csrf})
    assert r.status_code == 403 and "Oliver Smith" not in r.text
    assert len(store.audit_entries(action="reveal")) == 1


def test_head_of_one_academy_gets_404_for_another_and_for_missing_ids(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    mine = _mention(store, settings, "ankermoor", T0)
    theirs = _mention(store, settings, "brook", T0)
    cookies, csrf = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    assert client.get(f"/mentions/{mine}").status_code == 200
    other = client.get(f"/mentions/{theirs}")
    missing = client.get("/mentions/999999")
    bad = client.get("/mentions/abc")
    assert other.status_code == missing.status_code == bad.status_code == 404
    assert other.text == missing.text == bad.text
    r = client.post(f"/mentions/{theirs}/reveal", data={"csrf_token": csrf})
    assert r.status_code == 404 and "07700" not in r.text
    inbox = client.get("/")
    assert f"/mentions/{mine}" in inbox.text and f"/mentions/{theirs}" not in inbox.text
    # A trust DPO ("*") reads both.
    client.cookies.clear()
    cookies, _ = signed_in(
        store, settings, T0, email="dpo@t.example.org", academy="*", role=Role.DPO
    )
    client.cookies.update(cookies)
    assert client.get(f"/mentions/{theirs}").status_code == 200


def test_signin_requests_are_rate_limited(env: tuple[Settings, Store, TestClient, Clock]) -> None:
    settings, store, client, clock = env
    add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
    assert [_request_link(client, HEAD) for _ in range(6)] == [200] * 5 + [429]
    r = client.post("/signin", data={"email": HEAD})
    assert r.status_code == 429 and "Too many sign-in requests" in r.text
    # Per client: other addresses from the same client, up to 20 in all.
    codes = [_request_link(client, f"p{i}@example.org") for i in range(20)]
    assert codes.count(429) == 7 and codes[:13] == [200] * 13
    clock.now = T0 + timedelta(minutes=15)
    assert _request_link(client, HEAD) == 200


def test_signout_ends_the_session(env: tuple[Settings, Store, TestClient, Clock]) -> None:
    settings, store, client, clock = env
    cookies, csrf = signed_in(store, settings, T0)
    client.cookies.update(cookies)
    r = client.post("/signout", data={"csrf_token": csrf})
    assert r.status_code == 303 and _sessions(store) == 0
    client.cookies.update(cookies)  # the old cookie is worth nothing now
    assert client.get("/").status_code == 303


def test_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, web={"public_base_url": "https://monitor.example.org"})
    store = Store.open(settings.database_url)
    try:
        add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
        clock = Clock()
        app = create_app(settings, store, lambda: None, clock=clock)  # type: ignore[arg-type,return-value]
        with TestClient(app, follow_redirects=False) as client:
            client.post("/signin", data={"email": HEAD})
            with store.session() as s:
                (payload,) = s.execute(text("select payload from notices")).scalars()
            token = re.search(r"/signin/([A-Za-z0-9_-]+)", payload)
            assert token
            r = client.post(f"/signin/{token.group(1)}")
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]
    finally:
        store.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/mentions/3", "/mentions/3"),
        ("/?page=2", "/?page=2"),
        ("//evil.example.com/x", "/"),
        ("https://evil.example.com/", "/"),
        ("/\\evil.example.com", "/"),
        ("/a\r\nSet-Cookie: x", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_next_is_only_a_local_path(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
