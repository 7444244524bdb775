"""`mention-monitor intake poll` and `intake quarantine list|release` (added to the `intake` group): the intake mailbox by hand
(the service polls it every intake.imap.poll_interval_minutes)."""

from __future__ import annotations

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail, safe, table


@click.command("poll")
@click.pass_obj
def poll(app: App) -> None:
    """Read the intake mailbox once now and say what became of each new message."""
    from monitor.jobs import JobContext, poll_intake_mailbox

    settings = settings_or_exit(app)
    if settings.intake.imap is None:
        fail("intake.imap is not configured: add an [intake.imap] table (see the README)")
    ctx = JobContext.open(settings, clock=app.clock)
    try:
        result = poll_intake_mailbox(ctx, force=True)
    finally:
        ctx.close()
    for line in result.lines():
        click.echo(safe(line))
    if result.error:
        raise SystemExit(1)


@click.group("quarantine")
def quarantine() -> None:
    """Messages held back: sender not allowed, no academy, unreadable or too large."""


@quarantine.command("list")
@click.option("--all", "show_all", is_flag=True, help="Released messages too.")
@click.pass_obj
def quarantine_list(app: App, show_all: bool) -> None:
    """The quarantined messages, newest first (sender, subject, when, why)."""
    from monitor.store import mailbox as mail_rows

    settings_or_exit(app)
    store = app.store()
    try:
        with store.transaction() as tx:
            rows = mail_rows.list_quarantine(tx, status=None if show_all else "held")
    finally:
        store.close()
    if not rows:
        click.echo("The quarantine is empty.")
        return
    click.echo(
        table(
            ["id", "status", "received", "sender", "subject", "reason"],
            [
                [
                    r.id,
                    r.status,
                    f"{r.received_at:%Y-%m-%d %H:%M}" if r.received_at else "",
                    r.sender,
                    r.subject[:60],
                    r.reason,
                ]
                for r in rows
            ],
        )
    )


@quarantine.command("release")
@click.argument("quarantine_id", type=int)
@click.option(
    "--academy", help="The academy it is about (default: from the address it was sent to)."
)
@click.pass_obj
def quarantine_release(app: App, quarantine_id: int, academy: str | None) -> None:
    """Turn a quarantined message into a report, as if its sender were allowed."""
    from monitor.commands.users import cli_actor
    from monitor.jobs import JobContext
    from monitor.mailintake import ReleaseRefused, default_submit, release

    settings = settings_or_exit(app)
    if academy is not None and academy not in {a.id for a in settings.academies}:
        fail(f"unknown academy {academy!r}")
    ctx = JobContext.open(settings, clock=app.clock)
    try:
        outcome = release(
            ctx.store,
            settings,
            quarantine_id,
            default_submit(ctx),
            ctx.now(),
            academy_id=academy,
            actor=cli_actor(),
            client="cli",
        )
    except ReleaseRefused as exc:
        fail(str(exc), 1)
        raise  # unreachable: fail() exits
    finally:
        ctx.close()
    what = f"mention {outcome.mention_id}" if outcome.mention_id else "no mention"
    click.echo(safe(f"Released #{quarantine_id}: {what} ({outcome.reason})"))


# Subcommands of `intake` (monitor/commands/intake.py), beside `submit` and `link`.
SUBCOMMANDS = [poll, quarantine]
