"""`check-source URL`: fetch one URL through the guarded client and show what the monitor would
make of it (status, size, time, items parsed, which academies they match), or why it refused."""

from __future__ import annotations

import time

import click

from monitor.app import App
from monitor.commands.output import fail, table
from monitor.config import ConfigError
from monitor.matching import Matcher, Watch
from sources.http import FetchError, FetchRefused, NotModified

EXIT_REFUSED = 3
EXIT_FETCH_FAILED = 4
EXIT_NOT_A_FEED = 5


@click.command("check-source")
@click.argument("url")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file (overrides the one given before the command).",
)
@click.option("--robots", is_flag=True, help="Also obey robots.txt, as search/API sources do.")
@click.pass_obj
def check_source(app: App | None, url: str, config_path: str | None, robots: bool) -> None:
    """Fetch URL once with the configured network settings and show what it contains.

    Prints the HTTP status, size, time, the items parsed from the feed and which academy each
    item matches. The same checks as a real run apply: private addresses are refused unless
    listed in network.allow_private, and the size and time limits hold.

    Exit status: 0 fetched and parsed, 2 configuration problem, 3 refused by the guard
    (the server was not contacted), 4 fetch failed, 5 not a readable feed.
    """
    from sources.feeds import FeedParseError, parse_feed

    if config_path or app is None:
        app = App(config_path)
    try:
        settings = app.settings()
    except ConfigError as exc:
        fail(exc.render())
        return
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
    click.echo(f"URL:      {got.url}")
    click.echo(f"status:   {got.status} {got.content_type or '(no content type)'}")
    click.echo(f"bytes:    {len(got.content)}")
    click.echo(f"time:     {took:.2f} s")
    try:
        items = parse_feed(got.content, "check-source/url", got.url)
    except FeedParseError as exc:
        fail(f"not a readable feed: {exc}", EXIT_NOT_A_FEED)
        return
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
