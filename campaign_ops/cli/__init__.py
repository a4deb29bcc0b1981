"""`campaign-ops`: the operators' command line. Each command calls the same core functions as Dagster."""

import logging
import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.cli import (
    alerts,
    archival,
    de_enrollment,
    lifecycle,
    onboarding,
    pause,
    reconciliation,
    reports,
)
from campaign_ops.cli.db import db_group
from campaign_ops.cli.demo import demo_group
from campaign_ops.cli.dev import dev_command, run_job_command
from campaign_ops.errors import CampaignOpsError, error_line, mask_secrets


class _OneLineErrors(click.Group):
    """Bad input and unreachable servers end as one line on stderr and exit 1, never a traceback."""

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


for command in [db_group, demo_group, dev_command, run_job_command]:
    main.add_command(command)
# each capability lists its own commands in campaign_ops/cli/<capability>.py
for module in (de_enrollment, reconciliation, archival, reports, alerts, onboarding, lifecycle, pause):
    for command in module.commands:
        main.add_command(command)
