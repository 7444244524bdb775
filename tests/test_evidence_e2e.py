"""Evidence packs with nobody asking, end to end on a local site (a FixtureServer on 127.0.0.1,
allowed by the settings the way the collection tests allow it):

- a feed item that the real model finds urgent is collected through the jobs' real path
  (`poll_source`), and one evidence sweep gives it exactly one verified pack, asked for by
  "automatic (urgent mention)", whose WARC holds the page's bytes as served; a second sweep makes
  no second pack;
- a capture that dies midway (an exception, then a process killed with its claim held) leaves
  the queue row to the next sweep (after the lease, on an injected clock), still ending with
  exactly one pack and no half-made one;
- a reported public link with a screenshot (the intake core) gets a pack that holds the page's
  capture and the reported screenshot, and verifies.

Each scenario captures once with Chromium (the failing attempts never start it).
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor.config import Settings, load_settings
from monitor.evidence import export_pack, verify
from monitor.evidence.access import UrgentEvidenceSink
from monitor.evidence.capture import lease_for
from monitor.evidence.pack import MANIFEST
from monitor.intake import Image, Report, submit_report
from monitor.jobs import (
    JobContext,
    capture_evidence_sweep,
    pending_evidence,
    poll_source,
    source_tick,
)
from monitor.runner import NoNotices
from monitor.store import Store
from monitor.store import evidence as rows
from tests.alerts_support import store_mention
from tests.conftest import write_config
from tests.evidence_support import PHOTO, serve_post, warc_bodies
from tests.servers import FIXTURES, FixtureServer, Reply

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LEAK = (
    "Anyone who wants to have it out with Mrs Greaves from Ankermoor Primary: her mobile is "
    "07700 900311 and she lives at 3 Heron Way, B79 1QQ."
)
SCREENSHOT = FIXTURES / "ocr" / "fb-02-phone-390-1x-dark.png"


def feed(server: FixtureServer) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Ankermoor parents forum</title>
<link>{server.url("/")}</link><description>x</description>
<item><title>Mrs Greaves at Ankermoor Primary</title>
<link>{server.url("/post.html")}</link><guid isPermaLink="false">forum-1</guid>
<pubDate>{format_datetime(NOW - timedelta(hours=1))}</pubDate>
<description>{LEAK}</description></item>
</channel></rss>""".encode()


def site_settings(tmp_path: Path, server: FixtureServer) -> Settings:
    server.routes["/forum.rss"] = Reply(200, feed(server), {"Content-Type": "application/rss+xml"})
    sources = '\n[[academies.sources]]\nkind = "feed"\nname = "forum"\nurl = "{base}/forum.rss"\n'
    return load_settings(write_config(tmp_path, server, sources))


def packs_of(ctx: JobContext, mention_id: int) -> list[rows.PackRow]:
    with ctx.store.transaction() as tx:
        return rows.for_mention(tx, mention_id)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.slow
def test_an_urgent_mention_gets_a_verified_pack_without_anyone_asking(
    tmp_path: Path, server: FixtureServer, clock: Clock
) -> None:
    page = serve_post(server, LEAK)
    settings = site_settings(tmp_path, server)
    assert settings.evidence.auto_capture_urgent
    ctx = JobContext(settings, Store.open(settings.database_url), clock=clock)  # the real model
    try:
        assert source_tick(ctx) == ["ankermoor/forum"]
        stats = poll_source(ctx, "ankermoor/forum")
        assert stats is not None and stats.error is None and stats.new == 1, stats
        ((mention, assessment),) = ctx.store.mentions(organisation="ankermoor", limit=5)
        assert assessment is not None and assessment.urgent, assessment
        assert mention.url == server.url("/post.html")
        assert pending_evidence(ctx) == [mention.id]  # queued with the mention, nobody asked
        assert server.hits["/post.html"] == 0

        assert capture_evidence_sweep(ctx) == 1
        (row,) = packs_of(ctx, mention.id)
        assert row.status == rows.OK and row.requested_by == "automatic (urgent mention)"
        folder = Path(row.path)
        meta = json.loads((folder / "capture.json").read_text())
        assert meta["requested_by"] == "automatic (urgent mention)"
        assert meta["url"] == server.url("/post.html") and meta["http"]["status"] == 200
        assert meta["captured_at_utc"] == "2026-11-28T09:00:00Z"
        # The WARC holds the page and its image exactly as served (raw fetch and browser alike).
        bodies = warc_bodies(folder)
        assert bodies[server.url("/post.html")] and all(
            b == page for b in bodies[server.url("/post.html")]
        )
        assert PHOTO in bodies[server.url("/photo.png")]
        assert "Mrs Greaves" in (folder / "text.txt").read_text()
        # Exported, it verifies (and the export is on the custody log).
        out = export_pack(ctx, row, tmp_path / "pack.zip", "cli:tester")
        assert verify(out) == []
        with zipfile.ZipFile(out) as z:
            assert {"page.warc.gz", "screenshot.png", "screenshot-mobile.png", MANIFEST} <= set(
                z.namelist()
            )

        # A second sweep, now and after any lease, makes no second pack.
        hits = server.hits["/post.html"]
        assert capture_evidence_sweep(ctx) == 0
        clock.now = NOW + lease_for(settings) + timedelta(minutes=1)
        assert capture_evidence_sweep(ctx) == 0
        assert [p.id for p in packs_of(ctx, mention.id)] == [row.id]
        assert server.hits["/post.html"] == hits
    finally:
        ctx.close()


