"""`mention-monitor evidence …`: capture a pack, verify one, export one, list them."""

from __future__ import annotations

import getpass
from pathlib import Path

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail, table
from monitor.jobs import JobContext


def _cli_user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _ctx(app: App) -> JobContext:
    settings = settings_or_exit(app)
    return JobContext(settings, app.store(), clock=app.clock, score=False)


@click.group("evidence")
def evidence() -> None:
    """Evidence packs: capture a page (WARC, screenshots, DOM, custody log), verify, export."""


@evidence.command("capture")
@click.argument("url", required=False)
@click.option("--mention", "mention_id", type=int, help="Capture this stored mention's URL.")
@click.option("--academy", help="The academy a URL is about (with URL).")
@click.pass_obj
def capture(app: App, url: str | None, mention_id: int | None, academy: str | None) -> None:
    """Capture a pack now: `--mention ID`, or `URL --academy ID`."""
    from monitor.evidence import EvidenceError, capture_for_mention, capture_url

    if (mention_id is None) == (url is None):
        raise click.UsageError("give either --mention ID or URL --academy ID")
    if url is not None and not academy:
        raise click.UsageError("URL needs --academy ID")
    ctx = _ctx(app)
    try:
        if mention_id is not None:
            got = capture_for_mention(ctx, mention_id, _cli_user())
        else:
            assert url is not None and academy is not None
            try:
                ctx.settings.academy(academy)
            except KeyError:
                fail(f"no academy {academy!r} in the settings", 2)
            got = capture_url(ctx, url, academy, _cli_user())
    except EvidenceError as exc:
        fail(str(exc), 1)
        return
    finally:
        ctx.close()
    click.echo(f"Pack {got.id}: {got.status} ({got.path})")
    if got.cut_at_deadline:
        click.echo("The page was still loading at the deadline: captured as it stood.")
    for p in got.problems:
        click.echo(f"  - {p}")


@evidence.command("verify")
@click.argument("pack", type=click.Path(exists=True, path_type=Path))
def verify_cmd(pack: Path) -> None:
    """Check a pack (.zip or folder): manifest, every file's SHA-256, the WARC digests, the
    custody log's chain. Exit 1 and say what fails."""
    from monitor.evidence import verify

    problems = verify(pack)
    if problems:
        for p in problems:
            click.echo(f"FAIL {p}")
        raise SystemExit(1)
    click.echo(f"OK {pack}: every file matches the manifest and every WARC digest checks.")


@evidence.command("export")
@click.option("--mention", "mention_id", type=int, required=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.pass_obj
def export(app: App, mention_id: int, output: Path) -> None:
    """Zip the mention's latest pack (writes a custody line and an audit row first)."""
    from monitor.evidence import EvidenceError, export_pack
    from monitor.evidence.access import latest_for_mention

    ctx = _ctx(app)
    try:
        # export_pack writes the custody line and the audit row (actor "cli:<os user>").
        row = latest_for_mention(ctx, mention_id)
        out = export_pack(ctx, row, output, _cli_user())
    except EvidenceError as exc:
        fail(str(exc), 1)
        return
    finally:
        ctx.close()
    click.echo(f"Exported pack {row.id} to {out}")


@evidence.command("list")
@click.option("--academy", help="Only this academy id.")
@click.pass_obj
def list_cmd(app: App, academy: str | None) -> None:
    """The packs, newest first."""
    from monitor.store import evidence as rows

    settings_or_exit(app)
    store = app.store()
    try:
        with store.transaction() as tx:
            packs = rows.list_packs(tx, academy)
    finally:
        store.close()
    if not packs:
        click.echo("No evidence packs.")
        return
    text = table(
        ["id", "mention", "academy", "status", "cut", "created", "by", "url"],
        [
            [
                str(p.id),
                str(p.mention_id or "-"),
                p.academy_id,
                p.status,
                "yes" if p.cut_at_deadline else "",
                p.created_at.strftime("%Y-%m-%d %H:%M"),
                p.requested_by,
                p.url,
            ]
            for p in packs
        ],
    )
    click.echo(text)


COMMANDS = [evidence]
