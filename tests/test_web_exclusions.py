"""The admin page of matcher exclusions (/admin/exclusions) through the real app: who may see and
decide (admin or DPO of the academy; everyone else 404), CSRF refusal, GET and HEAD never changing
anything, every decision audited (web and CLI), and an applied exclusion stopping the match in the
next runner built."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.config import Settings
from monitor.corrections import NOT_ABOUT_US, record_correction
from monitor.jobs import JobContext
from monitor.roles import Role
from monitor.store import Store
from monitor.store.corrections import ExclusionProposal
from tests.alerts_support import store_mention
from tests.auth_support import signed_in
from tests.oversight_support import T0, Clock, oversight_app, oversight_settings

BASE = "http://testserver"
PLAY = "Ankermoor Primary Academy Players stage Macbeth at the town hall"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, Store, TestClient]]:
    settings = oversight_settings(tmp_path)
    store = Store.open(settings.database_url)
    try:
        with TestClient(
            oversight_app(settings, store, Clock()), base_url=BASE, follow_redirects=False
        ) as client:
            yield settings, store, client
    finally:
        store.close()


def _as(
    client: TestClient, store: Store, settings: Settings, email: str, academy: str, role: Role
) -> str:
    cookies, csrf = signed_in(store, settings, T0, email=email, academy=academy, role=role)
    client.cookies.clear()
    client.cookies.update(cookies)
    return csrf


def _proposal(store: Store, settings: Settings, text: str = PLAY) -> ExclusionProposal:
    """A mention the head marks "not about us", and the exclusion that proposes."""
    m, _ = store_mention(store, settings, title="", text=text, now=T0)
    with store.transaction() as tx:
        done = record_correction(tx, m.id, NOT_ABOUT_US, [], "head@ankermoor.example.org", T0)
    assert done.proposal is not None
    return done.proposal


def _status(store: Store, proposal_id: int) -> str:
    (p,) = [p for p in store.exclusion_proposals() if p.id == proposal_id]
    return p.status


def _matched(settings: Settings, store: Store, text: str) -> list[str]:
    """What a runner built now matches in `text` (the applied exclusions are read at build)."""
    ctx = JobContext(settings, store, score=False)
    return [m.organisation for m in ctx.runner().matcher.match("", text)]


def test_roles_see_and_decide_only_their_academies(
    env: tuple[Settings, Store, TestClient],
) -> None:
    settings, store, client = env
    p = _proposal(store, settings)
    assert p.phrase == "Ankermoor Primary Academy Players"
    r = client.get("/admin/exclusions")
    assert r.status_code == 303 and r.headers["location"].startswith("/signin")

    for email, academy, role in [
        ("it@trust.example.org", "*", Role.ADMIN),
        ("dpo@ankermoor.example.org", "ankermoor", Role.DPO),
    ]:
        _as(client, store, settings, email, academy, role)
        page = client.get("/admin/exclusions")
        assert page.status_code == 200, email
        assert "Ankermoor Primary Academy Players" in page.text
        assert "Ankermoor Primary Academy" in page.text  # the academy, by its display name
        assert "head@ankermoor.example.org" in page.text  # who proposed it
        assert "Macbeth" not in page.text  # never the post's text
        assert f'action="/admin/exclusions/{p.id}/apply"' in page.text
        assert 'href="/admin/exclusions"' in client.get("/").text  # the header link

    for email, academy, role in [
        ("head@ankermoor.example.org", "ankermoor", Role.HEAD),
        ("dsl@ankermoor.example.org", "ankermoor", Role.DSL),
        ("deputy@ankermoor.example.org", "ankermoor", Role.VIEWER),
    ]:
        csrf = _as(client, store, settings, email, academy, role)
        assert client.get("/admin/exclusions").status_code == 404, email
        assert 'href="/admin/exclusions"' not in client.get("/").text
        r = client.post(f"/admin/exclusions/{p.id}/apply", data={"csrf_token": csrf})
        assert r.status_code == 404, email

    # An admin of another academy sees the page, but not this academy's proposal.
    csrf = _as(client, store, settings, "it@brook.example.org", "brook", Role.ADMIN)
    page = client.get("/admin/exclusions")
    assert page.status_code == 200 and "Players" not in page.text
    r = client.post(f"/admin/exclusions/{p.id}/apply", data={"csrf_token": csrf})
    assert r.status_code == 404
    assert _status(store, p.id) == "proposed"
    assert store.audit_entries(action="exclusion.apply") == []


def test_csrf_and_get_head_change_nothing(env: tuple[Settings, Store, TestClient]) -> None:
    settings, store, client = env
    p = _proposal(store, settings)
    csrf = _as(client, store, settings, "it@trust.example.org", "*", Role.ADMIN)
    path = f"/admin/exclusions/{p.id}/apply"
    audited = len(store.audit_entries())
    assert client.post(path, data={}).status_code == 403
    assert client.post(path, data={"csrf_token": "wrong"}).status_code == 403
    r = client.post(path, data={"csrf_token": csrf}, headers={"origin": "https://evil.example"})
    assert r.status_code == 403
    for method in ("GET", "HEAD"):
        assert client.request(method, "/admin/exclusions").status_code == 200
        assert client.request(method, path).status_code == 405
    assert _status(store, p.id) == "proposed"
    assert len(store.audit_entries()) == audited
    # Unknown ids and decisions are 404, not a crash.
    for bad in ("/admin/exclusions/999/apply", f"/admin/exclusions/{p.id}/delete"):
        assert client.post(bad, data={"csrf_token": csrf}).status_code == 404, bad


def test_apply_stops_the_match_in_the_next_runner_and_is_audited(
    env: tuple[Settings, Store, TestClient],
) -> None:
    settings, store, client = env
    play = _proposal(store, settings)
    other = _proposal(store, settings, "Ankermoor Primary Academy Rovers lose again on Saturday")
    assert _matched(settings, store, PLAY) == ["ankermoor"]
    csrf = _as(client, store, settings, "it@trust.example.org", "*", Role.ADMIN)

    r = client.post(f"/admin/exclusions/{play.id}/apply", data={"csrf_token": csrf})
    assert (r.status_code, r.headers["location"]) == (303, "/admin/exclusions")
    r = client.post(f"/admin/exclusions/{other.id}/reject", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert (_status(store, play.id), _status(store, other.id)) == ("applied", "rejected")
    assert _matched(settings, store, PLAY) == []
    # The academy itself still matches, and so does the rejected phrase.
    assert _matched(settings, store, "Ankermoor Primary Academy sports day") == ["ankermoor"]
    assert _matched(settings, store, "Ankermoor Primary Academy Rovers lose") == ["ankermoor"]

    page = client.get("/admin/exclusions").text
    assert "applied by it@trust.example.org" in page and "rejected by it@trust.example.org" in page
    assert "/apply" not in page  # nothing left to decide
    audit = [
        (a.entry.actor, a.entry.action, a.entry.academy_id, a.entry.target, a.entry.detail)
        for a in store.audit_entries()
        if a.entry.action.startswith("exclusion.")
    ]
    assert audit == [
        (
            "user:it@trust.example.org",
            "exclusion.apply",
            "ankermoor",
            f"exclusion:{play.id}",
            "Ankermoor Primary Academy Players",
        ),
        (
            "user:it@trust.example.org",
            "exclusion.reject",
            "ankermoor",
            f"exclusion:{other.id}",
            "Ankermoor Primary Academy Rovers",
        ),
    ]
    # Deciding again is refused with its reason, and changes nothing.
    r = client.post(f"/admin/exclusions/{play.id}/reject", data={"csrf_token": csrf})
    assert r.status_code == 409 and "already applied" in r.text
    assert _status(store, play.id) == "applied"
    assert len([a for a in store.audit_entries() if a.entry.action.startswith("excl")]) == 2
