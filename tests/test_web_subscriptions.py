"""The subscription flow through the real web app on uvicorn (127.0.0.1) with a real HTTP client:
subscribe -> confirm link -> notice -> one-click unsubscribe -> no more notices. And tokens that
are single-purpose and expire."""

from __future__ import annotations

import email
import re
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from alerts import outbox
from alerts.outbox import dispatch_pending
from alerts.smtp import transport_for
from monitor.app import App
from monitor.commands.alerts import subscribers
from monitor.config import Settings
from monitor.service import collect_health
from monitor.store import Store
from monitor.web import create_app
from tests.alerts_support import free_port, make_settings, store_mention
from tests.auth_support import signed_in

PROVIDER = "breach@itprovider.example.com"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, Store, str, Clock]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = make_settings(tmp_path, web={"public_base_url": base, "port": port})
    store = Store.open(settings.database_url)
    clock = Clock()
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], clock(), scheduler_alive=True),
        clock=clock,
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    try:
        yield settings, store, base, clock
    finally:
        server.should_exit = True
        thread.join(5)
        store.close()


def _sent_to(tmp_path: Path, rcpt: str) -> list[EmailMessage]:
    out = []
    for p in sorted((tmp_path / "outbox").glob("*.eml")):
        msg = email.message_from_bytes(p.read_bytes(), policy=default)
        assert isinstance(msg, EmailMessage)
        if str(msg["To"]) == rcpt:
            out.append(msg)
    return out


def _link(msg: EmailMessage, path: str) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    m = re.search(
        r"(http://127\.0\.0\.1:\d+/" + path + r"\?token=[A-Za-z0-9_-]+)", str(body.get_content())
    )
    assert m, body.get_content()
    return m.group(1)


def _urgent(store: Store, settings: Settings, title: str, now: datetime) -> int:
    _, queued = store_mention(
        store,
        settings,
        title=title,
        text=f"Ankermoor password: {title[-4:]}Zz9!",
        categories=["data_leak"],
        urgent=True,
        now=now,
    )
    return queued


