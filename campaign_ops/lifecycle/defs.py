"""Lifecycle round integrity (seed 003) as a Dagster asset check, every 15 minutes."""

import dagster as dg

from campaign_ops.checks.core import DEFAULT_STATEMENT_TIMEOUT_MS
from campaign_ops.checks.defs import run_check
from campaign_ops.clients.runs import tick_run_key
from campaign_ops.lifecycle.core import round_integrity
from campaign_ops.resources import DatabaseResource

lifecycle_campaign_schedules_asset = dg.AssetSpec(
    "lifecycle_campaign_schedules",
    group_name="lifecycle",
    description="Rounds of lifecycle email campaigns: schedule, status, send time, recipients, notifications.",
    kinds={"postgres"},
)


@dg.asset_check(
    asset=lifecycle_campaign_schedules_asset.key,
    name="lifecycle_round_integrity",
    description="ERROR when a round was sent before its scheduled time, before the previous round, twice, or had "
    "launch notifications (re)scheduled after it was sent (seed 003).",
)
def lifecycle_round_integrity_check(
    context: dg.AssetCheckExecutionContext, database: DatabaseResource
) -> dg.AssetCheckResult:
    return run_check(context, database, DEFAULT_STATEMENT_TIMEOUT_MS, lambda conn, _scope: round_integrity(conn))


lifecycle_integrity_job = dg.define_asset_job(
    "lifecycle_integrity_job",
    selection=dg.AssetSelection.checks(lifecycle_round_integrity_check),
    executor_def=dg.in_process_executor,
    description="Lifecycle round integrity (seed 003).",
)


@dg.schedule(
    job=lifecycle_integrity_job,
    cron_schedule="*/15 * * * *",
    name="lifecycle_integrity_schedule",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def lifecycle_integrity_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    return dg.RunRequest(run_key=tick_run_key(context, "lifecycle_integrity"))


defs = dg.Definitions(
    assets=[lifecycle_campaign_schedules_asset],
    asset_checks=[lifecycle_round_integrity_check],
    jobs=[lifecycle_integrity_job],
    schedules=[lifecycle_integrity_schedule],
)
