"""The inbox page and the triage routes through the real app (Starlette's TestClient, a real
SQLite file): filters and counts, cursor pages, redaction, the mention page's details and
timeline, and the triage POSTs: CSRF, GET/HEAD never changing state, read-only roles, refused
moves, audit rows for status changes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.config import Settings
from monitor.models import Evidence, Severity
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.triage import Status
from monitor.web import create_app
from tests.alerts_support import make_settings
from tests.auth_support import signed_in
from tests.inbox_support import add_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BASE = "http://testserver"
HEAD = "head@ankermoor.example.org"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    settings: Settings
    store: Store
    client: TestClient
    clock: Clock

    def sign_in(self, email: str = HEAD, academy: str = "ankermoor", role: Role = Role.HEAD) -> str:
        cookies, csrf = signed_in(
            self.store, self.settings, self.clock(), email=email, academy=academy, role=role
        )
        self.client.cookies.clear()
        self.client.cookies.update(cookies)
        return csrf


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": BASE},
        academies=[
            {
                "id": "ankermoor",
                "display_name": "Ankermoor",
                "names": ["Ankermoor"],
                "sources": [{"kind": "feed", "name": "gazette", "url": "https://example.org/f"}],
            },
            {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
        ],
    )
    store = Store.open(settings.database_url)
    clock = Clock()
    app = create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], clock(), scheduler_alive=True),
        clock=clock,
    )
    try:
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            yield Env(settings, store, client, clock)
    finally:
        store.close()


def _ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<a href="/mentions/(\d+)">', html)]


def _status(store: Store, mid: int) -> Status:
    d = store.mention_detail(mid)
    assert d is not None
    return d.status


def test_inbox_orders_by_seriousness_then_newest_and_filters(env: Env) -> None:
    s = env.store
    old_urgent = add_mention(
        s,
        T0 - timedelta(days=3),
        severity=Severity.URGENT,
        categories=["harassment"],
        title="Ankermoor teacher harassed",
    )
    digest_new = add_mention(s, T0 - timedelta(hours=1), title="Ankermoor fete photos")
    unscored = add_mention(s, T0, severity=None, title="Ankermoor bus late")
    other = add_mention(s, T0, academy="brook", title="Brook news")
    env.sign_in()
    r = env.client.get("/")
    assert r.status_code == 200
    assert _ids(r.text) == [old_urgent, digest_new, unscored]  # brook is not this head's
    assert other not in _ids(r.text)
    assert "new 3" in r.text and "all 3" in r.text
    # Filters: urgent only, category, search, date range, status.
    assert _ids(env.client.get("/?urgent=1").text) == [old_urgent]
    assert _ids(env.client.get("/?category=harassment").text) == [old_urgent]
    assert _ids(env.client.get("/?q=FETE").text) == [digest_new]
    assert _ids(env.client.get("/?from=2026-11-28&until=2026-11-28").text) == [
        digest_new,
        unscored,
    ]
    assert _ids(env.client.get("/?until=2026-11-25").text) == [old_urgent]
    assert _ids(env.client.get("/?status=closed").text) == []
    # A filter the viewer may not use is a clear 400, not someone else's data.
    bad = env.client.get("/?academy=brook")
    assert bad.status_code == 400 and "no such academy" in bad.text
    assert env.client.get("/?from=28/11/2026").status_code == 400
    assert env.client.get("/?cursor=nonsense").status_code == 400


def test_inbox_source_filter_titles_redacted_and_muted_label(env: Env) -> None:
    s = env.store
    a = add_mention(s, T0, source="gazette", title="Call 07700 900123 at Ankermoor", author="@x")
    b = add_mention(s, T0 - timedelta(minutes=1), source="forum", title="Ankermoor forum")
    csrf = env.sign_in()
    assert _ids(env.client.get("/?source=ankermoor/gazette").text) == [a]
    page = env.client.get("/").text
    assert "07700 900123" not in page and "[phone removed]" in page
    assert "muted" not in page.split("<tbody>")[1]
    r = env.client.post(f"/mentions/{a}/triage", data={"do": "mute_author", "csrf_token": csrf})
    assert r.status_code == 303
    rows = env.client.get("/").text.split("<tbody>")[1].split("</tr>")
    assert "muted" in rows[0] and "muted" not in rows[1]  # labelled, never dropped
    assert _ids(env.client.get("/").text) == [a, b]


def test_older_link_pages_by_cursor(env: Env) -> None:
    ids = [add_mention(env.store, T0 - timedelta(minutes=i)) for i in range(55)]
    env.sign_in()
    first = env.client.get("/").text
    assert _ids(first) == ids[:50]
    m = re.search(r'<a href="([^"]+)" rel="next">Older</a>', first)
    assert m
    second = env.client.get(m.group(1).replace("&amp;", "&"))
    assert _ids(second.text) == ids[50:]
    assert 'rel="next"' not in second.text


def test_mention_page_shows_details_copies_and_timeline(env: Env) -> None:
    s = env.store
    text = "Ankermoor teacher is a disgrace, ring 07700 900123"
    first = add_mention(
        s,
        T0,
        title="Ankermoor post",
        text=text,
        author="@angry.parent",
        severity=Severity.URGENT,
        categories=["harassment"],
        cluster="story-1",
        evidence=[Evidence(15, 35, "phrase", "harassment", "teacher is a disgrace")],
    )
    copy = add_mention(s, T0 + timedelta(minutes=5), source="forum", cluster="story-1")
    # The same cluster id in another academy is another story: never listed.
    add_mention(s, T0, academy="brook", cluster="story-1")
    csrf = env.sign_in()
    page = env.client.get(f"/mentions/{first}").text
    assert "@angry.parent" in page and "2026-11-28 09:00 UTC" in page
    assert f'href="/mentions/{copy}"' in page and page.count('href="/mentions/') == 1
    assert "teacher is a disgrace" in page
    assert "07700 900123" not in page
    env.client.post(f"/mentions/{first}/triage", data={"do": "acknowledge", "csrf_token": csrf})
    env.client.post(
        f"/mentions/{first}/triage",
        data={"do": "note", "text": "Rang the parent", "csrf_token": csrf},
    )
    env.client.post(f"/mentions/{first}/reveal", data={"csrf_token": csrf})
    page = env.client.get(f"/mentions/{first}").text
    timeline = page.split("Timeline")[1]
    assert timeline.index("status new → acknowledged") < timeline.index("note: Rang the parent")
    assert "full text shown (audited)" in timeline


def test_triage_through_to_closed_with_audit_rows(env: Env) -> None:
    mid = add_mention(env.store, T0, categories=["reputation"])
    csrf = env.sign_in()
    for do, extra in [
        ("acknowledge", {}),
        ("assign", {"owner": "me"}),
        ("status", {"status": "action_taken"}),
        ("categories", {"category": ["reputation", "harassment"]}),
        ("status", {"status": "closed"}),
    ]:
        r = env.client.post(f"/mentions/{mid}/triage", data={"do": do, "csrf_token": csrf, **extra})
        assert r.status_code == 303, r.text
        assert r.headers["location"] == f"/mentions/{mid}#triage"
    d = env.store.mention_detail(mid)
    assert d is not None and d.status is Status.CLOSED and d.owner == HEAD
    assert d.assessment is not None and set(d.assessment.categories) == {"harassment", "reputation"}
    [c] = env.store.corrections()
    assert (c.kind, set(c.categories)) == ("wrong_categories", {"harassment", "reputation"})
    rows = [r.entry for r in env.store.audit_entries(action="status")]
    assert [r.detail for r in rows] == [
        "new -> acknowledged",
        "acknowledged -> action_taken",
        "action_taken -> closed",
    ]
    assert {(r.actor, r.target, r.academy_id) for r in rows} == {
        (f"user:{HEAD}", f"mention:{mid}", "ankermoor")
    }
    # Reopen.
    r = env.client.post(
        f"/mentions/{mid}/triage",
        data={"do": "status", "status": "acknowledged", "csrf_token": csrf},
    )
    assert r.status_code == 303 and _status(env.store, mid) is Status.ACKNOWLEDGED


def test_invalid_transition_gets_a_clear_message_and_changes_nothing(env: Env) -> None:
    mid = add_mention(env.store, T0)
    csrf = env.sign_in()
    r = env.client.post(
        f"/mentions/{mid}/triage",
        data={"do": "status", "status": "action_taken", "csrf_token": csrf},
    )
    assert r.status_code == 409
    assert "cannot go from new to action_taken" in r.text
    assert f'href="/mentions/{mid}"' in r.text
    assert _status(env.store, mid) is Status.NEW and env.store.audit_entries(action="status") == []
    r = env.client.post(f"/mentions/{mid}/triage", data={"do": "explode", "csrf_token": csrf})
    assert r.status_code == 409 and "unknown triage action" in r.text


def test_not_about_us_closes_and_records_the_correction(env: Env) -> None:
    mid = add_mention(env.store, T0, categories=["reputation"])
    csrf = env.sign_in()
    r = env.client.post(f"/mentions/{mid}/triage", data={"do": "not_about_us", "csrf_token": csrf})
    assert r.status_code == 303
    d = env.store.mention_detail(mid)
    assert d is not None and d.status is Status.CLOSED
    assert d.assessment is not None and d.assessment.categories == ()
    assert d.scored_categories == ("reputation",)
    assert [r.entry.detail for r in env.store.audit_entries(action="status")] == ["new -> closed"]
    # Kept as a labelled example for retraining, with who made it, and audited.
    [c] = env.store.corrections()
    assert (c.mention_id, c.kind, c.made_by, tuple(c.categories)) == (
        mid,
        "not_about_us",
        HEAD,
        (),
    )
    assert [r.entry.detail for r in env.store.audit_entries(action="correction")] == [
        "not_about_us"
    ]


def test_csrf_missing_or_cross_site_is_refused(env: Env) -> None:
    mid = add_mention(env.store, T0)
    csrf = env.sign_in()
    assert env.client.post(f"/mentions/{mid}/triage", data={"do": "acknowledge"}).status_code == 403
    wrong = {"do": "acknowledge", "csrf_token": csrf + "x"}
    assert env.client.post(f"/mentions/{mid}/triage", data=wrong).status_code == 403
    cross = env.client.post(
        f"/mentions/{mid}/triage",
        data={"do": "acknowledge", "csrf_token": csrf},
        headers={"Origin": "https://evil.example.com"},
    )
    assert cross.status_code == 403
    assert _status(env.store, mid) is Status.NEW


def test_get_and_head_never_change_state(env: Env) -> None:
    mid = add_mention(env.store, T0)
    env.sign_in()
    for method in ("GET", "HEAD"):
        r = env.client.request(method, f"/mentions/{mid}/triage", params={"do": "acknowledge"})
        assert r.status_code == 405
        assert env.client.request(method, f"/mentions/{mid}").status_code == 200
        assert env.client.request(method, "/?status=acknowledged").status_code == 200
    assert _status(env.store, mid) is Status.NEW
    with env.store.transaction() as tx:
        assert tx.timeline(mid) == []


def test_viewer_reads_status_but_cannot_triage(env: Env) -> None:
    mid = add_mention(env.store, T0)
    csrf = env.sign_in("deputy@ankermoor.example.org", role=Role.VIEWER)
    page = env.client.get(f"/mentions/{mid}").text
    assert "Status: <strong" in page and "read-only" in page
    assert "/triage" not in page
    r = env.client.post(f"/mentions/{mid}/triage", data={"do": "acknowledge", "csrf_token": csrf})
    assert r.status_code == 403
    assert _status(env.store, mid) is Status.NEW


def test_another_academys_mention_is_404_for_triage(env: Env) -> None:
    theirs = add_mention(env.store, T0, academy="brook")
    csrf = env.sign_in()
    assert env.client.get(f"/mentions/{theirs}").status_code == 404
    r = env.client.post(
        f"/mentions/{theirs}/triage", data={"do": "acknowledge", "csrf_token": csrf}
    )
    assert r.status_code == 404
    r = env.client.post("/mentions/999999/triage", data={"do": "acknowledge", "csrf_token": csrf})
    assert r.status_code == 404
    assert _status(env.store, theirs) is Status.NEW
