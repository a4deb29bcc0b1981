"""`campaign-ops` commands of archival (archive)."""

import click

from campaign_ops.archival.core import (
    DEFAULT_LEAD_LOG_RETENTION_DAYS,
    DEFAULT_RUNS_RETENTION_DAYS,
    ArchivalSettings,
    archive_clients,
)
from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.cli.types import MAX_DAYS, NON_BLANK, bounded_int
from campaign_ops.clients.scope import active_client_ids
from campaign_ops.db.engine import connect, disposing_engine
from campaign_ops.errors import CampaignOpsError, ConfigError, UnknownClientError


@click.command("archive")
@click.option(
    "--client-id",
    "client_ids",
    multiple=True,
    type=NON_BLANK,
    help="Client uuid (repeatable); default: every active client.",
)
@click.option(
    "--older-than-days",
    type=bounded_int(MAX_DAYS),
    help="One retention for both tables (instead of the two options below).",
)
@accepts_client_names
@click.option(
    "--runs-older-than-days",
    type=bounded_int(MAX_DAYS),
    help=f"Archive runs older than this many days [default: {DEFAULT_RUNS_RETENTION_DAYS}].",
)
@click.option(
    "--lead-log-older-than-days",
    type=bounded_int(MAX_DAYS),
    help=f"Archive lead-log rows older than this many days [default: {DEFAULT_LEAD_LOG_RETENTION_DAYS}].",
)
@click.option("--dry-run", is_flag=True, help="Count what would move; change nothing and skip VACUUM.")
def archive_command(
    client_ids: tuple[str, ...],
    older_than_days: int | None,
    runs_older_than_days: int | None,
    lead_log_older_than_days: int | None,
    dry_run: bool,
) -> None:
    """Move old de-enrollment runs and lead-log rows into the archive tables (SOP: Monthly Database Cleanup)."""
    if older_than_days is not None and (runs_older_than_days is not None or lead_log_older_than_days is not None):
        raise ConfigError("give --older-than-days alone, or --runs-older-than-days / --lead-log-older-than-days")
    runs_days = older_than_days if older_than_days is not None else runs_older_than_days
    log_days = older_than_days if older_than_days is not None else lead_log_older_than_days
    settings = ArchivalSettings(
        runs_retention_days=DEFAULT_RUNS_RETENTION_DAYS if runs_days is None else runs_days,
        lead_log_retention_days=DEFAULT_LEAD_LOG_RETENTION_DAYS if log_days is None else log_days,
        dry_run=dry_run,
    )
    with disposing_engine() as engine:
        every_client = not client_ids
        if every_client:
            with connect(engine) as conn:
                client_ids = tuple(active_client_ids(conn))
            if not client_ids:
                raise UnknownClientError("there are no active clients")
        sweep = archive_clients(engine, client_ids, settings, inactive_by_age=every_client)
    verb = "would archive" if dry_run else "archived"
    click.echo(
        f"cutoffs: runs before {sweep.cutoffs.runs.isoformat()}, "
        f"lead-log rows before {sweep.cutoffs.lead_log.isoformat()}"
    )
    for r in sweep.results:
        kept = (
            f" ({r.runs_kept_for_live_logs} old runs kept: their lead-log rows are live)"
            if r.runs_kept_for_live_logs
            else ""
        )
        click.echo(
            f"client {r.client_name} ({r.client_id}): {verb} {r.lead_log_archived} lead-log rows, "
            f"{r.runs_archived} runs{kept}"
        )
    click.echo(
        f"{'dry run: ' if dry_run else ''}{len(sweep.results)} client(s): {verb} "
        f"{sweep.lead_log_archived} lead-log rows, {sweep.runs_archived} runs in {sweep.duration_ms} ms"
    )
    maintenance = sweep.maintenance
    if maintenance is not None:
        if maintenance.vacuumed:
            click.echo(f"VACUUM (ANALYZE) de_enrollment_runs, de_enrollment_lead_log: {maintenance.vacuum_ms} ms")
        for table in maintenance.table_sizes:
            click.echo(f"  {table.name:<32} {table.pretty:>10}")
        for warning in maintenance.warnings:
            click.echo(f"warning: {warning}")
    if sweep.failures:
        named = "; ".join(f"{f.client_name} ({f.client_id}): {f.error}" for f in sweep.failures)
        raise CampaignOpsError(f"archival failed for {len(sweep.failures)} client(s): {named}")
