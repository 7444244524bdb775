"""/healthz tells the truth with the real Service (scheduler, recipients, dead letters), mention
ids that are not ids are 404, and slow mention pages never hold up /healthz."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import alerts.rules
from alerts import subscriptions
from monitor.app import App
from monitor.service import Service, collect_health
from monitor.store import Store
from monitor.store.schema import NoticeRecord
from monitor.web import PAGE_THREADS, create_app
from tests.alerts_support import make_settings, store_mention
from tests.auth_support import signed_in
from tests.browser import serve

HEAD = "head@ankermoor.example.org"
DPO = "dpo@fierte-trust.example.org"


def _now() -> datetime:
    return datetime.now(UTC)


def test_healthz_with_the_real_service(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    app = App(tmp_path / "monitor.toml")
    app._settings = settings
    service = Service(app, clock=_now, score=False, serve_web=False)
    web = TestClient(create_app(settings, service.store, service.health))
    try:
        r = web.get("/healthz")  # not started: no scheduler
        assert r.status_code == 503 and r.json()["scheduler_alive"] is False
        assert any("scheduler is not running" in p for p in r.json()["problems"])
        service.start()
        r = web.get("/healthz")
        assert r.status_code == 200 and r.json()["ok"] is True, r.json()

        # A dead letter: unhealthy until retried.
        with service.store.session() as s:
            s.add(
                NoticeRecord(
                    kind="urgent",
                    academy_id="ankermoor",
                    scope="c1",
                    recipient=HEAD,
                    subject="x",
                    message_id="<dead@test>",
                    payload="",
                    status="dead",
                    attempts=5,
                    next_attempt_at=_now(),
                    last_error="550 no such user",
                    created_at=_now(),
                )
            )
        r = web.get("/healthz")
        assert r.status_code == 503 and r.json()["outbox_dead"] == 1
        with service.store.session() as s:
            s.query(NoticeRecord).delete()
        assert web.get("/healthz").status_code == 200

        # No active recipient for urgent alerts: unhealthy.
        for rcpt in (HEAD, DPO):
            subscriptions.mute(
                service.store, settings, rcpt, urgent_academies=["ankermoor"], now=_now()
            )
        r = web.get("/healthz")
        assert r.status_code == 503
        assert r.json()["academies_without_urgent_recipient"] == ["ankermoor"]
        subscriptions.enable(service.store, settings, DPO, _now())
        assert web.get("/healthz").status_code == 200
    finally:
        service.stop()


@pytest.mark.parametrize(
    "raw", ["99999999999999999999999", "9223372036854775808", "0", "-1", "1e3", "０１"]
)
def test_mention_ids_that_are_not_ids_are_404(tmp_path: Path, raw: str) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    try:
        web = TestClient(
            create_app(
                settings,
                store,
                lambda: collect_health(settings, store, [], _now(), scheduler_alive=True),
            )
        )
        web.cookies.update(signed_in(store, settings, _now())[0])
        r = web.get(f"/mentions/{raw}")
        assert r.status_code == 404 and "no such mention" in r.text
        assert web.get("/mentions/9223372036854775807").status_code == 404
    finally:
        store.close()


def test_healthz_answers_while_slow_mention_pages_are_rendering(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    m, _ = store_mention(store, settings, title="Ankermoor fair", text="A fun day.", now=_now())
    started = threading.Semaphore(0)
    release = threading.Event()
    real = alerts.rules.mention_facts

    def slow_facts(*args: Any, **kwargs: Any) -> Any:
        started.release()
        release.wait(60)  # a page whose redaction and rendering takes "forever"
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts.rules, "mention_facts", slow_facts)
    app = create_app(
        settings, store, lambda: collect_health(settings, store, [], _now(), scheduler_alive=True)
    )
    # More slow pages at once than the server has worker threads (anyio's default is 40).
    many = 45
    cookies = signed_in(store, settings, _now())[0]
    try:
        with serve(app) as base, ThreadPoolExecutor(many) as pool:
            pages = [
                pool.submit(httpx.get, f"{base}/mentions/{m.id}", timeout=120, cookies=cookies)
                for _ in range(many)
            ]
            try:
                for _ in range(PAGE_THREADS):
                    assert started.acquire(timeout=60)
                health = httpx.get(f"{base}/healthz", timeout=20)
                assert health.status_code == 200
                assert not any(p.done() for p in pages)  # the pages were still rendering
            finally:
                release.set()
            assert all(p.result().status_code == 200 for p in pages)
    finally:
        store.close()
