"""De-enrollment in Dagster: one multi-asset over the clients partitions, its job and its 15-minute schedule.

Why a client-partitioned multi-asset with `BackfillPolicy.single_run()` (and not an op job): a run then covers one
client (a backfill, "Materialize" in the UI, `dg launch --partition`) or all of them (the schedule's partition
range) at the cost of ONE run, and every client partition gets its own materialization with its own figures — the
UI shows per client when it was last de-enrolled and how it went. Each client is materialized as soon as its pass
is committed; a client that failed gets none, and the run fails only after every client was tried.
"""

from typing import Literal

import dagster as dg
from pydantic import Field

from campaign_ops.assets import (
    CAMPAIGNS,
    DE_ENROLLMENT_RUNS,
    LEADS,
    campaigns_asset,
    de_enrollment_runs_asset,
    leads_asset,
)
from campaign_ops.clients.core import active_client_ids, parse_client_id, require_active_clients
from campaign_ops.clients.sweep import ClientFailure
from campaign_ops.de_enrollment.core import (
    DEFAULT_MAX_RUNTIME_MS,
    ClientResult,
    DeEnrollmentSettings,
    de_enroll_clients,
)
from campaign_ops.errors import CampaignOpsError
from campaign_ops.partitions import clients_partitions
from campaign_ops.resources import DatabaseResource
from campaign_ops.sweeps import all_clients_run_request, clients_failed


class DeEnrollmentConfig(dg.Config):
    """Run config; unset values come from DE_ENROLLMENT_* environment variables, then the SOP's defaults."""

    batch_size: int | None = Field(default=None, description="Leads per transaction on the SOP's batched path (100).")
    max_runtime_ms: int | None = Field(default=None, description="Budget of the whole run in ms (240000).")
    chunk_size: int | None = Field(default=None, description="Leads per transaction on the set-based path (50000).")
    mode: Literal["set_based", "batched"] = Field(default="set_based", description="set_based, or the SOP's batches.")


def _client_metadata(r: ClientResult) -> dict[str, dg.MetadataValue]:
    return {
        "status": dg.MetadataValue.text(r.status),
        "client": dg.MetadataValue.text(r.client_name),
        "leads_evaluated": dg.MetadataValue.int(r.leads_evaluated),
        "leads_de_enrolled": dg.MetadataValue.int(r.leads_de_enrolled),
        "completed": dg.MetadataValue.int(r.completed),
        "opted_out": dg.MetadataValue.int(r.opted_out),
        "booked": dg.MetadataValue.int(r.booked),
        "leads_skipped": dg.MetadataValue.int(r.leads_skipped),
        "duration_ms": dg.MetadataValue.int(r.duration_ms),
        "de_enrollment_run_id": dg.MetadataValue.text(r.run_row_id or ""),
        **({"details": dg.MetadataValue.text(r.error_details)} if r.error_details else {}),
    }


@dg.multi_asset(
    name="de_enrollment",
    specs=[leads_asset, campaigns_asset, de_enrollment_runs_asset],
    partitions_def=clients_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=False,
    description="De-enrolls leads that completed their sequence, opted out or booked, per client (SOP).",
)
def de_enrollment(context: dg.AssetExecutionContext, config: DeEnrollmentConfig, database: DatabaseResource):
    try:
        settings = DeEnrollmentSettings.from_env(
            batch_size=config.batch_size,
            max_runtime_ms=config.max_runtime_ms,
            chunk_size=config.chunk_size,
            mode=config.mode,
        )
    except CampaignOpsError as exc:
        raise dg.Failure(description=f"invalid de-enrollment configuration: {exc}") from None

    keys = list(context.partition_keys)
    with database.connect() as conn:
        if len(keys) == 1:
            # an operator's one-client run: an unknown, inactive or malformed client is an error, before any work
            try:
                client_ids = require_active_clients(conn, keys)
            except CampaignOpsError as exc:
                raise dg.Failure(description=str(exc)) from None
        else:
            # a sweep over the partition range: partitions of clients deactivated since the last sync are skipped
            active = set(active_client_ids(conn))
            valid = []
            for key in keys:
                try:
                    valid.append(parse_client_id(key))
                except CampaignOpsError as exc:
                    context.log.warning(f"partition {key!r} skipped: {exc}")
            client_ids = [c for c in valid if c in active]
            for gone in sorted(set(valid) - active):
                context.log.warning(f"client {gone} skipped: not an active client (its partition will be removed)")

    context.log.info(
        f"de-enrolling {len(client_ids)} client(s), mode {settings.mode}, budget {settings.max_runtime_ms} ms"
    )
    sweep = de_enroll_clients(
        database.engine, client_ids, settings, dagster_run_id=context.run.run_id, log_line=context.log.info
    )

    for r in sweep.clients:
        if r.status in ("success", "partial"):
            metadata = _client_metadata(r)
            for key in (LEADS, CAMPAIGNS, DE_ENROLLMENT_RUNS):
                yield dg.AssetMaterialization(asset_key=key, partition=r.client_id, metadata=metadata)

    skipped = sweep.with_status("skipped")
    partial = sweep.with_status("partial")
    context.log.info(
        f"de-enrollment done in {sweep.duration_ms} ms: {sweep.leads_de_enrolled} leads de-enrolled, "
        f"{len(sweep.with_status('success'))} clients succeeded, {len(partial)} partial, {len(skipped)} skipped, "
        f"{len(sweep.failed)} failed"
    )
    if sweep.connection_lost:  # the sweep stopped there: one line naming it, not one failure per client
        context.log.error(sweep.connection_lost)
        raise dg.Failure(description=sweep.connection_lost)
    if sweep.failed:
        failures = [
            ClientFailure(r.client_id, r.client_name, r.error_details or "", r.duration_ms) for r in sweep.failed
        ]
        raise clients_failed("de-enrollment", failures, len(sweep.clients))


de_enrollment_job = dg.define_asset_job(
    "de_enrollment_job",
    # the integrity checks run right after, in their own run (checks/dagster.py explains why): without_checks
    # keeps this job from listing check steps it would only skip
    selection=dg.AssetSelection.assets(de_enrollment).without_checks(),
    # one step (plus its checks): the in-process executor saves a subprocess per run (a third of run overhead)
    executor_def=dg.in_process_executor,
    description="De-enroll leads: every 15 minutes for all clients in one run, or one client as a backfill.",
    tags={
        # run monitoring ends a run whose worker died: the budget plus a minute for start-up and bookkeeping
        "dagster/max_runtime": str(DEFAULT_MAX_RUNTIME_MS // 1000 + 60),
        # idempotent (a second pass changes nothing): the daemon re-runs a run that was cut short
        "dagster/max_retries": "2",
    },
)


@dg.schedule(
    name="de_enrollment_schedule",
    cron_schedule="*/15 * * * *",
    job=de_enrollment_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Every 15 minutes (SOP): one run over all client partitions.",
)
def de_enrollment_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    return all_clients_run_request(context, run_key_prefix="de_enrollment")


defs = dg.Definitions(assets=[de_enrollment], jobs=[de_enrollment_job], schedules=[de_enrollment_schedule])