class Killed(BaseException):
    """The process dying mid-capture: no `except Exception` sees it, so no clean-up runs."""


def test_a_capture_that_dies_midway_is_retried_and_ends_with_one_pack(
    tmp_path: Path, server: FixtureServer, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.evidence import browser

    page = serve_post(server, "A pupil's name and her mum's number, posted for all to see.")
    settings = site_settings(tmp_path, server)
    ctx = JobContext(settings, Store.open(settings.database_url), clock=clock, score=False)
    real_render = browser.render
    try:
        mention, _ = store_mention(
            ctx.store,
            settings,
            title="Ankermoor Primary Academy",
            text="a post naming a pupil",
            categories=("data_leak",),
            urgent=True,
            now=NOW,
            url=server.url("/post.html"),
            sink=UrgentEvidenceSink(NoNotices()),  # type: ignore[arg-type]
        )

        # 1. The browser step fails: the sweep logs it, the claim is released at once.
        def fails(*a: object, **k: object) -> object:
            raise RuntimeError("chromium crashed")

        monkeypatch.setattr(browser, "render", fails)
        assert capture_evidence_sweep(ctx) == 0
        with ctx.store.transaction() as tx:
            assert rows.queue_state(tx, mention.id) == (1, None)
        assert pending_evidence(ctx) == [mention.id]
        assert packs_of(ctx, mention.id) == []  # no half-made pack is left behind

        # 2. The process is killed midway: its claim stays until the lease ends.
        def killed(*a: object, **k: object) -> object:
            raise Killed

        monkeypatch.setattr(browser, "render", killed)
        with pytest.raises(Killed):
            capture_evidence_sweep(ctx)
        (half,) = packs_of(ctx, mention.id)
        assert half.status == rows.CAPTURING
        assert pending_evidence(ctx) == [] and capture_evidence_sweep(ctx) == 0  # still claimed

        # 3. After the lease, the next sweep captures it; the half-made pack is gone.
        monkeypatch.setattr(browser, "render", real_render)
        clock.now = NOW + lease_for(settings) + timedelta(seconds=1)
        assert pending_evidence(ctx) == [mention.id]
        assert capture_evidence_sweep(ctx) == 1
        (row,) = packs_of(ctx, mention.id)
        assert row.status == rows.OK
        # One folder in the evidence directory: the half-made one went (or was written over).
        assert [p for p in Path(half.path).parent.iterdir()] == [Path(row.path)]
        assert verify(Path(row.path)) == []
        assert all(b == page for b in warc_bodies(Path(row.path))[server.url("/post.html")])
        with ctx.store.transaction() as tx:
            assert rows.queue_state(tx, mention.id) == (3, clock.now)
        assert capture_evidence_sweep(ctx) == 0
        assert len(packs_of(ctx, mention.id)) == 1
    finally:
        ctx.close()


def test_a_reported_public_link_with_a_screenshot_gets_a_pack_of_both(
    tmp_path: Path, server: FixtureServer, clock: Clock
) -> None:
    page = serve_post(server, "Ankermoor Primary Academy head shouting at a child.")
    settings = site_settings(tmp_path, server)
    ctx = JobContext(settings, Store.open(settings.database_url), clock=clock, score=False)
    shot = SCREENSHOT.read_bytes()
    try:
        result = submit_report(
            ctx,
            Report(
                academy_id="ankermoor",
                source="reported",
                reporter="parent@example.org",
                url=server.url("/post.html"),
                note="Seen in the village group",
                text="",
                images=(Image("group post.png", shot, "image/png"),),
                seen_where="Facebook group",
                original=None,
            ),
            NOW,
        )
        assert result.mention_id is not None and result.fetch_error is None, result
        assert server.hits["/post.html"] == 1  # the intake read the public link

        assert capture_evidence_sweep(ctx) == 1
        assert capture_evidence_sweep(ctx) == 0
        (row,) = packs_of(ctx, result.mention_id)
        assert row.status == rows.OK and row.requested_by == "automatic (reported mention)"
        folder = Path(row.path)
        names = {p.name for p in folder.iterdir()}
        assert {"page.warc.gz", "screenshot.png", "screenshot-mobile.png"} <= names
        (reported,) = [n for n in names if n.startswith("reported-")]
        assert reported.endswith("group-post.png")
        assert (folder / reported).read_bytes() == shot
        meta = json.loads((folder / "capture.json").read_text())
        assert meta["kind"] == "page" and meta["reported_files"] == [reported]
        assert all(b == page for b in warc_bodies(folder)[server.url("/post.html")])
        out = export_pack(ctx, row, tmp_path / "pack.zip", "cli:tester")
        assert verify(out) == []
        with zipfile.ZipFile(out) as z:
            assert z.read(reported) == shot and "page.warc.gz" in z.namelist()
    finally:
        ctx.close()
