"""The `mention-monitor` command line: the group, the shared --config option, and registration of
the command modules under monitor/commands/."""

from __future__ import annotations

import click

from monitor import __version__
from monitor.app import App
from monitor.clock import system_clock
from monitor.commands import alerts, core, data, demo, scoring, service, users
from monitor.commands import breaches as breach_commands
from monitor.commands import removals as removal_commands
from monitor.commands import triage as triage_commands
from monitor.commands.check_source import check_source
from monitor.commands.evidence import COMMANDS as EVIDENCE_COMMANDS
from monitor.commands.intake import COMMANDS as INTAKE_COMMANDS
from monitor.commands.output import fail
from monitor.store import StoreError


class _Cli(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        from monitor.store.engine import SchemaNotCurrent

        # A schema that is behind, or a full disk (another store failure), is one line for the
        # person, not a traceback.
        try:
            return super().invoke(ctx)
        except SchemaNotCurrent as exc:  # PostgreSQL behind: run `migrate`
            raise click.ClickException(str(exc)) from None
        except StoreError as exc:
            fail(f"database error: {exc}", 1)
            raise  # unreachable: fail() exits


@click.group(
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="TOML settings file. Default: $MONITOR_CONFIG, else ./monitor.toml, else the bundled "
    "example (examples/ankermoor.toml).",
)
@click.version_option(__version__, prog_name="mention-monitor")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """Watch public mentions of your academies and alert the Headteacher.

    Start with `check-config`, then `collect --once` to try your sources, then `run`.
    """
    # Tests invoke the CLI with `obj=<clock>` to run a command at a chosen time.
    clock = ctx.obj if callable(ctx.obj) else system_clock
    ctx.obj = App(config_path, clock=clock)


for command in [
    *core.COMMANDS,
    check_source,
    *service.COMMANDS,
    *scoring.COMMANDS,
    *data.COMMANDS,
    *demo.COMMANDS,
    *alerts.COMMANDS,
    *users.COMMANDS,
    *removal_commands.COMMANDS,
    *breach_commands.COMMANDS,
    # `mentions` becomes a group (list, triage) that keeps core's listing as its default.
    *triage_commands.COMMANDS,
    *EVIDENCE_COMMANDS,
    *INTAKE_COMMANDS,
]:
    cli.add_command(command)

# Corrections that teach the scorer (issue 12).
from monitor.commands import corrections as _corrections  # noqa: E402

for command in _corrections.COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="mention-monitor")
