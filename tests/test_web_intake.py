"""The report form, the intake link and the evidence panel through the real app (TestClient):
link rotation, CSRF on both forms, the viewer role, the body bound (declared and streamed), the
pack download (zip that verifies, custody line, audit row) and the academy boundary."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from monitor.config import Settings
from monitor.evidence import verify
from monitor.evidence.pack import CUSTODY
from monitor.intake import new_intake_link
from monitor.jobs import JobContext, capture_evidence_sweep
from monitor.roles import Role
from monitor.service import collect_health
from monitor.store import Store
from monitor.store import evidence as pack_rows
from monitor.web import create_app
from monitor.web import intake as web_intake
from tests.alerts_support import make_settings
from tests.auth_support import signed_in

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
BASE = "http://testserver"


@dataclass
class Env:
    settings: Settings
    store: Store
    ctx: JobContext
    client: TestClient


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": BASE},
        academies=[
            {"id": "ankermoor", "display_name": "Ankermoor", "names": ["Ankermoor"]},
            {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
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
    try:
        with TestClient(app, base_url=BASE, follow_redirects=False) as client:
            yield Env(settings, store, ctx, client)
    finally:
        ctx.close()


def _n_mentions(store: Store) -> int:
    return len(store.mentions(organisation="ankermoor", limit=1000)) + len(
        store.mentions(organisation="brook", limit=1000)
    )


def _link_token(client: TestClient, secret: str) -> str:
    page = client.get(f"/report/{secret}")
    assert page.status_code == 200, page.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m is not None
    return m.group(1)


def _sign_in(env: Env, email: str, academy: str, role: Role) -> str:
    cookies, csrf = signed_in(env.store, env.settings, NOW, email=email, academy=academy, role=role)
    env.client.cookies.clear()
    for k, v in cookies.items():
        env.client.cookies.set(k, v)
    return csrf


def test_a_rotated_intake_link_stops_working_at_once(env: Env) -> None:
    old = new_intake_link(env.store, "ankermoor", NOW)
    token = _link_token(env.client, old)
    assert "Ankermoor" in env.client.get(f"/report/{old}").text
    new = new_intake_link(env.store, "ankermoor", NOW)
    assert env.client.get(f"/report/{old}").status_code == 404
    sent = env.client.post(
        f"/report/{old}", data={"csrf_token": token, "note": "Ankermoor post", "seen_where": "x"}
    )
    assert sent.status_code == 404 and "not (or no longer) valid" in sent.text
    assert _n_mentions(env.store) == 0
    assert env.client.get(f"/report/{new}").status_code == 200
    ok = env.client.post(
        f"/report/{new}",
        data={
            "csrf_token": _link_token(env.client, new),
            "note": "Ankermoor staff named",
            "seen_where": "PTA group",
        },
    )
    assert ok.status_code == 200 and "Thank you" in ok.text and "/mentions/" not in ok.text
    ((mention, _),) = env.store.mentions(organisation="ankermoor", limit=5)
    (report,) = env.store.intake.reports_for_mention(mention.id)
    assert report.reporter == "intake link: PTA group" and report.source == "reported"


def test_the_intake_link_form_needs_its_own_token(env: Env) -> None:
    secret = new_intake_link(env.store, "ankermoor", NOW)
    other = new_intake_link(env.store, "brook", NOW)
    data = {"note": "Ankermoor pupils named", "seen_where": "group"}
    assert env.client.post(f"/report/{secret}", data=data).status_code == 403
    forged = {**data, "csrf_token": "1764320400." + "0" * 64}
    assert env.client.post(f"/report/{secret}", data=forged).status_code == 403
    # a genuine token of another academy's link is no token for this one
    wrong = {**data, "csrf_token": _link_token(env.client, other)}
    assert env.client.post(f"/report/{secret}", data=wrong).status_code == 403
    cross = env.client.post(
        f"/report/{secret}",
        data={**data, "csrf_token": _link_token(env.client, secret)},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403
    assert _n_mentions(env.store) == 0


def test_the_signed_in_form_checks_csrf_and_origin(env: Env) -> None:
    csrf = _sign_in(env, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    page = env.client.get("/report")
    assert page.status_code == 200 and "Report a post" in page.text
    data = {"note": "Ankermoor pupils named", "seen_where": "Facebook", "academy": "ankermoor"}
    assert env.client.post("/report", data=data).status_code == 403
    assert env.client.post("/report", data={**data, "csrf_token": "nope"}).status_code == 403
    cross = env.client.post(
        "/report", data={**data, "csrf_token": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert _n_mentions(env.store) == 0
    # another academy than the user's is refused too
    other = env.client.post("/report", data={**data, "csrf_token": csrf, "academy": "brook"})
    assert other.status_code == 403 and _n_mentions(env.store) == 0
    ok = env.client.post("/report", data={**data, "csrf_token": csrf})
    assert ok.status_code == 200
    m = re.search(r'href="/mentions/(\d+)"', ok.text)
    assert m is not None
    (report,) = env.store.intake.reports_for_mention(int(m.group(1)))
    assert report.reporter == "head@ankermoor.example.org"
    assert [e.entry.action for e in env.store.audit_entries(action="intake.report")] == [
        "intake.report"
    ]


def test_signed_out_goes_to_sign_in_and_a_viewer_cannot_report(env: Env) -> None:
    got = env.client.get("/report")
    assert got.status_code == 303 and got.headers["location"].startswith("/signin?next=")
    csrf = _sign_in(env, "gov@ankermoor.example.org", "ankermoor", Role.VIEWER)
    assert env.client.get("/report").status_code == 403
    sent = env.client.post(
        "/report", data={"note": "Ankermoor", "academy": "ankermoor", "csrf_token": csrf}
    )
    assert sent.status_code == 403 and _n_mentions(env.store) == 0


def test_a_body_over_the_bound_is_refused_before_and_while_reading(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_intake, "MAX_BODY", 50_000)
    secret = new_intake_link(env.store, "ankermoor", NOW)
    token = _link_token(env.client, secret)
    files = {"screenshots": ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 80_000, "image/png")}
    declared = env.client.post(f"/report/{secret}", data={"csrf_token": token}, files=files)
    assert declared.status_code == 413 and "too large" in declared.text

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b'--b\r\nContent-Disposition: form-data; name="note"\r\n\r\n'
        for _ in range(20):
            yield b"x" * 5_000

    streamed = env.client.post(
        f"/report/{secret}",
        content=chunks(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
    assert _n_mentions(env.store) == 0


def _reported_pack(env: Env) -> tuple[int, int]:
    """A head of Ankermoor reports through the form; the sweep makes its pack."""
    csrf = _sign_in(env, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    ok = env.client.post(
        "/report",
        data={
            "note": "Ankermoor pupils named",
            "seen_where": "WhatsApp",
            "academy": "ankermoor",
            "csrf_token": csrf,
        },
    )
    m = re.search(r'href="/mentions/(\d+)"', ok.text)
    assert m is not None
    mid = int(m.group(1))
    assert capture_evidence_sweep(env.ctx) == 1
    with env.store.transaction() as tx:
        (pack,) = pack_rows.for_mention(tx, mid)
    assert pack.status == "ok" and pack.requested_by == "automatic (reported mention)"
    return mid, pack.id


def test_download_is_a_verified_zip_with_a_custody_line_and_an_audit_row(env: Env) -> None:
    mid, pid = _reported_pack(env)
    csrf = _sign_in(env, "dsl@ankermoor.example.org", "ankermoor", Role.DSL)
    page = env.client.get(f"/mentions/{mid}")
    assert f"Pack {pid}" in page.text and "verifies" in page.text
    assert "Download pack" in page.text and "Capture evidence now" in page.text
    got = env.client.post(f"/mentions/{mid}/evidence/{pid}/download", data={"csrf_token": csrf})
    assert got.status_code == 200 and got.headers["content-type"] == "application/zip"
    assert "attachment" in got.headers["content-disposition"]
    z = zipfile.ZipFile(io.BytesIO(got.content))
    custody = z.read(CUSTODY).decode().splitlines()
    assert "\texported\tuser:dsl@ankermoor.example.org\t" in custody[-1]
    out = env.store.audit_entries(action="evidence.export")
    assert [(e.entry.actor, e.entry.target, e.entry.academy_id) for e in out] == [
        ("user:dsl@ankermoor.example.org", f"pack:{pid}", "ankermoor")
    ]
    zpath = Path(env.settings.database_url.split("///", 1)[1]).parent / "dl.zip"
    zpath.write_bytes(got.content)
    assert verify(zpath) == []
    # a GET never downloads
    assert env.client.get(f"/mentions/{mid}/evidence/{pid}/download").status_code == 405


def test_only_the_academys_head_dsl_dpo_download(env: Env) -> None:
    mid, pid = _reported_pack(env)
    with env.store.transaction() as tx:
        row = pack_rows.get(tx, pid)
    assert row is not None
    lines = (Path(row.path) / CUSTODY).read_text().count("\n")
    # the head of another academy: the same 404 as a missing mention
    csrf = _sign_in(env, "head@brook.example.org", "brook", Role.HEAD)
    got = env.client.post(f"/mentions/{mid}/evidence/{pid}/download", data={"csrf_token": csrf})
    assert got.status_code == 404
    assert (
        env.client.post(f"/mentions/{mid}/evidence", data={"csrf_token": csrf}).status_code == 404
    )
    # a viewer of the academy sees the list but may not open a pack
    csrf = _sign_in(env, "gov@ankermoor.example.org", "ankermoor", Role.VIEWER)
    page = env.client.get(f"/mentions/{mid}")
    assert f"Pack {pid}" in page.text and "Download pack" not in page.text
    got = env.client.post(f"/mentions/{mid}/evidence/{pid}/download", data={"csrf_token": csrf})
    assert got.status_code == 403
    # a pack id of another mention is a 404 even for the head
    csrf = _sign_in(env, "head@ankermoor.example.org", "ankermoor", Role.HEAD)
    got = env.client.post(f"/mentions/{mid}/evidence/999/download", data={"csrf_token": csrf})
    assert got.status_code == 404
    assert (Path(row.path) / CUSTODY).read_text().count("\n") == lines
    assert env.store.audit_entries(action="evidence.export") == []
