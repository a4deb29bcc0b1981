"""Dagster objects of archival: assembled into the code location by campaign_ops/definitions.py.

`monthly_archival_job` materializes `monitoring_archives`, partitioned by client: per client, old runs and lead-log
rows move into the archive tables in one transaction (campaign_ops.archival.core). After every client of the run:
one VACUUM (ANALYZE) of the live tables and the table-size report, recorded as an AssetObservation of the asset
(no partition: it is about the whole tables) and as warnings in the run log for tables over the threshold.
The schedule runs on the 1st of each month, ONE run over all clients partitions.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from campaign_ops.archival.core import (
    DEFAULT_LEAD_LOG_RETENTION_DAYS,
    DEFAULT_RUNS_RETENTION_DAYS,
    GIB,
    ArchivalSettings,
    ClientArchival,
    ClientFailure,
    Cutoffs,
    Maintenance,
    iter_archive_clients,
    maintain,
    prepare_archival,
)
from campaign_ops.assets import DE_ENROLLMENT_RUNS
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.clients.partition_keys import keys_by_client_id, partition_key
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.runs import all_clients_run_request, clients_failed
from campaign_ops.clients.scope import partition_scope
from campaign_ops.errors import CampaignOpsError, ConfigError
from campaign_ops.pause.defs import WRITES, canceled_if_paused, refuse_if_paused
from campaign_ops.resources import DatabaseResource

monitoring_archives_asset = dg.AssetSpec(
    "monitoring_archives",
    partitions_def=clients_partitions,
    deps=[DE_ENROLLMENT_RUNS],
    group_name="maintenance",
    skippable=True,
    description=(
        "de_enrollment_runs (older than 90 days) and de_enrollment_lead_log rows (older than 30 days) moved into "
        "de_enrollment_runs_archive / de_enrollment_lead_log_archive, per client; nothing is deleted unarchived."
    ),
    kinds={"postgres"},
    tags=WRITES,
)


class MonthlyArchivalConfig(dg.Config):
    runs_retention_days: int = Field(default=DEFAULT_RUNS_RETENTION_DAYS, description="Keep runs this many days.")
    lead_log_retention_days: int = Field(
        default=DEFAULT_LEAD_LOG_RETENTION_DAYS, description="Keep lead-log rows this many days."
    )
    dry_run: bool = Field(default=False, description="Count what would move; change nothing, skip VACUUM.")
    size_warning_gb: float = Field(default=10.0, description="Warn about tables larger than this (SOP: 10 GB).")


def client_metadata(result: ClientArchival, cutoffs: Cutoffs) -> dict[str, Any]:
    return {
        "client_name": result.client_name,
        "dry_run": result.dry_run,
        "lead_log_archived": result.lead_log_archived,
        "runs_archived": result.runs_archived,
        "runs_kept_for_live_logs": result.runs_kept_for_live_logs,
        "runs_cutoff": cutoffs.runs.isoformat(),
        "lead_log_cutoff": cutoffs.lead_log.isoformat(),
        "duration_ms": result.duration_ms,
    }


def maintenance_metadata(maintenance: Maintenance, results: list[ClientArchival]) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "clients_archived": len(results),
        "lead_log_archived": sum(r.lead_log_archived for r in results),
        "runs_archived": sum(r.runs_archived for r in results),
        "vacuumed": maintenance.vacuumed,
        "vacuum_ms": maintenance.vacuum_ms,
        "size_warnings": len(maintenance.warnings),
    }
    for table in maintenance.table_sizes:
        metadata[f"{table.name}_bytes"] = table.bytes
    sizes = markdown_table(["table", "size", "bytes"], [(t.name, t.pretty, t.bytes) for t in maintenance.table_sizes])
    if maintenance.warnings:
        sizes += "\n\n" + "\n".join(f"⚠️ {w}" for w in maintenance.warnings)
    metadata["table_sizes"] = dg.MetadataValue.md(sizes)
    return metadata


@dg.multi_asset(
    name="archive_monitoring_tables",
    specs=[monitoring_archives_asset],
    partitions_def=clients_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def archive_monitoring_tables(
    context: dg.AssetExecutionContext, config: MonthlyArchivalConfig, database: DatabaseResource
) -> Iterator[dg.AssetMaterialization | dg.AssetObservation]:
    """Archive each client of the run's partitions, then VACUUM once and report table sizes."""
    refuse_if_paused(context, database)
    key = monitoring_archives_asset.key
    try:
        if not config.size_warning_gb > 0:
            raise ConfigError(f"size_warning_gb must be positive, got {config.size_warning_gb}")
        settings = ArchivalSettings(
            runs_retention_days=config.runs_retention_days,
            lead_log_retention_days=config.lead_log_retention_days,
            dry_run=config.dry_run,
            size_warning_bytes=max(1, int(config.size_warning_gb * GIB)),
        )
        keys = list(context.partition_keys)
        key_of = keys_by_client_id(keys)
        sweep = len(keys) > 1
        # one partition is validated strictly; a sweep skips partitions of clients deactivated since the last sync
        with database.connect() as conn:
            ids, warnings = partition_scope(conn, keys)
        for warning in warnings:
            context.log.warning(warning)
        # retention is by age for every client: a sweep also archives inactive clients' old rows
        clients, cutoffs = prepare_archival(database.engine, ids, settings, inactive_by_age=sweep)
    except CampaignOpsError as exc:  # bad config, unknown client, database down: one clear error, nothing changed
        raise dg.Failure(description=str(exc)) from None
    results: list[ClientArchival] = []
    failures: list[ClientFailure] = []
    with canceled_if_paused(context):
        for outcome in iter_archive_clients(database.engine, clients, cutoffs, settings):
            if isinstance(outcome, ClientFailure):
                context.log.error(f"client {outcome.client_name} ({outcome.client_id}): {outcome.error}")
                failures.append(outcome)
                continue
            results.append(outcome)
            context.log.info(
                f"client {outcome.client_name} ({outcome.client_id}): {outcome.lead_log_archived} lead-log rows "
                f"and {outcome.runs_archived} runs archived" + (" (dry run)" if outcome.dry_run else "")
            )
            event = dg.AssetObservation if outcome.dry_run else dg.AssetMaterialization
            # inactive clients swept by age have no partition of their own any more
            yield event(
                asset_key=key,
                partition=key_of.get(outcome.client_id) or partition_key(outcome.client_id, outcome.client_name),
                metadata=client_metadata(outcome, cutoffs),
            )
    try:
        maintenance = maintain(database.engine, settings)
    except CampaignOpsError as exc:
        raise dg.Failure(description=f"archival done for {len(results)} client(s), then: {exc}") from None
    for warning in maintenance.warnings:
        context.log.warning(warning)
    yield dg.AssetObservation(asset_key=key, metadata=maintenance_metadata(maintenance, results))
    if failures:
        raise clients_failed("archival", failures, len(clients))


monthly_archival_job = dg.define_asset_job(
    "monthly_archival_job",
    selection=[monitoring_archives_asset.key],
    executor_def=dg.in_process_executor,
    description="Move old de-enrollment runs and lead-log rows into the archives, per client; VACUUM once.",
    tags=WRITES,
)


@dg.schedule(
    name="monthly_archival_schedule",
    cron_schedule="0 2 1 * *",
    execution_timezone="UTC",
    job=monthly_archival_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=WRITES,  # `campaign-ops pause` (SOP Level 3) stops it
    description="The 1st of each month at 02:00 UTC (the SOP's monthly cleanup): one run over all clients.",
)
def monthly_archival_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="monthly_archival")


defs = dg.Definitions(
    assets=[archive_monitoring_tables],
    jobs=[monthly_archival_job],
    schedules=[monthly_archival_schedule],
)
