"""`mention-monitor removals`: record that a mention was reported to its platform or that its
removal was asked of the poster (policy 11.2), list the requests, and re-check their URLs now."""

from __future__ import annotations

from datetime import datetime

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail, safe, table
from monitor.commands.users import cli_actor
from monitor.removal_checks import RemovalError, check_due, request_removal
from monitor.removals import RemovalKind


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


@click.group("removals")
def removals() -> None:
    """Removal requests (policy 11.2): what was reported where, and whether it has gone.

    The service re-checks each request's URL about every 12 hours through the guarded client; a
    request is "removed" after two checks a day apart find the content gone (404/410, or its
    text no longer on the page). Requests open for more than 7 days are listed in the digest."""


@removals.command("add")
@click.argument("mention_id", type=int)
@click.option("--reported-to", "platform", help="The platform it was reported to (e.g. Facebook).")
@click.option("--reference", help="The platform's reference for the report, if it gave one.")
@click.option(
    "--reported-at", type=click.DateTime(), help="When it was reported (UTC). Default: now."
)
@click.option(
    "--requested-from-poster",
    is_flag=True,
    help="Removal was asked of whoever posted it, not of the platform.",
)
@click.option("--by", "by", required=True, help="Email address of who made the request.")
@click.pass_obj
def removals_add(
    app: App,
    mention_id: int,
    platform: str | None,
    reference: str | None,
    reported_at: datetime | None,
    requested_from_poster: bool,
    by: str,
) -> None:
    """Record a removal request for MENTION_ID: `--reported-to PLATFORM` or
    `--requested-from-poster`."""
    settings_or_exit(app)
    if requested_from_poster == bool(platform):
        raise click.UsageError("give exactly one of --reported-to and --requested-from-poster")
    kind = (
        RemovalKind.REQUESTED_FROM_POSTER
        if requested_from_poster
        else RemovalKind.REPORTED_TO_PLATFORM
    )
    from datetime import UTC

    store = app.store()
    try:
        row = request_removal(
            store,
            mention_id,
            kind,
            by=by,
            now=app.now(),
            platform=platform,
            reference=reference,
            reported_at=reported_at.replace(tzinfo=UTC) if reported_at else None,
            actor=cli_actor(),
            client="cli",
        )
    except RemovalError as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    click.echo(
        f"Removal request {row.id} recorded for mention {mention_id}; its URL is checked from now on."
    )


@removals.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only those not yet confirmed removed.")
@click.option("--academy", help="Only this academy id.")
@click.pass_obj
def removals_list(app: App, open_only: bool, academy: str | None) -> None:
    """Removal requests, oldest first, with their status and last check."""
    settings_or_exit(app)
    store = app.store()
    try:
        rows = store.removals(open_only=open_only, academy=academy)
        last = {c.removal_id: c for c in store.removal_checks([r.id for r in rows])}
    finally:
        store.close()
    if not rows:
        click.echo("No removal requests." if not open_only else "No open removal requests.")
        return
    click.echo(
        table(
            [
                "id",
                "mention",
                "academy",
                "where",
                "reference",
                "reported",
                "status",
                "last check",
                "next check",
            ],
            [
                [
                    r.id,
                    r.mention_id,
                    r.academy_id,
                    r.platform or "the poster",
                    r.reference or "",
                    _when(r.reported_at),
                    r.status,
                    f"{_when(last[r.id].at)} {last[r.id].outcome}" if r.id in last else "",
                    _when(r.next_check_at),
                ]
                for r in rows
            ],
        )
    )


@removals.command("check")
@click.option("--id", "ids", type=int, multiple=True, help="Check this request now (repeatable).")
@click.pass_obj
def removals_check(app: App, ids: tuple[int, ...]) -> None:
    """Re-check now the requests that are due (or those given with --id) and print outcomes."""
    settings_or_exit(app)
    store = app.store()
    client = app.client()
    try:
        done = check_due(store, client, app.now, ids=ids)
    finally:
        client.close()
        store.close()
    if not done:
        click.echo("No removal request was due for a check.")
        return
    for c in done:
        status = "" if c.result.http_status is None else f"HTTP {c.result.http_status}, "
        click.echo(
            f"request {c.removal.id} (mention {c.removal.mention_id}): {c.result.outcome.value} "
            f"({status}{safe(c.result.detail, one_line=True)}) -> {c.removal.status}"
        )


COMMANDS = [removals]
