"""Workspace commands: `users` (add, list, remove, role, import-recipients, token create/revoke)
and `audit` (print or export the audit log). Every change is written to the audit log with the
actor "cli:<os user>"; exporting the log is itself audited."""

from __future__ import annotations

import csv
import getpass
import io
import json
import secrets

import click

from monitor.app import App
from monitor.commands.core import parse_since, settings_or_exit
from monitor.commands.output import fail, table
from monitor.roles import EVERY_ACADEMY, WILDCARD_ROLES, Role
from monitor.store.audit import AuditEntry
from monitor.store.users import token_hash

ROLES = [r.value for r in Role]


def cli_actor() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment (some containers)
        name = "unknown"
    return f"cli:{name}"


def _check_academy(app: App, academy: str, role: Role) -> None:
    settings = settings_or_exit(app)
    if academy == EVERY_ACADEMY:
        if role not in WILDCARD_ROLES:
            fail(f'only dpo and admin may hold a role on every academy ("*"), not {role}')
        return
    known = [a.id for a in settings.academies]
    if academy not in known:
        fail(f"unknown academy {academy!r}; the settings have: {', '.join(known)}")


@click.group("users")
def users() -> None:
    """Dashboard users and their roles (head, dsl, dpo, admin, viewer)."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--academy", required=True, help='Academy id, or "*" (every academy) for dpo/admin.')
@click.option("--name", default="", help="The person's name, shown in the dashboard.")
@click.pass_obj
def users_add(app: App, email: str, role: str, academy: str, name: str) -> None:
    """Add a user (or give an existing one another role)."""
    if "@" not in email or any(c.isspace() for c in email.strip()):
        fail(f"{email!r} is not an email address")
    r = Role(role)
    _check_academy(app, academy, r)
    now = app.now()
    store = app.store()
    try:
        with store.transaction() as tx:
            user, created = tx.add_user(email, name, now)
            granted = tx.grant_role(user.id, academy, r)
            if created:
                tx.audit(AuditEntry(now, cli_actor(), "user.add", academy, user.email, name, "cli"))
            if granted:
                tx.audit(
                    AuditEntry(now, cli_actor(), "role.grant", academy, user.email, role, "cli")
                )
    finally:
        store.close()
    what = "added" if created else "already a user"
    click.echo(f"{user.email}: {what}; {role} on {academy}{'' if granted else ' (already)'}")


@users.command("list")
@click.pass_obj
def users_list(app: App) -> None:
    """Every user, with their roles."""
    store = app.store()
    try:
        with store.transaction() as tx:
            rows = tx.users()
    finally:
        store.close()
    if not rows:
        click.echo("No users yet. Add one with `users add EMAIL --role head --academy ID`.")
        return
    click.echo(
        table(
            ["email", "name", "active", "roles"],
            [
                [
                    u.email,
                    u.name,
                    "yes" if u.active else "no",
                    ", ".join(f"{r} on {a}" for a, r in u.grants) or "(none)",
                ]
                for u in rows
            ],
        )
    )


@users.command("remove")
@click.argument("email")
@click.pass_obj
def users_remove(app: App, email: str) -> None:
    """Remove a user: their roles, sessions and API tokens end at once (the audit log keeps what
    they did)."""
    now = app.now()
    store = app.store()
    try:
        with store.transaction() as tx:
            if not tx.remove_user(email):
                fail(f"no user {email.lower()!r}")
            tx.audit(AuditEntry(now, cli_actor(), "user.remove", "", email.lower(), "", "cli"))
    finally:
        store.close()
    click.echo(f"{email.lower()}: removed")


@users.command("role")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--academy", required=True, help='Academy id, or "*" for dpo/admin.')
@click.option("--revoke", is_flag=True, help="Take the role away instead of giving it.")
@click.pass_obj
def users_role(app: App, email: str, role: str, academy: str, revoke: bool) -> None:
    """Give a user a role on an academy, or take it away (--revoke)."""
    r = Role(role)
    if not revoke:
        _check_academy(app, academy, r)
    now = app.now()
    store = app.store()
    try:
        with store.transaction() as tx:
            user = tx.user(email)
            if user is None:
                fail(f"no user {email.lower()!r}; add one with `users add`")
                return
            changed = (
                tx.revoke_role(user.id, academy, r)
                if revoke
                else tx.grant_role(user.id, academy, r)
            )
            if changed:
                action = "role.revoke" if revoke else "role.grant"
                tx.audit(AuditEntry(now, cli_actor(), action, academy, user.email, role, "cli"))
    finally:
        store.close()
    verb = "revoked" if revoke else "granted"
    click.echo(f"{user.email}: {role} on {academy} {verb if changed else 'unchanged'}")


@users.command("import-recipients")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="head",
    show_default=True,
    help="The role each configured recipient gets on their academy.",
)
@click.pass_obj
def users_import(app: App, role: str) -> None:
    """Make every academy's configured recipients users, with a role on that academy."""
    settings = settings_or_exit(app)
    r = Role(role)
    now = app.now()
    added = granted = 0
    store = app.store()
    try:
        with store.transaction() as tx:
            for academy in settings.academies:
                for email in academy.recipients:
                    user, created = tx.add_user(email, "", now)
                    if created:
                        added += 1
                        tx.audit(
                            AuditEntry(
                                now, cli_actor(), "user.add", academy.id, user.email, "", "cli"
                            )
                        )
                    if tx.grant_role(user.id, academy.id, r):
                        granted += 1
                        tx.audit(
                            AuditEntry(
                                now, cli_actor(), "role.grant", academy.id, user.email, role, "cli"
                            )
                        )
    finally:
        store.close()
    click.echo(f"{added} users added, {granted} roles granted ({role})")


