"""Dagster objects of reconciliation: assembled into the code location by campaign_ops/definitions.py.

`stats_reconciliation_job` materializes `campaign_stats_reconciliation`, partitioned by client. One run covers one
client (a backfill) or a range of them (the daily schedule asks for ONE run over all clients partitions); the
work is `campaign_ops.reconciliation.core`. Each reconciled client gets an AssetMaterialization of its partition
with its figures; a dry run records an AssetObservation instead (it changed nothing). A client that fails is
named in the run's failure once every other client is done.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from campaign_ops.assets import CAMPAIGNS, LEADS
from campaign_ops.check_kit.markdown import markdown_table
from campaign_ops.clients.partition_keys import keys_by_client_id
from campaign_ops.clients.partitions import clients_partitions
from campaign_ops.clients.runs import all_clients_run_request, clients_failed
from campaign_ops.clients.scope import partition_scope
from campaign_ops.errors import CampaignOpsError
from campaign_ops.pause.defs import WRITES, canceled_if_paused, refuse_if_paused
from campaign_ops.reconciliation.core import (
    DEFAULT_LOCK_TIMEOUT_SECONDS,
    ClientFailure,
    ClientReconciliation,
    ReconciliationSettings,
    iter_reconcile_clients,
    prepare_clients,
)
from campaign_ops.resources import DatabaseResource

MAX_DRIFT_ROWS_IN_METADATA = 25

campaign_stats_reconciliation_asset = dg.AssetSpec(
    "campaign_stats_reconciliation",
    partitions_def=clients_partitions,
    deps=[LEADS, CAMPAIGNS],
    group_name="maintenance",
    skippable=True,
    description=(
        "Campaign counters checked against the leads, per client: every drift is logged in "
        "stats_reconciliation_log, then corrected in the same transaction."
    ),
    kinds={"postgres"},
    tags=WRITES,
)


class StatsReconciliationConfig(dg.Config):
    dry_run: bool = Field(default=False, description="Report drift without changing anything (no log rows either).")
    lock_timeout_seconds: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_SECONDS,
        description="How long to wait for a busy client's lock (held by de-enrollment) before it fails; over "
        "several clients, the wait all busy clients share, after every other client is done.",
    )


def client_metadata(result: ClientReconciliation) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "client_name": result.client_name,
        "dry_run": result.dry_run,
        "campaigns_checked": result.campaigns_checked,
        "campaigns_drifted": result.campaigns_drifted,
        "campaigns_corrected": result.campaigns_corrected,
        "total_abs_difference": result.total_abs_difference,
        "largest_difference": result.largest_difference,
        "duration_ms": result.duration_ms,
    }
    if result.reconciliation_id:
        metadata["reconciliation_id"] = result.reconciliation_id
    if result.drifts:
        table = markdown_table(
            ["campaign", "counter", "reported", "actual", "difference"],
            [
                (d.campaign_name, d.counter, d.reported, d.actual, f"{d.difference:+d}")
                for d in result.drifts[:MAX_DRIFT_ROWS_IN_METADATA]
            ],
        )
        more = len(result.drifts) - MAX_DRIFT_ROWS_IN_METADATA
        if more > 0:
            table += f"\n\n…and {more} more (stats_reconciliation_log)"
        metadata["drifts"] = dg.MetadataValue.md(table)
    return metadata


@dg.multi_asset(
    name="reconcile_campaign_stats",
    specs=[campaign_stats_reconciliation_asset],
    partitions_def=clients_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def reconcile_campaign_stats(
    context: dg.AssetExecutionContext, config: StatsReconciliationConfig, database: DatabaseResource
) -> Iterator[dg.AssetMaterialization | dg.AssetObservation]:
    """Reconcile each client of the run's partitions; see campaign_ops.reconciliation.core."""
    refuse_if_paused(context, database)
    key = campaign_stats_reconciliation_asset.key
    try:
        settings = ReconciliationSettings(dry_run=config.dry_run, lock_timeout_seconds=config.lock_timeout_seconds)
        keys = list(context.partition_keys)
        key_of = keys_by_client_id(keys)
        # one partition is validated strictly; a sweep skips partitions of clients deactivated since the last sync
        with database.connect() as conn:
            ids, warnings = partition_scope(conn, keys)
        for warning in warnings:
            context.log.warning(warning)
        clients = prepare_clients(database.engine, ids)
    except CampaignOpsError as exc:  # bad config, unknown client, database down: one clear error, nothing changed
        raise dg.Failure(description=str(exc)) from None
    failures: list[ClientFailure] = []
    outcomes = iter_reconcile_clients(
        database.engine, clients, settings, dagster_run_id=context.run.run_id, say=context.log.warning
    )
    with canceled_if_paused(context):
        for outcome in outcomes:
            if isinstance(outcome, ClientFailure):
                context.log.error(f"client {outcome.client_name} ({outcome.client_id}): {outcome.error}")
                failures.append(outcome)
                continue
            context.log.info(
                f"client {outcome.client_name} ({outcome.client_id}): {outcome.campaigns_drifted} of "
                f"{outcome.campaigns_checked} campaigns drifted, total |difference| {outcome.total_abs_difference}"
                + (" (dry run)" if outcome.dry_run else "")
            )
            event = dg.AssetObservation if outcome.dry_run else dg.AssetMaterialization
            yield event(asset_key=key, partition=key_of[outcome.client_id], metadata=client_metadata(outcome))
    if failures:
        raise clients_failed("stats reconciliation", failures, len(clients))


# idempotent (drift found again is corrected again, no drift changes nothing): the daemon re-runs a run cut short;
# run_tags.py adds these to "Materialize" runs of the implicit asset job too
RECONCILIATION_RUN_TAGS = {"dagster/max_retries": "2", **WRITES}

stats_reconciliation_job = dg.define_asset_job(
    "stats_reconciliation_job",
    selection=[campaign_stats_reconciliation_asset.key],
    executor_def=dg.in_process_executor,
    description="Find, log and correct campaign counter drift, per client (config dry_run reports only).",
    tags=RECONCILIATION_RUN_TAGS,
)


@dg.schedule(
    name="stats_reconciliation_schedule",
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    job=stats_reconciliation_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags=WRITES,  # `campaign-ops pause` (SOP Level 3) stops it
    description="Every day at 03:30 UTC: one run over all clients partitions.",
)
def stats_reconciliation_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="stats_reconciliation")


defs = dg.Definitions(
    assets=[reconcile_campaign_stats],
    jobs=[stats_reconciliation_job],
    schedules=[stats_reconciliation_schedule],
)
