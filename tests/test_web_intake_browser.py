"""The report form in Debian's Chromium at phone and desktop widths: a screenshot becomes a
mention (source reported-screenshot, OCR by the real Tesseract), a text file named .png and an
11 MB upload are refused with nothing stored, and the intake link's hourly limit answers 429."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Settings
from monitor.intake import LINK_SUBMISSIONS_PER_HOUR, new_intake_link, take_link_submission
from monitor.jobs import JobContext
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.web import create_app
from monitor.web.auth import COOKIE
from tests.alerts_support import make_settings
from tests.auth_support import signed_in
from tests.browser import WIDTHS, chromium, serve
from tests.servers import FIXTURES

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
SHOT = FIXTURES / "ocr" / "wa-01-phone-390-1x-light.png"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@dataclass
class Site:
    settings: Settings
    store: Store
    base: str


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    settings = make_settings(
        tmp_path,
        academies=[
            {"id": "ankermoor", "display_name": "Ankermoor", "names": ["Ankermoor"]},
        ],
    )
    store = Store.open(settings.database_url)
    ctx = JobContext(settings, store, clock=lambda: NOW, score=False)
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], NOW, scheduler_alive=True),
        clock=lambda: NOW,
    )
    app.state.intake_ctx = ctx
    with serve(app) as base:
        yield Site(settings, store, base)
    ctx.close()


def _page(browser: Any, site: Site, width: str, signed: bool) -> Any:
    context = browser.new_context(viewport=WIDTHS[width])
    if signed:
        cookies, _ = signed_in(site.store, site.settings, NOW, role=Role.HEAD)
        context.add_cookies([{"name": COOKIE, "value": cookies[COOKIE], "url": site.base}])
    return context.new_page()


def _mentions(store: Store) -> int:
    return len(store.mentions(organisation="ankermoor", limit=100))


def _fits(page: Any, width: str) -> None:
    if width == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_screenshot_report_becomes_a_mention(browser: Any, site: Site, width: str) -> None:
    page = _page(browser, site, width, signed=True)
    page.goto(f"{site.base}/report")
    _fits(page, width)
    page.fill("#seen_where", "Year 5 WhatsApp group")
    page.fill("#note", "Forwarded by a parent this morning")
    page.set_input_files("#screenshots", str(SHOT))
    with page.expect_navigation(timeout=120_000):
        page.click("text=Send the report")
    assert page.inner_text("h1") == "Thank you", page.inner_text("main")
    _fits(page, width)
    page.click("text=Open the mention")
    page.wait_for_url("**/mentions/*")
    mid = int(page.url.rsplit("/", 1)[1])
    got = site.store.mention(mid)
    assert got is not None and got[0].source_key == "ankermoor/reported-screenshot"
    (report,) = site.store.intake.reports_for_mention(mid)
    assert report.reporter == "head@ankermoor.example.org"
    assert [i.name for i in report.images] == [SHOT.name]
    assert page.locator("#evidence").is_visible()
    page.context.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_a_text_file_named_png_is_refused(
    browser: Any, site: Site, width: str, tmp_path: Path
) -> None:
    fake = tmp_path / "photo.png"
    fake.write_text("this is not an image at all\n" * 20)
    page = _page(browser, site, width, signed=True)
    page.goto(f"{site.base}/report")
    page.fill("#note", "Ankermoor")
    page.set_input_files("#screenshots", str(fake))
    page.click("text=Send the report")
    page.wait_for_selector("h1:has-text('Not sent')")
    assert "photo.png" in page.inner_text("main") and "Nothing was stored" in page.inner_text(
        "main"
    )
    _fits(page, width)
    assert _mentions(site.store) == 0
    page.context.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_an_11_mb_upload_is_refused(browser: Any, site: Site, width: str, tmp_path: Path) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(SHOT.read_bytes() + b"\0" * (11 * 1024 * 1024))
    page = _page(browser, site, width, signed=True)
    page.goto(f"{site.base}/report")
    page.fill("#note", "Ankermoor")
    page.set_input_files("#screenshots", str(big))
    page.click("text=Send the report")
    page.wait_for_selector("h1:has-text('Not sent')")
    text = page.inner_text("main")
    assert "big.png is too large" in text and "at most 10 MB each" in text
    assert _mentions(site.store) == 0
    page.context.close()


@pytest.mark.parametrize("width", ["phone", "desktop"])
def test_the_intake_link_answers_429_past_its_hourly_limit(
    browser: Any, site: Site, width: str
) -> None:
    secret = new_intake_link(site.store, "ankermoor", NOW)
    page = _page(browser, site, width, signed=False)
    page.goto(f"{site.base}/report/{secret}")
    _fits(page, width)
    assert "Ankermoor" in page.inner_text("main")
    page.fill("#seen_where", "PTA Facebook group")
    page.fill("#note", "Ankermoor staff named in a post")
    page.click("text=Send the report")
    page.wait_for_selector("h1:has-text('Thank you')")
    assert "Open the mention" not in page.inner_text("main")  # no account, no workspace link
    assert _mentions(site.store) == 1
    for _ in range(LINK_SUBMISSIONS_PER_HOUR - 1):  # the rest of the hour's allowance
        assert take_link_submission(site.store, secret, NOW)
    page.goto(f"{site.base}/report/{secret}")
    page.fill("#note", "Another Ankermoor post")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("text=Send the report")
    assert answer.value.status == 429
    page.wait_for_selector("h1:has-text('Too many reports')")
    _fits(page, width)
    assert _mentions(site.store) == 1
    page.context.close()