def test_subscribe_confirm_notice_unsubscribe(
    env: tuple[Settings, Store, str, Clock], tmp_path: Path
) -> None:
    settings, store, base, clock = env
    app = App()
    app._settings = settings
    res = CliRunner().invoke(
        subscribers, ["add", PROVIDER, "--academy", "ankermoor", "--name", "IT provider"], obj=app
    )
    assert res.exit_code == 0 and "confirmation email queued" in res.output, res.output
    clock.now = datetime.now(UTC)  # the command queued the confirmation at the real time
    res = CliRunner().invoke(subscribers, ["list"], obj=app)
    assert (
        PROVIDER in res.output
        and "pending" in res.output
        and "data_leak, pupil_image" in res.output
    )

    # Before confirming: an urgent leak reaches the recipients, not the provider.
    assert _urgent(store, settings, "Leak A001", clock.now) == 2
    dispatch_pending(store, settings, transport_for(settings.mail), clock.now)
    (confirm_mail,) = _sent_to(tmp_path, PROVIDER)
    assert "Please confirm" in str(confirm_mail["Subject"])
    confirm_url = _link(confirm_mail, "confirm")

    with httpx.Client(timeout=10) as http:
        # GET shows a button and changes nothing (mail scanners open links).
        page = http.get(confirm_url)
        assert page.status_code == 200 and '<form method="post"' in page.text
        assert (
            page.headers["referrer-policy"] == "no-referrer"
            and "default-src 'none'" in page.headers["content-security-policy"]
        )
        assert _urgent(store, settings, "Leak B002", clock.now) == 2  # still not confirmed
        # The form's POST confirms.
        action = re.search(r'action="([^"]+)"', page.text)
        assert action
        done = http.post(base + action.group(1).replace("&amp;", "&"))
        assert done.status_code == 200 and "Subscription confirmed" in done.text
        again = http.post(base + action.group(1).replace("&amp;", "&"))
        assert "Already confirmed" in again.text
        # The confirm token cannot unsubscribe (single purpose).
        token = confirm_url.split("token=")[1]
        assert http.post(f"{base}/unsubscribe?token={token}").status_code == 404

        # Confirmed: the next leak reaches the provider with the incident notice.
        assert _urgent(store, settings, "Leak C003", clock.now) == 3
        dispatch_pending(store, settings, transport_for(settings.mail), clock.now)
        notices = [m for m in _sent_to(tmp_path, PROVIDER) if "incident" in str(m["Subject"])]
        assert len(notices) == 1
        notice = notices[0]
        assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        one_click = str(notice["List-Unsubscribe"]).strip("<>")
        assert one_click == _link(notice, "unsubscribe")

        # RFC 8058 one-click: a POST with the fixed body, no cookies, no page first.
        r = http.post(
            one_click,
            content=b"List-Unsubscribe=One-Click",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200 and "You are unsubscribed" in r.text
        assert "Already unsubscribed" in http.post(one_click).text
        # An old confirm link does not undo the unsubscribe.
        assert http.post(base + action.group(1).replace("&amp;", "&")).status_code != 200
        healthz = http.get(f"{base}/healthz")
        assert healthz.status_code == 200 and healthz.json()["ok"] is True

    # Unsubscribed: the next leak reaches the recipients only.
    assert _urgent(store, settings, "Leak D004", clock.now) == 2
    res = CliRunner().invoke(subscribers, ["list"], obj=app)
    assert "unsubscribed" in res.output


def test_recipients_can_unsubscribe_too_and_links_expire(
    env: tuple[Settings, Store, str, Clock], tmp_path: Path
) -> None:
    settings, store, base, clock = env
    assert _urgent(store, settings, "Leak E005", clock.now) == 2
    dispatch_pending(store, settings, transport_for(settings.mail), clock.now)
    (head_mail,) = _sent_to(tmp_path, "head@ankermoor.example.org")
    url = str(head_mail["List-Unsubscribe"]).strip("<>")
    with httpx.Client(timeout=10) as http:
        clock.now += timedelta(days=settings.mail.unsubscribe_link_days, seconds=1)
        assert http.get(url).status_code == 410
        assert http.post(url).status_code == 410
        clock.now -= timedelta(days=settings.mail.unsubscribe_link_days)
        page = http.get(url)
        assert "Stop the daily digest" in page.text and "Urgent alerts" in page.text
        done = http.post(url)
        assert done.status_code == 200 and "The daily digest is muted" in done.text
        assert "only its administrator can stop" in done.text
        assert http.get(base + "/unsubscribe?token=not-a-token").status_code == 404
    # The head teacher muted the digest, not urgent alerts: both recipients still get them.
    assert _urgent(store, settings, "Leak F006", clock.now) == 2
    assert {n.recipient for n in outbox.list_notices(store, limit=2)} == {
        "head@ankermoor.example.org",
        "dpo@fierte-trust.example.org",
    }


def test_mention_page_is_redacted(env: tuple[Settings, Store, str, Clock]) -> None:
    settings, store, base, clock = env
    m, _ = store_mention(
        store,
        settings,
        title="Ankermoor <script>alert(1)</script> leak",
        text="Call 07700 900123 about Oliver Smith in year 6",
        categories=["data_leak"],
        urgent=False,
        now=clock.now,
    )
    cookies = signed_in(store, settings, clock.now)[0]
    with httpx.Client(timeout=10, cookies=cookies) as http:
        page = http.get(f"{base}/mentions/{m.id}")
        assert page.status_code == 200
        assert "07700 900123" not in page.text and "[phone removed]" in page.text
        assert "<script>" not in page.text
        assert http.get(f"{base}/mentions/999999").status_code == 404


def test_mention_page_shows_the_author(env: tuple[Settings, Store, str, Clock]) -> None:
    settings, store, base, clock = env
    m, _ = store_mention(
        store,
        settings,
        title="Ankermoor Primary Academy photo",
        text="a photo",
        now=clock.now,
        author="@parent.bsky.social",
    )
    with httpx.Client(timeout=10, cookies=signed_in(store, settings, clock.now)[0]) as http:
        page = http.get(f"{base}/mentions/{m.id}")
    assert page.status_code == 200 and "by @parent.bsky.social" in page.text
