"""The demo, end to end: replay server + SMTP server + temporary settings + the real service jobs.

Nothing leaves the machine: the replay server and the SMTP server listen on 127.0.0.1 only, and
the settings allow-list that one address and no other.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from monitor.config import BUNDLED_EXAMPLE
from monitor.demo.recorded import routes
from monitor.models import CollectStats

MARKER = ".mention-monitor-demo"
PROVIDER = "dpo@itprovider.example.net"


class ReplayServer:
    """Serves the recorded responses on 127.0.0.1 (a robots.txt-less site: everything allowed)."""

    def __init__(self) -> None:
        table = routes()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _reply(self) -> None:
                found = table.get(self.path.split("?", 1)[0])
                ctype, body = found if found else ("text/plain", b"not found")
                self.send_response(200 if found else 404)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self._reply()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        ).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class MailCatcher:
    """An aiosmtpd server that writes every message it receives as an .eml file."""

    def __init__(self, folder: Path) -> None:
        from aiosmtpd.controller import Controller

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.received: list[bytes] = []
        catcher = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                data = bytes(envelope.content)
                catcher.received.append(data)
                (folder / f"{len(catcher.received):03d}.eml").write_bytes(data)
                return "250 OK"

        with socket.socket() as probe:  # aiosmtpd needs a concrete port to check it started
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def demo_config(folder: Path, base: str, smtp_port: int, digest_time: str) -> str:
    head = BUNDLED_EXAMPLE.read_text(encoding="utf-8").split("[[academies.sources]]", 1)[0]
    head = head.replace(
        'database_url = "sqlite:///mention-monitor.db"',
        f'database_url = "sqlite:///{folder}/demo.db"',
    )
    head = head.replace(
        "allow_private = []", 'allow_private = ["127.0.0.1"]\nper_host_interval_seconds = 0'
    )
    head = head.replace('digest_time = "07:00"', f'digest_time = "{digest_time}"')
    head = head.replace(
        'outbox_dir = "outbox"\n',
        f'outbox_dir = "{folder}/mail"\nsmtp_host = "127.0.0.1"\nsmtp_port = {smtp_port}\nsmtp_security = "none"\n',
    )
    search = 'queries = ["Ankermoor Primary"]\nbase_url = "{base}"\n'
    sources = [
        ("feed", "gazette", 'url = "{base}/gazette/rss"\n'),
        ("google_news", "google-news", search),
        ("mastodon", "mastodon", 'instances = ["{base}"]\nhashtags = ["AnkermoorPrimary"]\n'),
        (
            "bluesky",
            "bluesky",
            search + 'handle = "demo.bsky.social"\napp_password = "demo-demo-demo-demo"\n',
        ),
        ("reddit", "reddit", search),
        ("hackernews", "hackernews", search),
        ("webpage", "reviews", 'url = "{base}/reviews"\nabout_academy = true\n'),
    ]
    body = "".join(
        f'\n[[academies.sources]]\nkind = "{kind}"\nname = "{name}"\n'
        + opts.replace("{base}", base)
        for kind, name, opts in sources
    )
    return head + body


@dataclass
class DemoResult:
    folder: Path
    config: Path
    stats: list[CollectStats]
    categories: Counter[str]
    urgent: int
    mentions: int
    emails: Counter[str]  # sent notices by kind, from the outbox
    delivered: int  # messages the SMTP server received
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)


def prepare_folder(folder: Path) -> None:
    """Start from an empty folder; only ever delete a folder an earlier demo made."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise RuntimeError(
                f"{folder} is not empty and was not made by the demo; choose another --dir"
            )
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `mention-monitor demo`; safe to delete\n")


def run_demo(folder: Path, say: Callable[[str], None]) -> DemoResult:
    from alerts import outbox, subscriptions
    from alerts.digest import enqueue_due_digests
    from alerts.outbox import dispatch_pending
    from monitor.app import App
    from monitor.service import Service

    started = time.monotonic()
    steps: list[tuple[str, float]] = []

    def step(label: str) -> None:
        steps.append((label, time.monotonic() - started))
        say(f"[{time.monotonic() - started:5.1f} s] {label}")

    folder = folder.resolve()
    prepare_folder(folder)
    replay = ReplayServer()
    mail = MailCatcher(folder / "mail")
    try:
        # The digest is set for five minutes from now, and the digest job is then run as if six
        # minutes had passed, so the digest covers what the demo has just collected. (A first
        # digest is only sent for a slot after the academy was added, i.e. after the model has
        # loaded: five minutes leave room for a slow machine.)
        london_now = datetime.now(UTC).astimezone(ZoneInfo("Europe/London"))
        digest_time = (london_now + timedelta(minutes=5)).strftime("%H:%M")
        config = folder / "demo.toml"
        config.write_text(
            demo_config(folder, replay.base, mail.port, digest_time), encoding="utf-8"
        )
        step(f"replay server on {replay.base}, SMTP server on 127.0.0.1:{mail.port}")
        app = App(config)
        step("loading the model (all-MiniLM-L6-v2, offline)…")
        service = Service(app, serve_web=False)
        try:
            now = datetime.now(UTC)
            subscriptions.add(
                service.store,
                app.settings(),
                PROVIDER,
                academies=["ankermoor"],
                name="Anker IT Services",
                now=now,
            )
            subscriptions.confirm_by_admin(service.store, PROVIDER, now)
            step("provider subscribed to breach notifications (confirmed for the demo)")
            stats = [service.runner.run_source(src) for src in service.runner.sources]
            step("collected, matched, de-duplicated, scored and stored")
            service.dispatch()
            step("urgent alerts and provider notices sent")
            later = datetime.now(UTC) + timedelta(minutes=6)
            enqueue_due_digests(service.store, app.settings(), later, service.source_health_for)
            dispatch_pending(service.store, app.settings(), service.transport, later)
            step("daily digest sent")
            rows = service.store.mentions()
            sent = Counter(n.kind for n in outbox.list_notices(service.store, status="sent"))
        finally:
            service.stop()
    finally:
        replay.stop()
        time.sleep(0.2)  # let the SMTP server finish writing the last message
        mail.stop()
    cats: Counter[str] = Counter()
    urgent = 0
    for _, a in rows:
        if a is not None:
            cats.update(a.categories or ("(none)",))
            urgent += a.urgent
    return DemoResult(
        folder,
        config,
        stats,
        cats,
        urgent,
        len(rows),
        sent,
        len(mail.received),
        time.monotonic() - started,
        steps,
    )
