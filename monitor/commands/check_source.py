"""`check-source URL` or `check-source --source ACADEMY/NAME`: fetch one URL (or run one configured
source once, storing nothing) through the guarded client and show what the monitor would make of
it (status, size, time, items parsed, which academies they match), or why it refused."""

from __future__ import annotations

import time

import click

from monitor.app import App
from monitor.commands.output import fail, safe, table
from monitor.config import ConfigError, Settings
from monitor.matching import Matcher, Watch
from sources.base import RawItem
from sources.http import FetchError, FetchRefused, NotModified

EXIT_REFUSED = 3
EXIT_FETCH_FAILED = 4
EXIT_NOT_A_FEED = 5
EXIT_NEEDS_ATTENTION = 6


@click.command("check-source")
@click.argument("url", required=False)
@click.option(
    "--source",
    "source_key",
    metavar="ACADEMY/NAME",
    help="Run this configured source once (any kind) instead of fetching a URL; nothing is stored.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (overrides the one given before the command).",
)
@click.option("--robots", is_flag=True, help="Also obey robots.txt, as search/API sources do.")
@click.pass_obj
def check_source(
    app: App | None, url: str | None, source_key: str | None, config_path: str | None, robots: bool
) -> None:
    """Fetch URL once with the configured network settings and show what it contains, or run a
    configured source of any kind once with --source (a dry run: nothing is stored).

    Prints the HTTP status, size, time, the items parsed from the feed and which academy each
    item matches. The same checks as a real run apply: private addresses are refused unless
    listed in network.allow_private, and the size and time limits hold.

    Exit status: 0 fetched and parsed, 2 configuration problem, 3 refused by the guard
    (the server was not contacted), 4 fetch failed, 5 not a readable feed, 6 the source needs
    a person (credentials missing, access blocked).
    """
    from sources.feeds import FeedParseError, parse_feed

    if config_path or app is None:
        app = App(config_path)
    try:
        settings = app.settings()
    except ConfigError as exc:
        fail(exc.render())
        return
    if bool(url) == bool(source_key):
        raise click.UsageError("give either a URL or --source ACADEMY/NAME")
    if source_key:
        _run_configured(app, source_key)
        return
    assert url is not None
    started = time.monotonic()
    with app.client() as client:
        try:
            got = client.get(url, respect_robots=robots)
        except FetchRefused as exc:
            fail(exc.reason, EXIT_REFUSED)
            return
        except FetchError as exc:
            fail(f"{exc.kind}: {exc.reason}", EXIT_FETCH_FAILED)
            return
    took = time.monotonic() - started
    if isinstance(got, NotModified):  # not sent conditionally, but a server may say so anyway
        click.echo(f"not modified (HTTP 304) in {took:.2f} s")
        return
    click.echo(f"URL:      {safe(got.url)}")
    click.echo(f"status:   {got.status} {safe(got.content_type or '(no content type)')}")
    click.echo(f"bytes:    {len(got.content)}")
    click.echo(f"time:     {took:.2f} s")
    try:
        items = parse_feed(got.content, "check-source/url", got.url)
    except FeedParseError as exc:
        fail(f"not a readable feed: {exc}", EXIT_NOT_A_FEED)
        return
    _show_items(items, settings)


def _run_configured(app: App, key: str) -> None:
    from monitor.runner import configured_sources
    from sources.base import SourceState, SourceUnavailable
    from sources.feeds import FeedParseError

    settings = app.settings()
    by_key = {s.key: s for s in configured_sources(settings)}
    src = by_key.get(key)
    if src is None:
        fail(f"no enabled source {key!r}; configured: {', '.join(sorted(by_key)) or 'none'}")
        return
    started = time.monotonic()
    with app.client() as client:
        try:
            got = src.collector.collect(src.spec, SourceState(), client)
        except SourceUnavailable as exc:
            fail(f"{exc.status}: {exc.reason}\n{exc.advice}".rstrip(), EXIT_NEEDS_ATTENTION)
            return
        except FetchRefused as exc:
            fail(exc.reason, EXIT_REFUSED)
            return
        except FetchError as exc:
            fail(f"{exc.kind}: {exc.reason}", EXIT_FETCH_FAILED)
            return
        except FeedParseError as exc:
            fail(str(exc), EXIT_NOT_A_FEED)
            return
    click.echo(f"source:   {src.key} ({src.spec.kind})")
    click.echo(f"time:     {time.monotonic() - started:.2f} s")
    for note in got.notes:
        click.echo(f"note:     {safe(note, one_line=True)}")
    _show_items(list(got.items), settings)


def _show_items(items: list[RawItem], settings: Settings) -> None:
    click.echo(f"items:    {len(items)}")
    matcher = Matcher([Watch.from_config(a) for a in settings.academies])
    rows: list[list[object]] = []
    for item in items:
        for m in matcher.match(item.title, item.text):
            rows.append([item.title[:60], m.organisation, m.matched_name, m.field])
    matched = len({r[0] for r in rows})
    click.echo(f"matching: {matched} of {len(items)} items mention a watched academy")
    if rows:
        click.echo("")
        click.echo(table(["item", "academy", "matched name", "in"], rows))
