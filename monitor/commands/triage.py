"""`mention-monitor mentions list|triage`: the inbox and triage from the command line (for the IT
lead, scripts and tests; the Headteacher uses the web pages, which call the same store API).

`mentions` with no subcommand still lists stored mentions as before (monitor/commands/core.py):
this group wraps that command, so `mentions --json` keeps working.
"""

from __future__ import annotations

from typing import Any

import click

from monitor.app import App
from monitor.commands import core
from monitor.commands.core import parse_since, settings_or_exit
from monitor.commands.output import fail, safe, table
from monitor.models import CATEGORIES
from monitor.store.inbox import MAX_PAGE, InboxError, InboxQuery
from monitor.triage import (
    AddNote,
    Assign,
    Command,
    CorrectCategories,
    MarkNotAboutUs,
    MuteAuthor,
    MuteThread,
    SetStatus,
    Status,
    TriageError,
)


def _listing(**kwargs: Any) -> None:
    ctx = click.get_current_context()
    if ctx.invoked_subcommand is None:
        assert core.mentions.callback is not None
        ctx.invoke(core.mentions.callback, **kwargs)


mentions = click.Group(
    "mentions",
    params=list(core.mentions.params),
    callback=_listing,
    invoke_without_command=True,
    help=(core.mentions.help or "")
    + "\n\n`mentions list` shows the triage inbox; `mentions triage ID` acts on one mention.",
)


@mentions.command("list")
@click.option(
    "--academy", "academies", multiple=True, help="Academy id (repeatable). Default: all."
)
@click.option("--status", type=click.Choice([s.value for s in Status]))
@click.option("--category", type=click.Choice(list(CATEGORIES)))
@click.option("--urgent", is_flag=True, help="Only urgent mentions.")
@click.option("--source", help="Only this source key (academy/name).")
@click.option("--since", help="First seen since: 24h, 7d, or an ISO date.")
@click.option("--search", help="Text in the title or text (any case).")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True)
@click.option("--cursor", help="The next-page cursor printed under the previous page.")
@click.pass_obj
def list_cmd(
    app: App,
    academies: tuple[str, ...],
    status: str | None,
    category: str | None,
    urgent: bool,
    source: str | None,
    since: str | None,
    search: str | None,
    limit: int,
    cursor: str | None,
) -> None:
    """The triage inbox: urgent first, then newest; counts per status for the same filters."""
    settings = settings_or_exit(app)
    known = tuple(a.id for a in settings.academies)
    for a in academies:
        if a not in known:
            fail(f"unknown academy {a!r}; configured: {', '.join(known)}")
    query = InboxQuery(
        academies=academies or known,
        status=Status(status) if status else None,
        category=category,
        urgent_only=urgent,
        source_key=source,
        seen_from=parse_since(since, app.now()),
        search=search,
        limit=limit,
        cursor=cursor,
    )
    store = app.store()
    try:
        page = store.inbox(query)
    except InboxError as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits
    finally:
        store.close()
    counts = ", ".join(f"{s.value.replace('_', ' ')} {n}" for s, n in page.counts.items())
    if not page.rows:
        click.echo(f"No mentions match. ({counts})")
        return
    rows = [
        [
            r.id,
            r.first_seen.strftime("%Y-%m-%d %H:%M"),
            r.academy,
            r.source.split("/", 1)[-1],
            r.severity.value if r.severity else "-",
            ", ".join(r.categories) or "-",
            r.status.value + (" (muted)" if r.muted else ""),
            r.owner or "",
            r.cluster_size,
            r.title[:50],
        ]
        for r in page.rows
    ]
    headers = [
        "id",
        "first seen (UTC)",
        "academy",
        "source",
        "severity",
        "categories",
        "status",
        "owner",
        "copies",
        "title",
    ]
    click.echo(table(headers, rows))
    click.echo(f"\n{counts}")
    if page.next_cursor:
        click.echo(f"More: --cursor {page.next_cursor}")


@mentions.command("triage")
@click.argument("mention_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in Status]), help="Move the status.")
@click.option("--assign", help="Owner's email ('' to unassign).")
@click.option("--note", help="Add a note to the timeline.")
@click.option("--not-about-us", is_flag=True, help="Not about this academy: close it.")
@click.option("--categories", help="The right categories, comma-separated ('' for none).")
@click.option("--mute-author", is_flag=True, help="Label this author's mentions as muted.")
@click.option("--mute-thread", is_flag=True, help="Label this story's copies as muted.")
@click.option("--by", "actor", required=True, help="Who does it (email), for the timeline.")
@click.pass_obj
def triage_cmd(
    app: App,
    mention_id: int,
    status: str | None,
    assign: str | None,
    note: str | None,
    not_about_us: bool,
    categories: str | None,
    mute_author: bool,
    mute_thread: bool,
    actor: str,
) -> None:
    """Triage one mention: every option given is applied, in the order listed here, in one
    transaction (all or nothing). Muting only labels the mention in the inbox: urgent alerts
    are still sent."""
    settings_or_exit(app)
    store = app.store()
    try:
        now = app.now()
        with store.transaction() as tx:
            detail = tx.mention_detail(mention_id)
            if detail is None:
                fail(f"no mention with id {mention_id}")
                raise AssertionError  # unreachable: fail() exits
            commands: list[Command] = []
            if status:
                commands.append(SetStatus(Status(status)))
            if assign is not None:
                commands.append(Assign(assign or None))
            if note is not None:
                commands.append(AddNote(note))
            if not_about_us:
                commands.append(MarkNotAboutUs())
            if categories is not None:
                cats = tuple(c.strip() for c in categories.split(",") if c.strip())
                commands.append(CorrectCategories(cats))
            if mute_author:
                if not detail.mention.author:
                    fail(f"mention {mention_id} has no author to mute")
                commands.append(MuteAuthor(detail.mention.author or ""))
            if mute_thread:
                commands.append(MuteThread(detail.mention.cluster_id))
            if not commands:
                raise click.UsageError(
                    "say what to do: --status, --assign, --note, --not-about-us, --categories, "
                    "--mute-author or --mute-thread"
                )
            results = []
            for cmd in commands:
                if isinstance(cmd, MarkNotAboutUs | CorrectCategories):
                    results.append(tx.correct(mention_id, cmd, actor, now))
                else:
                    results.append(tx.triage(mention_id, cmd, actor, now))
    except TriageError as exc:
        fail(f"nothing changed: {exc}")
    finally:
        store.close()
    state = results[-1].state
    for r in results:
        click.echo(f"{r.event.kind.value}: {safe(_describe(r.event.detail), one_line=True)}")
    click.echo(
        f"Mention {mention_id}: {state.status.value}, owner {state.owner or 'nobody'} "
        f"(by {results[-1].event.actor})."
    )


def _describe(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v if v not in (None, '') else '-'}" for k, v in detail.items())


COMMANDS = [mentions]
