"""Removal tracking (policy 11.2): requests re-checked through the guarded client against a real
local server, "removed" only after two "gone" checks a day apart, the digest's "still open"
section, the platform report links, and the `removals` command."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.digest import preview_digest, slot_at
from monitor.cli import cli
from monitor.config import Settings, load_settings
from monitor.jobs import JobContext, check_removals
from monitor.platforms import UK_HELP, platform_for, report_help
from monitor.removal_checks import RemovalError, check_due, check_url, request_removal
from monitor.removals import (
    CheckResult,
    Outcome,
    Progress,
    RemovalKind,
    RemovalStatus,
    advance,
    next_check_at,
    text_share_on_page,
)
from monitor.store import Store
from monitor.store.removals import RemovalCheckRow
from sources.http import ClientConfig, GuardedClient
from tests.alerts_support import store_mention
from tests.servers import FixtureServer, Reply, fixture_server

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)

CONFIG = """
database_url = "sqlite:///{db}"
[network]
allow_private = [{allow}]
per_host_interval_seconds = 0
[mail]
from_address = "monitor@ankermoor.example.org"
outbox_dir = "{out}"
[web]
public_base_url = "https://monitor.example.org"

[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]
"""

POST_TEXT = (
    "Mr Hargreaves at Ankermoor Primary Academy is a disgrace and everyone should ring the "
    "school tomorrow morning to complain about what he said to the year six children"
)
NAV = "<nav>Home · Forum · Members · Search</nav>"
FOOTER = "<footer>© 2026 Parents Forum · Privacy · Cookies · Contact the moderators</footer>"


def page(body: str, nav: str = NAV, footer: str = FOOTER) -> Reply:
    html = f"<html><head><title>Forum</title></head><body>{nav}<main>{body}</main>{footer}</body></html>"
    return Reply(200, html.encode(), {"content-type": "text/html; charset=utf-8"}, False)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with fixture_server() as srv:
        yield srv


def write(tmp_path: Path, *, allow_loopback: bool = True) -> tuple[Path, Settings]:
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(
        CONFIG.format(
            db=tmp_path / "mm.db",
            out=tmp_path / "outbox",
            allow='"127.0.0.1"' if allow_loopback else "",
        )
    )
    return cfg, load_settings(cfg)


def client(allow_loopback: bool = True) -> GuardedClient:
    return GuardedClient(
        ClientConfig(
            allow_private=("127.0.0.1",) if allow_loopback else (), per_host_interval_seconds=0
        )
    )


def mention_at(store: Store, settings: Settings, url: str, now: datetime = T0) -> int:
    m, _ = store_mention(
        store,
        settings,
        title="Ankermoor Primary Academy forum post",
        text=POST_TEXT,
        url=url,
        now=now,
    )
    return m.id


# --- the whole flow against a real server -------------------------------------------------------


def test_a_page_that_answers_404_twice_a_day_apart_ends_removed(
    tmp_path: Path, server: FixtureServer
) -> None:
    _, settings = write(tmp_path)
    store = Store.open(settings.database_url)
    server.routes["/t/1"] = page(f"<article>{POST_TEXT}</article>")
    mid = mention_at(store, settings, server.url("/t/1"))
    req = request_removal(
        store,
        mid,
        RemovalKind.REPORTED_TO_PLATFORM,
        by="Head@Ankermoor.example.org",
        now=T0,
        platform="Parents Forum",
        reference="R-42",
    )
    assert (req.status, req.requested_by, req.next_check_at) == (
        "open",
        "head@ankermoor.example.org",
        T0,
    )
    clock = Clock(T0)
    ctx = JobContext(settings, store, clock=clock, score=False)
    try:
        assert check_removals(ctx) == 1  # the job: present, still open
        row = store.removal(req.id)
        assert row is not None and row.status == "open" and row.next_check_at is not None
        assert timedelta(hours=10) < row.next_check_at - T0 < timedelta(hours=14)
        assert check_removals(ctx) == 0  # not due again yet

        server.routes["/t/1"] = Reply(404, b"gone", {"content-type": "text/plain"})
        clock.at = row.next_check_at
        first_gone = clock.at
        assert check_removals(ctx) == 1
        row = store.removal(req.id)
        assert row is not None and row.status == "gone_once" and row.first_gone_at == first_gone
        # The next check waits for the 24 hours that can confirm it.
        assert row.next_check_at is not None and row.next_check_at >= first_gone + timedelta(days=1)
        clock.at = row.next_check_at
        assert check_removals(ctx) == 1
        row = store.removal(req.id)
        assert row is not None and row.status == "removed" and row.removed_at == clock.at
        assert row.next_check_at is None
        clock.at += timedelta(days=3)
        assert check_removals(ctx) == 0  # a removed request is not checked again
    finally:
        ctx.close()
    log = store.removal_checks([req.id])
    assert [(c.outcome, c.http_status) for c in log] == [
        ("present", 200),
        ("gone", 404),
        ("gone", 404),
    ]
    assert server.hits["/t/1"] == 3
    store.close()


def test_a_present_check_between_two_gone_checks_starts_again(
    tmp_path: Path, server: FixtureServer
) -> None:
    _, settings = write(tmp_path)
    store = Store.open(settings.database_url)
    server.routes["/t/2"] = Reply(404, b"", {})
    mid = mention_at(store, settings, server.url("/t/2"))
    req = request_removal(
        store, mid, RemovalKind.REQUESTED_FROM_POSTER, by="dsl@ankermoor.example.org", now=T0
    )
    clock = Clock(T0)
    with client() as c:

        def status_after_check(at: datetime) -> str:
            clock.at = at
            (done,) = check_due(store, c, clock, ids=(req.id,))
            return done.removal.status

        assert status_after_check(T0) == "gone_once"
        server.routes["/t/2"] = page(f"<div class='post'>{POST_TEXT}</div>")
        assert status_after_check(T0 + timedelta(hours=12)) == "open"  # it came back
        server.routes["/t/2"] = Reply(404, b"", {})
        assert status_after_check(T0 + timedelta(hours=25)) == "gone_once"  # a day after the first
        assert status_after_check(T0 + timedelta(hours=37)) == "gone_once"  # 12 h after the new one
        assert status_after_check(T0 + timedelta(hours=49)) == "removed"
    store.close()


def test_text_gone_from_the_page_is_gone_but_a_boilerplate_change_is_not(
    server: FixtureServer,
) -> None:
    with client() as c:
        server.routes["/a"] = page(f"<article>{POST_TEXT}</article>")
        assert check_url(c, server.url("/a"), POST_TEXT).outcome is Outcome.PRESENT
        # New navigation, a new footer, an advert: the post is still there.
        server.routes["/a"] = page(
            f"<aside>Advert: school uniforms 20% off</aside><article>{POST_TEXT.upper()}!</article>",
            nav="<nav>Home · Latest · Trending · Sign in</nav>",
            footer="<footer>© 2027 New owners Ltd · Terms</footer>",
        )
        assert check_url(c, server.url("/a"), POST_TEXT).outcome is Outcome.PRESENT
        # Same boilerplate, the post replaced by the platform's notice: gone, with a 200.
        server.routes["/a"] = page("<p>This post was removed by a moderator.</p>")
        result = check_url(c, server.url("/a"), POST_TEXT)
        assert (result.outcome, result.http_status) == (Outcome.GONE, 200)


def test_410_is_gone_and_a_server_error_changes_nothing(server: FixtureServer) -> None:
    with client() as c:
        server.routes["/b"] = Reply(410, b"", {})
        assert check_url(c, server.url("/b"), POST_TEXT) == CheckResult(
            Outcome.GONE, 410, "the server answered HTTP 410"
        )
        server.routes["/b"] = Reply(500, b"", {})
        err = check_url(c, server.url("/b"), POST_TEXT)
        assert (err.outcome, err.http_status) == (Outcome.ERROR, 500)
    p = Progress(RemovalStatus.GONE_ONCE, T0, None)
    assert advance(p.status, p.first_gone_at, None, err, T0 + timedelta(days=2)) == p


def test_the_guard_refuses_a_loopback_url_unless_allowed(
    tmp_path: Path, server: FixtureServer
) -> None:
    _, settings = write(tmp_path, allow_loopback=False)
    store = Store.open(settings.database_url)
    server.routes["/c"] = Reply(404, b"", {})
    mid = mention_at(store, settings, server.url("/c"))
    req = request_removal(
        store,
        mid,
        RemovalKind.REPORTED_TO_PLATFORM,
        by="head@ankermoor.example.org",
        now=T0,
        platform="X",
    )
    ctx = JobContext(settings, store, clock=Clock(T0), score=False)
    try:
        assert check_removals(ctx) == 1
    finally:
        ctx.close()
    (check,) = store.removal_checks([req.id])
    assert check.outcome == "error" and check.http_status is None
    assert "refused" in check.detail and "loopback" in check.detail
    assert server.hits["/c"] == 0  # the server was never contacted
    row = store.removal(req.id)
    assert row is not None and row.status == "open"
    store.close()


def test_a_request_needs_a_known_mention_with_an_address_and_a_platform(tmp_path: Path) -> None:
    _, settings = write(tmp_path)
    store = Store.open(settings.database_url)
    no_url, _ = store_mention(store, settings, title="t", text="x", url=None, now=T0)
    with_url = mention_at(store, settings, "https://forum.example.org/t/1")
    cases = [
        (999, RemovalKind.REQUESTED_FROM_POSTER, None, "no mention 999"),
        (no_url.id, RemovalKind.REQUESTED_FROM_POSTER, None, "has no address"),
        (with_url, RemovalKind.REPORTED_TO_PLATFORM, " ", "which platform"),
    ]
    for mid, kind, platform, words in cases:
        with pytest.raises(RemovalError, match=words):
            request_removal(
                store, mid, kind, by="head@ankermoor.example.org", now=T0, platform=platform
            )
    assert store.removals() == []
    store.close()


# --- pure logic ---------------------------------------------------------------------------------


def test_two_gone_checks_less_than_a_day_apart_are_not_enough() -> None:
    gone = CheckResult(Outcome.GONE, 404, "")
    p = advance(RemovalStatus.OPEN, None, None, gone, T0)
    assert p == Progress(RemovalStatus.GONE_ONCE, T0, None)
    p = advance(p.status, p.first_gone_at, None, gone, T0 + timedelta(hours=23, minutes=59))
    assert p.status is RemovalStatus.GONE_ONCE and p.first_gone_at == T0
    p = advance(p.status, p.first_gone_at, None, gone, T0 + timedelta(hours=24))
    assert p == Progress(RemovalStatus.REMOVED, T0, T0 + timedelta(hours=24))


def test_the_next_check_is_jittered_around_12_hours() -> None:
    p = Progress(RemovalStatus.OPEN, None, None)
    low, high = next_check_at(p, T0, 0.0), next_check_at(p, T0, 0.999)
    assert low is not None and high is not None
    assert timedelta(hours=10, minutes=48) == low - T0 and high - T0 < timedelta(
        hours=13, minutes=13
    )
    assert next_check_at(Progress(RemovalStatus.REMOVED, T0, T0), T0, 0.5) is None


def test_text_comparison_ignores_case_punctuation_and_spacing() -> None:
    assert text_share_on_page("Hello,   WORLD: it's me", "… hello world it s me …") == 1.0
    assert text_share_on_page(POST_TEXT, "nothing of it here") == 0.0


# --- the digest ---------------------------------------------------------------------------------


def test_the_digest_lists_a_request_open_over_7_days_and_not_one_open_6_days(
    tmp_path: Path,
) -> None:
    _, settings = write(tmp_path)
    store = Store.open(settings.database_url)
    d = T0.date()
    slot = slot_at(d, settings.schedule.digest_time, settings.tz)
    old = mention_at(store, settings, "https://www.facebook.com/p/1", now=slot - timedelta(days=9))
    new = mention_at(store, settings, "https://www.facebook.com/p/2", now=slot - timedelta(days=9))
    done = mention_at(store, settings, "https://www.facebook.com/p/3", now=slot - timedelta(days=9))
    for mid, days, ref in [(old, 8, "REF-EIGHT"), (new, 6, "REF-SIX"), (done, 8, "REF-DONE")]:
        request_removal(
            store,
            mid,
            RemovalKind.REPORTED_TO_PLATFORM,
            by="head@ankermoor.example.org",
            now=slot - timedelta(days=days),
            platform="Facebook",
            reference=ref,
        )
    (gone,) = store.removals(mention_id=done)
    store.record_removal_check(
        RemovalCheckRow(gone.id, slot - timedelta(days=1), 404, "gone", ""),
        status="removed",
        first_gone_at=slot - timedelta(days=2),
        removed_at=slot - timedelta(days=1),
        next_check_at=None,
    )
    _, msg = preview_digest(store, settings, "ankermoor", d, T0, lambda a: [])
    body = msg.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert "REMOVAL REQUESTS STILL OPEN (1)" in text
    assert "Reported to Facebook" in text and "REF-EIGHT" in text and "(8 days)" in text
    assert f"https://monitor.example.org/mentions/{old}" in text
    assert "REF-SIX" not in text and "REF-DONE" not in text
    html_part = msg.get_body(("html",))
    assert html_part is not None and "Removal requests still open (1)" in html_part.get_content()
    store.close()


# --- platform report links ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "platform", "link_host"),
    [
        ("https://www.facebook.com/groups/x/posts/1", "Facebook", "www.facebook.com"),
        ("https://m.facebook.com/story.php?id=1", "Facebook", "www.facebook.com"),
        ("https://www.instagram.com/p/abc/", "Instagram", "help.instagram.com"),
        ("https://twitter.com/someone/status/1", "X (Twitter)", "help.x.com"),
        ("https://x.com/someone/status/1", "X (Twitter)", "help.x.com"),
        ("https://www.tiktok.com/@a/video/1", "TikTok", "www.tiktok.com"),
        ("https://youtu.be/abc", "YouTube", "support.google.com"),
        ("https://old.reddit.com/r/uk/comments/1/x/", "Reddit", "support.reddithelp.com"),
        ("https://bsky.app/profile/a.bsky.social/post/3k", "Bluesky", "bsky.social"),
        ("https://uk.linkedin.com/posts/a-1", "LinkedIn", "www.linkedin.com"),
        ("https://mastodon.example/@ankerdad/113560000000000301", None, "mastodon.example"),
    ],
)
def test_known_platforms_get_their_own_report_page(
    url: str, platform: str | None, link_host: str
) -> None:
    link = platform_for(url)
    assert link is not None and link.url.startswith(f"https://{link_host}/")
    if platform:
        assert link.platform == platform
    else:
        assert "mastodon.example" in link.platform and "moderators" in link.note


def test_unknown_hosts_get_only_the_uk_help_lines() -> None:
    assert platform_for("https://notfacebook.com/x") is None
    assert platform_for("https://news.example.org/story") is None
    assert platform_for("https://lemmy.example/post/5", "lemmy") is not None
    h = report_help("https://news.example.org/story")
    assert h.platform is None and h.uk_help == UK_HELP
    phones = {line.phone for line in UK_HELP}
    assert {"0344 381 4772", "101", "999"} <= phones
    posh = next(line for line in UK_HELP if line.phone == "0344 381 4772")
    assert posh.url == "https://saferinternet.org.uk/professionals-online-safety-helpline"


# --- the command --------------------------------------------------------------------------------


def test_removals_add_list_and_check_commands(tmp_path: Path, server: FixtureServer) -> None:
    cfg, settings = write(tmp_path)
    store = Store.open(settings.database_url)
    server.routes["/t/9"] = Reply(410, b"", {})
    mid = mention_at(store, settings, server.url("/t/9"))
    store.close()
    runner = CliRunner()

    def run(*args: str, at: datetime = T0) -> str:
        result = runner.invoke(cli, ["--config", str(cfg), *args], obj=lambda: at)
        assert result.exit_code == 0, result.output
        return result.output

    both = runner.invoke(
        cli,
        [
            "--config",
            str(cfg),
            "removals",
            "add",
            str(mid),
            "--reported-to",
            "X",
            "--requested-from-poster",
            "--by",
            "a@b.org",
        ],
        obj=lambda: T0,
    )
    assert both.exit_code != 0 and "exactly one" in both.output
    out = run(
        "removals",
        "add",
        str(mid),
        "--reported-to",
        "Parents Forum",
        "--reference",
        "R-9",
        "--by",
        "head@ankermoor.example.org",
    )
    assert "Removal request 1 recorded" in out
    assert "Parents Forum" in run("removals", "list", "--open")
    out = run("removals", "check")
    assert "request 1" in out and "gone (HTTP 410" in out and "-> gone_once" in out
    assert "No removal request was due" in run("removals", "check", at=T0 + timedelta(hours=1))
    out = run("removals", "check", "--id", "1", at=T0 + timedelta(days=1, minutes=1))
    assert "-> removed" in out
    assert "No open removal requests." in run("removals", "list", "--open")
    assert "removed" in run("removals", "list")
