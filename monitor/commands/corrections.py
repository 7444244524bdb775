"""Correction commands: `corrections add|list` (labelled examples made by people) and
`exclusions list|apply|reject` (matcher exclusions proposed by "not about us"). Every change is
written to the audit log with the actor "cli:<os user>" ("correction", "exclusion.apply",
"exclusion.reject"); the admin page /admin/exclusions does the same for the web."""

from __future__ import annotations

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail, table
from monitor.commands.users import cli_actor
from monitor.corrections import (
    NOT_ABOUT_US,
    WRONG_CATEGORIES,
    CorrectionError,
    decide_exclusion,
    record_correction,
)
from monitor.models import CATEGORIES
from monitor.store.audit import AuditEntry


@click.group("corrections")
def corrections() -> None:
    """Corrections of the scorer ("wrong categories", "not about us"), kept as labelled examples
    for `train --with-corrections`."""


@corrections.command("add")
@click.argument("mention_id", type=int)
@click.option("--not-about-us", is_flag=True, help="The mention is not about the academy.")
@click.option(
    "--categories",
    default=None,
    help=f"The right categories, comma-separated ({', '.join(CATEGORIES)}); '' for none.",
)
@click.option("--urgent/--not-urgent", default=None, help="Also say whether it was urgent.")
@click.option("--by", required=True, help="Who makes the correction (email).")
@click.pass_obj
def add(
    app: App,
    mention_id: int,
    not_about_us: bool,
    categories: str | None,
    urgent: bool | None,
    by: str,
) -> None:
    """Record a correction of MENTION_ID."""
    settings_or_exit(app)
    if not_about_us == (categories is not None):
        raise click.UsageError("give exactly one of --not-about-us and --categories")
    kind = NOT_ABOUT_US if not_about_us else WRONG_CATEGORIES
    cats = [c for c in (categories or "").split(",") if c.strip()]
    store = app.store()
    now = app.now()
    try:
        with store.transaction() as tx:
            done = record_correction(tx, mention_id, kind, cats, by, now, urgent=urgent)
            c = done.correction
            tx.audit(
                AuditEntry(
                    now,
                    cli_actor(),
                    "correction",
                    academy_id=c.academy_id,
                    target=f"mention:{mention_id}",
                    detail=kind if not c.categories else f"{kind}: {', '.join(c.categories)}",
                    client="cli",
                )
            )
    except CorrectionError as exc:
        fail(str(exc))
        raise
    finally:
        store.close()
    c = done.correction
    click.echo(
        f"Correction {c.id} recorded: mention {mention_id} "
        + (
            "is not about us."
            if kind == NOT_ABOUT_US
            else f"is {', '.join(c.categories) or 'nothing'}."
        )
    )
    if done.proposal is not None:
        click.echo(
            f"Exclusion {done.proposal.id} proposed for {done.proposal.academy_id}: "
            f"{done.proposal.phrase!r} (an admin runs `exclusions apply {done.proposal.id}`)."
        )


@corrections.command("list")
@click.option("--academy", default=None, help="Only this academy.")
@click.pass_obj
def list_(app: App, academy: str | None) -> None:
    """List the corrections (newest last). Texts are not printed."""
    settings_or_exit(app)
    store = app.store()
    try:
        rows = store.corrections(academy_id=academy)
    finally:
        store.close()
    if not rows:
        click.echo("No corrections.")
        return
    click.echo(
        table(
            ["id", "mention", "academy", "kind", "categories", "urgent", "by", "at (UTC)"],
            [
                [
                    c.id,
                    c.mention_id,
                    c.academy_id,
                    c.kind,
                    ",".join(c.categories) or "-",
                    "-" if c.urgent is None else ("yes" if c.urgent else "no"),
                    c.made_by,
                    c.made_at.strftime("%Y-%m-%d %H:%M"),
                ]
                for c in rows
            ],
        )
    )


@click.group("exclusions")
def exclusions() -> None:
    """Matcher exclusions proposed by "not about us" corrections: an admin applies or rejects."""


@exclusions.command("list")
@click.option("--status", type=click.Choice(["proposed", "applied", "rejected"]), default=None)
@click.pass_obj
def exclusions_list(app: App, status: str | None) -> None:
    """List exclusion proposals."""
    settings_or_exit(app)
    store = app.store()
    try:
        rows = store.exclusion_proposals(status=status)
    finally:
        store.close()
    if not rows:
        click.echo("No exclusion proposals.")
        return
    click.echo(
        table(
            ["id", "academy", "phrase", "status", "proposed by", "mention", "decided by"],
            [
                [
                    p.id,
                    p.academy_id,
                    p.phrase,
                    p.status,
                    p.proposed_by,
                    p.mention_id or "-",
                    p.decided_by or "-",
                ]
                for p in rows
            ],
        )
    )


def _decide(app: App, proposal_id: int, apply: bool, by: str, yes: bool) -> None:
    settings_or_exit(app)
    store = app.store()
    try:
        found = [p for p in store.exclusion_proposals() if p.id == proposal_id]
        if not found:
            fail(f"no exclusion proposal {proposal_id}")
        p = found[0]
        verb = "Apply" if apply else "Reject"
        if not yes:
            click.confirm(
                f"{verb} exclusion {p.phrase!r} for {p.academy_id}"
                + (" (mentions containing it will no longer match)?" if apply else "?"),
                abort=True,
            )
        done = decide_exclusion(store, proposal_id, apply, by, app.now(), actor=cli_actor())
    except CorrectionError as exc:
        fail(str(exc))
        raise
    finally:
        store.close()
    click.echo(f"Exclusion {done.id} {done.status}: {done.phrase!r} ({done.academy_id}).")


@exclusions.command("apply")
@click.argument("proposal_id", type=int)
@click.option("--by", required=True, help="The admin deciding (email).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def apply_(app: App, proposal_id: int, by: str, yes: bool) -> None:
    """Apply exclusion PROPOSAL_ID: the matcher stops matching names it overlaps."""
    _decide(app, proposal_id, True, by, yes)


@exclusions.command("reject")
@click.argument("proposal_id", type=int)
@click.option("--by", required=True, help="The admin deciding (email).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def reject(app: App, proposal_id: int, by: str, yes: bool) -> None:
    """Reject exclusion PROPOSAL_ID."""
    _decide(app, proposal_id, False, by, yes)


COMMANDS = [corrections, exclusions]
