"""Real-browser test support: Debian's Chromium driven by Playwright, and the web app on a real port.

`chromium()` launches /usr/bin/chromium (never a downloaded browser) with the flags this sandbox
needs: no background networking, no component updates, no QUIC. `serve(app)` runs a Starlette app
under uvicorn on 127.0.0.1 in a thread, as the service does. `PHONE` and `DESKTOP` are the two
widths every workspace flow is tested at.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.alerts_support import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"phone": PHONE, "desktop": DESKTOP}


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium under Playwright (sync API); closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """The app on a real loopback port (uvicorn in a thread); yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