@users.group("token")
def token() -> None:
    """Personal API tokens (read-only API)."""


@token.command("create")
@click.argument("email")
@click.option("--name", required=True, help="What the token is for, e.g. 'reporting'.")
@click.pass_obj
def token_create(app: App, email: str, name: str) -> None:
    """Create a token and print it once (only its hash is stored)."""
    now = app.now()
    raw = "mm_" + secrets.token_urlsafe(32)
    store = app.store()
    try:
        with store.transaction() as tx:
            user = tx.user(email)
            if user is None:
                fail(f"no user {email.lower()!r}; add one with `users add`")
                return
            tx.add_api_token(user.id, token_hash(raw), name, now)
            tx.audit(AuditEntry(now, cli_actor(), "token.create", "", user.email, name, "cli"))
    finally:
        store.close()
    click.echo(raw)
    click.echo("Keep it now: it is not shown again.", err=True)


@token.command("revoke")
@click.argument("email")
@click.option("--name", required=True)
@click.pass_obj
def token_revoke(app: App, email: str, name: str) -> None:
    """Revoke a user's tokens of this name."""
    now = app.now()
    store = app.store()
    try:
        with store.transaction() as tx:
            user = tx.user(email)
            if user is None:
                fail(f"no user {email.lower()!r}")
                return
            n = tx.revoke_api_tokens(user.id, name, now)
            if n:
                tx.audit(AuditEntry(now, cli_actor(), "token.revoke", "", user.email, name, "cli"))
    finally:
        store.close()
    if not n:
        fail(f"{user.email} has no live token named {name!r}")
    click.echo(f"{user.email}: {n} token{'s' * (n != 1)} named {name!r} revoked")


FIELDS = ["id", "at", "actor", "action", "academy_id", "target", "detail", "client"]


@click.command("audit")
@click.option("--since", help="From: 24h, 7d, or an ISO date/time.")
@click.option("--until", help="Before: 24h, 7d, or an ISO date/time.")
@click.option("--actor", help='Exactly this actor, e.g. "user:head@school.example.org".')
@click.option("--action", help='This action, or a family ("role" matches role.grant, ...).')
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to this file.")
@click.pass_obj
def audit(
    app: App,
    since: str | None,
    until: str | None,
    actor: str | None,
    action: str | None,
    fmt: str,
    output: str | None,
) -> None:
    """Print or export the audit log (oldest first). Exporting is itself recorded."""
    now = app.now()
    start, end = parse_since(since, now), parse_since(until, now)
    store = app.store()
    try:
        rows = store.audit_entries(since=start, until=end, actor=actor, action=action)
        if output or fmt != "text":
            store.audit(
                AuditEntry(
                    now,
                    cli_actor(),
                    "audit.export",
                    target=output or "stdout",
                    detail=f"{len(rows)} entries as {fmt}; filters: since={since} "
                    f"until={until} actor={actor} action={action}",
                    client="cli",
                )
            )
    finally:
        store.close()
    records = [
        [
            r.id,
            r.entry.at.isoformat(),
            r.entry.actor,
            r.entry.action,
            r.entry.academy_id,
            r.entry.target,
            r.entry.detail,
            r.entry.client,
        ]
        for r in rows
    ]
    if fmt == "json":
        text = json.dumps([dict(zip(FIELDS, rec, strict=True)) for rec in records], indent=2)
        text += "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(FIELDS)
        w.writerows(records)
        text = buf.getvalue()
    else:
        text = (table(FIELDS, records) if records else "The audit log is empty here.") + "\n"
    if output:
        with open(output, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        click.echo(f"{len(records)} entries written to {output}")
    else:
        click.echo(text, nl=False)


COMMANDS = [users, audit]
