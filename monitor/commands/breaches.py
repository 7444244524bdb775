"""`mention-monitor breaches`: the breach log for the DPO (UK GDPR Art. 33(5)): each incident's
72-hour clock, the decision (report to the ICO or not, why, who was told, the timeline), and an
export as CSV or JSON."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from monitor.app import App
from monitor.breach_log import breach_log, record_decision
from monitor.breaches import export_csv, export_json, parse_timeline, remaining_words
from monitor.commands.core import parse_since, settings_or_exit
from monitor.commands.output import fail, table
from monitor.commands.users import cli_actor
from monitor.store.audit import AuditEntry

log = logging.getLogger(__name__)


@click.group("breaches")
def breaches() -> None:
    """The breach log: incidents with their 72-hour ICO clock and the DPO's decisions.

    A reminder is emailed to the academy's DPO (academies.dpo_contact) 24 hours before the
    deadline of an incident with no decision recorded."""


@breaches.command("list")
@click.option("--academy", help="Only this academy id.")
@click.option("--since", help="Only incidents opened since: 24h, 7d, or an ISO date.")
@click.pass_obj
def breaches_list(app: App, academy: str | None, since: str | None) -> None:
    """Incidents, newest first, with the clock and the decision in force."""
    settings_or_exit(app)
    now = app.now()
    store = app.store()
    try:
        log_ = breach_log(store, now, academy=academy, since=parse_since(since, now))
    finally:
        store.close()
    if not log_:
        click.echo("No incidents.")
        return
    rows = []
    for e in log_:
        d = e.decision
        decision = (
            "undecided"
            if d is None
            else ("report to ICO" if d.report_to_ico else "not reported")
            + f" ({d.decided_by}, {d.decided_at:%Y-%m-%d %H:%M})"
        )
        clock = remaining_words(e.clock) if d is None else "decided"
        rows.append(
            [
                e.incident.id,
                e.incident.academy_id,
                " ".join(e.incident.categories),
                f"{e.clock.deadline:%Y-%m-%d %H:%M}",
                clock,
                decision,
            ]
        )
    click.echo(
        table(["incident", "academy", "categories", "deadline (UTC)", "clock", "decision"], rows)
    )


@breaches.command("decide")
@click.argument("incident_id")
@click.option("--report/--no-report", "report", required=True, help="Report to the ICO, or not.")
@click.option("--reasoning", required=True, help="Why.")
@click.option("--told", multiple=True, help="Someone told (repeatable), e.g. 'Parents of Y6'.")
@click.option(
    "--timeline",
    "timeline",
    multiple=True,
    help="A timeline entry TIME=what (repeatable), e.g. '2026-11-28T09:00+00:00=Post reported'.",
)
@click.option("--by", "by", required=True, help="Email address of the DPO deciding.")
@click.pass_obj
def breaches_decide(
    app: App,
    incident_id: str,
    report: bool,
    reasoning: str,
    told: tuple[str, ...],
    timeline: tuple[str, ...],
    by: str,
) -> None:
    """Record the decision on INCIDENT_ID. A later decision supersedes; the history is kept."""
    settings_or_exit(app)
    try:
        entries = parse_timeline(timeline)
    except ValueError as exc:
        fail(str(exc))
        return
    store = app.store()
    try:
        d = record_decision(
            store,
            incident_id,
            report_to_ico=report,
            reasoning=reasoning,
            people_told=told,
            timeline=entries,
            decided_by=by,
            now=app.now(),
            actor=cli_actor(),
            client="cli",
        )
    except ValueError as exc:
        fail(str(exc))
        return
    finally:
        store.close()
    click.echo(
        f"Decision recorded for incident {d.incident_id}: "
        f"{'report to the ICO' if d.report_to_ico else 'not reported to the ICO'}."
    )


@breaches.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write (it holds no mention text).",
)
@click.option("--academy", help="Only this academy id.")
@click.option("--since", help="Only incidents opened since: 24h, 7d, or an ISO date.")
@click.pass_obj
def breaches_export(
    app: App, fmt: str, output: Path, academy: str | None, since: str | None
) -> None:
    """Write the breach log (every incident, its decision and the history) as CSV or JSON."""
    settings_or_exit(app)
    now = app.now()
    store = app.store()
    try:
        log_ = breach_log(store, now, academy=academy, since=parse_since(since, now))
    finally:
        store.close()
    text = export_csv(log_) if fmt == "csv" else export_json(log_)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
        return
    store = app.store()
    try:
        store.audit(
            AuditEntry(
                now,
                cli_actor(),
                "breach.export",
                academy_id=academy or "",
                target=str(output),
                detail=f"{fmt}, {len(log_)} incident(s), since {since or '(all)'}",
                client="cli",
            )
        )
    finally:
        store.close()
    log.info(
        f"exported {len(log_)} breach log entries",
        extra={"format": fmt, "academy": academy or "(all)", "since": since or "(all)"},
    )
    click.echo(f"Wrote {len(log_)} incident(s) to {output}.")


COMMANDS = [breaches]
