"""Alert commands: subscribers (add, list, remove, confirm), recipients (list, mute, enable),
outbox, digest --preview, dispatch."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import click

from alerts import outbox, subscriptions
from alerts.digest import preview_digest
from alerts.smtp import transport_for
from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail, table
from monitor.models import CATEGORIES


def _when(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d %H:%M") if dt else ""


@click.group("subscribers")
def subscribers() -> None:
    """Providers who receive breach notifications (double opt-in by email).

    A provider added here gets a confirmation email and receives nothing until they follow its
    link. Recipients named in the settings (academies.recipients) are listed too, once they have
    received an email, with their unsubscribe status.
    """


@subscribers.command("add")
@click.argument("email")
@click.option(
    "--academy",
    "academies",
    multiple=True,
    help="Academy id the provider serves (required; repeat for several).",
)
@click.option(
    "--category",
    "categories",
    multiple=True,
    type=click.Choice(CATEGORIES),
    help="Category to be told about (repeat). Default: data_leak and pupil_image.",
)
@click.option("--name", default="", help="Who they are, e.g. the provider's company name.")
@click.pass_obj
def subscribers_add(
    app: App, email: str, academies: tuple[str, ...], categories: tuple[str, ...], name: str
) -> None:
    """Subscribe provider EMAIL to the academies it serves and queue the confirmation email.

    Name each academy with --academy: a provider hears only about the academies it serves.
    A recipient named in the settings cannot be added here (see `recipients`).
    """
    settings = settings_or_exit(app)
    store = app.store()
    try:
        result = subscriptions.add(
            store,
            settings,
            email,
            academies=academies,
            categories=categories,
            name=name,
            now=app.now(),
        )
    except subscriptions.SubscriptionError as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    if result.confirmation_queued:
        click.echo(
            f"{email}: confirmation email queued (link valid {settings.mail.confirm_link_days} days). "
            "Nothing else is sent to them until they confirm.\n"
            "The running service sends it within a minute; or send it now with `mention-monitor dispatch`."
        )
    else:
        click.echo(f"{email}: already subscribed and confirmed; academies and categories updated.")


@subscribers.command("list")
@click.pass_obj
def subscribers_list(app: App) -> None:
    """Every subscriber with role, status, academies and categories."""
    settings_or_exit(app)
    store = app.store()
    try:
        rows = subscriptions.list_all(store)
    finally:
        store.close()
    if not rows:
        click.echo(
            "No subscribers yet. Add a provider with `mention-monitor subscribers add EMAIL`."
        )
        return
    click.echo(
        table(
            [
                "email",
                "role",
                "status",
                "academies",
                "categories",
                "since (UTC)",
                "confirmed (UTC)",
            ],
            [
                [
                    r.email,
                    r.role,
                    r.status,
                    ", ".join(r.academies),
                    ", ".join(r.categories) or "all",
                    _when(r.created_at),
                    _when(r.confirmed_at),
                ]
                for r in rows
            ],
        )
    )


@subscribers.command("remove")
@click.argument("email")
@click.pass_obj
def subscribers_remove(app: App, email: str) -> None:
    """Delete a provider's subscription and cancel anything still queued for them."""
    settings_or_exit(app)
    store = app.store()
    try:
        removed = subscriptions.remove(store, email)
    finally:
        store.close()
    if not removed:
        fail(f"{email} is not a provider subscriber (see `mention-monitor subscribers list`).")
    click.echo(f"{email}: removed.")


@subscribers.command("confirm")
@click.argument("email", required=False)
@click.option("--token", help="The token from a confirmation link (what the link does).")
@click.pass_obj
def subscribers_confirm(app: App, email: str | None, token: str | None) -> None:
    """Confirm a subscription: with --token as the link would, or by EMAIL when the provider
    confirmed another way (in writing); the second is recorded as confirmed by an administrator."""
    settings_or_exit(app)
    if bool(email) == bool(token):
        fail("give either EMAIL or --token TOKEN")
    store = app.store()
    try:
        if token:
            outcome = subscriptions.confirm(store, token, app.now())
            if outcome in (subscriptions.Outcome.INVALID, subscriptions.Outcome.EXPIRED):
                fail(f"the token is {outcome.value}")
            click.echo(
                "Confirmed." if outcome is subscriptions.Outcome.DONE else "Already confirmed."
            )
            return
        assert email is not None
        if not subscriptions.confirm_by_admin(store, email, app.now()):
            fail(f"{email} is not a provider subscriber; add them first with `subscribers add`.")
        click.echo(f"{email}: confirmed by an administrator.")
    finally:
        store.close()


