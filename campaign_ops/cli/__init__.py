"""`campaign-ops`: the operators' command line. Each command calls the same core functions as Dagster."""

import importlib
import logging
import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.errors import CampaignOpsError, error_line, mask_secrets

# each capability lists its own commands in campaign_ops/cli/<capability>.py (`commands`); a module is imported
# only when one of its commands is asked for, in this order: `campaign-ops de-enroll` imports de-enrollment's
# module alone, not the service's, the alerts' or the reports' (a third of the start-up's imports)
CAPABILITIES = (
    "de_enrollment",
    "reconciliation",
    "archival",
    "reports",
    "alerts",
    "onboarding",
    "lifecycle",
    "compliance",
    "pause",
    "db",
    "demo",
    "dev",
)


class _OneLineErrors(click.Group):
    """Bad input and unreachable servers end as one line on stderr and exit 1, never a traceback. Commands are
    looked up in the CAPABILITIES' modules, imported on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(c.name for module in CAPABILITIES for c in _commands(module) if c.name)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module in CAPABILITIES:
            for command in _commands(module):
                if command.name == cmd_name:
                    return command
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            # click's own form is four lines (usage, hint, blank, error); the reason is the line that matters
            command = exc.ctx.command_path if exc.ctx else "campaign-ops"
            reason = " ".join(exc.format_message().split())
            click.echo(f"error: {reason} (see `{command} -h`)", err=True)
            sys.exit(exc.exit_code)
        except CampaignOpsError as exc:
            click.echo(f"error: {mask_secrets(str(exc))}", err=True)
            sys.exit(1)
        except SQLAlchemyError as exc:
            click.echo(f"error: database: {error_line(exc)}", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Keep campaign lead data correct: migrations, de-enrollment, reconciliation, archival, checks, alerts."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s")


def _commands(module: str) -> list[click.Command]:
    commands: list[click.Command] = importlib.import_module(f"campaign_ops.cli.{module}").commands
    return commands
