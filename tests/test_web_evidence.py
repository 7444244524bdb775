""" "Capture evidence now" on the mention page, through the real app (TestClient) against a page on
a local FixtureServer (127.0.0.1, allowed by the settings as in the collection tests): a POST by
the academy's head makes a verified pack, audited "evidence.capture"; a viewer gets 403, another
academy's head 404, a POST without its CSRF token 403; GET and HEAD never capture. One Chromium
capture in all (the refusals never reach it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.config import Settings, settings_from_mapping
from monitor.evidence import verify
from monitor.jobs import JobContext
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.store import evidence as rows
from monitor.web import create_app
from tests.alerts_support import store_mention
from tests.auth_support import signed_in
from tests.evidence_support import PHOTO, serve_post, warc_bodies
from tests.servers import FixtureServer

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BASE = "http://testserver"


@dataclass
class Env:
    settings: Settings
    store: Store
    client: TestClient
    mention_id: int
    page: bytes
    url: str


@pytest.fixture
def env(tmp_path: Path, server: FixtureServer) -> Iterator[Env]:
    page = serve_post(server, "A pupil's full name and her mum's phone number.")
    settings = settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path}/mm.db",
            "mail": {"from_address": "monitor@ankermoor.example.org", "outbox_dir": str(tmp_path)},
            "web": {"public_base_url": BASE},
            "network": {"allow_private": ["127.0.0.1"], "per_host_interval_seconds": 0},
            "academies": [
                {"id": "ankermoor", "display_name": "Ankermoor", "names": ["Ankermoor"]},
                {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
            ],
        }
    )
    store = Store.open(settings.database_url)
    ctx = JobContext(settings, store, clock=lambda: NOW, score=False)
    mention, _ = store_mention(
        store,
        settings,
        title="Ankermoor parents group",
        text="a post naming a pupil",
        now=NOW,
        url=server.url("/post.html"),
    )
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], NOW, scheduler_alive=True),
        clock=lambda: NOW,
    )
    app.state.intake_ctx = ctx
    try:
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            yield Env(settings, store, client, mention.id, page, server.url("/post.html"))
    finally:
        ctx.close()


def sign_in(env: Env, email: str, academy: str, role: Role) -> str:
    cookies, csrf = signed_in(env.store, env.settings, NOW, email=email, academy=academy, role=role)
    env.client.cookies.clear()
    for k, v in cookies.items():
        env.client.cookies.set(k, v)
    return csrf


def packs(env: Env) -> list[rows.PackRow]:
    with env.store.transaction() as tx:
        return rows.for_mention(tx, env.mention_id)


def test_capture_evidence_now_makes_an_audited_verified_pack(
    env: Env, server: FixtureServer
) -> None:
    mid = env.mention_id
    target = f"/mentions/{mid}/evidence"

    # Refusals first: none of them captures anything or reaches the page.
    csrf = sign_in(env, "gov@ankermoor.example.org", "ankermoor", Role.VIEWER)
    assert env.client.post(target, data={"csrf_token": csrf}).status_code == 403
    csrf = sign_in(env, "head@brook.example.org", "brook", Role.HEAD)
    assert env.client.post(target, data={"csrf_token": csrf}).status_code == 404
    csrf = sign_in(env, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    assert env.client.post(target, data={}).status_code == 403  # no CSRF token
    assert env.client.get(target).status_code == 405
    assert env.client.head(target).status_code == 405
    page = env.client.get(f"/mentions/{mid}")
    assert page.status_code == 200 and "Capture evidence now" in page.text
    assert packs(env) == [] and env.store.audit_entries(action="evidence.capture") == []
    assert server.hits["/post.html"] == 0

    # The head asks: one pack, made now, audited, and it verifies.
    got = env.client.post(target, data={"csrf_token": csrf})
    assert got.status_code == 303 and got.headers["location"] == f"/mentions/{mid}#evidence"
    (row,) = packs(env)
    assert row.status == rows.OK and row.requested_by == "user:head@ankermoor.example.org"
    folder = Path(row.path)
    assert verify(folder) == []
    meta = json.loads((folder / "capture.json").read_text())
    assert meta["url"] == env.url and meta["requested_by"] == "user:head@ankermoor.example.org"
    bodies = warc_bodies(folder)
    assert bodies[env.url] and all(b == env.page for b in bodies[env.url])
    assert PHOTO in bodies[env.url.replace("/post.html", "/photo.png")]
    (entry,) = env.store.audit_entries(action="evidence.capture")
    assert (entry.entry.actor, entry.entry.target, entry.entry.academy_id) == (
        "user:head@ankermoor.example.org",
        f"pack:{row.id}",
        "ankermoor",
    )
    assert entry.entry.detail == f"mention:{mid} status=ok"
    shown = env.client.get(f"/mentions/{mid}")
    assert f"Pack {row.id}" in shown.text and "verifies" in shown.text

    # Reading the page again, by GET or HEAD, captures nothing more.
    env.client.get(f"/mentions/{mid}")
    env.client.head(f"/mentions/{mid}")
    assert len(packs(env)) == 1 and len(env.store.audit_entries(action="evidence.capture")) == 1
