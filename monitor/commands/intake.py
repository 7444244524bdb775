"""`intake submit` (report a link, screenshots or a note as a mention) and `intake link` (the
academy's secret intake URL for people without an account)."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.app import App
from monitor.commands import mailbox
from monitor.commands.core import settings_or_exit
from monitor.commands.output import fail


@click.group("intake")
def intake() -> None:
    """Reports that collectors cannot see: links to closed groups, screenshots, notes.

    A report is matched, scored, stored and alerted like a collected mention; its screenshots
    are kept as evidence with it.
    """


@intake.command("submit")
@click.option("--academy", required=True, help="The academy id the report is about.")
@click.option("--url", help="Where the post is (fetched through the guarded client if public).")
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A screenshot (PNG, JPEG, WebP or GIF; repeat for up to 5, 10 MB each).",
)
@click.option("--note", default="", help="What the reporter said about it.")
@click.option("--reporter", required=True, help="Who reported it (an email address).")
@click.option("--seen-where", default="", help="Where it was seen (e.g. 'Year 5 WhatsApp group').")
@click.pass_obj
def submit(
    app: App,
    academy: str,
    url: str | None,
    images: tuple[Path, ...],
    note: str,
    reporter: str,
    seen_where: str,
) -> None:
    """Submit a report: prints the mention id and its assessment.

    With screenshots and no link the source is `reported-screenshot`, else `reported`.
    """
    settings = settings_or_exit(app)
    from monitor.intake import MAX_IMAGE_BYTES, Image, Report, submit_report
    from monitor.jobs import JobContext

    loaded = []
    for path in images:
        if path.stat().st_size > MAX_IMAGE_BYTES:
            fail(f"{path.name} is too large (at most {MAX_IMAGE_BYTES // 1_048_576} MB each)")
        loaded.append(Image(path.name, path.read_bytes(), ""))
    source = "reported-screenshot" if loaded and not url else "reported"
    report = Report(
        academy_id=academy,
        source=source,
        reporter=reporter,
        url=url,
        note=note,
        text="",
        images=tuple(loaded),
        seen_where=seen_where,
        original=None,
    )
    ctx = JobContext.open(settings, clock=app.clock)
    try:
        if loaded or url or note:
            click.echo("Reading the report and scoring it…", err=True)
        result = submit_report(ctx, report, app.now())
    finally:
        ctx.close()
    if result.mention_id is None:
        fail(f"report refused: {result.reason}")
    for problem in filter(None, (result.fetch_error, *result.ocr_errors)):
        click.secho(f"note: {problem}", fg="yellow", err=True)
    if result.duplicate:
        click.echo(f"Mention {result.mention_id}: {result.reason}; this report was added to it.")
        return
    a = result.assessment
    if a is None:
        summary = "not scored"
    else:
        cats = ", ".join(f"{c} ({a.probabilities.get(c, 0):.2f})" for c in a.categories)
        summary = f"{a.severity.value}" + (f": {cats}" if cats else ": no category")
        if a.urgent:
            summary += " (urgent alert queued)"
    click.echo(f"Mention {result.mention_id} stored ({source}): {summary}")


@intake.command("link")
@click.option("--academy", required=True, help="The academy id.")
@click.option("--rotate", is_flag=True, help="Make a new link; the old one stops working.")
@click.pass_obj
def link(app: App, academy: str, rotate: bool) -> None:
    """Print the academy's intake link, for a QR code or the staff handbook.

    Anyone with the link can report to the academy. Only a hash of its secret is stored, so the
    link is shown once, when it is made; `--rotate` makes a new one and ends the old one.
    """
    settings = settings_or_exit(app)
    from monitor.intake import link_url, new_intake_link

    try:
        settings.academy(academy)
    except KeyError:
        fail(f"unknown academy {academy!r}")
    store = app.store()
    try:
        if store.intake.has_link(academy) and not rotate:
            fail(
                f"{academy} already has an intake link; it cannot be shown again (only its hash is"
                " kept). Use --rotate to make a new one (the old one stops working).",
                1,
            )
        secret = new_intake_link(store, academy, app.now())
    finally:
        store.close()
    click.echo(link_url(settings.web.public_base_url, secret))


for _sub in mailbox.SUBCOMMANDS:
    intake.add_command(_sub)

COMMANDS = [intake]