@click.command("outbox")
@click.option(
    "--status",
    type=click.Choice(["pending", "sent", "dead", "cancelled", "all"]),
    default="all",
    show_default=True,
)
@click.option("--limit", type=int, default=50, show_default=True)
@click.option(
    "--retry-dead", is_flag=True, help="Queue every dead letter again with fresh attempts."
)
@click.pass_obj
def outbox_cmd(app: App, status: str, limit: int, retry_dead: bool) -> None:
    """Emails waiting, sent, and dead (given up) with the reason, newest first."""
    settings_or_exit(app)
    store = app.store()
    try:
        if retry_dead:
            n = outbox.retry_dead(store, app.now())
            click.echo(f"{n} dead letter(s) queued again; they are sent on the next dispatch.")
            return
        rows = outbox.list_notices(store, None if status == "all" else status, limit)
        totals = outbox.counts(store)
    finally:
        store.close()
    click.echo(
        "Outbox: "
        + ", ".join(f"{totals.get(k, 0)} {k}" for k in ("pending", "sent", "dead", "cancelled"))
    )
    if not rows:
        return
    click.echo(
        table(
            [
                "id",
                "kind",
                "academy",
                "to",
                "status",
                "tries",
                "created (UTC)",
                "sent / next (UTC)",
                "subject / reason",
            ],
            [
                [
                    r.id,
                    r.kind,
                    r.academy_id,
                    r.recipient,
                    r.status,
                    r.attempts,
                    _when(r.created_at),
                    _when(r.sent_at)
                    if r.status == "sent"
                    else (_when(r.next_attempt_at) if r.status == "pending" else ""),
                    ((r.last_error or r.subject) if r.status != "sent" else r.subject)[:100],
                ]
                for r in rows
            ],
        )
    )


@click.command("digest")
@click.option(
    "--preview", is_flag=True, required=True, help="Write the digest to a file; send nothing."
)
@click.option("--academy", "academy_id", help="Academy id. Default: the first one.")
@click.option("--date", "digest_date", help="Digest date YYYY-MM-DD. Default: the next one due.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="File to write: .eml (whole message), .txt (plain text) or .html. "
    "Default: digest-<academy>-<date>.eml here.",
)
@click.pass_obj
def digest_cmd(
    app: App, preview: bool, academy_id: str | None, digest_date: str | None, out: str | None
) -> None:
    """Preview a daily digest exactly as it would be sent, without sending it."""
    from monitor.health import SourceHealth, source_health
    from monitor.runner import configured_sources, register_sources

    settings = settings_or_exit(app)
    academy = academy_id or settings.academies[0].id
    try:
        settings.academy(academy)
    except KeyError:
        fail(f"unknown academy {academy!r}; known: {', '.join(a.id for a in settings.academies)}")
    try:
        d = date.fromisoformat(digest_date) if digest_date else None
    except ValueError:
        fail("--date must be YYYY-MM-DD")
        return
    now = app.now()
    store = app.store()
    try:
        sources = configured_sources(settings)
        register_sources(store, sources, now)

        def health(aid: str) -> list[SourceHealth]:
            return source_health(store, [s for s in sources if s.academy_id == aid], now)

        d, msg = preview_digest(store, settings, academy, d, now, health)
    finally:
        store.close()
    path = Path(out or f"digest-{academy}-{d.isoformat()}.eml")
    suffix = path.suffix.lower()
    if suffix in (".txt", ".html"):
        part = msg.get_body(("plain",) if suffix == ".txt" else ("html",))
        assert part is not None
        path.write_text(str(part.get_content()), encoding="utf-8")
    else:
        path.write_bytes(bytes(msg))
    click.echo(f"Digest for {academy} on {d.isoformat()} written to {path} ({msg['Subject']}).")


