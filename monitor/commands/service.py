"""Service commands: `run` (the long-running service) and `status` (is it healthy?)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import table
from monitor.logs import setup_logging

# The scheduler ticks every 30 s; a heartbeat older than this means the service is not running.
HEARTBEAT_STALE = timedelta(seconds=120)


@click.command("run")
@click.pass_obj
def run(app: App) -> None:
    """Run the service until stopped (Ctrl-C or SIGTERM).

    Collects every source when due, scores and stores new mentions, sends urgent alerts within a
    minute, sends the daily digest, purges old data, and serves /healthz and the subscription
    links on the web address in [web]. Logs go to stderr, one line per event (JSON when not on a
    terminal).
    """
    settings = settings_or_exit(app)
    setup_logging(settings.log_level)
    from monitor.service import run_forever

    raise SystemExit(run_forever(app))


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def status(app: App, as_json: bool) -> None:
    """Is the service healthy? Scheduler heartbeat, last cycle, outbox backlog, failing sources.

    Exit status 0 when healthy, 1 when the scheduler is not running or sources are failing.
    """
    from alerts.outbox import counts
    from monitor.health import source_health
    from monitor.runner import configured_sources, register_sources

    settings = settings_or_exit(app)
    now = app.now()
    store = app.store()
    try:
        srcs = configured_sources(settings)
        register_sources(store, srcs, now)
        health = source_health(store, srcs, now)
        last_tick = store.get_state("last_tick_at")
        last_cycle = store.get_state("last_cycle_at")
        backlog = counts(store).get("pending", 0)
    finally:
        store.close()
    alive = bool(last_tick) and now - datetime.fromisoformat(last_tick) < HEARTBEAT_STALE  # type: ignore[arg-type]
    failing = [h for h in health if not h.healthy]
    doc = {
        "scheduler_alive": alive,
        "last_tick_at": last_tick,
        "last_cycle_at": last_cycle,
        "outbox_backlog": backlog,
        "sources": len(health),
        "failing_sources": [
            {"source": h.key, "state": h.state, "reason": h.advice or h.last_error} for h in failing
        ],
    }
    if as_json:
        click.echo(json.dumps(doc))
    else:
        click.echo(
            f"scheduler: {'running' if alive else 'NOT running'} (last tick {last_tick or 'never'})"
        )
        click.echo(f"last cycle: {last_cycle or 'never'}")
        click.echo(f"outbox backlog: {backlog}")
        click.echo(f"sources: {len(health)}, failing or needing attention: {len(failing)}")
        if failing:
            click.echo(
                table(
                    ["source", "state", "reason"],
                    [[h.key, h.state, (h.advice or h.last_error or "")[:90]] for h in failing],
                )
            )
    raise SystemExit(0 if alive and not failing else 1)


COMMANDS = [run, status]
