"""Commands over stored data: rescore after a model change, erase on request, purge by retention."""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from datetime import timedelta
from typing import Any

import click

from monitor.app import App
from monitor.commands.core import parse_since, settings_or_exit
from monitor.commands.output import fail, table
from monitor.models import ScoringInput

log = logging.getLogger(__name__)


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
    from monitor.scoring import cache_key, load_scorer
    from monitor.store.embeddings import StoreEmbeddingCache

    store = app.store()
    try:
        rows = store.mentions(since=parse_since(since, app.now()), organisation=academy)
        if not rows:
            click.echo("No stored mentions to rescore.")
            return
        click.echo(f"Loading the model and scoring {len(rows)} mentions…", err=True)
        scorer = load_scorer(
            settings.scoring,
            cache=StoreEmbeddingCache(store, cache_key(settings.scoring)),
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
        from monitor.evidence.pack import evidence_dir, remove_orphans
        from monitor.store import evidence as evidence_rows

        with store.transaction() as tx:  # their evidence packs' folders go too
            remove_orphans(evidence_dir(app.settings()), evidence_rows.all_paths(tx))
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


INCIDENT_FIELDS = [
    "id",
    "academy",
    "opened_at",
    "ico_deadline",
    "categories",
    "mention_id",
    "dashboard_url",
]


@click.command("incidents")
@click.option("--json", "as_json", is_flag=True, help="Export: one JSON object per line.")
@click.option("--csv", "as_csv", is_flag=True, help="Export: CSV with a header row.")
@click.option("--academy", help="Only this academy id.")
@click.option("--since", help="Only incidents opened since: 30d, 24h, or an ISO date.")
@click.pass_obj
def incidents(
    app: App, as_json: bool, as_csv: bool, academy: str | None, since: str | None
) -> None:
    """List possible personal-data breaches (urgent data leaks, pupil images) with their ICO
    72-hour deadline, newest first, or export them for the academy's breach log. Holds no
    mention text: follow the dashboard link to see what was found."""
    from alerts.incidents import list_incidents

    settings = settings_or_exit(app)
    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    store = app.store()
    try:
        rows = list_incidents(
            store,
            settings.web.public_base_url,
            academy=academy,
            since=parse_since(since, app.now()),
        )
    finally:
        store.close()
    docs: list[dict[str, Any]] = [
        {
            "id": r.id,
            "academy": r.academy_id,
            "opened_at": r.opened_at.isoformat(),
            "ico_deadline": r.ico_deadline.isoformat(),
            "categories": list(r.categories),
            "mention_id": r.mention_id,
            "dashboard_url": r.dashboard_url,
        }
        for r in rows
    ]
    if as_json or as_csv:
        if as_json:
            for doc in docs:
                click.echo(json.dumps(doc, ensure_ascii=False))
        else:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=INCIDENT_FIELDS, lineterminator="\n")
            writer.writeheader()
            for doc in docs:
                writer.writerow({**doc, "categories": " ".join(doc["categories"])})
            click.echo(buf.getvalue(), nl=False)
        # The export is the audit event: who ran it is in the system's own records; what left
        # is said here by count and filter, never by content.
        log.info(
            f"exported {len(docs)} incidents",
            extra={
                "format": "json" if as_json else "csv",
                "academy": academy or "(all)",
                "since": since or "(all)",
            },
        )
        return
    if not rows:
        click.echo("No incidents recorded.")
        return
    click.echo(
        table(
            ["id", "academy", "opened (UTC)", "ICO deadline (UTC)", "categories", "mention"],
            [
                [
                    r.id,
                    r.academy_id,
                    r.opened_at.strftime("%Y-%m-%d %H:%M"),
                    r.ico_deadline.strftime("%Y-%m-%d %H:%M"),
                    ", ".join(r.categories) or "-",
                    r.dashboard_url or "(erased)",
                ]
                for r in rows
            ],
        )
    )


COMMANDS = [rescore, erase, keep, purge, incidents]
