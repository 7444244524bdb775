"""Core commands: check-config, collect, mentions, sources."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import click

from monitor.app import App
from monitor.commands.output import fail, safe_json, table
from monitor.config import ConfigError, Settings, find_config_path
from monitor.models import CollectStats

if TYPE_CHECKING:
    from monitor.runner import ConfiguredSource

DETAIL_WIDTH = 100  # wrap a source's advice to this many columns


def settings_or_exit(app: App) -> Settings:
    try:
        return app.settings()
    except ConfigError as exc:
        fail(exc.render())
        raise  # unreachable: fail() exits


def parse_since(value: str | None, now: datetime) -> datetime | None:
    """'24h', '7d', '30m', or an ISO date/datetime (UTC if no zone given)."""
    if not value:
        return None
    m = re.fullmatch(r"(\d+)\s*([mhd])", value.strip())
    if m:
        n, unit = int(m.group(1)), m.group(2)
        return (
            now - {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
        )
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use e.g. 24h, 7d, 2026-11-01 or 2026-11-01T07:00") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@click.command("check-config")
@click.pass_obj
def check_config(app: App) -> None:
    """Validate the settings file and report every problem with its key.

    Exit status 0 when the configuration is usable, 2 when it is not.
    """
    s = settings_or_exit(app)
    click.echo(f"Configuration OK: {find_config_path(app.config_path, os.environ)}")
    click.echo(f"  database: {s.database_url}")
    mail = (
        f"SMTP {s.mail.smtp_host}:{s.mail.smtp_port}"
        if s.mail.smtp_host
        else f".eml files in {s.mail.outbox_dir}/"
    )
    click.echo(f"  mail: {mail}")
    urgent = _urgent_recipients(app, s)
    for a in s.academies:
        kinds = ", ".join(sorted({src.kind for src in a.sources})) or "none"
        n = urgent.get(a.id, len(set(r.lower() for r in a.recipients)))
        click.echo(
            f"  {a.id}: {a.display_name} — {len(a.names)} names, {len(a.sources)} sources ({kinds}), "
            f"{n} recipients for urgent alerts, digest {a.digest}"
        )
        if not n:
            click.echo(f"  WARNING: {a.id}: nobody receives urgent alerts")
    # The dashboard's sign-in cookie and links cross the network in the clear without https.
    if s.web.host not in ("127.0.0.1", "::1", "localhost") and not (
        s.web.public_base_url.startswith("https://")
    ):
        click.echo(
            f"  WARNING: web.host is {s.web.host} (reachable from other machines) but "
            f"web.public_base_url ({s.web.public_base_url}) is not https: sign-in links and "
            "session cookies would travel unencrypted; serve the dashboard behind https"
        )


def _urgent_recipients(app: App, settings: Settings) -> dict[str, int]:
    """Per academy, recipients whose urgent alerts are not muted, when a database exists to say
    (a muted recipient is not counted); empty when there is none yet."""
    from alerts import reach
    from monitor.store import Store

    url = settings.database_url
    if url.startswith("sqlite") and not os.path.exists(url.split("///", 1)[-1]):
        return {}
    try:
        store = Store.open(url, run_migrations=False)
        try:
            states = reach.recipient_states(store, settings)
        finally:
            store.close()
    except Exception:  # an unreachable or older database: the count from the settings stands
        return {}
    out: dict[str, int] = {}
    for st in states:
        out[st.academy_id] = out.get(st.academy_id, 0) + st.urgent
    return {a.id: out.get(a.id, 0) for a in settings.academies}


def _stats_row(s: CollectStats) -> list[object]:
    return [
        s.source_key,
        s.fetched,
        s.relevant,
        s.duplicates,
        s.new,
        "yes" if s.not_modified else "",
        f"{s.seconds:.1f}s",
        # In full: the last column, so a terminal wraps it rather than a URL being cut off.
        s.error or s.attention or "; ".join(s.notes),
    ]


@click.command("collect")
@click.option("--once", is_flag=True, required=True, help="Run every due source once, then exit.")
@click.option(
    "--all", "run_all", is_flag=True, help="Run every source now, even those not yet due."
)
@click.option(
    "--no-score", is_flag=True, help="Store matches without scoring them (faster; no alerts)."
)
@click.pass_obj
def collect(app: App, once: bool, run_all: bool, no_score: bool) -> None:
    """Fetch every due source, store new mentions of your academies, and print a table.

    Columns, each narrowing the one before: fetched (items the source returned), matched (items
    about one of your academies), duplicates (matches already stored, from any source, or
    repeated), new (mentions stored now; matched = duplicates + new); then not modified (HTTP
    304) and the error if the source failed.
    """
    from monitor.logs import command_logging

    settings = settings_or_exit(app)
    with command_logging(settings.log_level, sys.stderr, on_terminal=_on_terminal()):
        _collect(app, run_all, no_score)


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def _collect(app: App, run_all: bool, no_score: bool) -> None:
    from monitor import jobs
    from monitor.service import build_runner

    runner, closer = build_runner(app, score=not no_score)
    # Each run takes its source's lease, so a `run` or a worker never runs one at the same time.
    ctx = jobs.JobContext(runner.settings, runner.store, clock=runner.clock, runner_=runner)

    def run_source(src: ConfiguredSource) -> CollectStats:
        stats = jobs.poll_source(ctx, src.key, force=True)
        return stats or CollectStats(src.key, attention="running in another process: skipped")

    try:
        todo = runner.sources if run_all else runner.due()
        if not todo:
            click.echo("No source is due. Use --all to run every source now.")
            return
        results: list[CollectStats] = []
        if _on_terminal():
            with click.progressbar(
                todo,
                label="Collecting",
                file=sys.stderr,
                item_show_func=lambda s: s.key if s else "",
            ) as bar:
                for src in bar:
                    results.append(run_source(src))
        else:
            for src in todo:
                results.append(run_source(src))
        headers = [
            "source",
            "fetched",
            "matched",
            "duplicates",
            "new",
            "not modified",
            "time",
            "error",
        ]
        click.echo(table(headers, [_stats_row(r) for r in results]))
        failed = sum(1 for r in results if r.error)
        attention = sum(1 for r in results if r.attention)
        summary = (
            f"\n{len(results)} sources, {sum(r.new for r in results)} new mentions, {failed} failed"
        )
        if attention:
            summary += f", {attention} need attention (see `mention-monitor sources`)"
        click.echo(summary + ".")
    finally:
        closer()


@click.command("mentions")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--since", help="Only mentions first seen since: 24h, 7d, or an ISO date.")
@click.option("--academy", help="Only this academy id.")
@click.option("--limit", type=int, default=200, show_default=True)
@click.pass_obj
def mentions(app: App, as_json: bool, since: str | None, academy: str | None, limit: int) -> None:
    """List stored mentions, newest first."""
    settings_or_exit(app)
    store = app.store()
    try:
        rows = store.mentions(
            since=parse_since(since, app.now()), organisation=academy, limit=limit
        )
    finally:
        store.close()
    if as_json:
        for m, a in rows:
            doc = {
                "id": m.id,
                "organisation": m.organisation,
                "source": m.source_key,
                "url": m.url,
                "author": m.author,
                "title": m.title,
                "text": m.text,
                "published_at": m.published_at.isoformat() if m.published_at else None,
                "first_seen_at": m.first_seen_at.isoformat(),
                "matched_name": m.matched_name,
                "cluster_id": m.cluster_id,
                "has_media": m.has_media,
                "categories": list(a.categories) if a else None,
                "severity": a.severity.value if a else None,
            }
            click.echo(safe_json(json.dumps(doc, ensure_ascii=False)))
        return
    if not rows:
        click.echo("No mentions stored yet. Run `mention-monitor collect --once`.")
        return
    out = []
    for m, a in rows:
        cats = ", ".join(a.categories) if a else "(not scored)"
        out.append(
            [
                m.id,
                m.first_seen_at.strftime("%Y-%m-%d %H:%M"),
                m.organisation,
                m.source_key.split("/", 1)[-1],
                (a.severity.value if a else ""),
                cats or "-",
                m.title[:60],
            ]
        )
    click.echo(
        table(
            ["id", "first seen (UTC)", "academy", "source", "severity", "categories", "title"], out
        )
    )


@click.command("sources")
@click.pass_obj
def sources_cmd(app: App) -> None:
    """Health of every source: state, last success, failures in a row, items in 7 days, and
    what to do when a source needs a person (credentials, blocked). A first line warns of an
    academy whose urgent alerts reach nobody."""
    from alerts import reach
    from monitor.health import source_health
    from monitor.runner import configured_sources, register_sources

    settings = settings_or_exit(app)
    now = app.now()
    srcs = configured_sources(settings)
    store = app.store()
    try:
        register_sources(store, srcs, now)
        health = source_health(store, srcs, now)
        states = reach.recipient_states(store, settings)
    finally:
        store.close()
    for aid in reach.without_urgent_recipient(settings, states):
        click.echo(
            f"WARNING: {aid}: nobody receives urgent alerts (see `mention-monitor recipients list`)"
        )
    rows = [
        [
            h.key,
            h.kind,
            h.state,
            h.last_success.strftime("%Y-%m-%d %H:%M") if h.last_success else "never",
            h.consecutive_errors,
            h.items_7d,
        ]
        for h in health
    ]
    headers = ["source", "kind", "state", "last success (UTC)", "errors in a row", "items 7d"]
    click.echo(table(headers, rows))
    # What went wrong and what to do, each on its own lines under the table: wrapped between
    # words, never cut, and a URL is never broken.
    details = [h for h in health if h.advice or h.last_error]
    if details:
        click.echo("")
    for h in details:
        click.echo(f"{h.key} ({h.state.replace('_', ' ')}):")
        for text in (h.advice, h.last_error if h.advice != h.last_error else None):
            if text:
                click.echo(
                    textwrap.fill(
                        text,
                        width=DETAIL_WIDTH,
                        initial_indent="  ",
                        subsequent_indent="  ",
                        break_long_words=False,
                        break_on_hyphens=False,
                    )
                )


COMMANDS = [check_config, collect, mentions, sources_cmd]
