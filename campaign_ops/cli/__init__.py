"""`campaign-ops`: the operators' command line. Each command calls the same core functions as Dagster."""

import importlib
import logging
import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from campaign_ops.errors import CampaignOpsError, error_line, is_paused_error, mask_secrets

# click's lazy group: each command name maps to "module:attribute", and a module is imported only when one of its
# commands is asked for (`campaign-ops de-enroll` imports de-enrollment's module alone, not the service's, the
# alerts' or the reports')
LAZY_COMMANDS: dict[str, str] = {
    "alerts": "campaign_ops.cli.alerts:alerts_group",
    "archive": "campaign_ops.cli.archival:archive_command",
    "backup": "campaign_ops.cli.reconciliation:backup_command",
    "check": "campaign_ops.cli.reports:check_command",
    "compliance": "campaign_ops.cli.compliance:compliance_group",
    "db": "campaign_ops.cli.db:db_group",
    "de-enroll": "campaign_ops.cli.de_enrollment:de_enroll_command",
    "demo": "campaign_ops.cli.demo:demo_group",
    "dev": "campaign_ops.cli.dev:dev_command",
    "health-check": "campaign_ops.cli.reports:health_check_command",
    "lead": "campaign_ops.cli.compliance:lead_group",
    "lifecycle": "campaign_ops.cli.lifecycle:lifecycle_group",
    "migrate-stuck-leads": "campaign_ops.cli.de_enrollment:migrate_stuck_leads_command",
    "pause": "campaign_ops.cli.pause:pause_command",
    "reconcile": "campaign_ops.cli.reconciliation:reconcile_command",
    "report": "campaign_ops.cli.reports:report_command",
    "resolve-skipped": "campaign_ops.cli.de_enrollment:resolve_skipped_command",
    "restore": "campaign_ops.cli.reconciliation:restore_command",
    "resume": "campaign_ops.cli.pause:resume_command",
    "run-job": "campaign_ops.cli.dev:run_job_command",
    "stuck-clients": "campaign_ops.cli.onboarding:stuck_clients_command",
}


class _OneLineErrors(click.Group):
    """Bad input and unreachable servers end as one line on stderr and exit 1, never a traceback. Commands are
    imported on demand (LAZY_COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(LAZY_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

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
            # the refusal while paused (sql/objects/refuse_while_paused.sql) is written for operators already
            prefix = "" if is_paused_error(exc) else "database: "
            click.echo(f"error: {prefix}{error_line(exc)}", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """Keep campaign lead data correct: migrations, de-enrollment, reconciliation, archival, checks, alerts."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s")
