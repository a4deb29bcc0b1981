"""`campaign-ops` commands of reconciliation (reconcile) and the SOP's table backups (backup, restore)."""

import click

from campaign_ops.backups.core import complete_backup_days, create_backup, restore_backup
from campaign_ops.cli.clients import accepts_client_names
from campaign_ops.clients.scope import active_client_ids
from campaign_ops.db.engine import connect, disposing_connection, disposing_engine
from campaign_ops.errors import CampaignOpsError, UnknownClientError
from campaign_ops.reconciliation.core import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    ClientReconciliation,
    ReconciliationSettings,
    reconcile_clients,
)


def _describe(result: ClientReconciliation) -> list[str]:
    verb = "would correct" if result.dry_run else "corrected"
    lines = [
        f"client {result.client_name} ({result.client_id}): {result.campaigns_checked} campaigns checked, "
        f"{result.campaigns_drifted} drifted, total |difference| {result.total_abs_difference}, "
        f"largest {result.largest_difference}"
        + (f"; {verb} {result.campaigns_drifted} campaigns" if result.drifts else "")
    ]
    lines += [
        f"  {d.campaign_name} ({d.campaign_id}) {d.counter}: reported {d.reported}, actual {d.actual} "
        f"({d.difference:+d})"
        for d in result.drifts
    ]
    return lines


@click.command("reconcile")
@click.option("--client-id", "client_ids", multiple=True, help="Client uuid (repeatable).")
@accepts_client_names
@click.option("--all", "all_clients", is_flag=True, help="Every active client.")
@click.option("--dry-run", is_flag=True, help="Report drift without changing anything (no log rows either).")
@click.option(
    "--lock-timeout",
    "lock_timeout_seconds",
    type=float,
    default=DEFAULT_LOCK_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds to wait for a client busy with de-enrollment before giving up on it.",
)
def reconcile_command(
    client_ids: tuple[str, ...], all_clients: bool, dry_run: bool, lock_timeout_seconds: float
) -> None:
    """Find campaign counters that drifted from the leads, log each drift, then correct it (SOP: Fix Stats)."""
    if bool(client_ids) == all_clients:
        raise click.UsageError('give either --client "<name>" / --client-id <uuid> (repeatable) or --all')
    settings = ReconciliationSettings(dry_run=dry_run, lock_timeout_seconds=lock_timeout_seconds)
    with disposing_engine() as engine:
        if all_clients:
            with connect(engine) as conn:
                client_ids = tuple(active_client_ids(conn))
            if not client_ids:
                raise UnknownClientError("there are no active clients")
        sweep = reconcile_clients(engine, client_ids, settings)
    for result in sweep.results:
        click.echo("\n".join(_describe(result)))
    click.echo(
        f"{'dry run: ' if dry_run else ''}{len(sweep.results)} client(s), {sweep.campaigns_checked} campaigns checked, "
        f"{sweep.campaigns_drifted} drifted, total |difference| {sweep.total_abs_difference}, "
        f"largest {sweep.largest_difference}" + ("; nothing changed" if dry_run else "") + f" in {sweep.duration_ms} ms"
    )
    if sweep.failures:
        named = "; ".join(f"{f.client_name} ({f.client_id}): {f.error}" for f in sweep.failures)
        raise CampaignOpsError(f"reconciliation failed for {len(sweep.failures)} client(s): {named}")


@click.command("backup")
@click.option(
    "--replace", "--force", "replace", is_flag=True, help="Overwrite today's backup if it exists (default: refuse)."
)
@click.option("--list", "list_only", is_flag=True, help="List the complete backups (YYYYMMDD) and exit.")
def backup_command(replace: bool, list_only: bool) -> None:
    """Create the SOP's leads_backup_YYYYMMDD and campaigns_backup_YYYYMMDD tables (today, one snapshot)."""
    with disposing_connection() as conn:
        if list_only:
            days = complete_backup_days(conn)
            click.echo("\n".join(days) if days else "no backups")
            return
        result = create_backup(conn, replace=replace)
    click.echo(
        f"{'replaced' if result.replaced else 'created'} {result.tables.leads} ({result.leads_rows} rows) and "
        f"{result.tables.campaigns} ({result.campaigns_rows} rows)"
    )


@click.command("restore")
@click.option("--from", "day", required=True, metavar="YYYYMMDD", help="Date of the backup to restore from.")
def restore_command(day: str) -> None:
    """Restore leads and campaigns from a day's backup (SOP rollback Step 4), in one transaction."""
    with disposing_connection() as conn:
        result = restore_backup(conn, day)
    t = result.tables
    click.echo(f"restored from {t.leads} and {t.campaigns} in one transaction:")
    click.echo(f"  leads:     {result.leads_changed} changed of {result.leads_in_backup} in the backup")
    click.echo(f"  campaigns: {result.campaigns_changed} changed of {result.campaigns_in_backup} in the backup")
    if result.counters_corrected:
        click.echo(f"  {result.counters_corrected} campaign(s)' counters recomputed from the restored leads")
    if result.enrollments_reopened:
        click.echo(
            f"  {result.enrollments_reopened} de-enrolled enrollment(s) re-opened ('restored' in the lead log): "
            "the next pass de-enrolls them again"
        )
    if result.leads_only_in_backup or result.campaigns_only_in_backup:
        click.echo(
            f"  not restored (deleted since the backup): {result.leads_only_in_backup} leads, "
            f"{result.campaigns_only_in_backup} campaigns"
        )
    if result.leads_only_live or result.campaigns_only_live:
        click.echo(
            f"  left as they are (created since the backup): {result.leads_only_live} leads, "
            f"{result.campaigns_only_live} campaigns"
        )
