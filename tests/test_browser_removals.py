"""Real Chromium (Debian's, under Playwright) at phone and desktop width: a removal request
whose URL answers 404 twice, a day apart on the app's clock, ends shown as "removed"; a DPO
decision through the form shows in the history and in the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.roles import Role
from monitor.store import Store
from monitor.web.auth import COOKIE
from tests.auth_support import signed_in
from tests.browser import WIDTHS, chromium, serve
from tests.oversight_support import (
    T0,
    Clock,
    leak_incident,
    oversight_app,
    oversight_settings,
    post_mention,
)
from tests.servers import Reply, fixture_server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def _page(browser: Any, base: str, cookie: str, width: str) -> Any:
    context = browser.new_context(viewport=WIDTHS[width], accept_downloads=True)
    context.add_cookies([{"name": COOKIE, "value": cookie, "url": base}])
    return context.new_page()


def _no_sideways_scroll(page: Any, width: str) -> None:
    if width == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_removal_ends_removed_after_two_404s_a_day_apart(
    browser: Any, tmp_path: Path, width: str
) -> None:
    settings = oversight_settings(tmp_path, "http://127.0.0.1")
    store = Store.open(settings.database_url)
    clock = Clock()
    with fixture_server() as site:
        site.routes["/t/1"] = Reply(404, b"gone", {"content-type": "text/plain"})
        mid = post_mention(store, settings, site.url("/t/1"))
        cookies, _ = signed_in(store, settings, T0)
        with serve(oversight_app(settings, store, clock)) as base:
            page = _page(browser, base, cookies[COOKIE], width)
            page.goto(f"{base}/mentions/{mid}")
            assert page.get_by_text("Professionals Online Safety Helpline").count() == 1
            page.get_by_label("Platform", exact=True).fill("Parents Forum")
            page.get_by_label("Reference").fill("R-42")
            page.get_by_role("button", name="Reported to platform").click()
            status = page.locator(".removal-status")
            assert status.inner_text().startswith("open")
            _no_sideways_scroll(page, width)

            page.get_by_role("button", name="Check now").click()
            assert status.inner_text().startswith("gone once")
            clock.now = T0 + timedelta(hours=25)  # a day later, on the app's clock
            # The first session has timed out by now: the DSL takes over, signed in afresh.
            again, _ = signed_in(
                store, settings, clock.now, email="dsl@ankermoor.example.org", role=Role.DSL
            )
            raw = again[COOKIE]
            page.context.add_cookies([{"name": COOKIE, "value": raw, "url": base}])
            # A new session has its own CSRF token: the DSL opens the page, then checks.
            page.goto(f"{base}/mentions/{mid}")
            assert status.inner_text().startswith("gone once")
            page.get_by_role("button", name="Check now").click()
            assert status.inner_text() == "removed"
            assert page.get_by_role("button", name="Check now").count() == 0
            _no_sideways_scroll(page, width)
            page.context.close()
    assert site.hits["/t/1"] == 2
    store.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_dpo_decision_through_the_form_shows_in_the_history_and_the_export(
    browser: Any, tmp_path: Path, width: str
) -> None:
    settings = oversight_settings(tmp_path, "http://127.0.0.1")
    store = Store.open(settings.database_url)
    clock = Clock(T0 + timedelta(hours=2))
    _, incident = leak_incident(store, settings)
    cookies, _ = signed_in(
        store, settings, clock.now, email="dpo@trust.example.org", academy="*", role=Role.DPO
    )
    with serve(oversight_app(settings, store, clock)) as base:
        page = _page(browser, base, cookies[COOKIE], width)
        page.goto(f"{base}/breaches")
        assert "70 h 0 min left" in page.locator(".incident").inner_text()
        _no_sideways_scroll(page, width)
        page.get_by_role("link", name=f"Incident {incident}").click()
        page.get_by_label("No, do not report").check()
        page.get_by_label("Reasoning").fill("First names only, removed within the hour.")
        page.get_by_label("People told (one a line)").fill("Headteacher\nChair of governors")
        page.get_by_label("Timeline").fill("2026-11-28 09:30 Post reported to the forum")
        page.get_by_role("button", name="Record the decision").click()
        history = page.locator("ol.history").inner_text()
        assert "not reported to the ICO" in history and "Chair of governors" in history
        assert "2026-11-28 09:30 Post reported to the forum" in history
        assert page.locator(".clock").inner_text() == "decided"
        _no_sideways_scroll(page, width)

        page.get_by_role("navigation").get_by_role("link", name="Breach log").click()
        page.get_by_label("Export the log as").select_option("csv")
        with page.expect_download() as got:
            page.get_by_role("button", name="Export").click()
        path = got.value.path()
        (row,) = csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8")))
        assert (row["incident"], row["decision"], row["people_told"]) == (
            incident,
            "not reported",
            "Headteacher; Chair of governors",
        )
        page.context.close()
    assert [a.entry.action for a in store.audit_entries(action="breach")] == [
        "breach.decision",
        "breach.export",
    ]
    store.close()
