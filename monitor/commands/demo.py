"""`mention-monitor demo`: the whole product, offline, in one command."""

from __future__ import annotations

from pathlib import Path

import click

from monitor.commands.output import fail, table


@click.command("demo")
@click.option(
    "--dir",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo writes its database, settings and received emails (emptied first).",
)
def demo(folder: Path) -> None:
    """See the product work offline: recorded public mentions of Ankermoor Primary Academy are
    replayed from a local server (feeds, news search, Mastodon, Bluesky, Reddit, Hacker News, a
    review page), collected, matched, de-duplicated and scored by the real model, and the urgent
    alerts, provider breach notices and the daily digest are sent to a local SMTP server started
    by the command. Takes well under two minutes. Nothing leaves this machine.
    """
    from monitor.demo.run import run_demo

    try:
        result = run_demo(folder, lambda line: click.echo(line, err=True))
    except RuntimeError as exc:
        fail(str(exc))
        return
    click.echo("")
    # Left to right, each count narrows the one before: matched = duplicates + stored.
    headers = ["source", "fetched", "matched", "duplicates", "stored", "error"]
    rows = [
        [s.source_key, s.fetched, s.relevant, s.duplicates, s.new, s.error or s.attention or ""]
        for s in result.stats
    ]
    click.echo(table(headers, rows))
    click.echo(
        "fetched: items the source returned; matched: items about the academy; duplicates: "
        "matches already stored (from any source) or repeated; stored: new mentions kept."
    )
    click.echo("")
    cats = ", ".join(f"{k} {v}" for k, v in result.categories.most_common())
    click.echo(f"mentions stored:  {result.mentions} ({result.urgent} urgent)")
    click.echo(f"categories:       {cats}")
    emails = ", ".join(f"{k} {v}" for k, v in sorted(result.emails.items()))
    click.echo(
        f"emails sent:      {sum(result.emails.values())} ({emails}); the SMTP server received {result.delivered}"
    )
    click.echo(f"time taken:       {result.seconds:.1f} s")
    click.echo(f"messages:         {result.folder / 'mail'}/*.eml  (open them in any mail program)")
    click.echo(f"database:         {result.folder / 'demo.db'}")
    click.echo(f"look around:      mention-monitor --config {result.config} mentions")


COMMANDS = [demo]
