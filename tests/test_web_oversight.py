"""The oversight pages through the real app (Starlette's TestClient): role boundaries of the
removal panel, the breach log and the health page; CSRF refusal; GET and HEAD never changing
state; every removal request, check, decision and export on the audit log (web and CLI)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from starlette.testclient import TestClient

from monitor.cli import cli
from monitor.config import Settings
from monitor.roles import Role
from monitor.store import Store
from monitor.store.schema import BreachDecisionRecord, RemovalCheckRecord, RemovalRecord
from monitor.web.breaches import parse_timeline_lines
from tests.auth_support import signed_in
from tests.oversight_support import (
    T0,
    Clock,
    leak_incident,
    oversight_app,
    oversight_settings,
    post_mention,
)
from tests.servers import FixtureServer, Reply, fixture_server

BASE = "http://testserver"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, Store, TestClient, Clock]]:
    settings = oversight_settings(tmp_path)
    store = Store.open(settings.database_url)
    clock = Clock()
    try:
        with TestClient(
            oversight_app(settings, store, clock), base_url=BASE, follow_redirects=False
        ) as client:
            yield settings, store, client, clock
    finally:
        store.close()


def _as(
    client: TestClient,
    store: Store,
    settings: Settings,
    email: str,
    academy: str,
    role: Role,
    now: datetime = T0,
) -> str:
    cookies, csrf = signed_in(store, settings, now, email=email, academy=academy, role=role)
    client.cookies.clear()
    client.cookies.update(cookies)
    return csrf


def _counts(store: Store) -> tuple[int, ...]:
    with store.session() as s:
        rows = tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0)
            for t in (RemovalRecord, RemovalCheckRecord, BreachDecisionRecord)
        )
    return (*rows, len(store.audit_entries()))


def test_head_records_and_checks_a_removal_and_both_are_audited(
    env: tuple[Settings, Store, TestClient, Clock], server: FixtureServer
) -> None:
    settings, store, client, clock = env
    server.routes["/post"] = Reply(404, b"gone", {"content-type": "text/plain"})
    mid = post_mention(store, settings, server.url("/post"))
    csrf = _as(client, store, settings, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    page = client.get(f"/mentions/{mid}")
    assert page.status_code == 200
    assert (
        "Reported to platform" in page.text and "Professionals Online Safety Helpline" in page.text
    )
    r = client.post(
        f"/mentions/{mid}/removals",
        data={
            "csrf_token": csrf,
            "kind": "reported_to_platform",
            "platform": "Forum",
            "reference": "R-7",
            "reported_at": "2026-11-28T08:30",
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/mentions/{mid}#removals")
    (req,) = store.removals(mention_id=mid)
    assert (req.platform, req.reference, req.reported_at) == (
        "Forum",
        "R-7",
        T0.replace(minute=30, hour=8),
    )
    r = client.post(f"/mentions/{mid}/removals/{req.id}/check", data={"csrf_token": csrf})
    assert r.status_code == 303
    row = store.removal(req.id)
    assert row is not None and row.status == "gone_once"
    assert "gone once" in client.get(f"/mentions/{mid}").text
    audit = [
        (a.entry.actor, a.entry.action, a.entry.target)
        for a in store.audit_entries(action="removal")
    ]
    assert audit == [
        ("user:head@ankermoor.example.org", "removal.request", f"mention:{mid}"),
        ("user:head@ankermoor.example.org", "removal.check", f"mention:{mid}"),
    ]
    # A request without a platform is refused with a one-line reason, nothing stored.
    r = client.post(
        f"/mentions/{mid}/removals",
        data={"csrf_token": csrf, "kind": "reported_to_platform", "platform": " "},
    )
    assert r.status_code == 303 and "removal_error=" in r.headers["location"]
    assert "Say which platform" in client.get(r.headers["location"]).text
    assert len(store.removals(mention_id=mid)) == 1


def test_a_viewer_sees_the_status_read_only_and_cannot_post(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, _ = env
    mid = post_mention(store, settings, "https://forum.example.org/t/1")
    head = _as(client, store, settings, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    client.post(
        f"/mentions/{mid}/removals", data={"csrf_token": head, "kind": "requested_from_poster"}
    )
    csrf = _as(client, store, settings, "deputy@ankermoor.example.org", "ankermoor", Role.VIEWER)
    page = client.get(f"/mentions/{mid}")
    assert "removal requested from poster" in page.text and "Check now" not in page.text
    assert "Reported to platform" not in page.text
    before = _counts(store)
    r = client.post(
        f"/mentions/{mid}/removals", data={"csrf_token": csrf, "kind": "requested_from_poster"}
    )
    assert r.status_code == 403
    (req,) = store.removals(mention_id=mid)
    assert (
        client.post(
            f"/mentions/{mid}/removals/{req.id}/check", data={"csrf_token": csrf}
        ).status_code
        == 403
    )
    assert _counts(store) == before
    # A head of another academy gets 404 for the mention's removal routes, as for the page.
    other = _as(client, store, settings, "head@brook.example.org", "brook", Role.HEAD)
    assert (
        client.post(
            f"/mentions/{mid}/removals", data={"csrf_token": other, "kind": "requested_from_poster"}
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/mentions/{mid}/removals/{req.id}/check", data={"csrf_token": other}
        ).status_code
        == 404
    )
    assert _counts(store) == before


def test_cross_site_or_tokenless_posts_are_refused(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, _ = env
    mid = post_mention(store, settings, "https://forum.example.org/t/2")
    _, incident = leak_incident(store, settings)
    csrf = _as(client, store, settings, "dpo@trust.example.org", "*", Role.DPO)
    before = _counts(store)
    posts = [
        (f"/mentions/{mid}/removals", {"kind": "requested_from_poster"}),
        (f"/breaches/{incident}/decision", {"report_to_ico": "no", "reasoning": "x"}),
        ("/breaches/export", {"format": "csv"}),
    ]
    for path, data in posts:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data=data | {"csrf_token": "wrong"}).status_code == 403, path
        r = client.post(
            path, data=data | {"csrf_token": csrf}, headers={"origin": "https://evil.example"}
        )
        assert r.status_code == 403, path
    assert _counts(store) == before


def test_the_breach_log_is_for_the_dpo_only(env: tuple[Settings, Store, TestClient, Clock]) -> None:
    settings, store, client, _ = env
    _, mine = leak_incident(store, settings, "ankermoor")
    _, theirs = leak_incident(store, settings, "brook")
    csrf = _as(client, store, settings, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    assert client.get("/breaches").status_code == 404
    assert client.get(f"/breaches/{mine}").status_code == 404
    assert (
        client.post("/breaches/export", data={"csrf_token": csrf, "format": "csv"}).status_code
        == 404
    )
    assert client.get("/admin/health").status_code == 404
    csrf = _as(client, store, settings, "dpo@ankermoor.example.org", "ankermoor", Role.DPO)
    log_page = client.get("/breaches")
    assert log_page.status_code == 200 and mine in log_page.text and theirs not in log_page.text
    assert "72 h 0 min left" in log_page.text
    assert client.get(f"/breaches/{theirs}").status_code == 404
    r = client.post(
        f"/breaches/{theirs}/decision",
        data={"csrf_token": csrf, "report_to_ico": "no", "reasoning": "x"},
    )
    assert r.status_code == 404 and not store.breach_decisions()
    assert client.get("/admin/health").status_code == 200  # a DPO may see the health page
    _as(client, store, settings, "it@trust.example.org", "*", Role.ADMIN)
    health = client.get("/admin/health")
    assert health.status_code == 200 and "Outbox" in health.text and "heads" in health.text
    assert "class list" not in health.text  # no mention text
    assert client.get("/breaches").status_code == 404
    client.cookies.clear()
    assert client.get("/breaches").headers["location"].startswith("/signin?next=")


def test_a_decision_through_the_form_then_the_audited_export(
    env: tuple[Settings, Store, TestClient, Clock],
) -> None:
    settings, store, client, clock = env
    _, incident = leak_incident(store, settings)
    clock.now = T0 + timedelta(hours=49)  # 23 h left
    csrf = _as(client, store, settings, "dpo@trust.example.org", "*", Role.DPO, clock.now)
    assert "23 h 0 min left" in client.get(f"/breaches/{incident}").text
    bad = client.post(
        f"/breaches/{incident}/decision",
        data={
            "csrf_token": csrf,
            "report_to_ico": "yes",
            "reasoning": "r",
            "timeline": "yesterday lunch",
        },
    )
    assert (
        bad.status_code == 400 and "YYYY-MM-DD HH:MM" in bad.text and not store.breach_decisions()
    )
    r = client.post(
        f"/breaches/{incident}/decision",
        data={
            "csrf_token": csrf,
            "report_to_ico": "yes",
            "reasoning": "Home addresses of pupils",
            "people_told": "Headteacher\nChair of governors",
            "timeline": "2026-11-28 09:40 Post reported\n2026-11-28 09:10 Head told",
        },
    )
    assert (r.status_code, r.headers["location"]) == (303, f"/breaches/{incident}#history")
    page = client.get(f"/breaches/{incident}").text
    assert "report to the ICO" in page and "Chair of governors" in page
    assert page.index("09:10 Head told") < page.index("09:40 Post reported")
    exported = client.post("/breaches/export", data={"csrf_token": csrf, "format": "csv"})
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment;")
    (row,) = csv.DictReader(io.StringIO(exported.text))
    assert (row["incident"], row["decision"], row["people_told"]) == (
        incident,
        "report to ICO",
        "Headteacher; Chair of governors",
    )
    as_json = client.post("/breaches/export", data={"csrf_token": csrf, "format": "json"})
    assert as_json.json()[0]["decision"]["reasoning"] == "Home addresses of pupils"
    assert (
        client.post("/breaches/export", data={"csrf_token": csrf, "format": "xml"}).status_code
        == 400
    )
    audit = [(a.entry.action, a.entry.target) for a in store.audit_entries(action="breach")]
    assert audit == [
        ("breach.decision", f"incident:{incident}"),
        ("breach.export", "breach log"),
        ("breach.export", "breach log"),
    ]


def test_get_and_head_never_change_state(
    env: tuple[Settings, Store, TestClient, Clock], server: FixtureServer
) -> None:
    settings, store, client, _ = env
    server.routes["/p"] = Reply(404, b"", {})
    mid = post_mention(store, settings, server.url("/p"))
    _, incident = leak_incident(store, settings)
    csrf = _as(client, store, settings, "dpo@trust.example.org", "*", Role.DPO)
    client.post(
        f"/mentions/{mid}/removals", data={"csrf_token": csrf, "kind": "requested_from_poster"}
    )
    (req,) = store.removals()
    before = _counts(store)
    for path in (
        f"/mentions/{mid}",
        f"/mentions/{mid}/removals",
        f"/mentions/{mid}/removals/{req.id}/check",
        "/breaches",
        f"/breaches/{incident}",
        f"/breaches/{incident}/decision",
        "/breaches/export",
        "/admin/health",
    ):
        for method in ("GET", "HEAD"):
            r = client.request(method, path, params={"format": "csv", "report_to_ico": "yes"})
            # /breaches/export read as an incident id: 404
            assert r.status_code in (200, 404, 405), (method, path, r.status_code)
    assert _counts(store) == before
    assert server.hits["/p"] == 0


def test_timeline_lines_are_read_as_utc_and_sorted() -> None:
    got = parse_timeline_lines("\n2026-11-28 10:00 b\n2026-11-28 09:00 a thing\n")
    assert [(e.at.isoformat(), e.what) for e in got] == [
        ("2026-11-28T09:00:00+00:00", "a thing"),
        ("2026-11-28T10:00:00+00:00", "b"),
    ]
    with pytest.raises(ValueError, match="HH:MM"):
        parse_timeline_lines("2026-11-28 25:00 late")


def test_the_commands_write_removals_decisions_and_exports_to_the_audit_log(
    tmp_path: Path,
) -> None:
    settings = oversight_settings(tmp_path)
    store = Store.open(settings.database_url)
    mid = post_mention(store, settings, "https://forum.example.org/t/9")
    _, incident = leak_incident(store, settings)
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        f'database_url = "{settings.database_url}"\n[mail]\nfrom_address = "m@x.example.org"\n'
        f'outbox_dir = "{tmp_path}/outbox"\n[[academies]]\nid = "ankermoor"\n'
        'display_name = "Ankermoor"\nnames = ["Ankermoor"]\nrecipients = ["h@x.example.org"]\n'
    )
    run = CliRunner()
    for args in (
        ["removals", "add", str(mid), "--reported-to", "Forum", "--by", "head@x.example.org"],
        [
            "breaches",
            "decide",
            incident,
            "--no-report",
            "--reasoning",
            "low",
            "--by",
            "dpo@x.example.org",
        ],
        ["breaches", "export", "--output", str(tmp_path / "log.csv")],
    ):
        result = run.invoke(cli, ["--config", str(cfg), *args], obj=lambda: T0)
        assert result.exit_code == 0, result.output
    audit = store.audit_entries()
    assert [(a.entry.action, a.entry.client) for a in audit] == [
        ("removal.request", "cli"),
        ("breach.decision", "cli"),
        ("breach.export", "cli"),
    ]
    assert all(a.entry.actor.startswith("cli:") for a in audit)
    store.close()
