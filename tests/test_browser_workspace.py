"""The workspace in a real browser (Debian's Chromium under Playwright), at phone (390 px) and
desktop (1280 px) widths: sign-in by the link the test SMTP server received, landing on the
deep-linked mention; the inbox and its filters; triage through to closed; a full-text reveal in
the audit log; a head of one academy getting 404 for another's mention; no horizontal scroll."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox import dispatch_pending
from alerts.smtp import SmtpTransport
from monitor.config import Settings
from monitor.models import Evidence, Severity
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.triage import Status
from monitor.web import create_app
from tests.alerts_support import make_settings, smtp_server
from tests.auth_support import add_user
from tests.browser import WIDTHS, chromium, serve
from tests.inbox_support import add_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
HEAD = "head@ankermoor.example.org"
BASE = "http://mm.example.org"  # the links' base; the test swaps in the served address


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Settings, Store, str]]:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": BASE},
        academies=[
            {"id": "ankermoor", "display_name": "Ankermoor Primary", "names": ["Ankermoor"]},
            {"id": "brook", "display_name": "Brook Academy", "names": ["Brook"]},
        ],
    )
    store = Store.open(settings.database_url)
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], T0, scheduler_alive=True),
        clock=lambda: T0,
    )
    try:
        with serve(app) as url:
            yield settings, store, url
    finally:
        store.close()


def _emailed_link(store: Store, settings: Settings) -> str:
    """Run the outbox dispatcher against the aiosmtpd server; the sign-in link's path."""
    with smtp_server() as srv:
        mail = settings.mail.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": srv.port, "smtp_security": "none"}
        )
        sent = dispatch_pending(
            store, settings.model_copy(update={"mail": mail}), SmtpTransport(mail), T0
        )
        assert sent.sent == 1, sent
        (msg,) = srv.handler.messages()
    body = msg.get_body(("plain",))
    assert body is not None
    m = re.search(re.escape(BASE) + r"(/signin/[A-Za-z0-9_-]+)", str(body.get_content()))
    assert m, body.get_content()
    return m.group(1)


def _no_sideways_scroll(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def _sign_in(page: Any, store: Store, settings: Settings, url: str, path: str) -> None:
    page.goto(url + path)
    assert "/signin" in page.url
    page.fill("#email", HEAD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "Check your email" in page.content(), page.content()
    page.goto(url + _emailed_link(store, settings))
    page.click("main button[type=submit]")
    page.wait_for_url(url + path)


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_sign_in_inbox_triage_and_reveal(
    browser: Any, site: tuple[Settings, Store, str], width: str
) -> None:
    settings, store, url = site
    add_user(store, HEAD, "ankermoor", Role.HEAD, T0)
    urgent = add_mention(
        store,
        T0 - timedelta(hours=2),
        title="Ankermoor teacher named in post, call 07700 900123",
        text="The Ankermoor teacher is a disgrace. Ring 07700 900123.",
        author="@angry.parent",
        severity=Severity.URGENT,
        categories=["harassment"],
        evidence=[Evidence(14, 45, "phrase", "harassment", "Ankermoor teacher is a disgrace")],
    )
    fete = add_mention(store, T0 - timedelta(hours=1), title="Ankermoor summer fete raises £900")
    theirs = add_mention(store, T0, academy="brook", title="Brook Academy inspection")
    view = WIDTHS[width]
    context = browser.new_context(viewport=view)
    page = context.new_page()
    try:
        # The alert's deep link, through sign-in by the emailed link, lands on the mention.
        _sign_in(page, store, settings, url, f"/mentions/{urgent}")
        assert page.locator("h1").inner_text().startswith("Ankermoor teacher named")
        assert "07700 900123" not in page.content()
        assert page.locator("text=@angry.parent").count() == 1
        _no_sideways_scroll(page, view["width"])

        # The inbox: most serious first, the other academy's mention absent; then filters.
        page.goto(url + "/")
        links = page.locator("table.inbox td.title a")
        assert links.count() == 2
        assert links.nth(0).get_attribute("href") == f"/mentions/{urgent}"
        assert page.locator(f'a[href="/mentions/{theirs}"]').count() == 0
        _no_sideways_scroll(page, view["width"])
        page.fill("#q", "fete")
        page.click("form.filters button[type=submit]")
        page.wait_for_url(re.compile(r"q=fete"))
        assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
            f"/mentions/{fete}"
        ]
        page.fill("#q", "")
        page.check("#urgent")
        page.click("form.filters button[type=submit]")
        page.wait_for_url(re.compile(r"urgent=1"))
        assert links.count() == 1 and links.nth(0).get_attribute("href") == f"/mentions/{urgent}"
        _no_sideways_scroll(page, view["width"])

        # Triage through to closed, from the inbox row.
        links.nth(0).click()
        page.wait_for_url(url + f"/mentions/{urgent}")
        page.click("#triage button:has-text('Acknowledge')")
        page.wait_for_url(re.compile(r"#triage$"))
        page.select_option("#owner", "me")
        page.click("#triage button:has-text('Assign')")
        page.fill("#note", "Spoke to the parent; asked them to take it down.")
        page.click("#triage button:has-text('Add note')")
        page.click("#triage button:has-text('Action taken')")
        page.click("#triage button:has-text('Close')")
        assert page.locator(".triage-status").inner_text() == "closed"
        timeline = page.locator("ol.timeline").inner_text()
        assert "status action taken → closed" in timeline and "Spoke to the parent" in timeline
        detail = store.mention_detail(urgent)
        assert detail is not None and detail.status is Status.CLOSED and detail.owner == HEAD
        _no_sideways_scroll(page, view["width"])
        page.goto(url + "/?status=closed")
        assert links.count() == 1 and page.locator("td.status").inner_text() == "closed"

        # A full-text reveal: shown, and on the audit record.
        page.goto(url + f"/mentions/{urgent}")
        page.click("button:has-text('Show full text')")
        page.wait_for_selector("text=recorded in the audit log")
        assert "07700 900123" in page.content()
        reveals = [r.entry for r in store.audit_entries(action="reveal")]
        assert [(r.actor, r.target) for r in reveals] == [(f"user:{HEAD}", f"mention:{urgent}")]
        assert [r.entry.detail for r in store.audit_entries(action="status")][-1] == (
            "action_taken -> closed"
        )
        _no_sideways_scroll(page, view["width"])

        # The role boundary: another academy's mention is a 404, like a missing one.
        r = page.goto(url + f"/mentions/{theirs}")
        assert r is not None and r.status == 404
        assert "07700" not in page.content() and "inspection" not in page.content()
        r = page.goto(url + "/mentions/987654")
        assert r is not None and r.status == 404
    finally:
        context.close()
