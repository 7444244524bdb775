"""Service commands: `run` (the long-running service) and `status` (is it healthy?)."""

from __future__ import annotations

import json

import click

from monitor.app import App
from monitor.commands.core import settings_or_exit
from monitor.commands.output import table
from monitor.logs import setup_logging


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


@click.command("migrate")
@click.pass_obj
def migrate(app: App) -> None:
    """Bring the database schema up to date (and, with queue.backend = "procrastinate", create
    the job queue's tables). Safe to run again; run it once before starting a new version.

    `run` does this itself on the embedded SQLite database; on PostgreSQL every other command
    refuses to start on a schema that is behind.
    """
    from monitor.store import Store
    from monitor.store.engine import current_revision, head_revision

    settings = settings_or_exit(app)
    store = Store.migrate(settings.database_url)
    try:
        click.echo(f"database schema: {current_revision(store.engine)} (newest {head_revision()})")
        if settings.queue.backend == "procrastinate":
            from monitor.worker import install_schema

            made = install_schema(store)
            click.echo(f"procrastinate job queue: {'created' if made else 'present'}")
    finally:
        store.close()


@click.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Jobs run at once by this process (default: queue.worker_concurrency).",
)
@click.option("--no-score", is_flag=True, help="Store matches without scoring them (no alerts).")
@click.pass_obj
def worker(app: App, concurrency: int | None, no_score: bool) -> None:
    """Run jobs from the PostgreSQL queue until stopped (queue.backend = "procrastinate").

    Start any number, on any number of machines, against the same database: each polls due
    sources, sends alerts and digests and purges old data, and no source runs twice at once.
    Run `mention-monitor migrate` first.
    """
    settings = settings_or_exit(app)
    setup_logging(settings.log_level)
    if settings.queue.backend != "procrastinate":
        raise click.ClickException(
            'the worker needs queue.backend = "procrastinate" and a PostgreSQL database_url; '
            "with the default backend, use `mention-monitor run`"
        )
    from monitor.store import Store
    from monitor.worker import run_worker

    Store.open(settings.database_url).close()  # refuses a schema that is behind, in one line
    raise SystemExit(run_worker(settings, score=not no_score, concurrency=concurrency))


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
    from monitor.service import collect_health, workers_alive

    settings = settings_or_exit(app)
    now = app.now()
    store = app.store()
    try:
        srcs = configured_sources(settings)
        register_sources(store, srcs, now)
        last_tick = store.get_state("last_tick_at")
        alive = workers_alive(store, now)
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


COMMANDS = [run, migrate, worker, status]
