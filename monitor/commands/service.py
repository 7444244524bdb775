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
    """Is the service healthy? Scheduler heartbeat, last cycle, outbox, urgent-alert recipients,
    failing sources.

    Exit status 0 when healthy; 1 when the scheduler is not running, an academy has nobody who
    receives urgent alerts, an urgent mention reached nobody, an email is a dead letter, or a
    source is failing or needs a person.
    """
    from monitor.runner import configured_sources, register_sources
    from monitor.service import collect_health

    settings = settings_or_exit(app)
    now = app.now()
    store = app.store()
    try:
        srcs = configured_sources(settings)
        register_sources(store, srcs, now)
        last_tick = store.get_state("last_tick_at")
        alive = bool(last_tick) and now - datetime.fromisoformat(last_tick) < HEARTBEAT_STALE  # type: ignore[arg-type]
        health = collect_health(settings, store, srcs, now, scheduler_alive=alive)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(health.to_json()))
    else:
        click.echo(f"health: {'ok' if health.ok else 'UNHEALTHY'}")
        for p in health.problems:
            click.echo(f"  - {p}")
        click.echo(
            f"scheduler: {'running' if alive else 'NOT running'} (last tick {last_tick or 'never'})"
        )
        click.echo(f"last cycle: {health.last_cycle_at or 'never'}")
        click.echo(f"outbox backlog: {health.outbox_backlog}, dead letters: {health.outbox_dead}")
        failing = health.failing_sources
        click.echo(f"sources: {health.sources}, failing or needing attention: {len(failing)}")
        if failing:
            click.echo(
                table(
                    ["source", "state", "reason"],
                    [[f.source, f.state, (f.reason or "")[:90]] for f in failing],
                )
            )
    raise SystemExit(0 if health.all_clear else 1)


COMMANDS = [run, status]
