"""Commands over stored data: rescore after a model change, erase on request, purge by retention."""

from __future__ import annotations

import sys
from datetime import timedelta

import click

from monitor.app import App
from monitor.commands.core import parse_since, settings_or_exit
from monitor.commands.output import fail
from monitor.models import ScoringInput


@click.command("rescore")
@click.option(
    "--since", help="Only mentions first seen since: 24h, 7d, or an ISO date. Default: all."
)
@click.option("--academy", help="Only this academy id.")
@click.pass_obj
def rescore(app: App, since: str | None, academy: str | None) -> None:
    """Score stored mentions again with the current model and heads (after `train` or a model
    change). A Headteacher's corrections are kept. Sends no alerts: review changes in `mentions`."""
    settings = settings_or_exit(app)
    from monitor.scoring import load_scorer
    from monitor.store.embeddings import StoreEmbeddingCache

    store = app.store()
    try:
        rows = store.mentions(since=parse_since(since, app.now()), organisation=academy)
        if not rows:
            click.echo("No stored mentions to rescore.")
            return
        click.echo(f"Loading the model and scoring {len(rows)} mentions…", err=True)
        scorer = load_scorer(
            settings.scoring, cache=StoreEmbeddingCache.for_model(store, settings.scoring.model)
        )
        batch = max(1, settings.scoring.batch_size * 4)
        changed = urgent = 0
        chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
        with click.progressbar(chunks, label="Rescoring", file=sys.stderr) as bar:
            for chunk in bar:
                inputs = [
                    ScoringInput(m.title, m.text, m.has_media, m.fingerprint) for m, _ in chunk
                ]
                fresh = scorer.assess(inputs)
                for (_, old), new in zip(chunk, fresh, strict=True):
                    if (
                        old is None
                        or set(old.categories) != set(new.categories)
                        or old.severity != new.severity
                    ):
                        changed += 1
                    urgent += new.urgent
                store.save_assessments(
                    [(m.id, a) for (m, _), a in zip(chunk, fresh, strict=True)], app.now()
                )
        click.echo(
            f"Rescored {len(rows)} mentions with {scorer.model_version}: {changed} changed, {urgent} urgent."
        )
    finally:
        store.close()


@click.command("erase")
@click.option("--id", "ids", type=int, multiple=True, help="A mention id (repeatable).")
@click.option("--url", help="Every mention with this URL (as published or canonical).")
@click.option("--author", help="Every mention by this author name.")
@click.option("--containing", help="Every mention whose title or text contains this text.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def erase(
    app: App,
    ids: tuple[int, ...],
    url: str | None,
    author: str | None,
    containing: str | None,
    yes: bool,
) -> None:
    """Erase mentions and everything derived from them (assessment, embedding, unsent email).

    For a subject's erasure request, or to remove something that should never have been kept.
    Emails already delivered cannot be recalled.
    """
    settings_or_exit(app)
    if not (ids or url or author or containing):
        raise click.UsageError("say what to erase: --id, --url, --author or --containing")
    store = app.store()
    try:
        found = store.find_mention_ids(ids=ids, url=url, author=author, text=containing)
        if not found:
            click.echo("Nothing matches; nothing erased.")
            return
        if not yes:
            click.confirm(f"Erase {len(found)} mention(s) and their derived data?", abort=True)
        n = store.erase(found)
        click.echo(f"Erased {n} mention(s).")
    finally:
        store.close()


@click.command("keep")
@click.argument("mention_id", type=int)
@click.option("--undo", is_flag=True, help="Let the retention purge delete it again.")
@click.pass_obj
def keep(app: App, mention_id: int, undo: bool) -> None:
    """Keep a mention beyond the retention limit (evidence for a complaint or an incident)."""
    settings_or_exit(app)
    store = app.store()
    try:
        if not store.set_kept(mention_id, not undo):
            fail(f"no mention with id {mention_id}")
        click.echo(
            f"Mention {mention_id} {'will be purged as usual' if undo else 'is kept beyond the retention limit'}."
        )
    finally:
        store.close()


@click.command("purge")
@click.pass_obj
def purge(app: App) -> None:
    """Apply the retention limit now (the service does it daily): delete mentions older than
    retention.mention_days, except those kept, with their derived data."""
    settings = settings_or_exit(app)
    store = app.store()
    try:
        days = settings.retention.mention_days
        n = store.purge_before(app.now() - timedelta(days=days))
        click.echo(f"Deleted {n} mention(s) first seen more than {days} days ago.")
    finally:
        store.close()


COMMANDS = [rescore, erase, keep, purge]
