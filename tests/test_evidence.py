"""Evidence packs end to end against a local site: capture through the walled-in Chromium, the
pack verifies, tampering with any file is named, the WARC holds the bytes served (a gzip-served
stylesheet stays compressed), a never-ending page is cut and recorded, retention and erasure
remove the pack. One capture per scenario, shared by the tests of this module (Chromium is slow).
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from monitor.config import Settings, settings_from_mapping
from monitor.evidence import capture_queued, export_pack, remove_orphan_folders, verify
from monitor.evidence.access import UrgentEvidenceSink, latest_for_mention
from monitor.evidence.pack import FILES, MANIFEST
from monitor.jobs import JobContext
from monitor.runner import NoNotices
from monitor.store import Store
from monitor.store import evidence as rows
from tests.alerts_support import store_mention
from tests.evidence_site import CSS_GZ, LOGO, never_ending, serve_site
from tests.guard_servers import RouteServer, reply

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def settings_for(tmp: Path, deadline: float = 20.0) -> Settings:
    return settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp}/mm.db",
            "mail": {"from_address": "monitor@ankermoor.example.org", "outbox_dir": str(tmp / "o")},
            # The site lives on 127.0.0.2 and only that is allowed; the canary is on 127.0.0.1.
            "network": {"allow_private": ["127.0.0.2"], "timeout_seconds": 10},
            "evidence": {"directory": str(tmp / "evidence"), "browser_deadline_seconds": deadline},
            "academies": [
                {
                    "id": "ankermoor",
                    "display_name": "Ankermoor Primary Academy",
                    "names": ["Ankermoor Primary Academy"],
                    "recipients": ["head@ankermoor.example.org"],
                }
            ],
        }
    )


@dataclass
class Captured:
    ctx: JobContext
    canary: RouteServer
    site: RouteServer
    page: bytes
    mention_id: int
    folder: Path
    status: str
    tmp: Path


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    tmp = tmp_path_factory.mktemp("evidence")
    canary = RouteServer("127.0.0.1").start()
    canary.routes["*"] = reply(200, b"canary: you should never see this")
    site = RouteServer("127.0.0.2").start()
    page = serve_site(site, canary.port)
    settings = settings_for(tmp)
    ctx = JobContext(settings, Store.open(settings.database_url), clock=lambda: NOW, score=False)
    # The automatic path: an urgent mention stored with its queue row, then the queued capture.
    mention, _ = store_mention(
        ctx.store,
        settings,
        title="Ankermoor Primary Academy",
        text="a post naming a pupil",
        categories=("data_leak",),
        urgent=True,
        now=NOW,
        url=site.url("/"),
        sink=UrgentEvidenceSink(NoNotices()),  # type: ignore[arg-type]
    )
    got = capture_queued(ctx, mention.id)
    assert got is not None
    try:
        yield Captured(ctx, canary, site, page, mention.id, got.path, got.status, tmp)
    finally:
        ctx.close()
        site.stop()
        canary.stop()


def test_the_canary_is_never_reached(captured: Captured) -> None:
    hits = captured.canary.connections
    print(f"canary hits: {hits} (connections), {captured.canary.total_hits} (requests)")
    assert hits == 0 and captured.canary.total_hits == 0
    meta = json.loads((captured.folder / "capture.json").read_text())
    refused = " ".join(r["url"] for r in meta["refused_requests"])
    # The hostile subresources were asked for and refused (so the zero is not for lack of tries).
    for what in ("/img.png", "/fetch", "/frame", "169.254.169.254", "10.1.2.3", "/redirected"):
        assert what in refused, what
    # The control: the site itself was reached, through the same guard.
    assert captured.site.hits["/post"] >= 2 and captured.site.hits["/logo.png"] >= 1


def test_the_pack_verifies_and_sha256sum_agrees(captured: Captured) -> None:
    assert captured.status == rows.OK
    assert sorted(p.name for p in captured.folder.iterdir()) == sorted([*FILES, MANIFEST])
    assert verify(captured.folder) == []
    done = subprocess.run(
        ["sha256sum", "-c", MANIFEST], cwd=captured.folder, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    meta = json.loads((captured.folder / "capture.json").read_text())
    assert meta["url"] == captured.site.url("/")
    assert meta["final_url"] == captured.site.url("/post")
    assert meta["redirects"][0]["status"] == 302
    assert meta["http"]["status"] == 200 and meta["captured_at_utc"] == "2026-11-28T09:00:00Z"
    assert meta["requested_by"] == "automatic (urgent mention)"
    assert meta["cut_at_deadline"] is False and meta["tool"]["chromium"] != "unknown"
    assert meta["clock"]["ntp"] in ("synchronised", "not synchronised", "unknown")
    assert (captured.folder / "screenshot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Post about Ankermoor" in (captured.folder / "page.html").read_text()
    assert "a post naming a pupil" in (captured.folder / "text.txt").read_text()
    with captured.ctx.store.transaction() as tx:
        state = rows.queue_state(tx, captured.mention_id)
    assert state is not None and state[1] is not None  # the automatic capture is done


def test_the_warc_holds_exactly_the_bytes_served(captured: Captured) -> None:
    bodies: dict[str, list[bytes]] = {}
    encodings: dict[str, str | None] = {}
    with (captured.folder / "page.warc.gz").open("rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "request":
                assert rec.http_headers.get_header("Accept-Encoding") == "identity"
            if rec.rec_type != "response":
                continue
            uri = rec.rec_headers.get_header("WARC-Target-URI")
            bodies.setdefault(uri, []).append(rec.raw_stream.read())
            encodings[uri] = rec.http_headers.get_header("Content-Encoding")
    site = captured.site
    assert bodies[site.url("/post")][0] == captured.page
    assert bodies[site.url("/logo.png")][0] == LOGO
    assert bodies[site.url("/style.css")][0] == CSS_GZ  # stored raw, still gzip
    assert gzip.decompress(CSS_GZ).startswith(b"body {") and encodings[site.url("/style.css")]
    assert site.url("/robots.txt") in bodies
    assert not any("127.0.0.1" in u for u in bodies)


def test_tampering_with_any_file_is_named(captured: Captured, tmp_path: Path) -> None:
    out = tmp_path / "pack.zip"
    with zipfile.ZipFile(out, "w") as z:
        for p in captured.folder.iterdir():
            z.write(p, p.name)
    assert verify(out) == []
    original = {n: (captured.folder / n).read_bytes() for n in [*FILES, MANIFEST]}
    for name in [*FILES, MANIFEST]:
        bad = tmp_path / f"bad-{name}.zip"
        with zipfile.ZipFile(bad, "w") as z:
            for n, data in original.items():
                z.writestr(n, data + b"x" if n == name else data)
        problems = verify(bad)
        assert problems, name
        assert any(p.startswith(name) for p in problems) or name == MANIFEST, (name, problems)


def test_a_changed_warc_record_fails_its_digest_even_with_a_fixed_manifest(
    captured: Captured, tmp_path: Path
) -> None:
    folder = tmp_path / "pack"
    shutil.copytree(captured.folder, folder)
    raw = gzip.decompress((folder / "page.warc.gz").read_bytes())
    assert b"Post about Ankermoor" in raw
    # Written back uncompressed (warcio reads both); a forger would not need to recompress.
    (folder / "page.warc.gz").write_bytes(
        raw.replace(b"Post about Ankermoor", b"Post about Somewhere")
    )
    from monitor.evidence.pack import write_manifest

    write_manifest(folder)  # a forger who also fixes the manifest
    problems = verify(folder)
    assert any("page.warc.gz: record" in p and "digest" in p for p in problems), problems


def test_export_appends_to_the_custody_log(captured: Captured, tmp_path: Path) -> None:
    row = latest_for_mention(captured.ctx, captured.mention_id)
    out = export_pack(captured.ctx, row, tmp_path / "x.zip", "head@ankermoor.example.org")
    assert verify(out) == []
    with zipfile.ZipFile(out) as z:
        log = z.read("custody.log").decode().splitlines()
    assert [line.split("\t")[1] for line in log][-2:] == ["created", "exported"]
    assert "head@ankermoor.example.org" in log[-1]
    with captured.ctx.store.transaction() as tx:
        now_row = rows.get(tx, row.id)
    assert now_row is not None and now_row.manifest_sha256 != row.manifest_sha256


def test_a_never_ending_page_is_cut_at_the_deadline(tmp_path: Path) -> None:
    site = RouteServer("127.0.0.2").start()
    site.routes["/slow"] = reply(
        200,
        b"<html><body><h1>Still loading</h1><img src='/forever.png'></body></html>",
        {"Content-Type": "text/html"},
    )
    site.routes["/forever.png"] = never_ending
    settings = settings_for(tmp_path, deadline=3.0)
    ctx = JobContext(settings, Store.open(settings.database_url), clock=lambda: NOW, score=False)
    try:
        from monitor.evidence import capture_url

        got = capture_url(ctx, site.url("/slow"), "ankermoor", "cli:tester")
    finally:
        ctx.close()
        site.stop()
    assert got.cut_at_deadline and got.status == rows.PARTIAL
    meta = json.loads((got.path / "capture.json").read_text())
    assert meta["cut_at_deadline"] is True and meta["deadline_seconds"] == 3.0
    assert verify(got.path) == []
    assert (got.path / "screenshot.png").read_bytes()[:4] == b"\x89PNG"


def test_the_verify_command_names_what_fails(captured: Captured, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from monitor.cli import cli

    folder = tmp_path / "pack"
    shutil.copytree(captured.folder, folder)
    ok = CliRunner().invoke(cli, ["evidence", "verify", str(folder)])
    assert ok.exit_code == 0 and ok.output.startswith("OK"), ok.output
    (folder / "page.html").write_text("<html>changed</html>")
    bad = CliRunner().invoke(cli, ["evidence", "verify", str(folder)])
    assert bad.exit_code == 1
    assert bad.output.splitlines()[0].startswith("FAIL page.html: SHA-256 is"), bad.output


# Last: it purges the shared pack.
def test_retention_and_erasure_remove_the_pack(captured: Captured) -> None:
    ctx = captured.ctx
    # A copy of the pack for a second mention, erased; the first is purged by retention.
    other, _ = store_mention(
        ctx.store,
        ctx.settings,
        title="t",
        text="x",
        urgent=False,
        now=NOW,
        url="https://a.example/",
    )
    with ctx.store.transaction() as tx:
        pid = rows.start_pack(tx, other.id, "ankermoor", "https://a.example/", "test", NOW)
        folder = captured.folder.parent / f"pack-{pid:06d}"
        rows.set_path(tx, pid, str(folder))
    shutil.copytree(captured.folder, folder)
    ctx.store.erase([other.id])
    assert remove_orphan_folders(ctx) == 1 and not folder.exists()
    assert captured.folder.exists()
    later = JobContext(
        ctx.settings, ctx.store, clock=lambda: NOW + timedelta(days=400), score=False
    )
    from monitor.jobs import purge_expired

    assert purge_expired(later) >= 1
    assert not captured.folder.exists()
    with ctx.store.transaction() as tx:
        assert rows.for_mention(tx, captured.mention_id) == []
        assert rows.queue_state(tx, captured.mention_id) is None