@click.command("dispatch")
@click.pass_obj
def dispatch_cmd(app: App) -> None:
    """Send every email that is due now, once, and report what happened."""
    settings = settings_or_exit(app)
    transport = transport_for(settings.mail)
    store = app.store()
    try:
        result = outbox.dispatch_pending(store, settings, transport, app.now())
    finally:
        store.close()
    click.echo(
        f"Sent {result.sent}, will retry {result.retrying}, dead {result.dead} (via {transport.description})."
    )
    if result.stopped:
        fail(f"Stopped early: {result.stopped}", code=1)


@click.group("recipients")
def recipients() -> None:
    """The recipients named in the settings (academies.recipients): what each receives, and
    muting or enabling them (an administrator's decision).

    An unsubscribe link in their email mutes only the daily digest: urgent alerts about data
    leaks, harassment and other urgent matters keep coming until muted here with --urgent. An
    academy whose urgent alerts reach nobody makes `status` and /healthz unhealthy.
    """


@recipients.command("list")
@click.pass_obj
def recipients_list(app: App) -> None:
    """Every configured recipient of every academy: urgent alerts on or muted, digest on or muted."""
    from alerts import reach

    settings = settings_or_exit(app)
    store = app.store()
    try:
        states = reach.recipient_states(store, settings)
    finally:
        store.close()
    for aid in reach.without_urgent_recipient(settings, states):
        click.echo(f"WARNING: {aid}: nobody receives urgent alerts.")
    if not states:
        click.echo("No recipients in the settings (academies.recipients).")
        return
    click.echo(
        table(
            ["academy", "email", "urgent alerts", "digest", "digest muted (UTC)"],
            [
                [
                    st.academy_id,
                    st.email,
                    "on" if st.urgent else "MUTED",
                    "on" if st.digest else "muted",
                    _when(st.digest_muted_at),
                ]
                for st in states
            ],
        )
    )


@recipients.command("mute")
@click.argument("email")
@click.option(
    "--urgent",
    is_flag=True,
    help="Also mute urgent alerts for the academies given with --academy (required then).",
)
@click.option(
    "--academy",
    "academies",
    multiple=True,
    help="Academy id whose urgent alerts to mute (repeat for several); only with --urgent.",
)
@click.pass_obj
def recipients_mute(app: App, email: str, urgent: bool, academies: tuple[str, ...]) -> None:
    """Mute a configured recipient: the daily digest, and with --urgent --academy ID their urgent
    alerts for that academy. Undo with `recipients enable EMAIL`."""
    from alerts import reach

    settings = settings_or_exit(app)
    if urgent and not academies:
        fail("--urgent needs --academy ID: name each academy whose urgent alerts to mute")
    if academies and not urgent:
        fail("--academy is only for --urgent (the digest is muted for every academy)")
    store = app.store()
    try:
        subscriptions.mute(store, settings, email, urgent_academies=academies, now=app.now())
        states = reach.recipient_states(store, settings)
    except subscriptions.SubscriptionError as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    what = "digest" + (f" and urgent alerts for {', '.join(academies)}" if urgent else "")
    click.echo(f"{email}: {what} muted. Undo with `mention-monitor recipients enable {email}`.")
    for aid in reach.without_urgent_recipient(settings, states):
        if aid in academies:
            click.echo(
                f"WARNING: nobody receives urgent alerts for {aid} now; `status` and /healthz "
                "report the service unhealthy until a recipient is enabled or added."
            )


@recipients.command("enable")
@click.argument("email")
@click.pass_obj
def recipients_enable(app: App, email: str) -> None:
    """Undo every mute of a configured recipient: the digest and urgent alerts come again."""
    settings = settings_or_exit(app)
    store = app.store()
    try:
        subscriptions.enable(store, settings, email, app.now())
    except subscriptions.SubscriptionError as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    click.echo(f"{email}: enabled; urgent alerts and the digest are sent again.")


COMMANDS = [subscribers, recipients, outbox_cmd, digest_cmd, dispatch_cmd]
