"""The browser half of a capture: Chromium (Debian's, never a downloaded one) driven by
Playwright, walled in so that every request it makes passes the SSRF guard.

Three layers, each enough alone for what it covers:
1. Interception (`context.route("**/*")`): every request of every page and frame is looked at
   first. Schemes other than http/https, methods other than GET/HEAD, and any URL the guard
   refuses (`GuardedClient.check_url`) are aborted before they leave the browser. WebSockets are
   answered by `route_web_socket` and closed without ever connecting.
2. The proxy (monitor/evidence/proxy.py): Chromium is started with `--proxy-server` pointing at
   it and `--proxy-bypass-list=<-loopback>`, so loopback goes through it too. It fetches with the
   guarded client, which checks the address it actually connects to; a URL that passed layer 1
   but now resolves somewhere private (DNS rebinding), a redirect hop, a prefetch the
   interception did not see: all are refused there.
3. The browser itself: `--host-resolver-rules` makes every name unresolvable inside Chromium
   (only the proxy's literal 127.0.0.1 is reachable), QUIC and DNS prefetch are off, WebRTC may
   not send UDP outside the proxy, service workers are blocked.

A page that never stops loading is cut at `evidence.browser_deadline_seconds`: the screenshots
and DOM are taken as they stand, and the result says it was cut.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from monitor.evidence.proxy import GuardProxy, Recorder
from sources.errors import FetchError
from sources.http import GuardedClient

CHROMIUM = "/usr/bin/chromium"
DESKTOP_WIDTH, MOBILE_WIDTH = 1280, 390

_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=NetworkPrediction,InterestFeedContentSuggestions",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
)


@dataclass(frozen=True)
class Rendered:
    """What the browser produced. Empty bytes/str where a step failed (see `errors`)."""

    final_url: str
    screenshot: bytes
    screenshot_mobile: bytes
    html: str
    text: str
    cut_at_deadline: bool
    chromium_version: str
    errors: tuple[str, ...]


def render(
    url: str, client: GuardedClient, recorder: Recorder, deadline_seconds: float
) -> Rendered:
    """Load `url` in a fresh, walled-in Chromium and take what the pack needs."""
    return asyncio.run(_render(url, client, recorder, deadline_seconds))


async def _render(url: str, client: GuardedClient, recorder: Recorder, deadline: float) -> Rendered:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import Route, WebSocketRoute, async_playwright
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    errors: list[str] = []
    shot = shot_mobile = b""
    html = text = ""
    final_url = url
    cut = False
    version = "unknown"

    async def guard(route: Route) -> None:
        req = route.request
        target = req.url
        if not target.lower().startswith(("http://", "https://")):
            recorder.refused(target[:200], "scheme refused", "route")
            await route.abort("blockedbyclient")
            return
        if req.method not in ("GET", "HEAD"):
            recorder.refused(target, f"method {req.method} refused", "route")
            await route.abort("blockedbyclient")
            return
        try:
            await asyncio.to_thread(client.check_url, target)
        except FetchError as exc:
            recorder.refused(target, exc.reason, "route")
            await route.abort("blockedbyclient")
            return
        await route.continue_()

    async def no_websockets(ws: WebSocketRoute) -> None:
        recorder.refused(ws.url, "WebSockets are not opened by a capture", "route")
        await ws.close()

    with GuardProxy(client, recorder, deadline + 5) as proxy:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[*_ARGS, f"--proxy-server={proxy.address}", "--proxy-bypass-list=<-loopback>"],
            )
            version = browser.version
            try:
                context = await browser.new_context(
                    service_workers="block",
                    viewport={"width": DESKTOP_WIDTH, "height": 800},
                    accept_downloads=False,
                )
                await context.route("**/*", guard)
                await context.route_web_socket(re.compile(".*"), no_websockets)
                page = await context.new_page()
                try:
                    await page.goto(url, wait_until="load", timeout=deadline * 1000)
                except PlaywrightTimeout:
                    cut = True
                    errors.append(f"the page was still loading after {deadline:g} s: cut there")
                except PlaywrightError as exc:
                    errors.append(f"the browser could not load the page ({_first_line(exc)})")
                final_url = page.url
                try:
                    shot = await page.screenshot(
                        full_page=True, timeout=15000, animations="disabled"
                    )
                    html = await page.content()
                    text = await page.inner_text("body", timeout=5000)
                    await page.set_viewport_size({"width": MOBILE_WIDTH, "height": 844})
                    shot_mobile = await page.screenshot(
                        full_page=True, timeout=15000, animations="disabled"
                    )
                except PlaywrightError as exc:
                    errors.append(f"the page could not be captured ({_first_line(exc)})")
            finally:
                await browser.close()
    return Rendered(final_url, shot, shot_mobile, html, text, cut, version, tuple(errors))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
